import { platformAutostart, trayCommand } from '../desktop/autostart.js';
import { ExitCode } from './exit-codes.js';
import { command, group } from './command.js';
import type { Io } from './io.js';

const ABOUT = `Starts the SyncTray tray at login (or stops doing so): an autostart entry on
Linux (~/.config/autostart/synctray.desktop), a LaunchAgent on macOS, a Run
value in the registry on Windows. The tray's "Start at login" does the same.`;

/** on and off: set, then say what is now so, as status does. */
const setTo = (on: boolean) =>
  command({
    name: `autostart ${on ? 'on' : 'off'}`,
    summary: on ? 'start the tray at login' : 'stop starting it at login',
    usage:
      `Usage: synctray autostart ${on ? 'on' : 'off'} [--json]\n\n${ABOUT}\n\n` +
      "  --json   say what is now so as one JSON object, as 'autostart status --json'",
    options: { json: { type: 'boolean' } },
    run: ({ values }, io) => {
      platformAutostart(trayCommand()).set(on);
      return Promise.resolve(report(values.json === true, io));
    },
  });

/** `synctray autostart on|off|status`. */
export const autostartCommand = group({
  name: 'autostart',
  about: ABOUT,
  summary: 'start the tray at login',
  commands: {
    on: setTo(true),
    off: setTo(false),
    status: command({
      name: 'autostart status',
      summary: 'whether it starts at login, and from where',
      usage:
        'Usage: synctray autostart status [--json]\n\n' +
        'Says whether the tray starts at login, and which entry makes it.\n\n' +
        '  --json   one JSON object: {"enabled": true|false, "where": "<the entry>"}',
      options: { json: { type: 'boolean' } },
      run: ({ values }, io) => Promise.resolve(report(values.json === true, io)),
    }),
  },
});

function report(json: boolean, io: Io): number {
  const autostart = platformAutostart(trayCommand());
  const enabled = autostart.enabled();
  if (json) io.stdout.write(`${JSON.stringify({ enabled, where: autostart.where })}\n`);
  else
    io.stdout.write(
      enabled ? `SyncTray starts at login (${autostart.where}).\n` : 'SyncTray does not start at login.\n',
    );
  return ExitCode.OK;
}
