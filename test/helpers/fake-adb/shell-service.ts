/**
 * The legacy `shell:CMD` service: CMD runs under /bin/sh -c with stdout and stderr merged into
 * the stream, which closes when the command is done. The exit status is lost, as it is on a real
 * device without shell_v2 (the client then always exits 0), and stdin never sees EOF.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Service, StreamIo } from './connection.js';

/**
 * stderr joins stdout at the file descriptor (as adbd's one socket does), not by interleaving two
 * pipes here: output order is then what the command wrote, which callers that look for a
 * sentinel line after a command's errors depend on. The inner sh keeps CMD's own `sh -c` meaning.
 */
const MERGED = 'exec /bin/sh -c "$1" 2>&1';

export class ShellService implements Service {
  readonly child: ChildProcess;
  #io: StreamIo;
  #closed = false;
  /** All output pipes closed: nothing the command started still holds them. */
  #drained = false;

  /** `track` is told of the child, so the device can stop it and wait for it when it closes. */
  constructor(io: StreamIo, command: string, track: (child: ChildProcess) => void) {
    this.#io = io;
    // A process group of its own: closing the stream stops what the command started too.
    this.child = spawn('/bin/sh', ['-c', MERGED, 'sh', command], {
      cwd: '/',
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    track(this.child);
    const forward = (data: Buffer) => {
      io.write(data);
      // Output faster than the host takes it waits in the pipe, not in memory here.
      if (io.queued > 4 * io.maxdata) this.child.stdout?.pause();
    };
    this.child.stdout!.on('data', forward);
    // Only the outer sh's own complaints (it could not run the inner one) arrive here.
    this.child.stderr!.on('data', forward);
    this.child.stdin!.on('error', () => {});
    this.child.on('error', (err) => io.write(Buffer.from(`/bin/sh: ${err.message}\n`)));
    this.child.on('close', () => {
      this.#drained = true;
      io.end();
    });
  }

  onData(data: Buffer): void {
    if (!this.child.stdin!.destroyed) this.child.stdin!.write(data);
  }

  onWritable(): void {
    if (this.#io.queued <= this.#io.maxdata) this.child.stdout?.resume();
  }

  onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    // A background job of the command can outlive sh while holding the output pipe.
    if (!this.#drained) stopGroup(this.child);
  }
}

/** SIGKILL to the process group the child leads. */
export function stopGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone between the check and the kill.
  }
}
