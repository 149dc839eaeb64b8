import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Entry } from '../../core/entry.js';
import { ErrorCode, StorageError, isStorageError } from '../../core/errors.js';
import { assertRelPath, baseName, parentOf, type RelPath } from '../../core/rel-path.js';
import type {
  Capabilities,
  FileSource,
  FolderPut,
  FoldersPut,
  PutOptions,
  RenameOptions,
  Replacing,
  Storage,
  WriteOptions,
} from '../storage.js';
import { ASSUMED, capabilitiesOf, type FsInfo } from './capabilities.js';
import { formatRcloneLocation, rcloneFs, type RcloneEndpoint } from './endpoint.js';
import { mapRcError } from './map-error.js';
import { fromRcloneName, rcloneCanName, toRclonePath } from './names.js';
import { putFolders, type RemoteCalls } from './put-folders.js';
import { type JobStats, type RcloneServer, sharedRcloneServer } from './server.js';
import { parseRcloneTime, touchTimestamp } from './times.js';
import { tempPathFor } from '../../core/temp-name.js';

/** An item as operations/list and operations/stat give it (lsjson's fields). */
interface ListItem {
  /** From the root of the call's `fs`. */
  Path: string;
  Name: string;
  Size: number;
  ModTime: string;
  IsDir: boolean;
}

let spooled = 0;

/**
 * How long calls fail at once, as the last one did, after a remote was found unreachable: what a
 * stopped run still asks (removing its temp file, closing) would otherwise wait on rclone's
 * retries call after call. Short, so that a pair that tries again later finds the remote back.
 */
const UNREACHABLE_FOR_MS = 5000;

/** How often at most a job's bytes are told (WriteOptions.onProgress). */
const PROGRESS_EVERY_MS = 200;

/** How long a job may move no byte before the remote is looked at (see remoteCalls.job). */
const STALLED_MS = 1500;

/** Files from this size on are copied as a job, whose progress is told (WriteOptions.onProgress). */
const FOLLOWED_BYTES = 8 * 1024 * 1024;

/** How long a folder seen is taken to be there still (see folderOf). */
const FOLDER_TRUSTED_MS = 10_000;

/**
 * A folder on any remote rclone reaches (SFTP, SMB, WebDAV, S3, Google Drive…), through one
 * `rclone rcd` shared by the process (server.ts). rclone's own calls do the work: a copy is
 * rclone's upload of a file of this machine (checked by size and, where both sides have one, a
 * hash), so its time is the file's; what rclone has no call for (a file's time alone) goes
 * through `rclone touch`, and the checks a call needs first (is something there?) are stats.
 */
export class RcloneStorage implements Storage {
  readonly description: string;
  capabilities: Capabilities = { ...ASSUMED };
  private readonly fs: string;
  private readonly remoteName: string;
  private using = false;
  private closed = false;
  private measured: Promise<boolean> | undefined;
  /** A remote just found unreachable is not asked again at once (see UNREACHABLE_FOR_MS). */
  private unreachable: { err: StorageError; until: number } | undefined;
  /** Folders known to be there, and when that was last seen (see folderOf). */
  private readonly folders = new Map<RelPath, number>();

  constructor(
    private readonly endpoint: RcloneEndpoint,
    private readonly server: RcloneServer = sharedRcloneServer,
  ) {
    this.description = formatRcloneLocation(endpoint);
    this.fs = rcloneFs(endpoint);
    this.remoteName = endpoint.remote ?? 'rclone';
  }

  /** Takes rclone's description of the remote (operations/fsinfo); nothing is written. */
  async measure(): Promise<'measured' | 'assumed'> {
    this.measured ??= this.call<FsInfo>('operations/fsinfo', { fs: this.fs }).then(
      (info) => ((this.capabilities = capabilitiesOf(info)), true),
      () => ((this.measured = undefined), false),
    );
    return (await this.measured) ? 'measured' : 'assumed';
  }

  async list(dir: RelPath): Promise<Entry[]> {
    assertRelPath(dir);
    let items: ListItem[];
    try {
      items = (await this.call<{ list: ListItem[] }>('operations/list', this.at(dir, { opt: LIST_OPT }), dir)).list;
    } catch (err) {
      // A file is "not found" as a folder: said as what it is.
      if (!isStorageError(err, ErrorCode.NOT_FOUND) || dir === '') throw err;
      const st = await this.find(dir);
      if (st?.type === 'file') throw new StorageError(ErrorCode.NOT_DIR, `${this.show(dir)} is not a folder`, dir);
      throw err;
    }
    // WebDAV answers a listing of a file with the file itself, or with nothing.
    const inside = toRclonePath(dir === '' ? '' : `${dir}/`);
    const file =
      items.some((item) => !item.Path.startsWith(inside)) ||
      (items.length === 0 && dir !== '' && (await this.find(dir))?.type === 'file');
    if (dir !== '' && file) throw new StorageError(ErrorCode.NOT_DIR, `${this.show(dir)} is not a folder`, dir);
    const now = performance.now();
    this.folders.set(dir, now);
    const entries = items.map((item) => this.entry(item, fromRcloneName(item.Name)));
    for (const e of entries) if (e.type === 'dir') this.folders.set(dir === '' ? e.name : `${dir}/${e.name}`, now);
    return entries;
  }

  async stat(path: RelPath): Promise<Entry> {
    assertRelPath(path);
    const st = await this.find(path);
    if (!st) throw new StorageError(ErrorCode.NOT_FOUND, `${this.show(path)} does not exist`, path);
    return st;
  }

  read(path: RelPath): FileSource {
    const self = this;
    return {
      async *stream() {
        assertRelPath(path);
        let res: Awaited<ReturnType<RcloneServer['open']>>;
        try {
          res = await self.use().open(self.fs, toRclonePath(path));
        } catch (err) {
          throw await self.readFailure(err, path);
        }
        const expected = Number(res.headers['content-length'] ?? Number.NaN);
        let received = 0;
        try {
          for await (const chunk of res) {
            received += (chunk as Buffer).length;
            yield chunk as Buffer;
          }
        } catch (err) {
          throw self.server.gone(err as Error);
        }
        if (!Number.isNaN(expected) && received !== expected) {
          throw new StorageError(
            ErrorCode.DEVICE_GONE,
            `cannot reach ${self.remoteName}: ${self.show(path)} ended after ${received} of ${expected} bytes`,
            path,
            true,
          );
        }
      },
    };
  }

  async write(path: RelPath, source: FileSource, options: WriteOptions = {}): Promise<boolean> {
    assertRelPath(path);
    this.refuseUnnamable(path);
    const [here, up] = await Promise.all([this.find(path), this.folderOf(path)]);
    if (here) throw new StorageError(ErrorCode.EXISTS, `${this.show(path)} already exists`, path);
    if (!up) throw new StorageError(ErrorCode.NOT_FOUND, `the folder of ${this.show(path)} does not exist`, path);
    const local = await this.localFile(source, options);
    try {
      // From the root, so that no name of the folders above it is taken for part of a remote's name.
      const copy = {
        srcFs: '/',
        srcRemote: toRclonePath(joinLocal(local).slice(1)),
        dstFs: this.fs,
        dstRemote: toRclonePath(path),
      };
      // A large file goes as a job, whose bytes can be followed (and which stops with the run).
      if (options.onProgress && local.size >= FOLLOWED_BYTES)
        await this.remoteCalls.job('operations/copyfile', copy, path, {
          onProgress: options.onProgress,
          signal: options.signal,
        });
      else await this.call('operations/copyfile', copy, path);
      const checked = source.localPath !== undefined && options.expect !== undefined && local.spooled === false;
      if (checked) await sameAsExpected(source.localPath!, options.expect!, path);
      const to = options.renameTo;
      if (checked && to !== undefined) {
        if (parentOf(to) !== parentOf(path) && !(await this.folderOf(to)))
          throw new StorageError(ErrorCode.NOT_FOUND, `the folder of ${this.show(to)} does not exist`, to);
        await this.moveFile(path, to, options.replacing);
      }
      return checked;
    } finally {
      if (local.spooled) await fs.promises.rm(joinLocal(local), { force: true });
    }
  }

  /** See Storage.putFolders; offered where the remote moves a folder in one step (put-folders.ts). */
  readonly putFolders = (put: FolderPut, options?: PutOptions): Promise<FoldersPut> => {
    if (this.capabilities.wholeFolders !== true)
      return Promise.reject(new StorageError(ErrorCode.UNSUPPORTED, `${this.description} moves no folder in one step`));
    return putFolders(this.remoteCalls, put, options);
  };

  private readonly remoteCalls: RemoteCalls = {
    fsOf: (path) => rcloneFs(this.endpoint, toRclonePath(path)),
    call: (method, params, path) => this.call(method, params, path),
    job: async (method, params, path, { signal, onProgress } = {}) => {
      const server = this.reachable();
      // A job goes on to its last file whatever fails, each tried with rclone's pauses between
      // tries, and counts no error before its end: minutes against a server that stopped. A job
      // that stalls has the remote looked at, and is stopped when that finds it unreachable.
      let moved = { bytes: -1, at: performance.now() };
      let told = -Infinity;
      const watch = async (stats: JobStats) => {
        const now = performance.now();
        if (stats.bytes !== moved.bytes) {
          moved = { bytes: stats.bytes, at: now };
          if (now - told >= PROGRESS_EVERY_MS) {
            told = now;
            onProgress?.(stats.bytes);
          }
        }
        if (now - moved.at < STALLED_MS) return undefined;
        moved.at = now;
        const err = await server.call('operations/stat', { fs: this.fs, remote: '' }).then(
          () => undefined,
          (e: unknown) => e,
        );
        const mapped = mapRcError(err, this.remoteName, this.show(path), path);
        return isStorageError(mapped, ErrorCode.DEVICE_GONE) ? (err as Error).message : undefined;
      };
      try {
        return await server.job(method, params, { signal, watch });
      } catch (err) {
        throw this.mapped(err, path);
      }
    },
    list: (dir) => this.list(dir),
    spool: () => this.use().spool(),
  };

  async symlink(path: RelPath): Promise<void> {
    assertRelPath(path);
    throw new StorageError(ErrorCode.UNSUPPORTED, `${this.show(path)}: rclone remotes keep no symlinks`, path);
  }

  async setModTime(path: RelPath, mtimeNs: bigint): Promise<void> {
    const st = await this.stat(path);
    // rclone has no call to set a folder's time (capabilities: folderTimes).
    if (st.type === 'dir') return;
    const target = rcloneFs(this.endpoint, toRclonePath(path));
    const out = await this.call<{ error?: boolean; result?: string }>(
      'core/command',
      { command: 'touch', arg: ['--no-create', '--timestamp', touchTimestamp(mtimeNs), target] },
      path,
    );
    if (out.error) throw new StorageError(ErrorCode.IO, `${this.show(path)}: ${lastLine(out.result)}`, path);
  }

  async setMode(path: RelPath): Promise<void> {
    // Permission bits are not kept on a remote (capabilities: permissions).
    assertRelPath(path);
  }

  async rename(from: RelPath, to: RelPath, options: RenameOptions = {}): Promise<void> {
    assertRelPath(from);
    assertRelPath(to);
    this.refuseUnnamable(to);
    const [source, up] = await Promise.all([this.find(from), this.folderOf(to)]);
    if (!source) throw new StorageError(ErrorCode.NOT_FOUND, `${this.show(from)} does not exist`, from);
    if (options.listedAs && !sameItem(source, options.listedAs))
      throw new StorageError(ErrorCode.CHANGED, `${this.show(from)} changed since it was listed`, from);
    if (!up) throw new StorageError(ErrorCode.NOT_FOUND, `the folder of ${this.show(to)} does not exist`, to);
    if (from === to) return;
    if (source.type !== 'dir') return this.moveFile(from, to, options.replacing);
    if (this.caseOnly(from, to)) {
      // rclone takes two spellings of one folder for overlapping remotes: through a temp name.
      const via = tempPathFor(to);
      await this.moveFolder(from, via);
      return this.moveFolder(via, to);
    }
    await this.clearFor(to, options.replacing, true);
    await this.moveFolder(from, to);
  }

  /** Moves the folder `from` to `to`, where nothing stands. */
  private async moveFolder(from: RelPath, to: RelPath): Promise<void> {
    this.forgetFolders(from);
    // A folder moves in one server-side step where the remote can (DirMove), else file by file.
    await this.call(
      'sync/move',
      {
        srcFs: rcloneFs(this.endpoint, toRclonePath(from)),
        dstFs: rcloneFs(this.endpoint, toRclonePath(to)),
        createEmptySrcDirs: true,
        deleteEmptySrcDirs: true,
        ...KEEP,
      },
      to,
    );
    if (await this.find(from)) await this.call('operations/rmdir', this.at(from), from);
  }

  /** Moves the file at `from` (known to be one) to `to`, whose folder is known to exist. */
  private async moveFile(from: RelPath, to: RelPath, replacing: Replacing | undefined): Promise<void> {
    // Removed first, as rclone would anyway: rclone takes a file of the same size for the same
    // where times cannot be compared (WebDAV), and would drop the new one instead of moving it.
    // A change of case alone, on a remote that ignores case, finds the file itself at `to`.
    const caseOnly = this.caseOnly(from, to);
    if (!caseOnly && (await this.clearFor(to, replacing, false)))
      await this.call('operations/deletefile', this.at(to), to);
    const [srcRemote, dstRemote] = [toRclonePath(from), toRclonePath(to)];
    await this.call('operations/movefile', { srcFs: this.fs, srcRemote, dstFs: this.fs, dstRemote, ...KEEP }, to);
    // rclone leaves the file where it was when something took the name meanwhile: that is kept. (A
    // change of case alone is still found at its old name.)
    if (!caseOnly && (await this.find(from)))
      throw new StorageError(ErrorCode.EXISTS, `${this.show(to)}: something else is there now`, to);
  }

  /** Whether `from` and `to` name one item on this remote, only written in another case. */
  private caseOnly(from: RelPath, to: RelPath): boolean {
    return !this.capabilities.caseSensitive && from !== to && from.toLowerCase() === to.toLowerCase();
  }

  /**
   * Fails EXISTS when what is at `to` may not be replaced (see Replacing), IS_DIR or NOT_EMPTY for
   * a folder; true when a file is there (to be replaced).
   */
  private async clearFor(to: RelPath, replacing: Replacing | undefined, folder: boolean): Promise<boolean> {
    const there = await this.find(to);
    if (there && replacing !== undefined && (replacing === null || !sameItem(there, replacing)))
      throw new StorageError(ErrorCode.EXISTS, `${this.show(to)}: something else is there now`, to);
    if (there?.type !== 'dir') return there !== undefined;
    const full = folder && (await this.list(to)).length > 0;
    throw new StorageError(
      full ? ErrorCode.NOT_EMPTY : ErrorCode.IS_DIR,
      `${this.show(to)} is a folder${full ? ' that is not empty' : ''}`,
      to,
    );
  }

  async mkdir(path: RelPath): Promise<void> {
    assertRelPath(path);
    this.refuseUnnamable(path);
    if (path !== '') {
      const [here, up] = await Promise.all([this.find(path), this.folderOf(path)]);
      if (here) throw new StorageError(ErrorCode.EXISTS, `${this.show(path)} already exists`, path);
      if (!up) throw new StorageError(ErrorCode.NOT_FOUND, `the folder of ${this.show(path)} does not exist`, path);
    }
    await this.call('operations/mkdir', this.at(path), path);
    this.folders.set(path, performance.now());
  }

  async remove(path: RelPath): Promise<void> {
    const st = await this.stat(path);
    if (st.type === 'dir') throw new StorageError(ErrorCode.IS_DIR, `${this.show(path)} is a folder`, path);
    await this.call('operations/deletefile', this.at(path), path);
  }

  async rmdir(path: RelPath): Promise<void> {
    const st = await this.stat(path);
    if (st.type !== 'dir') throw new StorageError(ErrorCode.NOT_DIR, `${this.show(path)} is not a folder`, path);
    if ((await this.list(path)).length > 0)
      throw new StorageError(ErrorCode.NOT_EMPTY, `${this.show(path)}: the folder is not empty`, path);
    this.forgetFolders(path);
    await this.call('operations/rmdir', this.at(path), path);
  }

  /** See Storage.removeTree: operations/purge, one call however many files the folder holds. */
  readonly removeTree = async (path: RelPath): Promise<void> => {
    assertRelPath(path);
    if (path === '')
      throw new StorageError(ErrorCode.UNSUPPORTED, `${this.description}: the root is never removed whole`);
    const st = await this.stat(path);
    if (st.type !== 'dir') throw new StorageError(ErrorCode.NOT_DIR, `${this.show(path)} is not a folder`, path);
    this.forgetFolders(path);
    await this.call('operations/purge', this.at(path), path);
  };

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.using) await this.server.release();
  }

  /**
   * Whether the folder holding `path` is there (true for the root's own): taken from a listing or
   * a check of the last few seconds where there is one. rclone would make a missing folder on its
   * way; this is what keeps write and rename from doing so, at one call less per file.
   */
  private async folderOf(path: RelPath): Promise<boolean> {
    if (path === '') return true;
    const dir = parentOf(path);
    const seen = this.folders.get(dir);
    if (seen !== undefined && performance.now() - seen < FOLDER_TRUSTED_MS) return true;
    const up = await this.find(dir);
    if (up?.type !== 'dir') return false;
    this.folders.set(dir, performance.now());
    return true;
  }

  /** Forgets that `dir` and the folders in it exist (it is removed or moved). */
  private forgetFolders(dir: RelPath): void {
    for (const known of this.folders.keys())
      if (known === dir || known.startsWith(`${dir}/`) || dir === '') this.folders.delete(known);
  }

  /** The item at `path`, or undefined when nothing is there. */
  private async find(path: RelPath): Promise<Entry | undefined> {
    try {
      const { item } = await this.call<{ item: ListItem | null }>(
        'operations/stat',
        this.at(path, { opt: LIST_OPT }),
        path,
      );
      return item ? this.entry(item, path === '' ? '' : baseName(path)) : undefined;
    } catch (err) {
      // A path under a file, or under a folder that is not there, holds nothing.
      if (isStorageError(err, ErrorCode.NOT_FOUND) || isStorageError(err, ErrorCode.NOT_DIR)) return undefined;
      throw err;
    }
  }

  private entry(item: ListItem, name: string): Entry {
    const mtimeNs = parseRcloneTime(item.ModTime) ?? 0n;
    const type = item.IsDir ? 'dir' : 'file';
    return { name, type, size: item.IsDir ? 0 : Math.max(0, item.Size), mtimeNs, atimeNs: mtimeNs, mode: 0 };
  }

  /**
   * The file rclone copies from: the source's own file where it is one of this machine with the
   * time to give the copy, else a copy of the bytes in the server's spool folder with that time.
   */
  private async localFile(
    source: FileSource,
    options: WriteOptions,
  ): Promise<{ dir: string; name: string; spooled: boolean; size: number }> {
    if (source.localPath !== undefined) {
      const st = await fs.promises.lstat(source.localPath, { bigint: true }).catch(() => undefined);
      if (st?.isFile() && (options.mtimeNs === undefined || st.mtimeNs === options.mtimeNs))
        return {
          dir: path.dirname(source.localPath),
          name: path.basename(source.localPath),
          spooled: false,
          size: Number(st.size),
        };
    }
    const dir = await this.use().spool();
    const name = `w${++spooled}`;
    const file = path.join(dir, name);
    try {
      await pipeline(source.stream(), fs.createWriteStream(file, { mode: 0o600 }));
      if (options.mtimeNs !== undefined) {
        const at = Number(options.mtimeNs) / 1e9;
        await fs.promises.utimes(file, at, at);
      }
    } catch (err) {
      await fs.promises.rm(file, { force: true });
      throw err;
    }
    return { dir, name, spooled: true, size: (await fs.promises.stat(file)).size };
  }

  private async readFailure(err: unknown, path: RelPath): Promise<unknown> {
    const mapped = mapRcError(err, this.remoteName, this.show(path), path);
    if (!isStorageError(mapped, ErrorCode.IO)) return mapped;
    // The file server says little ("failed to find object"): the item says what it is.
    const st = await this.find(path).catch(() => undefined);
    if (!st) return new StorageError(ErrorCode.NOT_FOUND, `${this.show(path)} does not exist`, path);
    if (st.type === 'dir') return new StorageError(ErrorCode.IS_DIR, `${this.show(path)} is a folder`, path);
    return mapped;
  }

  private refuseUnnamable(path: RelPath): void {
    if (!rcloneCanName(path))
      throw new StorageError(
        ErrorCode.UNSUPPORTED,
        `${this.show(path)}: rclone cannot keep the character \u201b (U+201B) in a name; rename the item`,
        path,
      );
  }

  private at(path: RelPath, more: Record<string, unknown> = {}): Record<string, unknown> {
    return { fs: this.fs, remote: toRclonePath(path), ...more };
  }

  private async call<T>(method: string, params: Record<string, unknown>, path?: RelPath): Promise<T> {
    const server = this.reachable();
    try {
      return await server.call<T>(method, params);
    } catch (err) {
      throw this.mapped(err, path);
    }
  }

  /** The server, unless the remote was found unreachable a moment ago: that failure again (see UNREACHABLE_FOR_MS). */
  private reachable(): RcloneServer {
    const server = this.use();
    if (this.unreachable && performance.now() < this.unreachable.until) throw this.unreachable.err;
    return server;
  }

  /** rclone's error as a StorageError; a remote found unreachable is not asked again at once. */
  private mapped(err: unknown, path: RelPath | undefined): unknown {
    const mapped = tooLong(mapRcError(err, this.remoteName, this.show(path ?? ''), path), path);
    if (isStorageError(mapped, ErrorCode.DEVICE_GONE))
      this.unreachable = { err: mapped, until: performance.now() + UNREACHABLE_FOR_MS };
    return mapped;
  }

  /** The server, counted as used by this storage from its first call to its close. */
  private use(): RcloneServer {
    if (this.closed) throw new StorageError(ErrorCode.DEVICE_GONE, `${this.description} is closed`);
    if (!this.using) {
      this.using = true;
      this.server.use();
    }
    return this.server;
  }

  private show(path: RelPath): string {
    return path === '' ? this.description : `${this.description}/${path}`;
  }
}

const LIST_OPT = { noMimeType: true };

/**
 * A move never replaces what stands at its target: checked by rclone in the same call, so a file
 * that appeared after the checks made first is kept (a folder's move falls back to moving its
 * files one by one where the target folder appeared, none over a file there).
 */
const KEEP = { _config: { IgnoreExisting: true } };

function sameItem(there: Entry, r: Exclude<Replacing, null>): boolean {
  return there.type === r.type && (r.type !== 'file' || there.size === r.size) && there.mtimeNs === r.mtimeNs;
}

async function sameAsExpected(file: string, expect: { size: number; mtimeNs: bigint }, path: RelPath): Promise<void> {
  const st = await fs.promises.lstat(file, { bigint: true }).catch(() => undefined);
  if (!st || Number(st.size) !== expect.size || st.mtimeNs !== expect.mtimeNs)
    throw new StorageError(ErrorCode.CHANGED, `${path}: changed while it was copied`, path);
}

function joinLocal(local: { dir: string; name: string }): string {
  return path.join(local.dir, local.name);
}

function lastLine(text: string | undefined): string {
  return (text ?? '').trim().split('\n').at(-1) ?? 'rclone touch failed';
}

/**
 * A name over 255 bytes that the remote refused for a reason it did not say (WebDAV answers 405)
 * is taken as too long: no common file system keeps one.
 */
function tooLong(err: unknown, path: RelPath | undefined): unknown {
  if (!isStorageError(err, ErrorCode.IO) || path === undefined) return err;
  if (!path.split('/').some((name) => Buffer.byteLength(name) > 255)) return err;
  return new StorageError(ErrorCode.NAME_TOO_LONG, `${err.message} (a name longer than 255 bytes)`, path);
}
