import fs from 'node:fs';
import path from 'node:path';
import { places } from '../config/places.js';
import { ExitCode } from './exit-codes.js';
import { command, CONFIG_DIR_OPTION } from './command.js';
import type { Io } from './io.js';

const LOG_HELP = `Usage: synctray log [--follow] [--config-dir DIR]

Prints where the service's log file is.

  -f, --follow   print its last lines, then what is added, until Ctrl+C`;

/** `synctray log`: where the service's log is; `--follow` prints it as it grows, until Ctrl+C. */
export const logCommand = command({
  name: 'log',
  usage: LOG_HELP,
  options: { ...CONFIG_DIR_OPTION, follow: { type: 'boolean', short: 'f' } },
  run: ({ values }, io, signal) => log(values, io, signal),
});

async function log(values: { 'config-dir'?: string; follow?: boolean }, io: Io, signal: AbortSignal): Promise<number> {
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
  await new Promise<void>((resolve) =>
    signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  clearInterval(timer);
  return ExitCode.OK;
}
