import { parseArgs } from 'node:util';
import { places } from '../config/places.js';
import { startHost } from '../host.js';
import { ExitCode } from './exit-codes.js';
import type { Io } from './sync-command.js';
import { UsageError } from './usage-error.js';

const RUN_HELP = `Usage: synctray run [--config-dir DIR] [--json]

The headless service: every folder pair that is not paused is synced, then
watched, until Ctrl+C (or SIGTERM). 'synctray pair …', 'synctray status' and
'synctray settings' talk to it while it runs. One instance per config folder.

  --json   one JSON object per line on stdout: running, status, problem`;

/** `synctray run`: the service, its lock and its control socket, until a signal. */
export async function runCommand(argv: string[], io: Io, signal: AbortSignal): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, options: { 'config-dir': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) {
    io.stdout.write(`${RUN_HELP}\n`);
    return ExitCode.OK;
  }
  const host = await startHost(places(values['config-dir']), (line, text, level) => {
    if (values.json) {
      if (Object.keys(line).length > 0) io.stdout.write(`${JSON.stringify(line)}\n`);
    } else if (text && level !== 'debug') {
      io.stderr.write(`${text}${line.event === 'running' ? ' Ctrl+C stops it.' : ''}\n`);
    }
  });
  await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
  await host.stop();
  if (values.json) io.stdout.write(`${JSON.stringify({ event: 'stopped' })}\n`);
  else io.stderr.write('SyncTray stopped.\n');
  host.log.write('info', 'SyncTray stopped.');
  return ExitCode.OK;
}
