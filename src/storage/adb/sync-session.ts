import { ErrorCode, StorageError } from '../../core/errors.js';
import type { ServiceConnection } from './server.js';

/** What STAT and LIST report of an item: v1 fields, 32 bits each, times in whole seconds. */
export interface SyncStat {
  mode: number;
  size: number;
  mtime: number;
}

export interface SyncDirent extends SyncStat {
  name: string;
  /** The name's bytes are not UTF-8: `name` holds replacement characters and reaches nothing. */
  badName?: boolean;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The longest path a sync request may carry: adbd refuses longer ones ("path too long"). */
export const MAX_PATH_BYTES = 1024;

/** The largest DATA frame either side may send (adbd's SYNC_DATA_MAX). */
export const MAX_DATA = 64 * 1024;

/**
 * One `sync:` connection to a device (sync protocol v1: STAT, LIST, RECV, SEND, QUIT). Requests
 * go one at a time; a FAIL answer ends the connection on the device's side, so the session is
 * `broken` afterwards and must not be used again.
 */
export class SyncSession {
  broken = false;

  constructor(private readonly c: ServiceConnection) {}

  /** lstat; undefined when nothing is there (the reply is all zeros). */
  async stat(path: string): Promise<SyncStat | undefined> {
    this.request('STAT', path);
    const reply = await this.read(16);
    if (reply.toString('latin1', 0, 4) === 'FAIL')
      throw await this.failure(reply.readUInt32LE(4), `STAT ${path}`, reply.subarray(8));
    if (reply.toString('latin1', 0, 4) !== 'STAT') throw this.protocol(`STAT ${path}`, reply);
    const st = { mode: reply.readUInt32LE(4), size: reply.readUInt32LE(8), mtime: reply.readUInt32LE(12) };
    return st.mode === 0 && st.size === 0 && st.mtime === 0 ? undefined : st;
  }

  /** The entries of a folder, `.` and `..` included; nothing at all for a missing folder or a file. */
  async list(path: string): Promise<SyncDirent[]> {
    this.request('LIST', path);
    const out: SyncDirent[] = [];
    for (;;) {
      const head = await this.read(20);
      const id = head.toString('latin1', 0, 4);
      if (id === 'DONE') return out;
      if (id === 'FAIL') throw await this.failure(head.readUInt32LE(4), `LIST ${path}`, head.subarray(8));
      if (id !== 'DENT') throw this.protocol(`LIST ${path}`, head);
      const raw = await this.read(head.readUInt32LE(16));
      const entry: SyncDirent = {
        mode: head.readUInt32LE(4),
        size: head.readUInt32LE(8),
        mtime: head.readUInt32LE(12),
        name: raw.toString('utf8'),
      };
      try {
        UTF8.decode(raw);
      } catch {
        entry.badName = true;
      }
      out.push(entry);
    }
  }

  /**
   * The content of a file, as the device sends it. Leaving early breaks the session. With
   * `after`, a STAT goes out behind the RECV (the same round trip) and its answer, what the file
   * was once sent, is handed to `after` at the end.
   */
  async *recv(path: string, after?: (st: SyncStat | undefined) => void): AsyncGenerator<Buffer> {
    if (after) {
      const body = Buffer.from(path, 'utf8');
      this.c.socket.write(Buffer.concat([frame('RECV', body), frame('STAT', body)]));
    } else this.request('RECV', path);
    let done = false;
    try {
      for (;;) {
        const head = await this.read(8);
        const id = head.toString('latin1', 0, 4);
        const len = head.readUInt32LE(4);
        if (id === 'DONE') {
          if (after) {
            const reply = await this.read(16);
            if (reply.toString('latin1', 0, 4) !== 'STAT') throw this.protocol(`STAT ${path}`, reply);
            const st = { mode: reply.readUInt32LE(4), size: reply.readUInt32LE(8), mtime: reply.readUInt32LE(12) };
            after(st.mode === 0 && st.size === 0 && st.mtime === 0 ? undefined : st);
          }
          done = true;
          return;
        }
        if (id === 'FAIL') {
          done = true;
          throw await this.failure(len, `RECV ${path}`);
        }
        if (id !== 'DATA' || len > MAX_DATA) throw this.protocol(`RECV ${path}`, head);
        yield await this.read(len);
      }
    } finally {
      // Stopped in the middle (the consumer gave up): the rest of the file is still on its way.
      if (!done) this.breakOff();
    }
  }

  /**
   * Writes a file: its bytes, then DONE with the mtime, which the device sets. The device makes
   * missing parent folders and replaces whatever file is at `path`.
   */
  async write(path: string, mode: number, mtime: number, data: AsyncIterable<Uint8Array>): Promise<void> {
    this.sendRaw('SEND', Buffer.from(`${path},${mode}`, 'utf8'));
    try {
      for await (const chunk of data) {
        for (let at = 0; at < chunk.length; at += MAX_DATA) {
          const part = chunk.subarray(at, Math.min(chunk.length, at + MAX_DATA));
          if (this.c.socket.destroyed)
            throw new StorageError(
              ErrorCode.DEVICE_GONE,
              'the connection to the phone was lost during the copy (phone unplugged?)',
            );
          const ok = this.sendRaw('DATA', part);
          if (!ok) await this.drained();
        }
      }
    } catch (err) {
      // The source failed mid-file: the device waits for more data; this session cannot go on.
      this.breakOff();
      throw err;
    }
    const done = Buffer.alloc(8);
    done.write('DONE', 0, 'latin1');
    done.writeUInt32LE(mtime >>> 0, 4);
    this.c.socket.write(done);
    const reply = await this.read(8);
    const id = reply.toString('latin1', 0, 4);
    if (id === 'OKAY') return;
    if (id === 'FAIL') throw await this.failure(reply.readUInt32LE(4), `SEND ${path}`);
    throw this.protocol(`SEND ${path}`, reply);
  }

  async quit(): Promise<void> {
    if (!this.broken) {
      this.request('QUIT', '');
      this.broken = true;
    }
    this.c.socket.end();
    this.c.socket.destroy();
  }

  private request(id: string, path: string): void {
    this.sendRaw(id, Buffer.from(path, 'utf8'));
  }

  private sendRaw(id: string, payload: Buffer | Uint8Array): boolean {
    return this.c.socket.write(frame(id, payload));
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      // Closed already: no drain or close event is coming.
      if (this.c.socket.destroyed) return resolve();
      const done = () => {
        this.c.socket.off('drain', done);
        this.c.socket.off('close', done);
        resolve();
      };
      this.c.socket.once('drain', done);
      this.c.socket.once('close', done);
    });
  }

  private async read(n: number): Promise<Buffer> {
    try {
      return await this.c.reader.read(n);
    } catch (err) {
      this.broken = true;
      throw err;
    }
  }

  private async failure(len: number, what: string, already?: Buffer): Promise<StorageError> {
    // LIST's FAIL comes in a 20-byte frame: part of the message may already have been read.
    const have = already ? already.subarray(0, Math.min(len, already.length)) : Buffer.alloc(0);
    const rest = len > have.length ? await this.read(len - have.length) : Buffer.alloc(0);
    const message = Buffer.concat([have, rest]).toString('utf8');
    this.breakOff();
    return new StorageError(codeOf(message), `${message} (${what})`, undefined, false, 'ADB_FAIL');
  }

  private protocol(what: string, got: Buffer): StorageError {
    this.breakOff();
    return new StorageError(
      ErrorCode.IO,
      `The phone's answer to ${what} made no sense (${JSON.stringify(got.toString('latin1', 0, 8))}).`,
    );
  }

  private breakOff(): void {
    this.broken = true;
    this.c.socket.destroy();
  }
}

/** A request: its id, the payload's length (32 bits, little-endian), the payload. */
function frame(id: string, payload: Buffer | Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.write(id, 0, 'latin1');
  head.writeUInt32LE(payload.length, 4);
  return payload.length > 0 ? Buffer.concat([head, payload]) : head;
}

/** The device reports errors as strerror texts, the same on every Android libc. */
export function codeOf(message: string): ErrorCode {
  const m = message.toLowerCase();
  if (m.includes('no such file')) return ErrorCode.NOT_FOUND;
  if (m.includes('permission denied') || m.includes('operation not permitted')) return ErrorCode.PERMISSION;
  if (m.includes('is a directory')) return ErrorCode.IS_DIR;
  if (m.includes('not a directory')) return ErrorCode.NOT_DIR;
  if (m.includes('no space left')) return ErrorCode.NO_SPACE;
  if (m.includes('read-only file system')) return ErrorCode.READ_ONLY;
  if (m.includes('file name too long') || m.includes('path too long')) return ErrorCode.NAME_TOO_LONG;
  if (m.includes('file exists')) return ErrorCode.EXISTS;
  if (m.includes('directory not empty')) return ErrorCode.NOT_EMPTY;
  if (m.includes('file too large')) return ErrorCode.TOO_LARGE;
  return ErrorCode.IO;
}
