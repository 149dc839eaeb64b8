import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { places } from '../config/places.js';
import { ExitCode } from './exit-codes.js';
import type { Io } from './sync-command.js';
import { UsageError } from './usage-error.js';

/** `synctray log`: where the service's log is; `--follow` prints it as it grows, until Ctrl+C. */
export async function logCommand(argv: string[], io: Io, signal: AbortSignal): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, options: { 'config-dir': { type: 'string' }, follow: { type: 'boolean', short: 'f' } } }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const file = path.join(places(values['config-dir']).logs, 'synctray.log');
  if (!values.follow) {
    io.stdout.write(`${file}\n`);
    return ExitCode.OK;
  }
  // The last lines, then what is added; a rotation (the file renamed away) starts over on the new one.
  let offset: number | undefined;
  let ino = -1;
  const pump = () => {
    const st = fs.statSync(file, { throwIfNoEntry: false });
    if (!st) return;
    if (offset === undefined) offset = Math.max(0, st.size - 16 * 1024);
    else if (st.ino !== ino || st.size < offset) offset = 0;
    ino = st.ino;
    if (st.size <= offset) return;
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(st.size - offset);
      fs.readSync(fd, buf, 0, buf.length, offset);
      offset = st.size;
      io.stdout.write(buf);
    } finally {
      fs.closeSync(fd);
    }
  };
  const safePump = () => {
    try {
      pump();
    } catch (err) {
      // Unreadable for a moment (rotated, permissions changed): say so and keep following.
      io.stderr.write(`synctray: ${(err as Error).message}\n`);
    }
  };
  safePump();
  const timer = setInterval(safePump, 200);
  await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
  clearInterval(timer);
  return ExitCode.OK;
}
