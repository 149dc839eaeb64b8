import type { Entry } from '../core/entry.js';
import { isStorageError } from '../core/errors.js';
import { joinRel, parentOf, type RelPath } from '../core/rel-path.js';
import { plainFolder } from '../storage/folder-listing.js';
import type { FolderListing, Storage } from '../storage/storage.js';
import { NO_EXCLUDES, type ExcludeMatcher } from './exclude.js';
import { folding } from './plan.js';
import { isTempName, TEMP_PREFIX } from '../core/temp-name.js';
import { emptyTree, type Tree } from './tree.js';

export interface ScanOptions {
  exclude?: ExcludeMatcher;
  /**
   * Paths (and everything below them) to leave out like excluded ones, e.g. a versions folder
   * inside the destination (and the same path in the source, which must not be copied into it).
   */
  hide?: readonly RelPath[];
  /** Folders listed at once; a local disk gains nothing, a phone or network share a lot. */
  concurrency?: number;
  signal?: AbortSignal;
}

/**
 * Lists a whole tree. Never throws for an item: folders that cannot be listed are recorded in
 * `errors` (their contents are then unknown). Only the root must be listable.
 */
export async function scan(storage: Storage, root: Entry, options: ScanOptions = {}): Promise<Tree> {
  const side = new TreeBuilder(root, options);
  await walk([''], options, async (dir) => {
    try {
      return side.add(dir, await storage.list(dir));
    } catch (err) {
      side.failed(dir, err);
      return [];
    }
  });
  return side.tree;
}

export interface PairScanOptions extends ScanOptions {
  /**
   * Whether folders may be compared whole by their summaries (Storage.listFolder). Not with
   * exclusions (the excluded items of an equal folder would go unmarked) nor where contents are
   * compared (equal summaries say nothing of content).
   */
  compareWhole: boolean;
  /** What a root that cannot be listed throws instead (it ends the scan either way). */
  rootFailed?: { src: (err: unknown) => never; dst: (err: unknown) => never };
  /**
   * Only these folders (present as folders on both sides; the caller adds them and their parents to
   * the trees' roots): a shallow one with its direct items, a deep one with everything below it.
   * Subfolders found on one side only are always listed whole. Without it, the whole trees.
   */
  scope?: ReadonlyMap<RelPath, 'shallow' | 'deep'>;
  /** Entries to put in the trees first (the scope's folders and their parents). */
  known?: { src: ReadonlyMap<RelPath, Entry>; dst: ReadonlyMap<RelPath, Entry> };
}

/** A storage that summarises folders (Storage.listFolder). */
export type Summarising = Storage & Required<Pick<Storage, 'listFolder'>>;

/** A folder's listing, summarised by the storage where it can, else plain (never compared whole). */
function folderOf(storage: Storage, dir: RelPath): Promise<FolderListing> {
  if (storage.listFolder) return storage.listFolder(dir);
  return storage.list(dir).then(plainFolder);
}

/**
 * A folder to list: on both sides, or on one side only (it is missing or not a folder on the
 * other). `deep`: its subfolders present on both sides are listed too.
 */
type Visit = {
  dir: RelPath;
  on: 'both' | 'src' | 'dst';
  deep: boolean;
  /**
   * Known that no folder on the way to it (itself included) has a name that folds (by case or
   * normal form) to the name of another item beside it, on either side: only then can its equal
   * files be left out one by one (see withoutEqualFiles).
   */
  apart?: boolean;
};

/**
 * Lists two trees at once, folder by folder. Where both storages summarise folders (listFolder),
 * a folder whose two sides have the same summary holds the same items, so only its subfolders are
 * added to the trees (the rest is counted in `equalItems`): a synced tree costs one comparison per
 * folder instead of an entry per item. Everything else is as two scan() calls would give it, or,
 * with a scope, as they would give it for the folders in the scope.
 */
export async function scanPair(
  src: Storage,
  dst: Storage,
  roots: { src: Entry; dst: Entry },
  options: PairScanOptions,
): Promise<[Tree, Tree]> {
  const sides = {
    src: new TreeBuilder(roots.src, options, options.rootFailed?.src),
    dst: new TreeBuilder(roots.dst, options, options.rootFailed?.dst),
  };
  for (const on of ['src', 'dst'] as const)
    for (const [path, entry] of options.known?.[on] ?? []) sides[on].tree.entries.set(path, entry);
  const first: Visit[] = options.scope
    ? [...options.scope].map(([dir, depth]) => ({ dir, on: 'both', deep: depth === 'deep' }))
    : [{ dir: '', on: 'both', deep: true, apart: true }];
  // A folder holding a hidden path is always listed item by item, so the path is left out.
  const hidden = new Set(options.hide ?? []);
  const holdsHidden = new Set([...hidden].map(parentOf));
  // Files found equal one by one are left out only where names are told apart by their case
  // (see withoutEqualFiles).
  const itemwise = options.compareWhole && dst.capabilities.caseSensitive;
  const one = async (on: 'src' | 'dst', dir: RelPath): Promise<Visit[]> => {
    try {
      const entries = await (on === 'src' ? src : dst).list(dir);
      return sides[on].add(dir, entries).map((d) => ({ dir: d, on, deep: true }));
    } catch (err) {
      sides[on].failed(dir, err);
      return [];
    }
  };
  await walk<Visit>(first, options, async ({ dir, on, deep, apart }) => {
    if (on !== 'both') return one(on, dir);
    const [s, d] = await Promise.allSettled([folderOf(src, dir), folderOf(dst, dir)]);
    if (s.status === 'fulfilled' && d.status === 'fulfilled') {
      if (options.compareWhole && !holdsHidden.has(dir) && sameWhole(s.value, d.value)) {
        sides.src.tree.equalItems += s.value.nonFolders;
        sides.dst.tree.equalItems += d.value.nonFolders;
        sides.dst.add(dir, d.value.folders());
        const folders = s.value.folders();
        const subs = sides.src.add(dir, folders);
        const subsApart = itemwise && apart === true && !namesFoldTogether(folders);
        return deep ? subs.map((sub) => ({ dir: sub, on: 'both', deep, apart: subsApart })) : [];
      }
      const srcItems = s.value.entries();
      const dstItems = d.value.entries();
      const namesApart = itemwise && apart === true && !namesFoldTogether(srcItems) && !namesFoldTogether(dstItems);
      const items = namesApart
        ? withoutEqualFiles(srcItems, dstItems, (name) => isTempName(name) || hidden.has(joinRel(dir, name)))
        : undefined;
      if (items) {
        sides.src.tree.equalItems += items.equal;
        sides.dst.tree.equalItems += items.equal;
      }
      return pairUp(
        sides.src.add(dir, items?.src ?? srcItems),
        sides.dst.add(dir, items?.dst ?? dstItems),
        deep,
        namesApart,
      );
    }
    const subs: Visit[] = [];
    for (const [on, r] of [
      ['src', s],
      ['dst', d],
    ] as const) {
      if (r.status === 'rejected') sides[on].failed(dir, r.reason);
      else subs.push(...sides[on].add(dir, r.value.entries()).map((sub) => ({ dir: sub, on, deep: true })));
    }
    return subs;
  });
  return [sides.src.tree, sides.dst.tree];
}

/** Equal summaries mean equal items, unless one of them is our temp file (the next run's to remove). */
function sameWhole(a: FolderListing, b: FolderListing): boolean {
  return (
    a.summary !== undefined && a.summary === b.summary && !a.namesInclude(TEMP_PREFIX) && !b.namesInclude(TEMP_PREFIX)
  );
}

/**
 * A folder's items on both sides without the files that are the same on both (same name, size,
 * permission bits, and mtime to the nanosecond), with how many those are: the files a plan would
 * count as unchanged, left out before paths are made and compared for each of them. A folder
 * with one changed file in it costs that file, not all of its items. Our temp files and hidden
 * paths (`keep`) stay: the tree builder sets them aside.
 *
 * Only for a folder where no two names on either side fold to one name (by case, or by Unicode
 * normal form; plan.ts's folding), and none on the way to it (Visit.apart): on a destination that
 * takes such names for one, the plan matches items by their folded paths, and a file left out
 * could no longer answer for its twin.
 */
function withoutEqualFiles(
  src: Entry[],
  dst: Entry[],
  keep: (name: string) => boolean,
): { src: Entry[]; dst: Entry[]; equal: number } {
  const byName = new Map<string, Entry>();
  for (const e of dst) byName.set(e.name, e);
  const same = new Set<string>();
  for (const e of src) {
    const o = byName.get(e.name);
    if (
      o !== undefined &&
      e.type === 'file' &&
      o.type === 'file' &&
      e.size === o.size &&
      e.mtimeNs === o.mtimeNs &&
      e.mode === o.mode &&
      !keep(e.name)
    )
      same.add(e.name);
  }
  if (same.size === 0) return { src, dst, equal: 0 };
  return { src: src.filter((e) => !same.has(e.name)), dst: dst.filter((e) => !same.has(e.name)), equal: same.size };
}

const CASE_ONLY = folding(false);
const CASE_AND_FORM = folding(true);

/** Whether two of a folder's names are one name where case, or case and Unicode normal form, are not told apart. */
function namesFoldTogether(entries: readonly Entry[]): boolean {
  if (entries.length < 2) return false;
  const byCase = new Set<string>();
  const byForm = new Set<string>();
  for (const { name } of entries) {
    const a = CASE_ONLY(name);
    const b = CASE_AND_FORM(name);
    if (byCase.has(a) || byForm.has(b)) return true;
    byCase.add(a);
    byForm.add(b);
  }
  return false;
}

/**
 * Subfolders on both sides are listed together (only when `deep`); the others, new or gone, on
 * their own side and whole.
 */
function pairUp(srcDirs: RelPath[], dstDirs: RelPath[], deep: boolean, apart: boolean): Visit[] {
  const onDst = new Set(dstDirs);
  const visits: Visit[] = [];
  for (const dir of srcDirs) {
    if (!onDst.has(dir)) visits.push({ dir, on: 'src', deep: true });
    else if (deep) visits.push({ dir, on: 'both', deep, apart });
    onDst.delete(dir);
  }
  for (const dir of onDst) visits.push({ dir, on: 'dst', deep: true });
  return visits;
}

/** One side's Tree, built from its folders' listings as they come. */
class TreeBuilder {
  readonly tree: Tree = emptyTree();
  private readonly exclude: ExcludeMatcher;
  private readonly hide: ReadonlySet<RelPath>;

  constructor(
    root: Entry,
    options: ScanOptions,
    private readonly rootFailed: (err: unknown) => never = (err) => {
      throw err;
    },
  ) {
    this.tree.entries.set('', root);
    this.exclude = options.exclude ?? NO_EXCLUDES;
    this.hide = new Set(options.hide ?? []);
  }

  /** Adds a folder's items (our temp files, hidden and excluded ones aside); returns its subfolders. */
  add(dir: RelPath, entries: readonly Entry[]): RelPath[] {
    const subfolders: RelPath[] = [];
    for (const entry of entries) {
      const path = joinRel(dir, entry.name);
      // A folder too: new folders gathered under a temp name before they were put in place.
      if (entry.type !== 'special' && isTempName(entry.name)) {
        this.tree.temps.push(path);
        continue;
      }
      if (this.hide.has(path) || this.exclude(path, entry.type === 'dir')) {
        this.markExcluded(dir);
        continue;
      }
      this.tree.entries.set(path, entry);
      if (entry.type === 'dir') subfolders.push(path);
    }
    return subfolders;
  }

  /** Records a folder that could not be listed; throws for the root and for what is not a StorageError. */
  failed(dir: RelPath, err: unknown): void {
    if (dir === '') this.rootFailed(err);
    if (!isStorageError(err)) throw err;
    this.tree.errors.push({ path: dir, code: err.code, message: err.message });
    // What the folder holds is unknown: it must not be removed.
    this.markExcluded(dir);
  }

  private markExcluded(dir: RelPath): void {
    for (let p = dir; !this.tree.holdsExcluded.has(p); p = parentOf(p)) {
      this.tree.holdsExcluded.add(p);
      if (p === '') break;
    }
  }
}

/**
 * Visits folders, `concurrency` at a time (32 unless given), each visit returning more to visit,
 * until there are none. The first visit that throws ends the walk (once the others under way have
 * settled) and its error is thrown; so does an abort.
 */
async function walk<T>(first: T[], options: ScanOptions, visit: (item: T) => Promise<T[]>): Promise<void> {
  const queue = [...first];
  const limit = options.concurrency ?? 32;
  let active = 0;
  let visited = 0;
  let failure: { error: unknown } | undefined;
  await new Promise<void>((resolve) => {
    const pump = () => {
      if (failure !== undefined || options.signal?.aborted) {
        if (active === 0) resolve();
        return;
      }
      while (active < limit && queue.length > 0) {
        active++;
        visit(queue.pop()!).then(
          (more) => {
            active--;
            queue.push(...more);
            // A local listing never waits, so without a pause now and then a whole scan would run
            // in one turn of the event loop and a Ctrl+C would go unseen until it ended.
            if (++visited % 64 === 0) setImmediate(pump);
            else pump();
          },
          (error: unknown) => {
            active--;
            failure ??= { error };
            pump();
          },
        );
      }
      if (active === 0 && (queue.length === 0 || failure !== undefined)) resolve();
    };
    pump();
  });
  if (failure !== undefined) throw failure.error;
  options.signal?.throwIfAborted();
}
