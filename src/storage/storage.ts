import type { Entry, EntryType } from '../core/entry.js';
import type { StorageError } from '../core/errors.js';
import type { NameRules } from '../core/name-encoding.js';
import type { RelPath } from '../core/rel-path.js';

/**
 * What differs between backends, reported rather than assumed, so the engine never asks which
 * backend it is talking to.
 */
export interface Capabilities {
  /** Two modification times closer than this are the same time (compare with the coarser side's). */
  mtimePrecisionNs: bigint;
  /** False when `A` and `a` name the same item. */
  caseSensitive: boolean;
  /** Whether a name's NFC and NFD forms name the same item (macOS); absent: not known. */
  normalizesNames?: boolean;
  canSetModTime: boolean;
  /**
   * False where a folder's modification time cannot be set (it follows what happens inside the
   * folder): folders' times are then neither set nor compared. Absent: as canSetModTime says.
   */
  folderTimes?: boolean;
  /** Symlinks can be listed and created as links. */
  symlinks: boolean;
  /** Permission bits are stored and can be set. */
  permissions: boolean;
  /** `rename` replaces an existing file in one step that readers never see half done. */
  atomicRename: boolean;
  /** Access times are kept and listed (not only modification times). */
  accessTimes: boolean;
  /** The longest full path the backend can reach, in bytes; longer ones fail NAME_TOO_LONG. */
  maxPathBytes?: number;
  /**
   * Characters and endings the storage refuses in a name. It stores such names under the
   * reversible encoding of core/name-encoding.ts and lists them decoded: the engine only sees
   * the names as the source has them. Absent: every name a path can hold is stored as it is.
   */
  names?: NameRules;
  /** Windows' device names (CON, AUX, NUL, COM1…, any extension) are refused (ntfs-3g with windows_names). */
  reservedNames?: boolean;
  /** The longest name (one path component), as stored (encoded); longer ones cannot be stored. */
  maxName?: NameLimit;
  /** The largest file the storage can hold, in bytes (FAT32: 4 GiB - 1); absent: no limit known. */
  maxFileBytes?: number;
  /** What the storage is, in a person's words, for reasons given to one ("exFAT", "NTFS"). */
  kind?: string;
  /** The modification times it can hold (exFAT, FAT: 1980 to 2107); absent: any. */
  timeRange?: readonly [bigint, bigint];
  /** `putFolders` is offered, and makes new folders full of small files faster than one file at a time. */
  wholeFolders?: boolean;
}

/**
 * A limit on one name's length: in bytes of UTF-8 (ext4 and most POSIX file systems) or in UTF-16
 * units (FAT, exFAT, NTFS).
 */
export interface NameLimit {
  length: number;
  unit: 'byte' | 'utf16';
}

/**
 * What a rename may replace, so that nothing written in the destination since it was listed is
 * lost: `null` means nothing may stand at the target; an item means that item, unchanged (same
 * type, size and mtime). Anything else there is kept and the rename fails with EXISTS (CHANGED is
 * kept for a source that moved). Left out, the rename replaces whatever is there.
 */
export type Replacing = null | { type: EntryType; size: number; mtimeNs: bigint };

export interface RenameOptions {
  /** What may stand at the target (see Replacing). */
  replacing?: Replacing;
  /**
   * The item at the source as it was listed (type, size for files, mtime): anything else there now
   * is not moved, and the rename fails with CHANGED (an item set aside as a version is only ever
   * the one the run saw). Checked in the same call as the move where the backend can.
   */
  listedAs?: NonNullable<Replacing>;
}

/**
 * A folder's items as a backend that can summarise them lists them: compared whole first, built
 * item by item only when needed. Summaries are only comparable between backends of one kind.
 */
export interface FolderListing {
  /**
   * Equal for two folders exactly when their items have the same names, types, sizes, mtimes (to
   * the microsecond, finer than any backend's comparison window), permission bits and link texts
   * (atime aside). Undefined when the folder holds an item that must
   * be looked at one by one (a FIFO, a socket, a device).
   */
  readonly summary: string | undefined;
  /** How many of the items are not folders. */
  readonly nonFolders: number;
  /** Every item, as list() gives them. */
  entries(): Entry[];
  /** The subfolders only. */
  folders(): Entry[];
  /** False only when no item's name contains `fragment`. */
  namesInclude(fragment: string): boolean;
}

/** A file's content as handed from one storage to another. */
export interface FileSource {
  /** Opens the file and yields its bytes; errors are StorageErrors raised while iterating. */
  stream(): AsyncIterable<Uint8Array>;
  /**
   * Set when the bytes live in a file on this machine, so a local destination can let the kernel
   * copy them instead of pumping them through JavaScript.
   */
  readonly localPath?: string;
  /**
   * Set where the backend learns, with no extra round trip, what the file was as its last byte was
   * read (a phone answers a STAT sent right behind the read). Resolves once the stream has ended,
   * so that a destination can check `expect` itself (and rename into place, see WriteOptions).
   */
  readonly statAfterRead?: () => Promise<Pick<Entry, 'type' | 'size' | 'mtimeNs'>>;
}

export interface WriteOptions {
  /** Permission bits; ignored where `permissions` is false. */
  mode?: number;
  mtimeNs?: bigint;
  atimeNs?: bigint;
  /**
   * What the source is expected to be. A backend that can look at the source once the bytes are
   * copied (a local file read by a local destination) checks that it still has this size and
   * mtime, rejects with CHANGED if not, and resolves `true`; the caller checks otherwise.
   */
  expect?: { size: number; mtimeNs: bigint };
  /**
   * Once the file is complete and `expect` was checked, rename it over this path as `rename`
   * would, saving a round trip per file where a call costs one (another thread, a phone). Ignored
   * when the source could not be checked (write then resolves `false` and nothing is renamed).
   */
  renameTo?: RelPath;
  /** With `renameTo`: what it may replace (see Replacing). */
  replacing?: Replacing;
  /**
   * False: the file need not be durable yet when write resolves; the caller passes its path to
   * `flush` before anything relies on it (before it is renamed into place). Only where `flush` is
   * offered, and never with `renameTo`.
   */
  flush?: boolean;
  /** Told the bytes copied so far, a few times a second at most, where the storage can tell. */
  onProgress?: (bytes: number) => void;
  /** Stops a long copy under way where the storage can (the write then rejects with the abort). */
  signal?: AbortSignal;
}

/** A file of this machine to copy into a new folder (see FolderPut). */
export interface LocalFile {
  /** Where the copy goes, from the root. */
  path: RelPath;
  /** The file of this machine holding the bytes; the copy is given its modification time. */
  localPath: string;
  /** What the file is expected to be: one that is not so once copied is left out (see FoldersPut). */
  size: number;
  mtimeNs: bigint;
}

/** New folders of one parent with what goes in them (and new files of the parent), put by `putFolders`. */
export interface FolderPut {
  /** A temp name in the folders' parent, under which the storage may gather them first. */
  stage: RelPath;
  /** The new folders, all in one parent; nothing stands at their paths. */
  folders: RelPath[];
  /** The folders inside them (at any depth), parents first. */
  inner: RelPath[];
  /**
   * The files inside them (at any depth), and new files directly in the parent: each of those is
   * put on its own, only where nothing stands (else left).
   */
  files: LocalFile[];
}

export interface PutOptions {
  signal?: AbortSignal;
  /** Told the bytes copied so far, a few times a second at most. */
  onProgress?: (bytes: number) => void;
}

/** What `putFolders` did. */
export interface FoldersPut {
  /** Folders now in place, with their inner folders and their files except `left`. */
  placed: RelPath[];
  /** Folders not put, each with why: nothing of them was placed. */
  failed: { path: RelPath; error: StorageError }[];
  /** Files not put, of placed folders or directly in the parent: for the caller to copy one by one. */
  left: RelPath[];
}

/**
 * A tree of files under one root. Every path is a RelPath ('' is the root). Every method rejects
 * with a StorageError whose code says what went wrong; a TypeError means the call itself was wrong.
 * No method follows a symlink at the path it is given.
 */
export interface Storage {
  /** How to name this storage to a person, e.g. `/home/ann/Photos`. */
  readonly description: string;
  readonly capabilities: Capabilities;

  /**
   * Optional: looks at what the storage really keeps (times, modes, symlinks, case, names) by
   * writing and removing hidden temp items in its root, and updates `capabilities` to match. Cheap
   * after the first call for the same file system. With `probe: false` (or no root yet) nothing is
   * written: what was measured before, or what the kind of storage tells, is taken. Never
   * rejects: what could not be measured keeps the capability reported before. Resolves
   * `assumed` when what it took is a guess that a probe could prove wrong.
   */
  measure?(options?: { probe?: boolean }): Promise<'measured' | 'assumed'>;

  /** The items directly inside `dir` (no `.`/`..`), in no particular order. NOT_FOUND, NOT_DIR. */
  list(dir: RelPath): Promise<Entry[]>;

  /**
   * Optional: list() with a summary (see FolderListing), offered where a backend can make one
   * cheaply. The engine compares the two sides of a sync folder by folder with it. Same errors as list().
   */
  readonly listFolder?: (dir: RelPath) => Promise<FolderListing>;

  /** The item at `path` itself (a symlink is reported as a symlink). NOT_FOUND. */
  stat(path: RelPath): Promise<Entry>;

  /** The content of the file at `path`; nothing is opened until it is streamed. */
  read(path: RelPath): FileSource;

  /**
   * Creates a new file at `path` with the content of `source`, then applies mode and times.
   * EXISTS if anything is already at `path`. When the promise resolves the content is durable
   * (flushed to the device) unless `flush: false` was asked; when it rejects, whatever was created
   * at `path` may remain and is the caller's to remove.
   */
  write(path: RelPath, source: FileSource, options?: WriteOptions): Promise<boolean>;

  /**
   * Optional: makes the files written with `flush: false` at `paths`, and the folders at `paths`
   * (their entries: renames and removals in them), durable, at once where the storage can do it
   * for many items in one go (a whole file system flushed by one call). Offered where that costs
   * less than flushing each file as it is written; absent where each write is durable when it
   * resolves, or where nothing would survive a restart anyway (a RAM disk). The paths a storage
   * flushes whole may be ignored; rejects with the first failure.
   */
  readonly flush?: (paths: readonly RelPath[]) => Promise<void>;

  /**
   * Optional, offered where `capabilities.wholeFolders`: makes new folders with everything in them
   * at once, where a call for each file costs round trips (a remote). Each folder appears in one
   * step, whole, and only where nothing stands: a folder that appeared there since is kept, and the
   * new one is reported failed. A file is left out (FoldersPut.left) when its source is not as
   * expected once copied, or when the storage does not take it this way (a name it cannot list in
   * one go, a large file). Rejects only with what would fail every folder (DEVICE_GONE, an abort);
   * what was gathered under `stage` is removed, or else found by the next run as a temp name.
   */
  readonly putFolders?: (put: FolderPut, options?: PutOptions) => Promise<FoldersPut>;

  /** Creates a symlink holding `target` verbatim and sets its own times. EXISTS. */
  symlink(path: RelPath, target: string, options?: WriteOptions): Promise<void>;

  /** Sets the modification (and access) time of the item itself, never a symlink's target. NOT_FOUND. */
  setModTime(path: RelPath, mtimeNs: bigint, atimeNs?: bigint): Promise<void>;

  /** Sets permission bits of a file or directory. NOT_FOUND. */
  setMode(path: RelPath, mode: number): Promise<void>;

  /**
   * Moves `from` to `to`, replacing a file or symlink at `to` in one step (see `atomicRename`).
   * IS_DIR or NOT_EMPTY when `to` is a directory; NOT_FOUND when `from` or `to`'s parent is missing.
   */
  rename(from: RelPath, to: RelPath, options?: RenameOptions): Promise<void>;

  /**
   * Creates one directory; its parent must exist. EXISTS, NOT_FOUND. `mkdir('')` creates the root
   * with any missing parents.
   */
  mkdir(path: RelPath, options?: WriteOptions): Promise<void>;

  /** Removes a file, symlink or special file. IS_DIR for a directory, NOT_FOUND. */
  remove(path: RelPath): Promise<void>;

  /** Removes an empty directory. NOT_EMPTY, NOT_DIR, NOT_FOUND. */
  rmdir(path: RelPath): Promise<void>;

  /**
   * Optional: removes a folder with everything in it in one call, where removing it item by item
   * costs a round trip each (a remote). The engine uses it on its own temp folders only (a stage a
   * stopped run left). Never the root; NOT_DIR for anything but a folder, NOT_FOUND.
   */
  readonly removeTree?: (path: RelPath) => Promise<void>;

  /** Releases connections and handles; the storage is not used afterwards. */
  close(): Promise<void>;
}
