import { platformAutostart, trayCommand } from '../desktop/autostart.js';
import { ExitCode } from './exit-codes.js';
import type { Io } from './sync-command.js';
import { UsageError } from './usage-error.js';

const AUTOSTART_HELP = `Usage: synctray autostart on|off|status

Starts the SyncTray tray at login (or stops doing so): an autostart entry on
Linux (~/.config/autostart/synctray.desktop), a LaunchAgent on macOS, a Run
value in the registry on Windows. The tray's "Start at login" does the same.`;

/** `synctray autostart on|off|status`. */
export async function autostartCommand(argv: string[], io: Io): Promise<number> {
  const [what, ...rest] = argv;
  if (what === '--help' || what === '-h') {
    io.stdout.write(`${AUTOSTART_HELP}\n`);
    return ExitCode.OK;
  }
  if (rest.length > 0 || !['on', 'off', 'status'].includes(what ?? '')) throw new UsageError('autostart takes one of on, off or status.');
  const autostart = platformAutostart(trayCommand());
  if (what !== 'status') autostart.set(what === 'on');
  const on = autostart.enabled();
  io.stdout.write(on ? `SyncTray starts at login (${autostart.where}).\n` : 'SyncTray does not start at login.\n');
  return ExitCode.OK;
}
