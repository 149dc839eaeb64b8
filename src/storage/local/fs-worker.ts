// Runs file system calls synchronously off the main thread, many per message. It imports nothing
// at run time but Node built-ins and uses only erasable TypeScript, so Node runs the .ts source as
// it is in development and the compiled .js in a build.
import fs from 'node:fs';
import path from 'node:path';
import type { Entry, EntryType } from '../../core/entry.js';
import type { Replacing } from '../storage.js';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, COPYFILE_EXCL } = fs.constants;
/** Files up to this size are copied through one buffer: fewer system calls than copyFile's. */
const SMALL = 256 * 1024;
const buffer = Buffer.allocUnsafe(SMALL);
/** The read/write loop's buffer for large files where the kernel cannot be handed a descriptor. */
const LOOP_CHUNK = 1 << 20;
/**
 * Linux names every open descriptor under /proc/self/fd; opening that name reaches the very inode
 * the descriptor holds, whatever is at the original path by then. Node has no O_PATH constant;
 * 010000000 is its value on every architecture Node runs on (asm-generic).
 */
const PROC_FD = process.platform === 'linux' && fs.existsSync('/proc/self/fd') ? '/proc/self/fd/' : undefined;
const O_PATH = 0o10000000;
/** What link(2) says where the file system has no hard links (FAT, exFAT, some network shares). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'EXDEV', 'ENOSYS']);

/** Marks the worker threads FsPool starts, so this module never answers another thread's port. */
export const WORKER_MARK = 'synctray-fs-worker';

export interface CopyRequest {
  id: number;
  op: 'copy';
  from: string;
  to: string;
  /** Permission bits, or -1 for the source's (-2, as the file system made it, is taken as -1 here). */
  mode: number;
  atimeNs: bigint;
  mtimeNs: bigint;
  fsync: boolean;
  /** What the source must still be once copied; also what FsPool reads the cost of the call from. */
  expect?: { size: number; mtimeNs: bigint };
  /** Where to move the finished, checked copy (only with `expect`), as `place` would. */
  renameTo?: string;
  replacing?: Replacing;
}

export type FsRequest =
  | CopyRequest
  | { id: number; op: 'stat'; path: string }
  /** toRoot: `to` lies in another storage (the version store) with this real root (for the native library). */
  | {
      id: number;
      op: 'rename';
      from: string;
      to: string;
      replacing?: Replacing;
      toRoot?: string;
      listedAs?: NonNullable<Replacing>;
    }
  | { id: number; op: 'unlink' | 'rmdir'; path: string }
  | { id: number; op: 'mkdir'; path: string; mode: number }
  /** atimeNs and mtimeNs: the same times for the native library, which takes nanoseconds. */
  | { id: number; op: 'utimes'; path: string; atime: string; mtime: string; atimeNs?: bigint; mtimeNs?: bigint }
  | { id: number; op: 'chmod'; path: string; mode: number }
  /** Flushes a file or folder written earlier without a flush (see Storage.flush). */
  | { id: number; op: 'fsync'; path: string }
  /** Flushes the whole file system holding `path`: only the native library can (LocalStorage asks it). */
  | { id: number; op: 'syncfs'; path: string }
  | {
      id: number;
      op: 'symlink';
      path: string;
      target: string;
      atime?: string;
      mtime?: string;
      atimeNs?: bigint;
      mtimeNs?: bigint;
    };

/** `atTarget`: the failure is about a copy's `renameTo`, not about the path it was written to. */
export type FsResponse = {
  id: number;
  value?: unknown;
  error?: { code: string; message: string; atTarget?: boolean; path?: string };
};

/** The one mapping from what lstat says to an EntryType (listing, stat and Replacing use it). */
function typeOf(st: fs.BigIntStats): EntryType {
  return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'special';
}

/** One item as Storage reports it; `target` is the link text, for symlinks only. */
export function toEntry(name: string, st: fs.BigIntStats, target: string | undefined): Entry {
  const type = typeOf(st);
  const entry: Entry = {
    name,
    type,
    size: type === 'file' ? Number(st.size) : 0,
    mtimeNs: st.mtimeNs,
    atimeNs: st.atimeNs,
    mode: Number(st.mode & 0o7777n),
  };
  if (target !== undefined) entry.target = target;
  return entry;
}

function statItem(p: string): Entry {
  const st = fs.lstatSync(p, { bigint: true });
  return toEntry(path.basename(p), st, st.isSymbolicLink() ? fs.readlinkSync(p) : undefined);
}

const NS_PER_SEC = 1_000_000_000n;

/**
 * Nanoseconds to the seconds value Node's utimes family takes, as a string.
 * A double near 1.7e9 s only holds about a quarter of a microsecond, and older libuv truncates to
 * whole microseconds, so aim at the middle of the wanted microsecond: either way the file gets
 * floor(ns / 1000) µs and never spills into the next second. A string, because Node turns a
 * negative number (a time before 1970) into "now" but takes a numeric string as it is.
 * (The native copy sets nanoseconds and needs none of this.)
 */
export function nsToUtimeSeconds(ns: bigint): string {
  let sec = ns / NS_PER_SEC;
  let rest = ns % NS_PER_SEC;
  if (rest < 0n) {
    rest += NS_PER_SEC;
    sec -= 1n;
  }
  return String(Number(sec) + (Number(rest / 1000n) + 0.5) / 1e6);
}

/** An error in the shape Node's have, with a code of ours that map-error knows (ECHANGED, …). */
function fsError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/**
 * Why an open descriptor cannot be read as a file, or undefined when it can: a folder is IS_DIR,
 * anything else that is not a regular file (a FIFO, a device, a socket) was listed as a file but
 * is something else now.
 */
export function notRegular(st: fs.Stats | fs.BigIntStats): NodeJS.ErrnoException | undefined {
  if (st.isFile()) return undefined;
  if (st.isDirectory()) return fsError('EISDIR', 'is a directory');
  return fsError('ECHANGED', 'is no longer a regular file');
}

/**
 * Opens a file to copy from. O_NOFOLLOW: a file swapped for a link must not be copied through it.
 * O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
 */
function openSource(p: string): { fd: number; st: fs.BigIntStats } {
  const fd = fs.openSync(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  try {
    const st = fs.fstatSync(fd, { bigint: true });
    const refused = notRegular(st);
    if (refused) throw refused;
    return { fd, st };
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/**
 * A local file copied to a new name, then given its mode and times and flushed. With `expect`, the
 * source is checked before and after the copy (same size and mtime) and only then, if asked,
 * placed at `renameTo`.
 */
function copy(r: CopyRequest): void {
  copyContent(r);
  if (r.renameTo === undefined || !r.expect) return;
  try {
    place(r.to, r.renameTo, r.replacing);
  } catch (err) {
    throw Object.assign(err as Error, { atTarget: true });
  }
}

function copyContent(r: CopyRequest): void {
  const { fd: src, st: before } = openSource(r.from);
  let dst: number | undefined;
  try {
    if (r.expect) checkUnchanged(before, r.expect);
    const size = Number(before.size);
    if (size <= SMALL) {
      // O_EXCL also refuses a symlink planted at the target.
      dst = fs.openSync(r.to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
      const n = size === 0 ? 0 : fs.readSync(src, buffer, 0, SMALL, 0);
      if (n !== size) throw contentChanged();
      let off = 0;
      while (off < n) off += fs.writeSync(dst, buffer, off, n - off);
    } else if (PROC_FD !== undefined) {
      // Large files: the kernel copies (copy_file_range or sendfile) without a trip through here.
      // copyFile opens its source by name, so it is given the open descriptor's, never the path a
      // symlink may have been swapped into since. Measured on a 1 GiB file: as fast as by path.
      fs.copyFileSync(PROC_FD + src, r.to, COPYFILE_EXCL);
      dst = fs.openSync(r.to, O_RDONLY | O_NOFOLLOW);
    } else {
      dst = fs.openSync(r.to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
      copyLoop(src, dst, size);
    }
    fs.fchmodSync(dst, r.mode >= 0 ? r.mode : Number(before.mode & 0o7777n));
    fs.futimesSync(dst, nsToUtimeSeconds(r.atimeNs), nsToUtimeSeconds(r.mtimeNs));
    if (r.fsync) fs.fsyncSync(dst);
    // By path, not by descriptor: an editor saving a file renames a new one over it.
    if (r.expect) {
      const after = fs.lstatSync(r.from, { bigint: true, throwIfNoEntry: false });
      if (after === undefined) throw fsError('ENOENT', 'source vanished');
      if (after.ino !== before.ino) throw contentChanged();
      checkUnchanged(after, r.expect);
    }
  } finally {
    fs.closeSync(src);
    if (dst !== undefined) fs.closeSync(dst);
  }
}

function copyLoop(src: number, dst: number, size: number): void {
  const chunk = Buffer.allocUnsafe(LOOP_CHUNK);
  let total = 0;
  for (let n: number; (n = fs.readSync(src, chunk, 0, LOOP_CHUNK, total)) > 0; total += n) {
    let off = 0;
    while (off < n) off += fs.writeSync(dst, chunk, off, n - off);
  }
  if (total !== size) throw contentChanged();
}

function contentChanged(): Error {
  return fsError('ECHANGED', 'changed while being copied');
}

function checkUnchanged(st: fs.BigIntStats, expect: { size: number; mtimeNs: bigint }): void {
  const refused = notRegular(st);
  if (refused) throw refused;
  if (Number(st.size) !== expect.size || st.mtimeNs !== expect.mtimeNs) throw contentChanged();
}

/**
 * Moves `from` to `to`, replacing at most what `replacing` allows (see Replacing). Nothing may
 * stand at `to`: a hard link is made there, which fails if anything appeared, and `from` unlinked.
 * Where the file system has no hard links (and for folders) a look, then a rename: a short window
 * remains there. A given item: it is compared, then renamed over; if it is gone, nothing may stand
 * there again.
 */
export function place(from: string, to: string, replacing: Replacing | undefined): void {
  if (replacing === undefined) return fs.renameSync(from, to);
  if (replacing !== null) {
    const st = fs.lstatSync(to, { bigint: true, throwIfNoEntry: false });
    if (st !== undefined) {
      if (!sameItem(st, replacing)) throw fsError('EAPPEARED', 'changed in the destination since it was listed');
      return fs.renameSync(from, to);
    }
  }
  if (moveByLink(from, to)) return;
  if (fs.lstatSync(to, { throwIfNoEntry: false }) !== undefined) throw appeared();
  try {
    fs.renameSync(from, to);
  } catch (err) {
    // A folder that appeared and filled up in the window.
    const code = (err as NodeJS.ErrnoException).code;
    throw code === 'EEXIST' || code === 'ENOTEMPTY' ? appeared() : err;
  }
}

/** Moves `from` to `to` by a hard link, then unlink; false where there are no hard links. */
function moveByLink(from: string, to: string): boolean {
  if (!linkTo(from, to)) return false;
  fs.unlinkSync(from);
  return true;
}

/** Hard-links `from` at `to`; false where that is not possible here. EAPPEARED if `to` is taken. */
function linkTo(from: string, to: string): boolean {
  // link(2) on Linux links a symlink itself; elsewhere it may follow it, so a link is moved by rename.
  if (process.platform !== 'linux' && fs.lstatSync(from).isSymbolicLink()) return false;
  try {
    fs.linkSync(from, to);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') throw appeared();
    if (NO_HARD_LINKS.has(code)) return false;
    throw err;
  }
}

function appeared(): Error {
  return fsError('EAPPEARED', 'appeared in the destination since it was listed');
}

function sameItem(st: fs.BigIntStats, want: NonNullable<Replacing>): boolean {
  const type = typeOf(st);
  return type === want.type && (type === 'file' ? Number(st.size) : 0) === want.size && st.mtimeNs === want.mtimeNs;
}

/**
 * Sets permission bits without following a symlink. chmod(2) follows links and Linux has no
 * lchmod, so a look-then-chmod by name could change a link's target swapped in between (as root,
 * any file). The item is opened first and the descriptor changed: on Linux with O_PATH through
 * /proc (needs no read permission and never opens a device or FIFO: what glibc's lchmod does),
 * elsewhere opened for reading and fchmod-ed.
 */
function chmod(p: string, mode: number): void {
  if (PROC_FD === undefined) {
    const fd = fs.openSync(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK); // ELOOP for a symlink
    try {
      return fs.fchmodSync(fd, mode);
    } finally {
      fs.closeSync(fd);
    }
  }
  const fd = fs.openSync(p, O_PATH | O_NOFOLLOW);
  try {
    if (fs.fstatSync(fd).isSymbolicLink()) throw fsError('ELOOP', 'is a symlink');
    fs.chmodSync(PROC_FD + fd, mode);
  } finally {
    fs.closeSync(fd);
  }
}

/** Not used on Windows, where a file opened only for reading cannot be flushed (LocalStorage.flush). */
function flushItem(p: string): void {
  const fd = fs.openSync(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function handle(r: FsRequest): unknown {
  switch (r.op) {
    case 'copy':
      return copy(r);
    case 'stat':
      return statItem(r.path);
    case 'rename':
      if (r.listedAs && !sameItem(fs.lstatSync(r.from, { bigint: true }), r.listedAs))
        throw fsError('ECHANGED', 'changed in the destination since it was listed; left as it is');
      return place(r.from, r.to, r.replacing);
    case 'unlink':
      return fs.unlinkSync(r.path);
    case 'rmdir':
      return fs.rmdirSync(r.path);
    case 'mkdir':
      return fs.mkdirSync(r.path, { mode: r.mode });
    case 'utimes':
      return fs.lutimesSync(r.path, r.atime, r.mtime);
    case 'chmod':
      return chmod(r.path, r.mode);
    case 'fsync':
      return flushItem(r.path);
    case 'syncfs':
      throw fsError('ENOSYS', 'syncfs is made by the native library only');
    case 'symlink':
      fs.symlinkSync(r.target, r.path);
      if (r.mtime !== undefined) fs.lutimesSync(r.path, r.atime ?? r.mtime, r.mtime);
      return undefined;
  }
}

/** Runs one call; failures come back as replies too. */
export function runOne(r: FsRequest): FsResponse {
  try {
    return { id: r.id, value: handle(r) };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { atTarget?: boolean };
    const error = {
      code: e.code ?? '',
      message: e.message,
      ...(e.atTarget ? { atTarget: true } : {}),
      ...(e.path ? { path: e.path } : {}),
    };
    return { id: r.id, error };
  }
}

// Told by its argv, not workerData: the main thread loads this module too (for the helpers above),
// and importing node:worker_threads there would load it at every start for nothing.
if (process.argv.includes(WORKER_MARK)) {
  const { parentPort } = process.getBuiltinModule('node:worker_threads');
  parentPort?.on('message', (batch: FsRequest[]) => parentPort!.postMessage(batch.map(runOne)));
}
