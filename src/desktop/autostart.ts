import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchAgentPlist, ownCommand, windowsCommandLine } from '../service/at-login.js';

export { windowsCommandLine };

/**
 * Start at login, the way each OS expects: an XDG autostart entry on Linux, a LaunchAgent on
 * macOS, a value under HKCU\…\Run on Windows. What is "on" is read from there, never remembered
 * elsewhere, so that the tray's checkbox shows the real state.
 */
export interface Autostart {
  readonly where: string;
  enabled(): boolean;
  set(on: boolean): void;
}

/** How to start the tray: the single binary itself, or Node with SyncTray's script. */
export function trayCommand(execPath = process.execPath, script = process.argv[1]): string[] {
  return [...ownCommand(execPath, script), 'tray'];
}

export function platformAutostart(
  command: string[],
  { platform = process.platform, home = os.homedir(), env = process.env } = {},
): Autostart {
  if (platform === 'darwin')
    return fileAutostart(path.join(home, 'Library', 'LaunchAgents', 'com.synctray.tray.plist'), launchAgent(command));
  if (platform === 'win32') return registryAutostart(windowsCommandLine(command));
  const config =
    env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(home, '.config');
  return fileAutostart(path.join(config, 'autostart', 'synctray.desktop'), desktopEntry(command));
}

function fileAutostart(file: string, text: string): Autostart {
  return {
    where: file,
    enabled: () => fs.existsSync(file),
    set(on) {
      if (!on) return fs.rmSync(file, { force: true });
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const temp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(temp, text, { mode: 0o644 });
      fs.renameSync(temp, file);
    },
  };
}

const RUN_KEY = 'HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run';

function registryAutostart(commandLine: string): Autostart {
  const reg = (args: string[]) => spawnSync('reg.exe', args, { encoding: 'utf8', windowsHide: true });
  return {
    where: `${RUN_KEY}\\SyncTray`,
    enabled: () => reg(['query', RUN_KEY, '/v', 'SyncTray']).status === 0,
    set(on) {
      const r = on
        ? reg(['add', RUN_KEY, '/v', 'SyncTray', '/t', 'REG_SZ', '/d', commandLine, '/f'])
        : reg(['delete', RUN_KEY, '/v', 'SyncTray', '/f']);
      if (r.status !== 0 && on)
        throw new Error(`reg.exe could not write ${RUN_KEY}\\SyncTray: ${r.stderr || r.error?.message}`);
    },
  };
}

/** An XDG desktop entry (valid per desktop-file-validate) that starts the tray. */
export function desktopEntry(command: string[]): string {
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=SyncTray',
    'Comment=Real-time folder backup and phone sync',
    `Exec=${command.map(execArg).join(' ')}`,
    'Terminal=false',
    'Categories=Utility;',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

/**
 * One argument of an Exec line: quoted when it holds anything the spec reserves, with `"`, `` ` ``,
 * `$` and `\` escaped inside the quotes, then every `\` doubled again for the string value, and `%`
 * written `%%` (a field code otherwise).
 */
function execArg(arg: string): string {
  const plain = /^[A-Za-z0-9_./:@+,=-]+$/.test(arg);
  const quoted = plain ? arg : `"${arg.replace(/["`$\\]/g, (c) => `\\${c}`)}"`;
  return quoted.replace(/\\/g, '\\\\').replace(/%/g, '%%');
}

/** A LaunchAgent that starts the tray at login. */
export function launchAgent(command: string[]): string {
  return launchAgentPlist('com.synctray.tray', command, ['  <key>ProcessType</key>', '  <string>Interactive</string>']);
}
