import { places } from '../config/places.js';
import { RotatingLog } from '../service/log.js';
import { ExitCode } from './exit-codes.js';
import type { Io } from './io.js';

/**
 * A failure no command expected (a bug, or something the code did not foresee): one line on
 * stderr naming it and the log that holds its stack, and exit status 70 (sysexits' EX_SOFTWARE),
 * apart from 1 ("some items failed"). Where the log cannot be written, the stack goes to stderr.
 */
export function internalError(err: unknown, argv: readonly string[], io: Io): number {
  const message = err instanceof Error ? err.message : String(err);
  const stack = err instanceof Error ? (err.stack ?? message) : message;
  let file: string | undefined;
  try {
    const log = new RotatingLog(places(configDirIn(argv)).logs, () => 'error');
    if (log.write('error', `internal error in 'synctray ${argv.join(' ')}': ${stack}`)) file = log.file;
  } catch {
    // The log folder cannot be made: the stack is shown instead.
  }
  io.stderr.write(
    file
      ? `synctray: internal error: ${message} (the details are in ${file})\n`
      : `synctray: internal error: ${stack}\n`,
  );
  return ExitCode.INTERNAL;
}

/** The --config-dir given on the command line, if any: the log lives beside that config. */
function configDirIn(argv: readonly string[]): string | undefined {
  const i = argv.lastIndexOf('--config-dir');
  if (i >= 0) return argv[i + 1];
  return argv.findLast((a) => a.startsWith('--config-dir='))?.slice('--config-dir='.length);
}
