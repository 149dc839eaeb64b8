import { spawnSync } from 'node:child_process';
import { places } from '../config/places.js';
import { serviceAtLogin, serviceCommand, UNIT_NAME, type Runner } from '../service/at-login.js';
import { askService } from '../service/control.js';
import { command, CONFIG_DIR_OPTION, group } from './command.js';
import { ExitCode } from './exit-codes.js';

const ABOUT = `Runs the service ('synctray run') at login, without a desktop: a systemd user
unit on Linux (~/.config/systemd/user/${UNIT_NAME}, enabled with
systemctl --user), a LaunchAgent on macOS, a Scheduled Task at logon on
Windows. It can be on together with 'synctray autostart' (the tray at login).`;

const run: Runner = (program, args) => {
  const r = spawnSync(program, args, { encoding: 'utf8', timeout: 30_000, windowsHide: true });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ...(r.error ? { error: r.error } : {}) };
};

/** `synctray service install|uninstall|status`. */
export const serviceCommandGroup = group({
  name: 'service',
  about: ABOUT,
  summary: 'run the service at login, without a desktop',
  commands: {
    install: command({
      name: 'service install',
      summary: 'run it at every login, and now',
      usage:
        `Usage: synctray service install [--config-dir DIR]\n\n${ABOUT}\n\n` +
        'Starts it now too, unless SyncTray already runs for this config. Installing\n' +
        'again writes the entry anew (after SyncTray moved, say).\n\n' +
        '      --config-dir DIR        the config the service uses, kept in the entry\n' +
        "                              (default: the OS's usual place, or SYNCTRAY_CONFIG_DIR)",
      options: CONFIG_DIR_OPTION,
      async run({ values }, io) {
        const configDir = values['config-dir'] ?? process.env.SYNCTRAY_CONFIG_DIR;
        // A service that answers, even with a refusal, is running.
        const running = await askService(places(configDir).config, 'status', {}).then(
          (r) => r !== undefined,
          () => true,
        );
        io.stdout.write(`${serviceAtLogin({ run }).install(serviceCommand(configDir), running)}\n`);
        return ExitCode.OK;
      },
    }),
    uninstall: command({
      name: 'service uninstall',
      summary: 'stop it and no longer run it at login',
      usage: `Usage: synctray service uninstall\n\n${ABOUT}\n\nStops the service it started and removes the entry.`,
      options: {},
      run(_args, io) {
        io.stdout.write(`${serviceAtLogin({ run }).uninstall()}\n`);
        return Promise.resolve(ExitCode.OK);
      },
    }),
    status: command({
      name: 'service status',
      summary: 'whether it is installed, and what the system says of it',
      usage:
        'Usage: synctray service status [--json]\n\n' +
        'Says whether the service is installed to run at login, where, and what systemd\n' +
        "says of it ('synctray status' says what it is doing).\n\n" +
        '  --json   one JSON object: {"installed": true|false, "where": "<the entry>",\n' +
        '           "state": "enabled, active"} (state where systemd answers)',
      options: { json: { type: 'boolean' } },
      run({ values }, io) {
        const atLogin = serviceAtLogin({ run });
        const installed = atLogin.installed();
        const state = installed ? atLogin.state() : undefined;
        if (values.json)
          io.stdout.write(`${JSON.stringify({ installed, where: atLogin.where, ...(state ? { state } : {}) })}\n`);
        else
          io.stdout.write(
            installed
              ? `SyncTray's service is installed (${atLogin.where})${state ? `: ${state}` : ''}.\n`
              : "SyncTray's service is not installed ('synctray service install' installs it).\n",
          );
        return Promise.resolve(ExitCode.OK);
      },
    }),
  },
});
