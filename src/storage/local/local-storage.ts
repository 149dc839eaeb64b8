import fs from 'node:fs';
import path from 'node:path';
import { NS_PER_MS, type Entry } from '../../core/entry.js';
import { ErrorCode, StorageError } from '../../core/errors.js';
import { parentOf, type RelPath } from '../../core/rel-path.js';
import type {
  Capabilities,
  FileSource,
  FolderListing,
  RenameOptions,
  Replacing,
  Storage,
  WriteOptions,
} from '../storage.js';
import * as call from './fs-calls.js';
import { isAtTarget, sharedFsPool, type FsCall, type FsPool } from './fs-pool.js';
import { notRegular, nsToUtimeSeconds, toEntry, type CopyRequest } from './fs-worker.js';
import { mapFsError } from './map-error.js';
import { type MoveSeen, windowsMoveError } from './windows-move-error.js';
import {
  NATIVE_KINDS,
  sharedNativeBatches,
  type NativeCopier,
  type NativeCopyRequest,
  type NativeLister,
  type NativeOpRequest,
  type NativeShared,
} from './native.js';
import { NativeFolder } from './native-folder.js';
import { plainFolder } from '../folder-listing.js';
import { capabilitiesFrom } from '../measured.js';
import { encodePath, nameCodec, NO_RULES, type NameCodec } from '../../core/name-encoding.js';
import { knownByType, measuredOf, nearestExisting } from './measure.js';
import { fileSystemKind, keepsNothingAfterRestart } from './fs-kind.js';
import { makeFolders } from './make-folders.js';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
/**
 * What assertRelPath (core/rel-path.ts) refuses, as one regular expression: a `.` or `..` part, a
 * leading or trailing slash, an empty part, a NUL. Faster than splitting every path; a test holds
 * the two to the same answers.
 */
const BAD_REL = /(^|\/)\.\.?(\/|$)|^\/|\/$|\0|\/\//;
const CHUNK = 1 << 20;

export interface LocalStorageOptions {
  /** Flush what is written (default true; never on a RAM disk). */
  fsync?: boolean;
  /** The worker threads doing the file system calls (tests may pass their own). */
  pool?: FsPool;
  /** List and copy through the native library where it was built (default true; tests run both ways). */
  native?: boolean;
  /** What the file system under a folder keeps (default: measured, see measure.ts); tests pass their own. */
  measured?: typeof measuredOf;
  /** What its kind alone tells, at construction (default: from the statfs type); tests pass their own. */
  known?: typeof knownByType;
}

/**
 * A folder on this machine. Listing runs on the calling thread; changes and local-to-local copies
 * run on a small pool of worker threads (FsPool); content streamed from another kind of storage is
 * written from the calling thread.
 */
export class LocalStorage implements Storage {
  readonly description: string;
  private realRoot: string | undefined;
  /** As reported for a folder of this kind, then as measured (see measure()). */
  capabilities: Capabilities;
  /** Names as the file system stores them (see Capabilities.names): the identity unless measured otherwise. */
  private codec: NameCodec = IDENTITY;
  private readonly root: string;
  /** Flush what is written, unless the root is on a RAM disk (see writesFlushed). */
  private readonly fsync: boolean;
  /** Whether the root lies on a RAM disk, looked at once per measure() (a drive may be mounted there since). */
  private ramDisk: boolean | undefined;
  private readonly pool: FsPool;
  private readonly measured: typeof measuredOf;
  private readonly native: NativeShared | undefined;
  /** Offered with the native library, which summarises folders as it lists them. */
  readonly listFolder?: (dir: RelPath) => Promise<FolderListing>;
  private readonly flushBound = (paths: readonly RelPath[]) => this.flushItems(paths);
  /** How flushItems makes items durable: its file system at once, its drive at once, or item by item. */
  private flushHow: 'file system' | 'drive' | 'items' | undefined;

  constructor(root: string, options: LocalStorageOptions = {}) {
    this.root = path.resolve(root);
    this.description = this.root;
    this.fsync = options.fsync ?? true;
    this.pool = options.pool ?? sharedFsPool();
    this.measured = options.measured ?? measuredOf;
    this.native = options.native === false ? undefined : sharedNativeBatches();
    const lister = this.native?.lister;
    if (lister) this.listFolder = (dir) => this.nativeFolder(lister, dir);
    const posix = process.platform !== 'win32';
    this.capabilities = {
      // Two times this close are equal (README, "Equality"): comfortably coarser than the microsecond
      // Node's double-seconds utimes keeps (fs-worker.ts); the copy itself keeps the microsecond.
      // Drives that keep coarser times say so when measured.
      mtimePrecisionNs: NS_PER_MS,
      caseSensitive: process.platform === 'linux',
      canSetModTime: true,
      symlinks: posix,
      permissions: posix,
      atomicRename: true,
      accessTimes: true,
      // Node reaches every path through `\\?\`, so Windows makes a file named CON or aux.c, which
      // Explorer and most programs then cannot open or delete: such names are skipped, and said.
      ...(process.platform === 'win32' ? { reservedNames: true } : {}),
    };
    const known = (options.known ?? knownByType)(this.root);
    if (known) this.capabilities = capabilitiesFrom(this.capabilities, known);
  }

  /**
   * Measures what the file system under the root keeps (probe.ts) and takes it as this storage's
   * capabilities and name rules; with `probe: false`, writes nothing and goes by what was measured
   * before on the same mount, else by the file system's kind.
   */
  async measure(options: { probe?: boolean } = {}): Promise<'measured' | 'assumed'> {
    const { probed, assumed } = await this.measured(this.realRootOr(), { probe: options.probe ?? true });
    if (probed) {
      this.capabilities = capabilitiesFrom(this.capabilities, probed);
      this.codec = nameCodec(probed.names);
    }
    // Looked at again: another drive may be mounted at the root since.
    this.flushHow = undefined;
    this.ramDisk = undefined;
    return assumed ? 'assumed' : 'measured';
  }

  /**
   * A failure to create an item, said plainly where the file system refused the item itself: a
   * drive without symlinks says EIO or ENOSYS to symlink(), and exfat-fuse says ENOENT to a name
   * with `:` in a folder that exists. Such items are normally skipped or encoded once the drive
   * is measured; this is for a drive that could not be.
   */
  private explained(e: StorageError, made: 'name' | 'symlink' | undefined): StorageError {
    const rel = e.path ?? '';
    if (made === undefined || rel === '' || e.native === undefined) return e;
    const drive = this.capabilities.kind ? `this drive (${this.capabilities.kind})` : 'the file system here';
    if (made === 'symlink' && ['EIO', 'ENOSYS', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP'].includes(e.native)) {
      return new StorageError(
        ErrorCode.UNSUPPORTED,
        `${rel}: ${drive} cannot hold symlinks (${e.native})`,
        rel,
        false,
        e.native,
      );
    }
    const refusedName =
      ['EINVAL', 'EILSEQ'].includes(e.native) || (e.native === 'ENOENT' && this.folderExists(parentOf(rel)));
    if (!refusedName) return e;
    return new StorageError(
      ErrorCode.UNSUPPORTED,
      `${rel}: ${drive} refuses this name (${e.native}); rename it to back it up here`,
      rel,
      false,
      e.native,
    );
  }

  private folderExists(rel: RelPath): boolean {
    try {
      return fs.statSync(this.absolute(rel)).isDirectory();
    } catch {
      return false;
    }
  }

  /** A path as the file system stores it (names encoded where it refuses them). */
  private stored(rel: RelPath): string {
    return this.codec.identity ? rel : encodePath(this.codec, rel);
  }

  /**
   * Refuses to act on `rel` when a folder on its way is no longer the destination's own folder
   * (swapped for a symlink to elsewhere while a sync runs): nothing is written or removed outside
   * the root. The native copier opens each folder without following links instead; this check
   * covers the calls made by path, with a short window between the look and the call.
   */
  private beneath(rel: RelPath, alreadyStored = false): void {
    const parent = parentOf(rel);
    if (parent === '') return;
    const storedParent = alreadyStored ? parent : this.stored(parent);
    let real: string;
    try {
      real = fs.realpathSync.native(path.join(this.root, ...storedParent.split('/')));
    } catch {
      return; // missing: the call itself fails as it should
    }
    const expected = path.join(this.realRootOr(), ...storedParent.split('/'));
    const same = this.capabilities.caseSensitive ? real === expected : real.toLowerCase() === expected.toLowerCase();
    if (!same) {
      throw new StorageError(
        ErrorCode.CHANGED,
        `${rel}: a folder on its way is no longer a folder here (a symlink put in its place?); nothing was written ` +
          'through it',
        rel,
      );
    }
  }

  /**
   * The request for the native library, which makes the change through the folder opened beneath
   * the root refusing symlinks; undefined where the call goes by path (no library, the root itself,
   * a rename out of this storage, a stat).
   */
  private nativeOp(r: FsCall): NativeOpRequest | undefined {
    if (!this.native?.ops || r.op === 'copy' || r.op === 'stat') return undefined;
    const root = this.realRootOr();
    // The root itself: flushed as it is (it may be a symlink the user chose).
    if ((r.op === 'syncfs' || r.op === 'fsync') && r.path === this.root)
      return [r.op, root, root, null, 0, 0n, 0n, false, undefined, null];
    if (r.op === 'syncfs') return undefined;
    const below = (root: string) => `${root}${root === '/' ? '' : '/'}`;
    const first = r.op === 'rename' ? r.from : r.path;
    if (!first.startsWith(below(this.root))) return undefined;
    // A rename stays in this storage, or goes to another one whose real root came with it.
    if (r.op === 'rename' && !(r.toRoot ? r.to.startsWith(below(r.toRoot)) : r.to.startsWith(below(this.root))))
      return undefined;
    const real = (p: string) => this.realPath(p);
    switch (r.op) {
      case 'fsync':
        return ['fsync', root, real(r.path), null, 0, 0n, 0n, false, undefined, null];
      case 'rename':
        return [
          'rename',
          root,
          real(r.from),
          r.toRoot ? r.to : real(r.to),
          0,
          0n,
          0n,
          false,
          nativeReplacing(r.replacing),
          r.toRoot ?? null,
          nativeReplacing(r.listedAs),
        ];
      case 'unlink':
      case 'rmdir':
        return [r.op, root, real(r.path), null, 0, 0n, 0n, false, undefined, null];
      case 'mkdir':
      case 'chmod':
        return [r.op, root, real(r.path), null, r.mode, 0n, 0n, false, undefined, null];
      case 'utimes':
        if (r.mtimeNs === undefined || r.atimeNs === undefined || ![r.atimeNs, r.mtimeNs].every(fitsInt64))
          return undefined;
        return ['utimes', root, real(r.path), null, 0, r.atimeNs, r.mtimeNs, true, undefined, null];
      case 'symlink': {
        const times = r.mtimeNs !== undefined && r.atimeNs !== undefined;
        // Times the library cannot take (beyond 1677-2262) go the portable way rather than unset.
        if (times && ![r.atimeNs!, r.mtimeNs!].every(fitsInt64)) return undefined;
        return [
          'symlink',
          root,
          real(r.path),
          r.target,
          0,
          times ? r.atimeNs! : 0n,
          times ? r.mtimeNs! : 0n,
          times,
          undefined,
          null,
        ];
      }
    }
  }

  /** `abs` (this root or below it) as a path below the real root. */
  private realPath(abs: string): string {
    const root = this.realRootOr();
    return root === this.root ? abs : root + abs.slice(this.root.length);
  }

  /** The root with its own symlinks resolved (as it is when first asked), or as given if it is not there. */
  private realRootOr(): string {
    try {
      this.realRoot ??= fs.realpathSync.native(this.root);
      return this.realRoot;
    } catch {
      return this.root;
    }
  }

  /** The absolute path of `rel`; exposed for messages and for backends that share a machine. */
  absolute(rel: RelPath): string {
    if (rel === '') return this.root;
    if (BAD_REL.test(rel)) throw new TypeError(`Not a relative storage path: ${JSON.stringify(rel)}`);
    const stored = this.stored(rel);
    return this.root === '/' ? `/${stored}` : `${this.root}/${stored}`;
  }

  // Listing is synchronous on purpose: a readdir plus an lstat per name costs about 3 µs an item on
  // this thread, less than any hand-off to another thread (measured, both sides of a sync listed
  // at once in workers included), and scanning is most of a no-op run.
  async list(dir: RelPath): Promise<Entry[]> {
    // A root that is a symlink may point elsewhere by the next sync: looked up again with each listing of it.
    if (dir === '') this.realRoot = undefined;
    if (this.native) return (await this.nativeFolder(this.native.lister, dir)).entries();
    return this.listHere(dir);
  }

  private async listHere(dir: RelPath): Promise<Entry[]> {
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
      if (st === undefined) {
        if (name.includes('\uFFFD')) throw notUtf8(dir, name);
        continue; // vanished between readdir and lstat
      }
      entries.push(toEntry(this.codec.decode(name), st, st.isSymbolicLink() ? readlinkOrEmpty(child) : undefined));
    }
    return entries;
  }

  /** write() of a local file through the native library: one call on the thread pool, times to the ns. */
  private async copyNative(
    copier: NativeCopier,
    from: string | Buffer,
    rel: RelPath,
    abs: string,
    mode: number,
    [atimeNs, mtimeNs]: [bigint, bigint],
    options: WriteOptions,
  ): Promise<boolean> {
    const { expect, renameTo, replacing } = options;
    // Paths below the real root: the library refuses a symlink anywhere below it in one call.
    const request: NativeCopyRequest = [
      from,
      this.realPath(abs),
      renameTo === undefined ? null : this.realPath(this.absolute(renameTo)),
      mode,
      this.writesFlushed() && options.flush !== false,
      expect ? expect.size : -1,
      atimeNs,
      mtimeNs,
      expect ? expect.mtimeNs : 0n,
      nativeReplacing(replacing),
      this.realRootOr(),
    ];
    try {
      await copier.submit(request);
    } catch (err) {
      const atTarget = renameTo !== undefined && (err as { atTarget?: boolean }).atTarget;
      throw this.explained(mapFsError(err, atTarget ? renameTo : rel), atTarget ? 'name' : undefined);
    }
    return expect !== undefined;
  }

  /**
   * A folder listed by the native library: read on the thread pool, so the two sides of a sync are
   * listed at once. Same entries and the same errors as the portable code above.
   */
  private async nativeFolder(native: NativeLister, dir: RelPath): Promise<FolderListing> {
    if (dir === '') this.realRoot = undefined;
    const abs = this.absolute(dir);
    try {
      // The root may be a symlink to a folder; below it, a symlink is never listed through.
      const listed = new NativeFolder(await native.submit([abs, dir === '']));
      return this.codec.identity ? listed : decodedFolder(listed, this.codec);
    } catch (err) {
      const { code, item } = err as NodeJS.ErrnoException & { item?: string };
      // A time before 1677 or after 2262 does not fit the library's 64-bit nanoseconds.
      if (code === 'EOVERFLOW') return plainFolder(await this.listHere(dir));
      if (code === 'ELOOP' && dir !== '')
        throw new StorageError(ErrorCode.NOT_DIR, `${dir}: is a symlink, not a folder`, dir);
      if (item === undefined) throw mapFsError(err, dir);
      if (code === 'EILSEQ') throw notUtf8(dir, item);
      const name = this.codec.decode(item);
      throw mapFsError(err, dir === '' ? name : `${dir}/${name}`);
    }
  }

  async stat(rel: RelPath): Promise<Entry> {
    const entry = await this.run<Entry>({ op: 'stat', path: this.absolute(rel) }, rel);
    // Named as the engine names it: the stored name decoded (see Capabilities.names).
    return this.codec.identity ? entry : { ...entry, name: this.codec.decode(entry.name) };
  }

  read(rel: RelPath): FileSource {
    const abs = this.absolute(rel);
    return {
      localPath: abs,
      async *stream() {
        let fd: number | undefined;
        try {
          // As a copy opens its source (fs-worker.ts): never through a symlink, never waiting on a FIFO.
          fd = await call.open(abs, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
          const refused = notRegular(await call.fstat(fd));
          if (refused) throw refused;
          for (;;) {
            const buf = Buffer.allocUnsafe(CHUNK);
            const n = await call.read(fd, buf);
            if (n === 0) return;
            yield n === CHUNK ? buf : buf.subarray(0, n);
          }
        } catch (err) {
          throw mapFsError(err, rel);
        } finally {
          if (fd !== undefined) await call.close(fd).catch(() => {});
        }
      },
    };
  }

  async write(rel: RelPath, source: FileSource, options: WriteOptions = {}): Promise<boolean> {
    const abs = this.absolute(rel);
    // A drive that keeps no modes gets none set (-2, see NativeCopyRequest): a round trip saved per file on FUSE.
    const mode = !this.capabilities.permissions
      ? KEEP_CREATED
      : options.mode !== undefined
        ? options.mode & 0o7777
        : -1;
    if (source.localPath !== undefined && options.mtimeNs !== undefined) {
      const { expect, renameTo, replacing, mtimeNs } = options;
      const atimeNs = options.atimeNs ?? mtimeNs;
      const native =
        this.native && [atimeNs, mtimeNs, expect?.mtimeNs ?? 0n, replacing?.mtimeNs ?? 0n].every(fitsInt64);
      if (native)
        return this.copyNative(this.native!.copier, source.localPath, rel, abs, mode, [atimeNs, mtimeNs], options);
      const request: Omit<CopyRequest, 'id'> = {
        op: 'copy',
        from: source.localPath,
        to: abs,
        mode,
        atimeNs,
        mtimeNs,
        fsync: this.writesFlushed() && options.flush !== false,
      };
      if (expect) request.expect = { size: expect.size, mtimeNs: expect.mtimeNs };
      if (renameTo !== undefined) {
        request.renameTo = this.absolute(renameTo);
        request.replacing = replacing;
      }
      try {
        this.beneath(rel);
        if (renameTo !== undefined) this.beneath(renameTo);
        await this.pool.call(request, parentOf(rel));
      } catch (err) {
        const atTarget = renameTo !== undefined && isAtTarget(err);
        const e = this.explained(mapFsError(err, atTarget ? renameTo : rel), atTarget ? 'name' : undefined);
        throw atTarget ? windowsMoveError(e, process.platform, () => moveSeen(abs, request.renameTo!)) : e;
      }
      return expect !== undefined;
    }
    const told = source.statAfterRead;
    if (told && options.expect && options.mtimeNs !== undefined && this.native) {
      // A small file from a source that tells what it was once read (a phone): gathered here,
      // checked, then written and placed in one call on the thread pool, not a dozen from here.
      const { head, rest } = await takeUpTo(source.stream(), IN_MEMORY_BYTES);
      if (!rest) {
        await this.checkSource(rel, told, options.expect);
        const atimeNs = options.atimeNs ?? options.mtimeNs;
        if ([atimeNs, options.mtimeNs, options.replacing?.mtimeNs ?? 0n].every(fitsInt64)) {
          await this.copyNative(this.native.copier, Buffer.concat(head), rel, abs, mode, [atimeNs, options.mtimeNs], {
            ...options,
            expect: undefined,
          });
          return true;
        }
      }
      try {
        await this.writeStream(rel, abs, mode, chain(head, rest), options);
      } finally {
        // Whatever happened here, the source is let go (a phone's connection is held until then).
        await rest?.return?.();
      }
      return this.checkedAfterRead(rel, source, options);
    }
    await this.writeStream(rel, abs, mode, source.stream(), options);
    return this.checkedAfterRead(rel, source, options);
  }

  /** Writes the bytes to a new file with its mode and times, through this thread. */
  private async writeStream(
    rel: RelPath,
    abs: string,
    mode: number,
    chunks: AsyncIterable<Uint8Array>,
    options: WriteOptions,
  ): Promise<void> {
    let fd: number | undefined;
    try {
      this.beneath(rel);
      fd = await call.open(abs, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
      for await (const chunk of chunks) {
        let off = 0;
        while (off < chunk.length) off += await call.write(fd, chunk, off, chunk.length - off);
      }
      if (mode >= 0) await call.fchmod(fd, mode);
      if (options.mtimeNs !== undefined) {
        const atime = nsToUtimeSeconds(options.atimeNs ?? options.mtimeNs);
        await call.futimes(fd, atime, nsToUtimeSeconds(options.mtimeNs));
      }
      if (this.writesFlushed() && options.flush !== false) await call.fsync(fd);
    } catch (err) {
      throw mapFsError(err, rel);
    } finally {
      if (fd !== undefined) await call.close(fd).catch(() => {});
    }
  }

  private async checkSource(
    rel: RelPath,
    told: NonNullable<FileSource['statAfterRead']>,
    expect: NonNullable<WriteOptions['expect']>,
  ): Promise<void> {
    const now = await told();
    if (now.type !== 'file' || now.size !== expect.size || now.mtimeNs !== expect.mtimeNs) {
      throw new StorageError(ErrorCode.CHANGED, `${rel}: the source changed while it was copied`, rel);
    }
  }

  /**
   * A source that tells what it was once read (a phone) is checked here, and the copy renamed into
   * place as asked, saving the caller a round trip to the source per file.
   */
  private async checkedAfterRead(rel: RelPath, source: FileSource, options: WriteOptions): Promise<boolean> {
    const { expect, renameTo } = options;
    if (!expect || !source.statAfterRead) return false;
    await this.checkSource(rel, source.statAfterRead, expect);
    if (renameTo !== undefined) await this.rename(rel, renameTo, { replacing: options.replacing });
    return true;
  }

  /**
   * Offered where writes are flushed (Storage.flush), except on Windows: FlushFileBuffers needs a
   * handle open for writing, so a file is flushed by the handle that wrote it, one by one.
   */
  get flush(): ((paths: readonly RelPath[]) => Promise<void>) | undefined {
    return this.writesFlushed() && process.platform !== 'win32' ? this.flushBound : undefined;
  }

  /**
   * Whether what is written gets flushed: not on a RAM disk, which keeps nothing after a restart.
   * Looked at on the root as it is now (a drive mounted on a RAM disk's folder since this storage
   * was made, as /run/media is, is a disk), once per measure().
   */
  private writesFlushed(): boolean {
    if (!this.fsync) return false;
    if (this.ramDisk === undefined) {
      const existing = nearestExisting(this.root);
      this.ramDisk = existing !== undefined && keepsNothingAfterRestart(fileSystemKind(existing));
    }
    return !this.ramDisk;
  }

  /**
   * Makes what was written with `flush: false` durable, in the fewest calls that do it:
   * - many items on a file system of this machine's kernel: one syncfs(2), which writes them all
   *   out together, where one fsync each waits for a journal commit each (a 2,000-file batch:
   *   0.5 s one by one, 0.3 s with syncfs, measured on ext4);
   * - an exFAT or NTFS drive through FUSE: one fsync of its root folder. exfat-fuse and ntfs-3g
   *   write every change through to the device as it is made, and answer any fsync or fsyncdir by
   *   flushing their own state and syncing the whole device (their sources say so), so each fsync
   *   of a file would flush the whole drive again: a batch of 5,000 took 0.6–1 s more that way.
   *   syncfs does not reach a FUSE driver at all;
   * - a few items, another FUSE file system, or no native library: each item, several at once.
   */
  private async flushItems(paths: readonly RelPath[]): Promise<void> {
    if (paths.length === 0) return;
    this.flushHow ??= this.howToFlush();
    const one = (rel: RelPath) => this.run({ op: 'fsync', path: this.absolute(rel) }, rel);
    if (this.flushHow === 'items' || (this.flushHow === 'file system' && paths.length <= FEW_TO_FLUSH)) {
      await Promise.all(paths.map(one));
      return;
    }
    // Items on another file system mounted inside the destination are not reached by flushing
    // the root's: each of them is flushed on its own.
    const rootDev = fs.statSync(this.realRootOr()).dev;
    const elsewhere = paths.filter((rel) => {
      const dev = fs.lstatSync(this.absolute(rel), { throwIfNoEntry: false })?.dev;
      return dev !== undefined && dev !== rootDev;
    });
    await Promise.all([
      this.run({ op: this.flushHow === 'drive' ? 'fsync' : 'syncfs', path: this.root }, ''),
      ...elsewhere.map(one),
    ]);
  }

  private howToFlush(): 'file system' | 'drive' | 'items' {
    if (process.platform !== 'linux' || this.native?.flusher === undefined) return 'items';
    const kind = fileSystemKind(this.realRootOr());
    // syncfs flushes what a local disk holds; a network file system (SMB, NFS) or one not known
    // is flushed item by item (the kernel's SMB client, for one, sends the server no flush on syncfs).
    if (!kind.fuse) return kind.name !== undefined && LOCAL_DISKS.has(kind.name) ? 'file system' : 'items';
    // Known once measured (the kind behind FUSE comes from the device): until then, item by item.
    const measured = this.capabilities.kind;
    return measured === 'exFAT' || measured === 'NTFS' ? 'drive' : 'items';
  }

  async symlink(rel: RelPath, target: string, options: WriteOptions = {}): Promise<void> {
    const abs = this.absolute(rel);
    const times =
      options.mtimeNs === undefined
        ? {}
        : {
            mtime: nsToUtimeSeconds(options.mtimeNs),
            atime: nsToUtimeSeconds(options.atimeNs ?? options.mtimeNs),
            mtimeNs: options.mtimeNs,
            atimeNs: options.atimeNs ?? options.mtimeNs,
          };
    await this.run({ op: 'symlink', path: abs, target, ...times }, rel);
  }

  async setModTime(rel: RelPath, mtimeNs: bigint, atimeNs?: bigint): Promise<void> {
    const abs = this.absolute(rel);
    await this.run(
      {
        op: 'utimes',
        path: abs,
        atime: nsToUtimeSeconds(atimeNs ?? mtimeNs),
        mtime: nsToUtimeSeconds(mtimeNs),
        atimeNs: atimeNs ?? mtimeNs,
        mtimeNs,
      },
      rel,
    );
  }

  async setMode(rel: RelPath, mode: number): Promise<void> {
    const abs = this.absolute(rel);
    if (!this.capabilities.permissions) return;
    await this.run({ op: 'chmod', path: abs, mode: mode & 0o7777 }, rel, (e) =>
      e.native === 'ELOOP'
        ? new StorageError(ErrorCode.CHANGED, `${rel}: is a symlink, its mode cannot be set`, rel, false, e.native)
        : e,
    );
  }

  async rename(from: RelPath, to: RelPath, options: RenameOptions = {}): Promise<void> {
    const request: FsCall = { op: 'rename', from: this.absolute(from), to: this.absolute(to) };
    if (options.replacing !== undefined) request.replacing = options.replacing;
    if (options.listedAs) request.listedAs = options.listedAs;
    // rename(2) says EEXIST or ENOTEMPTY for a non-empty target directory.
    await this.run(request, to, (e) =>
      e.native === 'EEXIST'
        ? new StorageError(ErrorCode.NOT_EMPTY, e.message, to, false, e.native)
        : windowsMoveError(e, process.platform, () => moveSeen(request.from, request.to)),
    );
  }

  /**
   * Moves an item to another local storage on the same file system without replacing anything
   * there: EXISTS if the name is taken, UNSUPPORTED across file systems, CHANGED when `listedAs`
   * is given and the item is no longer that.
   */
  async moveTo(rel: RelPath, other: LocalStorage, otherRel: RelPath, listedAs?: NonNullable<Replacing>): Promise<void> {
    await this.run(
      {
        op: 'rename',
        from: this.absolute(rel),
        to: other.realPath(other.absolute(otherRel)),
        replacing: null,
        toRoot: other.realRootOr(),
        ...(listedAs ? { listedAs } : {}),
      },
      rel,
    );
  }

  async mkdir(rel: RelPath, options: WriteOptions = {}): Promise<void> {
    const abs = this.absolute(rel);
    const mode = options.mode === undefined ? 0o777 : (options.mode & 0o7777) | 0o700;
    if (rel === '') {
      // The root is created with its missing parents, as `mkdir -p` would.
      try {
        await makeFolders(abs, mode);
      } catch (err) {
        const e = mapFsError(err, rel);
        // A name the drive refuses on the way (exfat-fuse says ENOENT under a folder that exists).
        const at = (err as { path?: string }).path;
        if ((e.native === 'ENOENT' || e.native === 'EINVAL') && at !== undefined && fs.existsSync(path.dirname(at))) {
          throw new StorageError(
            ErrorCode.UNSUPPORTED,
            `the file system there refuses the folder name "${path.basename(at)}" (${e.native}); choose a name ` +
              'without : * ? " < > | \\ or a trailing dot or space',
            rel,
            false,
            e.native,
          );
        }
        throw e;
      }
      return;
    }
    await this.run({ op: 'mkdir', path: abs, mode }, rel);
  }

  async remove(rel: RelPath): Promise<void> {
    const abs = this.absolute(rel);
    await this.run({ op: 'unlink', path: abs }, rel, async (e) =>
      // unlink(2) on a directory is EISDIR on Linux but EPERM on macOS and others.
      e.code === ErrorCode.PERMISSION && (await kindAt(abs)) === 'dir'
        ? new StorageError(ErrorCode.IS_DIR, `${rel}: is a directory`, rel)
        : e,
    );
  }

  async rmdir(rel: RelPath): Promise<void> {
    const abs = this.absolute(rel);
    await this.run({ op: 'rmdir', path: abs }, rel, async (e) => {
      if (e.code === ErrorCode.EXISTS) return new StorageError(ErrorCode.NOT_EMPTY, e.message, rel, false, e.native);
      // libuv on Windows says ENOENT for rmdir of a file (src/win/fs.c: "change it to UV_NOTDIR in v2").
      if (e.code === ErrorCode.NOT_FOUND && (await kindAt(abs)) === 'file')
        return new StorageError(ErrorCode.NOT_DIR, `${rel}: not a directory`, rel, false, e.native);
      return e;
    });
  }

  async close(): Promise<void> {}

  /** One call on the pool, its failure mapped about `rel` and then, if given, refined. */
  private async run<T>(
    request: FsCall,
    rel: RelPath,
    refine?: (e: StorageError) => StorageError | Promise<StorageError>,
  ): Promise<T> {
    try {
      const native = this.nativeOp(request);
      if (native) {
        // Flushes wait on the device: on lanes of their own, several at once, not behind renames.
        await (native[0] === 'fsync' || native[0] === 'syncfs' ? this.native!.flusher! : this.native!.ops!).submit(
          native,
        );
        return undefined as T;
      }
      this.beneath(rel);
      // The item moved, named as stored (its path was encoded already).
      if (request.op === 'rename' && request.from.startsWith(`${this.root}${path.sep}`))
        this.beneath(path.relative(this.root, request.from).split(path.sep).join('/'), true);
      return await this.pool.call<T>(request, parentOf(rel));
    } catch (err) {
      // A rename whose item is gone failed for that, not for the name it was given.
      const named =
        request.op === 'symlink'
          ? 'symlink'
          : request.op === 'mkdir' || (request.op === 'rename' && lexists(request.from))
            ? 'name'
            : undefined;
      const e = this.explained(mapFsError(err, rel), named);
      throw refine ? await refine(e) : e;
    }
  }
}

const IDENTITY = nameCodec(NO_RULES);

/** What stands at both ends of a move that failed (windows-move-error.ts). */
function moveSeen(from: string, to: string): MoveSeen {
  const target = fs.lstatSync(to, { throwIfNoEntry: false });
  return {
    target: target === undefined ? 'none' : target.isDirectory() ? 'dir' : 'file',
    readOnly: target !== undefined && (target.mode & 0o200) === 0,
    movingDir: fs.lstatSync(from, { throwIfNoEntry: false })?.isDirectory() ?? false,
  };
}

/**
 * A listing with its names decoded (see Capabilities.names). The summary stays the stored names':
 * it is only ever equal to another listing of stored names, whose items are then equal too.
 */
function decodedFolder(listed: FolderListing, codec: NameCodec): FolderListing {
  const decode = (entries: Entry[]) => entries.map((e) => ({ ...e, name: codec.decode(e.name) }));
  return {
    summary: listed.summary,
    nonFolders: listed.nonFolders,
    entries: () => decode(listed.entries()),
    folders: () => decode(listed.folders()),
    namesInclude: (fragment) =>
      listed.namesInclude(fragment) || decode(listed.entries()).some((e) => e.name.includes(fragment)),
  };
}

/** The native library takes times as 64-bit nanoseconds (1677 to 2262); others go the portable way. */
function fitsInt64(ns: bigint): boolean {
  return ns >= -(2n ** 63n) && ns < 2n ** 63n;
}

/**
 * Node decodes names as UTF-8; one that is not comes back with U+FFFD and cannot be reached by that
 * name. Skipping it silently would hide it from the sync (and a mirror would never copy or delete
 * it), so the folder is reported instead.
 */
function notUtf8(dir: RelPath, shownAs: string): StorageError {
  return new StorageError(
    ErrorCode.UNSUPPORTED,
    `${dir === '' ? '.' : dir}: holds a name that is not valid UTF-8 (shown as ${JSON.stringify(shownAs)}); rename ` +
      'it to sync this folder',
    dir,
  );
}

function readlinkOrEmpty(abs: string): string {
  try {
    return fs.readlinkSync(abs);
  } catch {
    return '';
  }
}

function lexists(abs: string): boolean {
  return fs.lstatSync(abs, { throwIfNoEntry: false }) !== undefined;
}

/** What stands at `abs`, not following a symlink; undefined where nothing does (or it cannot be seen). */
async function kindAt(abs: string): Promise<'dir' | 'file' | 'other' | undefined> {
  try {
    const st = await call.lstat(abs);
    return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
  } catch {
    return undefined;
  }
}

/** The mode of a copy on a drive that keeps none: as the file system made it (the portable copy takes the source's). */
const KEEP_CREATED = -2;

/** Kernel file systems of local disks, where one syncfs makes everything written there durable. */
const LOCAL_DISKS: ReadonlySet<string> = new Set(['ext4', 'XFS', 'btrfs', 'FAT32', 'exFAT', 'NTFS']);

/** Up to this many items are flushed one by one rather than by flushing their whole file system. */
const FEW_TO_FLUSH = 8;

/** Files up to this size from a source that tells what it was once read are written in one call. */
const IN_MEMORY_BYTES = 1024 * 1024;

/** The stream's first chunks, up to `limit` bytes; `rest` is the rest of it when there is more. */
async function takeUpTo(
  stream: AsyncIterable<Uint8Array>,
  limit: number,
): Promise<{ head: Uint8Array[]; rest?: AsyncIterator<Uint8Array> }> {
  const it = stream[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const r = await it.next();
    if (r.done) return { head };
    head.push(r.value);
    size += r.value.length;
    if (size > limit) return { head, rest: it };
  }
}

async function* chain(head: Uint8Array[], rest?: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield* head;
  if (!rest) return;
  try {
    for (let r = await rest.next(); !r.done; r = await rest.next()) yield r.value;
  } finally {
    await rest.return?.();
  }
}

/** What a rename may replace, as the native library takes it (see NativeCopyRequest). */
function nativeReplacing(r: Replacing | undefined): NativeCopyRequest[9] {
  return r ? [NATIVE_KINDS.indexOf(r.type), r.size, r.mtimeNs] : r;
}
