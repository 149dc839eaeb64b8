import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RefusedError } from '../core/errors.js';

/**
 * The headless service (`synctray run`) started at login, the way each OS expects of a program of
 * the user's own: a systemd user unit on Linux, a LaunchAgent on macOS, a Scheduled Task at logon
 * on Windows (a Windows service would run as another user, with another config). What is installed
 * is read from there, never remembered elsewhere.
 */
export interface ServiceAtLogin {
  /** The unit file, the plist, or the task's name. */
  readonly where: string;
  installed(): boolean;
  /**
   * Writes the entry and starts it where the system can be asked to (not while `running`: that
   * one holds the config). Returns what was done, or what the user must do, for people.
   */
  install(command: string[], running: boolean): string;
  /** Stops and removes the entry; says what was done. */
  uninstall(): string;
  /** What the system says of it (`enabled, active`), where it can be asked. */
  state(): string | undefined;
}

/** A program run to its end: its exit status and output (spawnSync's shape). */
export type Runner = (
  command: string,
  args: string[],
) => { status: number | null; stdout: string; stderr: string; error?: Error };

export interface AtLoginOptions {
  platform?: NodeJS.Platform;
  home?: string;
  env?: NodeJS.ProcessEnv;
  run: Runner;
}

/** How SyncTray starts itself: the single binary alone, or Node with SyncTray's script. */
export function ownCommand(execPath = process.execPath, script = process.argv[1]): string[] {
  const isNode = /^node(\.exe)?$/i.test(path.basename(execPath));
  return isNode && script ? [execPath, path.resolve(script)] : [execPath];
}

/** The service's command line: `run`, on the config folder chosen, if one was. */
export function serviceCommand(configDir: string | undefined, own = ownCommand()): string[] {
  return [...own, 'run', ...(configDir ? ['--config-dir', path.resolve(configDir)] : [])];
}

export const UNIT_NAME = 'synctray.service';
const AGENT_LABEL = 'com.synctray.service';
export const TASK_NAME = 'SyncTray Service';

/**
 * A systemd user unit running `command`. Restarted after a failure, but not after exit status 2:
 * SyncTray refused to start (another instance holds the config, or the config is from a newer
 * SyncTray), which trying again every few seconds would not mend.
 */
export function systemdUnit(command: string[]): string {
  return [
    '[Unit]',
    'Description=SyncTray folder backup (synctray run)',
    '',
    '[Service]',
    'Type=exec',
    `ExecStart=${command.map(unitArg).join(' ')}`,
    'Restart=on-failure',
    'RestartSec=5',
    'RestartPreventExitStatus=2',
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n');
}

/**
 * One word of an ExecStart line: quoted when it holds anything systemd reads specially, with `\`
 * and `"` escaped inside the quotes; `%` (a specifier) written `%%`, `$` (a variable) `$$`.
 */
function unitArg(arg: string): string {
  if (/[\n\r]/.test(arg))
    throw new RefusedError(
      `The path ${JSON.stringify(arg)} holds a line break, which a systemd unit cannot: move SyncTray or the config.`,
    );
  const plain = /^[A-Za-z0-9_./:@+,=-]+$/.test(arg);
  const quoted = plain ? arg : `"${arg.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  return quoted.replace(/%/g, '%%').replace(/\$/g, '$$$$');
}

/**
 * A LaunchAgent's plist: `label`, `command` run at load, then the lines of `more` keys (the tray's
 * and the service's differ there).
 */
export function launchAgentPlist(label: string, command: string[], more: string[]): string {
  const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    '<dict>',
    '  <key>Label</key>',
    `  <string>${xml(label)}</string>`,
    '  <key>ProgramArguments</key>',
    '  <array>',
    ...command.map((a) => `    <string>${xml(a)}</string>`),
    '  </array>',
    '  <key>RunAtLoad</key>',
    '  <true/>',
    ...more,
    '</dict>',
    '</plist>',
    '',
  ].join('\n');
}

/** A LaunchAgent that runs the service at login and starts it again if it fails. */
export function serviceLaunchAgent(command: string[]): string {
  return launchAgentPlist(AGENT_LABEL, command, [
    '  <key>KeepAlive</key>',
    '  <dict>',
    '    <key>SuccessfulExit</key>',
    '    <false/>',
    '  </dict>',
    '  <key>ProcessType</key>',
    '  <string>Background</string>',
  ]);
}

/** A command line as Windows programs parse it (each argument quoted, inner quotes escaped). */
export function windowsCommandLine(command: string[]): string {
  return command.map((a) => `"${a.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\+)$/, '$1$1')}"`).join(' ');
}

/** schtasks refuses a task's command line (/TR) longer than this. */
const MAX_TASK_COMMAND = 261;

/** schtasks' arguments for a task that runs `command` when this user logs on, with this user's rights. */
export function schtasksCreate(command: string[]): string[] {
  const line = windowsCommandLine(command);
  if (line.length > MAX_TASK_COMMAND)
    throw new RefusedError(
      `The service's command line is ${line.length} characters, more than the ${MAX_TASK_COMMAND} a scheduled ` +
        'task takes: install SyncTray, or keep the config, in a folder with a shorter path.',
    );
  return ['/Create', '/TN', TASK_NAME, '/TR', line, '/SC', 'ONLOGON', '/RL', 'LIMITED', '/IT', '/F'];
}

/** The service at login for this OS. */
export function serviceAtLogin({
  platform = process.platform,
  home = os.homedir(),
  env = process.env,
  run,
}: AtLoginOptions): ServiceAtLogin {
  if (platform === 'darwin')
    return launchAgent(path.join(home, 'Library', 'LaunchAgents', `${AGENT_LABEL}.plist`), run);
  if (platform === 'win32') return scheduledTask(run);
  const config =
    env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(home, '.config');
  return systemdUser(path.join(config, 'systemd', 'user', UNIT_NAME), run);
}

/** Writes `text` to `file` whole (a temp file renamed into place); whether it differed from what was there. */
function writeWhole(file: string, text: string): boolean {
  const before = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, text, { mode: 0o644 });
  fs.renameSync(temp, file);
  return before !== undefined && before !== text;
}

/** The first line a failed program gave as its reason. */
function why(r: ReturnType<Runner>): string {
  const line = (r.error?.message ?? r.stderr).trim().split('\n')[0];
  return line || `exit status ${r.status}`;
}

function systemdUser(unit: string, run: Runner): ServiceAtLogin {
  const systemctl = (...args: string[]) => run('systemctl', ['--user', ...args]);
  const byHand = (lines: string[]) => lines.map((l) => `  ${l}`).join('\n');
  return {
    where: unit,
    installed: () => fs.existsSync(unit),
    install(command, running) {
      const changed = writeWhole(unit, systemdUnit(command));
      // A reload is needed for a new or changed unit, and tells whether a user manager answers.
      const reload = systemctl('daemon-reload');
      if (reload.status !== 0)
        return (
          `Wrote the systemd user unit ${unit}.\nNo systemd user manager answered here (${why(reload)}), so it ` +
          'is not enabled yet. In a login session of yours, run:\n' +
          byHand(['systemctl --user daemon-reload', `systemctl --user enable --now ${UNIT_NAME}`]) +
          `\nand, for it to run while you are logged out: loginctl enable-linger ${os.userInfo().username}`
        );
      const enable = systemctl('enable', ...(running ? [] : ['--now']), UNIT_NAME);
      if (enable.status !== 0)
        throw new RefusedError(
          `Wrote ${unit}, but systemctl --user could not enable it (${why(enable)}); see ` +
            `'systemctl --user status ${UNIT_NAME}'.`,
        );
      if (running)
        return (
          `Wrote ${unit} and enabled it for your next login. SyncTray is running already for this config, so ` +
          `it was not started now: stop that one, then run 'systemctl --user start ${UNIT_NAME}'.`
        );
      // A unit that was running on its old command line starts again on the new one.
      if (changed) systemctl('try-restart', UNIT_NAME);
      return (
        `Wrote ${unit} and enabled it: SyncTray runs now and at every login ('systemctl --user status ` +
        `${UNIT_NAME}'). For it to run while you are logged out: loginctl enable-linger ${os.userInfo().username}`
      );
    },
    uninstall() {
      if (!fs.existsSync(unit)) return `SyncTray's service is not installed (no ${unit}).`;
      const disable = systemctl('disable', '--now', UNIT_NAME);
      fs.rmSync(unit, { force: true });
      if (disable.status !== 0)
        return (
          `Removed ${unit}. No systemd user manager answered here (${why(disable)}): if the service still runs, ` +
          `stop it in a login session of yours with 'systemctl --user stop ${UNIT_NAME}'.`
        );
      systemctl('daemon-reload');
      return `Stopped and removed ${unit}.`;
    },
    state() {
      const enabled = systemctl('is-enabled', UNIT_NAME);
      const active = systemctl('is-active', UNIT_NAME);
      const said = [enabled.stdout.trim(), active.stdout.trim()].filter(Boolean);
      return said.length === 2 ? said.join(', ') : undefined;
    },
  };
}

/** Not tried on a Mac yet: the plist is tested as text. */
function launchAgent(plist: string, run: Runner): ServiceAtLogin {
  const domain = `gui/${process.getuid?.() ?? ''}`;
  return {
    where: plist,
    installed: () => fs.existsSync(plist),
    install(command, running) {
      writeWhole(plist, serviceLaunchAgent(command));
      // Loaded again, so that a changed command line is used.
      run('launchctl', ['bootout', domain, plist]);
      if (running) return `Wrote ${plist}; it runs at your next login (SyncTray is running already for this config).`;
      const load = run('launchctl', ['bootstrap', domain, plist]);
      if (load.status !== 0)
        return `Wrote ${plist}; it runs at your next login (launchctl could not start it now: ${why(load)}).`;
      return `Wrote ${plist} and started it: SyncTray runs now and at every login.`;
    },
    uninstall() {
      if (!fs.existsSync(plist)) return `SyncTray's service is not installed (no ${plist}).`;
      run('launchctl', ['bootout', domain, plist]);
      fs.rmSync(plist, { force: true });
      return `Stopped and removed ${plist}.`;
    },
    state: () => undefined,
  };
}

/** Not tried on Windows yet: the schtasks command is tested as text. */
function scheduledTask(run: Runner): ServiceAtLogin {
  const query = () => run('schtasks', ['/Query', '/TN', TASK_NAME]);
  return {
    where: `Task Scheduler: ${TASK_NAME}`,
    installed: () => query().status === 0,
    install(command, running) {
      const made = run('schtasks', schtasksCreate(command));
      if (made.status !== 0) throw new RefusedError(`schtasks could not create the task "${TASK_NAME}": ${why(made)}`);
      if (running) return `Made the task "${TASK_NAME}": it runs at your next logon (SyncTray is running already).`;
      run('schtasks', ['/Run', '/TN', TASK_NAME]);
      return `Made the task "${TASK_NAME}" and started it: SyncTray runs now and at every logon.`;
    },
    uninstall() {
      if (query().status !== 0) return `SyncTray's service is not installed (no task "${TASK_NAME}").`;
      run('schtasks', ['/End', '/TN', TASK_NAME]);
      const gone = run('schtasks', ['/Delete', '/TN', TASK_NAME, '/F']);
      if (gone.status !== 0) throw new RefusedError(`schtasks could not delete the task "${TASK_NAME}": ${why(gone)}`);
      return `Stopped and removed the task "${TASK_NAME}".`;
    },
    state: () => undefined,
  };
}
