/**
 * The `sync:` service, version 1 (STAT, LIST, SEND, RECV, QUIT), on real local paths: the device
 * path is the local path, as bytes, so names that are not valid UTF-8 survive.
 *
 * Sync is a byte stream inside the transport stream: a request or a DATA frame may straddle two
 * WRTEs, and one WRTE may hold several requests. Replies are written as they are produced and the
 * stream coalesces them, so the work for one incoming WRTE leaves in one outgoing WRTE.
 */
import fs from 'node:fs';
import type { Service, StreamIo } from './connection.js';
import { ByteQueue } from './byte-queue.js';
import { createWithParents, errnoText, lstatOrNothing, statFields } from './sync-files.js';

export interface SyncStats {
  sends: number;
  recvs: number;
  lists: number;
  stats: number;
}

export interface SyncContext {
  deny: RegExp | undefined;
  stats: SyncStats;
  /** Asks to move `bytes` of file data; false when the device died instead (stop at once). */
  transfer(bytes: number): boolean;
}

/** adbd's limit on one DATA frame; the client rejects larger ones. */
const SYNC_DATA_MAX = 64 * 1024;
/** adbd refuses longer request paths. */
const PATH_MAX_LEN = 1024;
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

function frame(id: string, arg: number, payload?: Buffer): Buffer {
  const head = Buffer.concat([Buffer.from(id, 'latin1'), u32(arg)]);
  return payload === undefined ? head : Buffer.concat([head, payload]);
}

interface PendingSend {
  path: Buffer;
  mode: number;
  /** For a regular file; a symlink's target is collected in `link` instead. */
  fd: number | undefined;
  link: Buffer[];
}

export class SyncService implements Service {
  #io: StreamIo;
  #ctx: SyncContext;
  #in = new ByteQueue();
  #send: PendingSend | undefined;
  #recv: { fd: number } | undefined;
  #done = false;

  constructor(io: StreamIo, ctx: SyncContext) {
    this.#io = io;
    this.#ctx = ctx;
  }

  onData(data: Buffer): void {
    if (this.#done) return;
    this.#in.push(data);
    this.#work();
  }

  onWritable(): void {
    if (this.#recv !== undefined) this.#pump();
    this.#work();
  }

  onClose(): void {
    this.#done = true;
    this.#release();
  }

  #release(): void {
    if (this.#send?.fd !== undefined) fs.closeSync(this.#send.fd);
    if (this.#recv !== undefined) fs.closeSync(this.#recv.fd);
    this.#send = undefined;
    this.#recv = undefined;
  }

  /** Handles whole frames while there are any; a RECV holds the rest back until it is sent. */
  #work(): void {
    while (!this.#done && this.#recv === undefined) {
      if (!(this.#send !== undefined ? this.#sendFrame(this.#send) : this.#request())) return;
    }
  }

  /** adbd closes the stream after a FAIL; a client left waiting on an open stream hangs (adb ls). */
  #fail(message: string): void {
    this.#io.write(frame('FAIL', Buffer.byteLength(message), Buffer.from(message)));
    this.#io.end();
    this.#done = true;
    this.#release();
  }

  #denied(p: Buffer): boolean {
    const deny = this.#ctx.deny;
    if (deny === undefined) return false;
    deny.lastIndex = 0;
    return deny.test(p.toString('utf8'));
  }

  #request(): boolean {
    const head = this.#in.peek(8);
    if (head === undefined) return false;
    const id = head.toString('latin1', 0, 4);
    const length = head.readUInt32LE(4);
    if (id === 'QUIT') {
      this.#in.take(8);
      this.#io.end();
      this.#done = true;
      return false;
    }
    if (!['STAT', 'LIST', 'SEND', 'RECV'].includes(id)) {
      this.#fail('unknown command');
      return false;
    }
    if (length > PATH_MAX_LEN) {
      this.#fail('path too long');
      return false;
    }
    if (this.#in.length < 8 + length) return false;
    let arg = Buffer.from(this.#in.take(8 + length)!.subarray(8));
    // adbd runs in `/`: a relative path means the same there, never this process's cwd.
    if (arg[0] !== 0x2f) arg = Buffer.concat([Buffer.from('/'), arg]);
    if (id === 'STAT') this.#stat(arg);
    else if (id === 'LIST') this.#list(arg);
    else if (id === 'SEND') this.#startSend(arg);
    else this.#startRecv(arg);
    return true;
  }

  #stat(p: Buffer): void {
    this.#ctx.stats.stats++;
    this.#io.write(Buffer.concat([Buffer.from('STAT'), statFields(lstatOrNothing(p))]));
  }

  #list(dir: Buffer): void {
    this.#ctx.stats.lists++;
    if (this.#denied(dir)) return this.#fail('opendir failed: Permission denied');
    let names: Buffer[] = [];
    try {
      names = [Buffer.from('.'), Buffer.from('..'), ...fs.readdirSync(dir, { encoding: 'buffer' })];
    } catch {
      // adbd answers an unreadable or missing directory with an empty listing, not a FAIL.
    }
    const out: Buffer[] = [];
    for (const name of names) {
      const st = lstatOrNothing(Buffer.concat([dir, Buffer.from('/'), name]));
      if (st === undefined) continue;
      out.push(Buffer.from('DENT'), statFields(st), u32(name.length), name);
    }
    out.push(Buffer.from('DONE'), Buffer.alloc(16));
    this.#io.write(Buffer.concat(out));
  }

  #startSend(spec: Buffer): void {
    this.#ctx.stats.sends++;
    const comma = spec.lastIndexOf(0x2c);
    if (comma === -1) return this.#fail('missing , in ID_SEND');
    const p = spec.subarray(0, comma);
    const mode = Number.parseInt(spec.toString('latin1', comma + 1), 10) >>> 0;
    const isLink = (mode & S_IFMT) === S_IFLNK;
    if (this.#denied(p)) return this.#fail(`${isLink ? 'symlink' : "couldn't create file"}: Permission denied`);
    let fd: number | undefined;
    if (!isLink) {
      try {
        fd = createWithParents(p, () =>
          fs.openSync(p, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, mode & 0o777),
        );
        // The mode asked for, not the one the umask left.
        fs.fchmodSync(fd, mode & 0o777);
      } catch (err) {
        return this.#fail(`couldn't create file: ${errnoText(err)}`);
      }
    }
    this.#send = { path: p, mode, fd, link: [] };
  }

  #sendFrame(send: PendingSend): boolean {
    const head = this.#in.peek(8);
    if (head === undefined) return false;
    const id = head.toString('latin1', 0, 4);
    const arg = head.readUInt32LE(4);
    if (id === 'DONE') {
      this.#in.take(8);
      this.#finishSend(send, arg);
      return true;
    }
    if (id !== 'DATA') {
      this.#fail('invalid data message');
      return false;
    }
    if (arg > SYNC_DATA_MAX) {
      this.#fail('data too large');
      return false;
    }
    if (this.#in.length < 8 + arg) return false;
    const data = this.#in.take(8 + arg)!.subarray(8);
    if (!this.#ctx.transfer(arg)) return false;
    if (send.fd === undefined) {
      send.link.push(Buffer.from(data));
      return true;
    }
    try {
      for (let off = 0; off < data.length; ) off += fs.writeSync(send.fd, data, off);
    } catch (err) {
      this.#fail(`write failed: ${errnoText(err)}`);
      return false;
    }
    return true;
  }

  #finishSend(send: PendingSend, mtime: number): void {
    this.#send = undefined;
    try {
      if (send.fd !== undefined) {
        fs.closeSync(send.fd);
        fs.utimesSync(send.path, mtime, mtime);
      } else {
        // The client sends the target NUL-terminated; adbd reads it as a C string.
        const data = Buffer.concat(send.link);
        const nul = data.indexOf(0);
        const target = nul === -1 ? data : data.subarray(0, nul);
        createWithParents(send.path, () => fs.symlinkSync(target, send.path));
        fs.lutimesSync(send.path, mtime, mtime);
      }
    } catch (err) {
      return this.#fail(`${send.fd === undefined ? 'symlink failed' : 'update failed'}: ${errnoText(err)}`);
    }
    this.#io.write(frame('OKAY', 0));
  }

  #startRecv(p: Buffer): void {
    this.#ctx.stats.recvs++;
    if (this.#denied(p)) return this.#fail('open failed: Permission denied');
    try {
      this.#recv = { fd: fs.openSync(p, 'r') };
    } catch (err) {
      return this.#fail(`open failed: ${errnoText(err)}`);
    }
    this.#pump();
  }

  /**
   * Reads ahead only while the stream has less than one WRTE queued: a big file is neither held
   * in memory whole nor read faster than the host takes it. DONE rides with the last DATA.
   */
  #pump(): void {
    while (this.#recv !== undefined && this.#io.queued < this.#io.maxdata) {
      const buf = Buffer.allocUnsafe(8 + SYNC_DATA_MAX);
      let n: number;
      try {
        n = fs.readSync(this.#recv.fd, buf, 8, SYNC_DATA_MAX, null);
      } catch (err) {
        return this.#fail(`read failed: ${errnoText(err)}`);
      }
      if (n === 0) {
        fs.closeSync(this.#recv.fd);
        this.#recv = undefined;
        this.#io.write(frame('DONE', 0));
        return;
      }
      if (!this.#ctx.transfer(n)) return;
      buf.write('DATA', 0, 'latin1');
      buf.writeUInt32LE(n, 4);
      this.#io.write(buf.subarray(0, 8 + n));
    }
  }
}
