import { places } from '../config/places.js';
import { startHost } from '../host.js';
import { ExitCode } from './exit-codes.js';
import { command, CONFIG_DIR_OPTION } from './command.js';
import type { Io } from './io.js';

const RUN_HELP = `Usage: synctray run [--config-dir DIR] [--json]

The headless service: every folder pair that is not paused is synced, then
watched, until Ctrl+C (or SIGTERM). 'synctray pair …', 'synctray status' and
'synctray settings' talk to it while it runs. One instance per config folder.

  --json   one JSON object per line on stdout: running, status, problem`;

/** `synctray run`: the service, its lock and its control socket, until a signal. */
export const runCommand = command({
  name: 'run',
  usage: RUN_HELP,
  options: { ...CONFIG_DIR_OPTION, json: { type: 'boolean' } },
  run: ({ values }, io, signal) => serve(values, io, signal),
});

async function serve(values: { 'config-dir'?: string; json?: boolean }, io: Io, signal: AbortSignal): Promise<number> {
  const host = await startHost(places(values['config-dir']), (line, text, level) => {
    if (values.json) {
      if (Object.keys(line).length > 0) io.stdout.write(`${JSON.stringify(line)}\n`);
    } else if (text && level !== 'debug') {
      io.stderr.write(`${text}${line.event === 'running' ? ' Ctrl+C stops it.' : ''}\n`);
    }
  });
  await new Promise<void>((resolve) => {
    // Stop SyncTray in a tray that joined, or Ctrl+C / SIGTERM.
    host.onStopAsked(resolve);
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await host.stop();
  if (values.json) io.stdout.write(`${JSON.stringify({ event: 'stopped' })}\n`);
  else io.stderr.write('SyncTray stopped.\n');
  host.log.write('info', 'SyncTray stopped.');
  return ExitCode.OK;
}
