// Runs file system calls synchronously off the main thread, many per message. It imports nothing
// but Node built-ins and uses only erasable TypeScript, so Node runs the .ts source as it is in
// development and the compiled .js in a build.
import fs from 'node:fs';
import { isMainThread, parentPort } from 'node:worker_threads';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, COPYFILE_EXCL } = fs.constants;
/** Files up to this size are copied through one buffer: fewer system calls than copyFile's. */
const SMALL = 256 * 1024;
const buffer = Buffer.allocUnsafe(SMALL);

export type FsRequest =
  | {
      id: number;
      op: 'copy';
      from: string;
      to: string;
      mode: number;
      atime: string;
      mtime: string;
      fsync: boolean;
      /** Size and mtime (ns, as a string) the source must still have once copied; '' for no check. */
      expectSize: number;
      expectMtime: string;
      /** Where to rename the finished copy; '' to leave it. */
      renameTo: string;
    }
  | { id: number; op: 'stat'; path: string }
  | { id: number; op: 'rename'; from: string; to: string }
  | { id: number; op: 'unlink' | 'rmdir'; path: string }
  | { id: number; op: 'mkdir'; path: string; mode: number }
  | { id: number; op: 'utimes'; path: string; atime: string; mtime: string }
  | { id: number; op: 'chmod'; path: string; mode: number }
  | { id: number; op: 'symlink'; path: string; target: string; atime?: string; mtime?: string };

export type FsResponse = { id: number; value?: unknown; error?: { code: string; message: string } };

/** One item's metadata; `type` is 0 file, 1 dir, 2 symlink, 3 special. */
export interface StatReply {
  type: number;
  size: number;
  mode: number;
  mtime: bigint;
  atime: bigint;
  target: string;
}

function typeOf(st: fs.BigIntStats): number {
  return st.isFile() ? 0 : st.isDirectory() ? 1 : st.isSymbolicLink() ? 2 : 3;
}

/** lstat plus the link text, in the shape both threads use. */
export function statItem(path: string): StatReply {
  const st = fs.lstatSync(path, { bigint: true });
  const type = typeOf(st);
  return {
    type,
    size: type === 0 ? Number(st.size) : 0,
    mode: Number(st.mode & 0o7777n),
    mtime: st.mtimeNs,
    atime: st.atimeNs,
    target: type === 2 ? fs.readlinkSync(path) : '',
  };
}

function symlinkError(): Error {
  return Object.assign(new Error('is a symlink'), { code: 'ELOOP' });
}

/**
 * A local file copied to a new name, then given its mode and times and flushed. With `expect`, the
 * source is checked before and after the copy (same size and mtime) and only then, if asked,
 * renamed into place.
 */
function copy(r: Extract<FsRequest, { op: 'copy' }>): void {
  // O_NOFOLLOW: a file swapped for a link must not be copied through it.
  const src = fs.openSync(r.from, O_RDONLY | O_NOFOLLOW);
  let dst: number | undefined;
  try {
    const before = fs.fstatSync(src, { bigint: true });
    if (r.expectMtime !== '') checkUnchanged(before, r);
    const size = Number(before.size);
    if (size <= SMALL) {
      // O_EXCL also refuses a symlink planted at the target.
      dst = fs.openSync(r.to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
      const n = size === 0 ? 0 : fs.readSync(src, buffer, 0, SMALL, 0);
      if (n !== size) throw changedError();
      let off = 0;
      while (off < n) off += fs.writeSync(dst, buffer, off, n - off);
    } else {
      // Large files: the kernel copies (copy_file_range or sendfile) without a trip through here.
      fs.copyFileSync(r.from, r.to, COPYFILE_EXCL);
      dst = fs.openSync(r.to, O_RDONLY | O_NOFOLLOW);
    }
    fs.fchmodSync(dst, r.mode >= 0 ? r.mode : Number(before.mode & 0o7777n));
    fs.futimesSync(dst, r.atime, r.mtime);
    if (r.fsync) fs.fsyncSync(dst);
    // By path, not by descriptor: an editor saving a file renames a new one over it.
    if (r.expectMtime !== '') {
      const after = fs.lstatSync(r.from, { bigint: true, throwIfNoEntry: false });
      if (after === undefined) throw Object.assign(new Error('source vanished'), { code: 'ENOENT' });
      if (after.ino !== before.ino) throw changedError();
      checkUnchanged(after, r);
    }
  } finally {
    fs.closeSync(src);
    if (dst !== undefined) fs.closeSync(dst);
  }
  if (r.renameTo !== '' && r.expectMtime !== '') fs.renameSync(r.to, r.renameTo);
}

function changedError(): Error {
  return Object.assign(new Error('changed while being copied'), { code: 'ECHANGED' });
}

function checkUnchanged(st: fs.BigIntStats, r: Extract<FsRequest, { op: 'copy' }>): void {
  if (!st.isFile() || Number(st.size) !== r.expectSize || st.mtimeNs !== BigInt(r.expectMtime)) throw changedError();
}

function handle(r: FsRequest): unknown {
  switch (r.op) {
    case 'copy':
      return copy(r);
    case 'stat':
      return statItem(r.path);
    case 'rename':
      return fs.renameSync(r.from, r.to);
    case 'unlink':
      return fs.unlinkSync(r.path);
    case 'rmdir':
      return fs.rmdirSync(r.path);
    case 'mkdir':
      return fs.mkdirSync(r.path, { mode: r.mode });
    case 'utimes':
      return fs.lutimesSync(r.path, r.atime, r.mtime);
    case 'chmod':
      // chmod follows symlinks and Linux has no lchmod: refuse rather than change a link's target.
      if (fs.lstatSync(r.path).isSymbolicLink()) throw symlinkError();
      return fs.chmodSync(r.path, r.mode);
    case 'symlink':
      fs.symlinkSync(r.target, r.path);
      if (r.mtime !== undefined) fs.lutimesSync(r.path, r.atime ?? r.mtime, r.mtime);
      return undefined;
  }
}

/** Runs a batch in order; every request gets a reply, failures included. */
export function runBatch(batch: readonly FsRequest[]): FsResponse[] {
  const replies: FsResponse[] = new Array(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const r = batch[i]!;
    try {
      replies[i] = { id: r.id, value: handle(r) };
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      replies[i] = { id: r.id, error: { code: e.code ?? '', message: e.message } };
    }
  }
  return replies;
}

if (!isMainThread) parentPort?.on('message', (batch: FsRequest[]) => parentPort!.postMessage(runBatch(batch)));
