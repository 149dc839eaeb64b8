import type { Socket } from 'node:net';

/** Bytes held for a reader that has not asked for them yet, before the socket is paused. */
const HIGH_WATER = 4 * 1024 * 1024;

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
      // A reader slower than the phone: the rest waits in the kernel, not in memory here.
      if (this.buffered > HIGH_WATER) socket.pause();
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

  /** The next `n` bytes, copying only when they straddle chunks (never the whole buffer: that is quadratic). */
  private take(n: number): Buffer {
    this.buffered -= n;
    if (this.buffered <= HIGH_WATER / 2 && this.socket.isPaused()) this.socket.resume();
    const first = this.chunks[0]!;
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0]!;
      const part = Math.min(c.length, n - at);
      c.copy(out, at, 0, part);
      at += part;
      if (part === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(part);
    }
    return out;
  }
}
