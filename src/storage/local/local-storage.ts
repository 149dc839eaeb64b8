import fs from 'node:fs';
import path from 'node:path';
import type { Entry, EntryType } from '../../core/entry.js';
import { NS_PER_MS } from '../../core/entry.js';
import { ErrorCode, StorageError } from '../../core/errors.js';
import type { RelPath } from '../../core/rel-path.js';
import type { Capabilities, FileSource, Storage, WriteOptions } from '../storage.js';
import * as call from './fs-calls.js';
import { mapFsError } from './map-error.js';
import { nsToUtimeSeconds } from './times.js';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, COPYFILE_EXCL } = fs.constants;
const BAD_REL = /(^|\/)\.\.?(\/|$)|^\/|\/$|\0|\/\//;
const CHUNK = 1 << 20;

export interface LocalStorageOptions {
  /** Flush each written file to the device before it is renamed into place (default true). */
  fsync?: boolean;
}

/** A folder on this machine. */
export class LocalStorage implements Storage {
  readonly description: string;
  readonly capabilities: Capabilities;
  private readonly root: string;
  private readonly fsync: boolean;

  constructor(root: string, options: LocalStorageOptions = {}) {
    this.root = path.resolve(root);
    this.description = this.root;
    this.fsync = options.fsync ?? true;
    const posix = process.platform !== 'win32';
    this.capabilities = {
      // The contract for local folders; the copy itself keeps microseconds.
      mtimePrecisionNs: NS_PER_MS,
      caseSensitive: process.platform === 'linux',
      canSetModTime: true,
      symlinks: posix,
      permissions: posix,
      atomicRename: true,
    };
  }

  /** The absolute path of `rel`; exposed for messages and for backends that share a machine. */
  absolute(rel: RelPath): string {
    if (rel === '') return this.root;
    if (BAD_REL.test(rel)) throw new TypeError(`Not a relative storage path: ${JSON.stringify(rel)}`);
    return this.root === '/' ? `/${rel}` : `${this.root}/${rel}`;
  }

  // Listing is synchronous on purpose: a readdir plus one lstat per name costs about half as much
  // done here as through the thread pool, and scanning dominates a no-op sync.
  async list(dir: RelPath): Promise<Entry[]> {
    const abs = this.absolute(dir);
    let names: string[];
    try {
      // readdir follows a symlink, which would list (and let a mirror delete) files outside the root.
      if (dir !== '' && fs.lstatSync(abs).isSymbolicLink()) {
        throw new StorageError(ErrorCode.NOT_DIR, `${dir}: is a symlink, not a folder`, dir);
      }
      names = fs.readdirSync(abs);
    } catch (err) {
      throw mapFsError(err, dir);
    }
    const entries: Entry[] = [];
    for (const name of names) {
      const child = abs === '/' ? `/${name}` : `${abs}/${name}`;
      let st: fs.BigIntStats | undefined;
      try {
        st = fs.lstatSync(child, { bigint: true, throwIfNoEntry: false });
      } catch (err) {
        throw mapFsError(err, dir === '' ? name : `${dir}/${name}`);
      }
      if (st === undefined) continue; // vanished between readdir and lstat
      entries.push(toEntry(name, st, st.isSymbolicLink() ? readlinkOrEmpty(child) : undefined));
    }
    return entries;
  }

  async stat(rel: RelPath): Promise<Entry> {
    const abs = this.absolute(rel);
    try {
      const st = await call.lstat(abs);
      return toEntry(path.basename(abs), st, st.isSymbolicLink() ? await call.readlink(abs) : undefined);
    } catch (err) {
      throw mapFsError(err, rel);
    }
  }

  read(rel: RelPath): FileSource {
    const abs = this.absolute(rel);
    return {
      localPath: abs,
      async *stream() {
        let fd: number;
        try {
          fd = await call.open(abs, O_RDONLY | O_NOFOLLOW);
        } catch (err) {
          throw mapFsError(err, rel);
        }
        try {
          for (;;) {
            const buf = Buffer.allocUnsafe(CHUNK);
            let n: number;
            try {
              n = await new Promise<number>((res, rej) =>
                fs.read(fd, buf, 0, CHUNK, null, (e, bytes) => (e ? rej(e) : res(bytes))),
              );
            } catch (err) {
              throw mapFsError(err, rel);
            }
            if (n === 0) return;
            yield n === CHUNK ? buf : buf.subarray(0, n);
          }
        } finally {
          await call.close(fd).catch(() => {});
        }
      },
    };
  }

  async write(rel: RelPath, source: FileSource, options: WriteOptions = {}): Promise<void> {
    const abs = this.absolute(rel);
    let fd: number | undefined;
    try {
      if (source.localPath !== undefined) {
        // COPYFILE_EXCL opens with O_EXCL, which also refuses to follow a symlink planted at `abs`.
        // The kernel copies the bytes and libuv gives the copy the source's permission bits.
        try {
          // copyFile follows a symlink at the source; refuse it as streaming the source (O_NOFOLLOW) does.
          if ((await call.lstat(source.localPath)).isSymbolicLink()) {
            throw new StorageError(ErrorCode.CHANGED, `${rel}: the source is a symlink, not a file`, rel);
          }
          await call.copyFile(source.localPath, abs, COPYFILE_EXCL);
        } catch (err) {
          throw await blameSide(err, source.localPath, rel);
        }
        fd = await call.open(abs, O_RDONLY | O_NOFOLLOW);
      } else {
        fd = await call.open(abs, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
        for await (const chunk of source.stream()) {
          let off = 0;
          while (off < chunk.length) off += await call.write(fd, chunk, off, chunk.length - off);
        }
      }
      if (options.mode !== undefined && this.capabilities.permissions) await call.fchmod(fd, options.mode & 0o7777);
      if (options.mtimeNs !== undefined) {
        const atime = nsToUtimeSeconds(options.atimeNs ?? options.mtimeNs);
        await call.futimes(fd, atime, nsToUtimeSeconds(options.mtimeNs));
      }
      if (this.fsync) await call.fsync(fd);
    } catch (err) {
      throw mapFsError(err, rel);
    } finally {
      if (fd !== undefined) await call.close(fd).catch(() => {});
    }
  }

  async symlink(rel: RelPath, target: string, options: WriteOptions = {}): Promise<void> {
    const abs = this.absolute(rel);
    try {
      await call.symlink(target, abs);
      if (options.mtimeNs !== undefined) {
        const atime = nsToUtimeSeconds(options.atimeNs ?? options.mtimeNs);
        await call.lutimes(abs, atime, nsToUtimeSeconds(options.mtimeNs));
      }
    } catch (err) {
      throw mapFsError(err, rel);
    }
  }

  async setModTime(rel: RelPath, mtimeNs: bigint, atimeNs?: bigint): Promise<void> {
    const abs = this.absolute(rel);
    try {
      await call.lutimes(abs, nsToUtimeSeconds(atimeNs ?? mtimeNs), nsToUtimeSeconds(mtimeNs));
    } catch (err) {
      throw mapFsError(err, rel);
    }
  }

  async setMode(rel: RelPath, mode: number): Promise<void> {
    if (!this.capabilities.permissions) return;
    const abs = this.absolute(rel);
    try {
      // chmod follows symlinks and Linux has no lchmod: refuse rather than change a link's target.
      if ((await call.lstat(abs)).isSymbolicLink()) {
        throw new StorageError(ErrorCode.CHANGED, `${rel}: is a symlink, its mode cannot be set`, rel);
      }
      await call.chmod(abs, mode & 0o7777);
    } catch (err) {
      throw mapFsError(err, rel);
    }
  }

  async rename(from: RelPath, to: RelPath): Promise<void> {
    const a = this.absolute(from);
    const b = this.absolute(to);
    try {
      await call.rename(a, b);
    } catch (err) {
      const e = mapFsError(err, to);
      // rename(2) says EEXIST or ENOTEMPTY for a non-empty target directory.
      if (e.code === ErrorCode.EXISTS) throw new StorageError(ErrorCode.NOT_EMPTY, e.message, to, false, e.native);
      throw e;
    }
  }

  async mkdir(rel: RelPath, options: WriteOptions = {}): Promise<void> {
    const abs = this.absolute(rel);
    const mode = options.mode === undefined ? 0o777 : (options.mode & 0o7777) | 0o700;
    try {
      // The root is created with its missing parents, as `mkdir -p` would.
      if (rel === '') await fs.promises.mkdir(abs, { recursive: true, mode });
      else await call.mkdir(abs, mode);
    } catch (err) {
      throw mapFsError(err, rel);
    }
  }

  async remove(rel: RelPath): Promise<void> {
    const abs = this.absolute(rel);
    try {
      await call.unlink(abs);
    } catch (err) {
      const e = mapFsError(err, rel);
      // unlink(2) on a directory is EISDIR on Linux but EPERM on macOS and others.
      if (e.code === ErrorCode.PERMISSION && (await isDir(abs))) {
        throw new StorageError(ErrorCode.IS_DIR, `${rel}: is a directory`, rel);
      }
      throw e;
    }
  }

  async rmdir(rel: RelPath): Promise<void> {
    const abs = this.absolute(rel);
    try {
      await call.rmdir(abs);
    } catch (err) {
      const e = mapFsError(err, rel);
      if (e.code === ErrorCode.EXISTS) throw new StorageError(ErrorCode.NOT_EMPTY, e.message, rel, false, e.native);
      throw e;
    }
  }

  async close(): Promise<void> {}
}

function toEntry(name: string, st: fs.BigIntStats, target: string | undefined): Entry {
  const type: EntryType = st.isFile()
    ? 'file'
    : st.isDirectory()
      ? 'dir'
      : st.isSymbolicLink()
        ? 'symlink'
        : 'special';
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

function readlinkOrEmpty(abs: string): string {
  try {
    return fs.readlinkSync(abs);
  } catch {
    return '';
  }
}

async function isDir(abs: string): Promise<boolean> {
  try {
    return (await call.lstat(abs)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * copyFile fails the same way whether the source or the target is at fault; a missing source is a
 * vanished file (skipped quietly by the engine), anything else is about the target.
 */
async function blameSide(err: unknown, sourcePath: string, rel: RelPath): Promise<StorageError> {
  const e = mapFsError(err, rel);
  if (e.code === ErrorCode.NOT_FOUND || e.code === ErrorCode.PERMISSION || e.code === ErrorCode.IS_DIR) {
    try {
      await call.lstat(sourcePath);
    } catch (srcErr) {
      const s = mapFsError(srcErr, rel);
      return new StorageError(s.code, `source ${s.message}`, rel, s.retryable, s.native);
    }
  }
  return e;
}
