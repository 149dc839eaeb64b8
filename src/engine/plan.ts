import type { Entry } from '../core/entry.js';
import { nameCodec, type NameRules } from '../core/name-encoding.js';
import type { SyncMode } from '../core/modes.js';
import { baseName, depthOf, isSameOrInside, parentOf, type RelPath } from '../core/rel-path.js';
import type { NameLimit } from '../storage/storage.js';
import { compareEntries, modifyWindow, sameTime } from './compare.js';
import type { Tree } from './tree.js';

/** A destination item that has to go, with what it was (for versioning and counting). */
export interface Doomed {
  path: RelPath;
  entry: Entry;
}

export type Action =
  /** Create a folder; `replace` lists what stands at the path (a file, a link) and goes first. */
  | { op: 'mkdir'; path: RelPath; src: Entry; replace: Doomed[] }
  /**
   * Put a file or symlink in place via a temp name. `replace` is what the destination has at the
   * path: a file or link is swapped out by the rename; a folder (and its contents) is removed first.
   */
  | { op: 'copy'; path: RelPath; src: Entry; replace: Doomed[] }
  /** Same content, other metadata: set the mtime and/or the mode of a file or link. */
  | { op: 'meta'; path: RelPath; src: Entry; mtime: boolean; mode: boolean }
  /** Remove an extra item (mirror) or a leftover temp file. */
  | { op: 'delete'; path: RelPath; entry: Entry; temp?: boolean }
  /** Set a folder's mode and mtime once everything inside it is done. */
  | { op: 'dirMeta'; path: RelPath; src: Entry; mode: boolean };

/**
 * A destination item given a new path instead of being deleted there and copied again (found by
 * moves.ts, which reads plans: the type lives here so the two do not import each other).
 */
export interface Move {
  from: RelPath;
  to: RelPath;
  entry: Entry;
}

export type SkipReason =
  | 'special-file'
  | 'destination-newer'
  | 'type-conflict'
  | 'holds-excluded'
  /** The destination cannot hold symlinks (exFAT, FAT). */
  | 'no-symlinks'
  /** Two or more source names are one name on the case-insensitive destination (`with` names the others). */
  | 'case-clash'
  /** Over the destination's largest file (FAT32: 4 GiB - 1). */
  | 'too-large'
  /** The name, as the destination would store it, is longer than it allows. */
  | 'name-too-long'
  /** A name Windows reserves (CON, AUX, NUL, COM1…), which the destination refuses or Windows cannot use. */
  | 'name-reserved'
  /** --links copy: the link leads out of the source, to nothing, or into a folder that holds it. */
  | 'link-outside'
  | 'link-dangling'
  | 'link-loop';

export interface Skipped {
  path: RelPath;
  reason: SkipReason;
  /** case-clash: the other source paths that fold to the same name. */
  with?: RelPath[];
}

/** Skips that are the destination's limits: reported, not failures; they stand until the source changes. */
export const UNSTORABLE: ReadonlySet<SkipReason> = new Set([
  'no-symlinks',
  'case-clash',
  'too-large',
  'name-too-long',
  'name-reserved',
]);

/** What the destination can hold (its capabilities); what it cannot is skipped and reported. */
export interface Storable {
  symlinks: boolean;
  maxFileBytes?: number;
  maxName?: NameLimit;
  /** How names are stored (their length is the stored one's). */
  names?: NameRules;
  reservedNames?: boolean;
}

export interface Plan {
  /** Folders to create, parents first. */
  mkdirs: Action[];
  /** Destination items given their new path (see moves.ts), after the folders are made. */
  moves: Move[];
  /** Copies and metadata fixes of files and links; independent of each other. */
  transfers: Action[];
  /** Removals, deepest first, run after every transfer. */
  deletes: Action[];
  /** Folder metadata, deepest first, run last because every change inside a folder moves its mtime. */
  dirMetas: Action[];
  skipped: Skipped[];
  /** Source items (files and links) already equal on the destination. */
  unchanged: number;
  /** Destination files and links this plan removes or replaces wholesale (the mass-delete guard counts them). */
  deletedFiles: number;
  /** Bytes the transfers will copy. */
  bytes: number;
}

export interface PlanOptions {
  mode: SyncMode;
  /** Precision of each side, in ns: the comparison window is the coarser one. */
  srcPrecisionNs: bigint;
  dstPrecisionNs: bigint;
  /** False when the destination cannot keep folders' times: they are not compared (Capabilities.folderTimes). */
  dstFolderTimes?: boolean;
  /** Checksum mode: for same-size file pairs, whether the content differs (absent = not compared). */
  contentDiffers?: ReadonlyMap<RelPath, boolean>;
  /** Permission bits are compared only when both sides keep them. */
  compareModes: boolean;
  /** Mirror may delete only when the source scan was complete. */
  allowDeletes: boolean;
  /**
   * False when the destination treats `Foo` and `foo` as one name: items are then matched
   * case-insensitively, so a rename that only changes case never deletes what it just wrote.
   */
  dstCaseSensitive?: boolean;
  /**
   * With dstCaseSensitive false: whether the destination also takes a name's NFC and NFD forms for
   * one (macOS does; exFAT, FAT and NTFS keep them apart). Absent: it does (both are then skipped
   * as a clash rather than one overwriting the other).
   */
  dstNormalizesNames?: boolean;
  /** Moves to make first; `dst` must already show them made (afterMoves). */
  moves?: readonly Move[];
  /** What the destination can hold; absent: anything. */
  storable?: Storable;
  /**
   * The times the destination can hold (exFAT and FAT: 1980 to 2107); a time outside is stored as
   * the nearest it can, so times are compared as if both were held to it.
   */
  dstTimeRange?: readonly [bigint, bigint];
  /**
   * Source items an earlier stage left out (links not followed), with why: skipped like those the
   * destination cannot hold.
   */
  skip?: ReadonlyMap<RelPath, Skipped>;
  /**
   * Where in the destination items deleted or replaced are set aside (the versions folder): made
   * by the run that first sets something aside, which moves the time of the folder holding it,
   * so that folder gets its time back too.
   */
  versionsIn?: readonly RelPath[];
}

/**
 * Decides what to do to make `dst` match `src` in the given mode. Pure: listings in, actions out.
 */
export function plan(src: Tree, dst: Tree, options: PlanOptions): Plan {
  const p = new Planner(src, dst, options);
  for (const [path, s] of src.entries) if (path !== '') p.item(path, s);
  p.root();
  if (options.mode === 'mirror' && options.allowDeletes) p.deletions();
  p.temps();
  p.versionsFolders();
  p.folderTimes();
  return p.sorted();
}

/** One plan being made: what it holds so far, and what it has learnt on the way. */
class Planner {
  readonly out: Plan;
  private readonly mode: SyncMode;
  private readonly window: bigint;
  /** Folders whose destination side we must not descend into (a conflict stands there). */
  private readonly blocked: RelPath[] = [];
  /** Folders whose mtime our own work will move (a child written, renamed or removed). */
  private readonly touched = new Set<RelPath>();
  /**
   * Destination folders that could not be listed: what they hold is unknown, so nothing is written
   * into them (it could overwrite what we cannot see). They are reported as failures.
   */
  private readonly unknown: RelPath[];
  private readonly fold: (path: RelPath) => string;
  private readonly lookup: (path: RelPath) => Entry | undefined;
  private readonly inRange: (e: Entry) => Entry;
  /** Source paths by their case-folded form, where the destination folds case (made once, used twice). */
  private readonly srcFolded: ReadonlyMap<string, RelPath[]> | undefined;
  private readonly unstorable: Map<RelPath, Skipped>;

  constructor(
    private readonly src: Tree,
    private readonly dst: Tree,
    private readonly options: PlanOptions,
  ) {
    this.mode = options.mode;
    this.window = modifyWindow(options.srcPrecisionNs, options.dstPrecisionNs);
    this.out = {
      mkdirs: [],
      moves: [...(options.moves ?? [])],
      transfers: [],
      deletes: [],
      dirMetas: [],
      skipped: [],
      // Items of folders found equal whole on both sides are unchanged without being listed here.
      unchanged: src.equalItems,
      deletedFiles: 0,
      bytes: 0,
    };
    this.unknown = dst.errors.map((e) => e.path);
    this.fold = folding(options.dstNormalizesNames ?? true);
    this.lookup = destinationLookup(dst, options.dstCaseSensitive ?? true, this.fold);
    this.inRange = timeClamp(options.dstTimeRange);
    this.srcFolded = options.dstCaseSensitive === false ? foldedPaths(src, this.fold) : undefined;
    this.unstorable = unstorableItems(src, options, this.srcFolded);
    this.out.skipped.push(...new Set(this.unstorable.values()));
    // A move changes both folders it touches.
    for (const m of this.out.moves) this.touch(m.from).touch(m.to);
  }

  /** Plans one source item (the root aside). */
  item(path: RelPath, s: Entry): void {
    if (this.blocked.length > 0 && this.isBlocked(parentOf(path))) return;
    if (this.unknown.length > 0 && this.unknown.some((u) => isSameOrInside(path, u))) return;
    if (this.unstorable.has(path)) {
      // Nothing is written for it, and (since it is in the source) nothing deleted at its path.
      if (s.type === 'dir') this.blocked.push(path);
      return;
    }
    if (s.type === 'special') {
      this.out.skipped.push({ path, reason: 'special-file' });
      return;
    }
    const d = this.lookup(path);
    if (d === undefined) {
      addNew(this.out, path, s, []);
      this.touch(path);
    } else if (s.type !== d.type) {
      this.typeChange(path, s, d);
    } else {
      this.sameType(path, s, d);
    }
  }

  /**
   * A type change replaces what the destination holds, so only a mirror makes one (update and
   * missing never delete or overwrite with another kind of item), and never over excluded items.
   */
  private typeChange(path: RelPath, s: Entry, d: Entry): void {
    const { out } = this;
    if (this.mode !== 'mirror' || (d.type === 'dir' && this.dst.holdsExcluded.has(path))) {
      out.skipped.push({ path, reason: this.mode === 'mirror' ? 'holds-excluded' : 'type-conflict' });
      if (s.type === 'dir') this.blocked.push(path);
      return;
    }
    const doomed = d.type === 'dir' ? subtree(this.dst, path) : [{ path, entry: d }];
    addNew(out, path, s, doomed);
    this.touch(path);
    out.deletedFiles += doomed.filter((x) => x.entry.type !== 'dir').length;
  }

  private sameType(path: RelPath, s: Entry, d: Entry): void {
    const { out, mode, window } = this;
    const diff = compareEntries(
      this.inRange(s),
      this.inRange(d),
      window,
      this.options.contentDiffers?.get(path),
      this.options.compareModes,
    );
    if (s.type === 'dir') {
      if (mode !== 'missing' && (diff.mode || (diff.mtime && this.options.dstFolderTimes !== false)))
        out.dirMetas.push({ op: 'dirMeta', path, src: s, mode: diff.mode });
    } else if (mode === 'missing') {
      out.unchanged++;
    } else if (!diff.content) {
      if (diff.mtime || diff.mode) out.transfers.push({ op: 'meta', path, src: s, mtime: diff.mtime, mode: diff.mode });
      out.unchanged++;
    } else if (
      mode === 'update' &&
      s.type === 'file' &&
      d.mtimeNs > s.mtimeNs &&
      !sameTime(s.mtimeNs, d.mtimeNs, window)
    ) {
      out.skipped.push({ path, reason: 'destination-newer' });
    } else {
      out.transfers.push({ op: 'copy', path, src: s, replace: [{ path, entry: d }] });
      out.bytes += s.size;
      this.touch(path);
    }
  }

  /** The root's own metadata (missing mode leaves existing folders' metadata alone). */
  root(): void {
    const srcRoot = this.src.entries.get('');
    const dstRoot = this.dst.entries.get('');
    if (this.mode === 'missing' || !srcRoot || !dstRoot) return;
    const diff = compareEntries(srcRoot, dstRoot, this.window, undefined, this.options.compareModes);
    if (diff.mode || (diff.mtime && this.options.dstFolderTimes !== false))
      this.out.dirMetas.push({ op: 'dirMeta', path: '', src: srcRoot, mode: diff.mode });
  }

  deletions(): void {
    planDeletes(
      this.src,
      this.dst,
      this.out,
      (p) => this.touch(p),
      this.srcFolded,
      [...this.unstorable.keys()],
      this.fold,
    );
  }

  /** Temp files a stopped run left behind. */
  temps(): void {
    for (const temp of this.dst.temps) {
      this.out.deletes.push({ op: 'delete', path: temp, entry: TEMP_ENTRY, temp: true });
      this.touch(temp);
    }
  }

  /** The folders holding the versions folder, when this plan sets anything aside. */
  versionsFolders(): void {
    const { out } = this;
    const setsAside =
      out.deletes.some((a) => a.op === 'delete' && !a.temp) ||
      [...out.transfers, ...out.mkdirs].some((a) => (a.op === 'copy' || a.op === 'mkdir') && a.replace.length > 0);
    if (setsAside) for (const dir of this.options.versionsIn ?? []) this.touch(dir);
  }

  /**
   * Every folder whose contents we change gets its recorded mtime back at the end (missing mode
   * leaves existing folders' metadata alone).
   */
  folderTimes(): void {
    if (this.mode === 'missing' || this.options.dstFolderTimes === false) return;
    const queued = new Set(this.out.dirMetas.map((a) => a.path));
    for (const path of this.touched) {
      if (queued.has(path)) continue;
      const s = this.src.entries.get(path);
      if (s?.type === 'dir' && !this.isBlocked(path))
        this.out.dirMetas.push({ op: 'dirMeta', path, src: s, mode: false });
    }
  }

  /** The plan, each list in the order it runs. */
  sorted(): Plan {
    this.out.mkdirs.sort((a, b) => depthOf(a.path) - depthOf(b.path));
    this.out.deletes.sort(deepestFirst);
    this.out.dirMetas.sort(deepestFirst);
    return this.out;
  }

  private touch(path: RelPath): this {
    this.touched.add(parentOf(path));
    return this;
  }

  private isBlocked(path: RelPath): boolean {
    return this.blocked.some((b) => isSameOrInside(path, b));
  }
}

/**
 * The source items the destination cannot hold, by path; the paths of a case clash share the one
 * Skipped that names them all. Items inside a folder that is skipped are left out: they go with it.
 */
function unstorableItems(
  src: Tree,
  options: PlanOptions,
  srcFolded: ReadonlyMap<string, RelPath[]> | undefined,
): Map<RelPath, Skipped> {
  const out = new Map<RelPath, Skipped>(options.skip ?? []);
  const can = options.storable;
  if (can) {
    const codec = can.names ? nameCodec(can.names) : undefined;
    const length = can.maxName?.unit === 'utf16' ? (n: string) => n.length : (n: string) => Buffer.byteLength(n);
    // A character encodes to at most two UTF-16 units, six bytes of UTF-8: a name this short fits
    // whatever it holds, without encoding it (most names; 5 ms of a no-op of 5,000 files on exFAT).
    const surelyFits = can.maxName ? Math.floor(can.maxName.length / (can.maxName.unit === 'utf16' ? 2 : 6)) : Infinity;
    for (const [path, s] of src.entries) {
      if (path === '' || out.has(path)) continue;
      if (s.type === 'symlink' && !can.symlinks) out.set(path, { path, reason: 'no-symlinks' });
      else if (s.type === 'file' && can.maxFileBytes !== undefined && s.size > can.maxFileBytes)
        out.set(path, { path, reason: 'too-large' });
      else if (
        can.maxName &&
        baseName(path).length > surelyFits &&
        length(codec ? codec.encode(baseName(path)) : baseName(path)) > can.maxName.length
      )
        out.set(path, { path, reason: 'name-too-long' });
      else if (can.reservedNames && WINDOWS_DEVICE.test(baseName(path)))
        out.set(path, { path, reason: 'name-reserved' });
    }
  }
  if (srcFolded) {
    for (const same of srcFolded.values()) {
      if (same.length < 2) continue;
      const paths = [...same].sort();
      const [first, ...others] = paths;
      const skip: Skipped = { path: first!, reason: 'case-clash', with: others };
      for (const p of paths) out.set(p, skip);
    }
  }
  for (const path of [...out.keys()]) {
    for (let p = parentOf(path); p !== ''; p = parentOf(p)) {
      if (out.has(p)) {
        out.delete(path);
        break;
      }
    }
  }
  return out;
}

function addNew(out: Plan, path: RelPath, s: Entry, replace: Doomed[]): void {
  if (s.type === 'dir') {
    out.mkdirs.push({ op: 'mkdir', path, src: s, replace });
    out.dirMetas.push({ op: 'dirMeta', path, src: s, mode: true });
  } else {
    out.transfers.push({ op: 'copy', path, src: s, replace });
    out.bytes += s.size;
  }
}

function planDeletes(
  src: Tree,
  dst: Tree,
  out: Plan,
  touch: (p: RelPath) => void,
  srcFolded: ReadonlyMap<string, RelPath[]> | undefined,
  skipped: RelPath[],
  fold: (path: RelPath) => string,
): void {
  // What stands at or below a skipped source item is left alone: it was not compared.
  const key = srcFolded ? fold : (p: RelPath) => p;
  const leftAlone = new Set(skipped.map(key));
  const isLeftAlone = (path: RelPath) => {
    for (let p = path; p !== ''; p = parentOf(p)) if (leftAlone.has(key(p))) return true;
    return false;
  };
  // Items below a folder that is itself replaced are already in that action's `replace` list.
  const replacedDirs = new Set<RelPath>();
  for (const a of [...out.mkdirs, ...out.transfers]) {
    if ((a.op === 'mkdir' || a.op === 'copy') && a.replace.length > 0) replacedDirs.add(a.path);
  }
  const inSource = srcFolded ? (p: RelPath) => srcFolded.has(fold(p)) : (p: RelPath) => src.entries.has(p);
  for (const [path, d] of dst.entries) {
    if (path === '' || inSource(path)) continue;
    if (underAny(path, replacedDirs)) continue;
    if (leftAlone.size > 0 && isLeftAlone(path)) continue;
    if (d.type === 'dir' && dst.holdsExcluded.has(path)) continue;
    out.deletes.push({ op: 'delete', path, entry: d });
    if (d.type !== 'dir') out.deletedFiles++;
    touch(path);
  }
}

/** The destination files and links the plan removes or replaces wholesale: those `deletedFiles` counts. */
export function doomedFiles(plan: Plan): RelPath[] {
  const out: RelPath[] = [];
  for (const a of [...plan.mkdirs, ...plan.transfers]) {
    if (a.op !== 'mkdir' && a.op !== 'copy') continue;
    // An update replaces a file with its new version: that is no deletion. A change of type is.
    for (const d of a.replace)
      if (d.entry.type !== 'dir' && (d.path !== a.path || d.entry.type !== a.src.type)) out.push(d.path);
  }
  for (const a of plan.deletes) if (a.op === 'delete' && !a.temp && a.entry.type !== 'dir') out.push(a.path);
  return out;
}

function underAny(path: RelPath, dirs: ReadonlySet<RelPath>): boolean {
  for (let p = parentOf(path); ; p = parentOf(p)) {
    if (dirs.has(p)) return true;
    if (p === '') return false;
  }
}

/** Finds the destination item for a source path, case-insensitively where the destination is. */
function destinationLookup(
  dst: Tree,
  caseSensitive: boolean,
  fold: (path: RelPath) => string,
): (path: RelPath) => Entry | undefined {
  if (caseSensitive) return (path) => dst.entries.get(path);
  const folded = new Map<string, Entry>();
  for (const [path, entry] of dst.entries) folded.set(fold(path), entry);
  return (path) => dst.entries.get(path) ?? folded.get(fold(path));
}

/**
 * Entries with their times held to the range, a day inside each end: FAT and exFAT keep local
 * time, so where a clamped time lands in UTC depends on the time zone it was written in.
 */
function timeClamp(range: readonly [bigint, bigint] | undefined): (e: Entry) => Entry {
  if (!range) return (e) => e;
  const lo = range[0] + DAY_NS;
  const hi = range[1] - DAY_NS;
  return (e) => (e.mtimeNs < lo ? { ...e, mtimeNs: lo } : e.mtimeNs > hi ? { ...e, mtimeNs: hi } : e);
}

const DAY_NS = 86_400n * 1_000_000_000n;

/** CON, PRN, AUX, NUL, COM1-9 and LPT1-9, alone or before a dot, in any case (as Windows sees them). */
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[1-9]|lpt[1-9]) *(\.|$)/i;

/** Every path of a tree (the root aside) under its case-folded form. */
function foldedPaths(tree: Tree, fold: (path: RelPath) => string): Map<string, RelPath[]> {
  const out = new Map<string, RelPath[]>();
  for (const path of tree.entries.keys()) {
    if (path === '') continue;
    const key = fold(path);
    const same = out.get(key);
    if (same) same.push(path);
    else out.set(key, [path]);
  }
  return out;
}

// Plain ASCII, most names, needs no normalising (and normalize() is most of the cost of folding).
const NOT_ASCII = /\P{ASCII}/u;

/**
 * A path as a case-insensitive drive matches it. Upper case, as exFAT's and NTFS's up-case tables
 * compare: lower case would keep a word-final ς apart from σ, which both drives take for one Σ.
 * NFC and NFD forms are one only where the drive normalises names.
 */
export function folding(normalizes: boolean): (path: RelPath) => string {
  if (!normalizes) return (path) => path.toUpperCase();
  return (path) => (NOT_ASCII.test(path) ? path.normalize('NFC').toUpperCase() : path.toUpperCase());
}

/** A folder and everything below it in the destination, deepest first. */
function subtree(tree: Tree, dir: RelPath): Doomed[] {
  const items: Doomed[] = [];
  for (const [path, entry] of tree.entries) {
    if (isSameOrInside(path, dir) && path !== '') items.push({ path, entry });
  }
  return items.sort(deepestFirst);
}

function deepestFirst(a: { path: RelPath }, b: { path: RelPath }): number {
  return depthOf(b.path) - depthOf(a.path);
}

const TEMP_ENTRY: Entry = { name: '', type: 'file', size: 0, mtimeNs: 0n, atimeNs: 0n, mode: 0 };
