import { randomBytes } from 'node:crypto';
import { ErrorCode, StorageError } from '../../core/errors.js';
import type { ServiceConnection } from './server.js';

/** A word for the device's shell: single-quoted, a quote inside written as '\''. */
export function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * One shell on the device (`shell:sh`), fed one script at a time on its input. The legacy shell
 * service merges stderr into stdout and never reports an exit status, so each script ends by
 * printing a marker with `$?` that no file name can forge (a random token per session). A shell
 * per script would cost a connection and a process each: several milliseconds a file.
 */
export class ShellSession {
  broken = false;
  private readonly marker = `__synctray_${randomBytes(8).toString('hex')}_`;
  private output = '';
  private waiting: { resolve: (r: { output: string; status: number }) => void; reject: (e: Error) => void } | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly c: ServiceConnection) {
    c.socket.setEncoding('utf8');
    c.socket.removeAllListeners('data');
    c.socket.on('data', (d: string) => {
      this.output += d;
      this.check();
    });
    const end = () => {
      this.broken = true;
      const w = this.waiting;
      this.waiting = undefined;
      w?.reject(new StorageError(ErrorCode.DEVICE_GONE, "the phone's shell ended (phone unplugged?)"));
    };
    c.socket.on('close', end);
    c.socket.on('error', end);
  }

  /** Runs `script` (stdin closed) and gives its merged output and exit status. */
  run(script: string): Promise<{ output: string; status: number }> {
    const next = this.queue.then(
      () =>
        new Promise<{ output: string; status: number }>((resolve, reject) => {
          if (this.broken)
            return reject(new StorageError(ErrorCode.DEVICE_GONE, "the phone's shell ended (phone unplugged?)"));
          this.waiting = { resolve, reject };
          this.output = '';
          this.c.socket.write(`{\n${script}\n} </dev/null 2>&1; printf '\\n${this.marker}%s\\n' "$?"\n`);
        }),
    );
    this.queue = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.broken = true;
    this.c.socket.end('exit\n');
    this.c.socket.destroy();
  }

  private check(): void {
    const at = this.output.indexOf(`\n${this.marker}`);
    if (at < 0 || !this.waiting) return;
    const end = this.output.indexOf('\n', at + 1 + this.marker.length);
    if (end < 0) return;
    const status = Number(this.output.slice(at + 1 + this.marker.length, end));
    const output = this.output.slice(0, at);
    this.output = this.output.slice(end + 1);
    const w = this.waiting;
    this.waiting = undefined;
    w.resolve({ output, status });
  }
}
