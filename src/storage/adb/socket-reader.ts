import type { Socket } from 'node:net';

/**
 * Reads exact byte counts from a socket as they arrive: the sync protocol is a byte stream whose
 * frames land split or several at once. Once the socket ends, pending and later reads reject with
 * `onEnd()`'s error.
 */
export class SocketReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private waiting: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  private ended: Error | undefined;

  constructor(
    readonly socket: Socket,
    onEnd: (cause?: Error) => Error,
  ) {
    socket.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.buffered += d.length;
      this.pump();
    });
    const end = (cause?: Error) => {
      if (this.ended) return;
      this.ended = onEnd(cause);
      this.pump();
    };
    socket.on('error', (e) => end(e));
    socket.on('close', () => end());
    socket.on('end', () => end());
  }

  /** Exactly `n` bytes. */
  read(n: number): Promise<Buffer> {
    if (this.waiting) return Promise.reject(new TypeError('one read at a time'));
    return new Promise((resolve, reject) => {
      this.waiting = { n, resolve, reject };
      this.pump();
    });
  }

  /** Whatever arrives until the socket ends (a shell's output, a device list). */
  async readToEnd(): Promise<Buffer> {
    await new Promise<void>((resolve) => (this.ended ? resolve() : this.socket.once('close', () => resolve())));
    const all = Buffer.concat(this.chunks);
    this.chunks = [];
    this.buffered = 0;
    return all;
  }

  private pump(): void {
    const w = this.waiting;
    if (!w) return;
    if (this.buffered >= w.n) {
      this.waiting = undefined;
      w.resolve(this.take(w.n));
    } else if (this.ended) {
      this.waiting = undefined;
      w.reject(this.ended);
    }
  }

  private take(n: number): Buffer {
    if (this.chunks[0]!.length === n) {
      this.buffered -= n;
      return this.chunks.shift()!;
    }
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = all.length > n ? [all.subarray(n)] : [];
    this.buffered -= n;
    return all.subarray(0, n);
  }
}
