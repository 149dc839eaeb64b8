import type { BatchLimits } from './durable-batch.js';
import type { Entry } from '../core/entry.js';
import { ErrorCode, RefusedError, isStorageError } from '../core/errors.js';
import type { ItemError, SyncEventListener } from '../core/events.js';
import { rootMessages } from '../core/messages.js';
import type { SyncMode } from '../core/modes.js';
import { baseName, joinRel, parentOf, type RelPath } from '../core/rel-path.js';
import type { Scope } from './scope.js';
import { NO_RULES } from '../core/name-encoding.js';
import { monotonicMs } from '../storage/clock.js';
import type { Capabilities, Storage } from '../storage/storage.js';
import { compareContents } from './compare-content.js';
import { excludeMatcher } from './exclude.js';
import { execute, type ExecuteResult } from './execute.js';
import { checkGuards, GuardError } from './guards.js';
import { modifyWindow, sameTime } from './compare.js';
import { followLinks } from './follow-links.js';
import { afterMoves, findMoves } from './moves.js';
import { grewBeyond, type Preview } from './preview.js';
import { plan as makePlan, type Plan, type PlanOptions, type Skipped } from './plan.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
import { scan, scanPair, type PairScanOptions } from './scan.js';
import { countNonFolders, emptyTree, type Tree } from './tree.js';
import type { VersionStore } from '../storage/versions.js';

export interface SyncOptions {
  mode: SyncMode;
  checksum?: boolean;
  dryRun?: boolean;
  exclude?: readonly string[];
  /**
   * Symlinks in the source: `keep` (the default) copies them as links where the destination holds
   * links and skips them where it does not; `copy` copies what they lead to, inside the source.
   */
  links?: 'keep' | 'copy';
  /** Destination paths to leave out of the comparison entirely (e.g. the versions folder). */
  hideInDestination?: readonly RelPath[];
  versions?: VersionStore;
  maxDelete?: number;
  force?: boolean;
  /** See GuardOptions.approvedDeletes. */
  approvedDeletes?: ReadonlySet<RelPath>;
  retry?: RetryPolicy;
  concurrency?: number;
  /** How copies are grouped to be flushed together (see durable-batch.ts); tests make them small. */
  batch?: BatchLimits;
  signal?: AbortSignal;
  onEvent?: SyncEventListener;
  /**
   * Look again only at these folders (see Scope); the rest of the trees is taken to be as the last
   * run left it. The empty-source guard does not apply (the trees are partial); the mass-delete
   * guard counts against `destinationFiles`.
   */
  scope?: Scope;
  /** The destination's files, for the mass-delete guard of a scoped run. */
  destinationFiles?: number;
  /**
   * Files earlier scoped runs deleted since `destinationFiles` was counted: the guard counts them
   * with this run's, so a mass deletion made in many small steps trips it as one would.
   */
  deletedBefore?: number;
  /** Carry out everything but the deletions (a guard tripped in an earlier run and still holds). */
  holdDeletions?: boolean;
  /**
   * What a tripped guard does: refuse the run (RefusedError, nothing written; the default), or
   * carry out everything but the deletions and say why in `deletionsHeld`.
   */
  guardTripped?: 'refuse' | 'hold';
  /**
   * What the user agreed to lose after a preview (preview.ts): a plan that replaces or deletes more
   * is refused (RefusedError, nothing written), whatever the mode and even with `force`.
   */
  agreed?: Pick<Preview, 'replaced' | 'deleted'>;
  /**
   * Called when the destination is full: frees some room there (a pair removes its oldest versions)
   * and says whether it did, in which case the run goes on where it stopped; else it ends as full.
   */
  makeRoom?: () => Promise<boolean>;
}

export interface SyncResult extends ExecuteResult {
  mode: SyncMode;
  dryRun: boolean;
  unchanged: number;
  skipped: Skipped[];
  /** Source items that could not be listed or read; mirror deleted nothing when there were any. */
  scanErrors: number;
  durationMs: number;
  plan: Plan;
  /** Dry runs only: why the real run would be refused. */
  refused?: string;
  /** With guardTripped 'hold': why this run's deletions were held back, and what the command line can do. */
  deletionsHeld?: string;
  /** The same, without the command-line advice: only what the guard saw. */
  heldBecause?: string;
  /** Items other than folders the source's listing held (for a scoped run, those in its scope). */
  sourceFiles: number;
  /** Items other than folders the destination's listing held before the run (likewise). */
  destinationFilesBefore: number;
  /** Files (not folders) this run deleted or replaced wholesale in the destination. */
  filesDeleted: number;
  /** Items other than folders the destination holds after the run, as near as the run knows. */
  destinationFilesAfter: number;
}

/**
 * Makes `dst` match `src` in the given mode: scan both sides at once, plan, check the guards,
 * carry out the plan. Throws RefusedError (before anything is written) when a guard trips.
 * A run the full destination stopped goes on while `makeRoom` frees room.
 */
export async function sync(src: Storage, dst: Storage, options: SyncOptions): Promise<SyncResult> {
  let result = await syncOnce(src, dst, options);
  while (result.fatal?.code === ErrorCode.NO_SPACE && options.makeRoom && !options.signal?.aborted) {
    if (!(await options.makeRoom())) break;
    // Listed again: what the stopped run placed is unchanged now, and its temp files are gone. What
    // it deleted counts against --max-delete with what the next one would.
    const maxDelete =
      options.maxDelete === undefined ? {} : { maxDelete: Math.max(0, options.maxDelete - result.filesDeleted) };
    result = goneOn(result, await syncOnce(src, dst, { ...options, ...maxDelete }));
  }
  return result;
}

/** A run that went on after room was made: the work of both, the outcome of the last. */
function goneOn(first: SyncResult, next: SyncResult): SyncResult {
  const sum = (k: 'copied' | 'moved' | 'updated' | 'deleted' | 'metadata' | 'vanished' | 'bytes' | 'filesDeleted') =>
    first[k] + next[k];
  return {
    ...next,
    copied: sum('copied'),
    moved: sum('moved'),
    updated: sum('updated'),
    deleted: sum('deleted'),
    metadata: sum('metadata'),
    vanished: sum('vanished'),
    bytes: sum('bytes'),
    filesDeleted: sum('filesDeleted'),
    destinationFilesBefore: first.destinationFilesBefore,
    durationMs: first.durationMs + next.durationMs,
  };
}

async function syncOnce(src: Storage, dst: Storage, options: SyncOptions): Promise<SyncResult> {
  const started = monotonicMs();
  const srcRoot = (await rootEntry(src, 'Source'))!;
  const survey = await measureAndSurvey(src, dst, srcRoot, await rootEntry(dst, 'Destination', true), options);
  const { srcTree, dstTree, plan, refused, deletionsHeld, heldBecause } = survey;

  const base = {
    mode: options.mode,
    dryRun: options.dryRun === true,
    unchanged: plan.unchanged,
    skipped: plan.skipped,
    scanErrors: srcTree.errors.length,
    plan,
    refused,
    deletionsHeld,
    heldBecause,
    sourceFiles: countNonFolders(srcTree),
    destinationFilesBefore: countNonFolders(dstTree),
    filesDeleted: 0,
    destinationFilesAfter: countNonFolders(dstTree),
  };
  // Unreadable folders on either side and items a mode may not replace are failures: the run did
  // not back them up, and its exit status says so.
  const scanFailures: ItemError[] = [
    ...srcTree.errors.map((e) => ({ path: e.path, code: e.code, message: `${e.message} (source folder skipped)` })),
    ...dstTree.errors.map((e) => ({
      path: e.path,
      code: e.code,
      message: `${e.message} (destination folder left as it is)`,
    })),
    ...plan.skipped.filter((s) => s.reason === 'type-conflict' || s.reason === 'holds-excluded').map(conflictError),
  ];

  if (options.dryRun) {
    return {
      ...base,
      ...dryCounts(plan),
      failed: scanFailures.length,
      errors: scanFailures,
      durationMs: monotonicMs() - started,
    };
  }

  const result = await execute(plan, {
    src,
    dst,
    versions: options.versions,
    retry: options.retry ?? DEFAULT_RETRY,
    // 64 items at once measured as fast as any other setting on a disk and on an exFAT drive, and
    // fewer were slower (README, "Speed"); `synctray sync` takes SYNCTRAY_COPY_CONCURRENCY to try others.
    concurrency: options.concurrency ?? 64,
    batch: options.batch,
    signal: options.signal,
    onEvent: options.onEvent,
    holdDeletes: scanFailures.length > 0 || deletionsHeld !== undefined || options.holdDeletions === true,
  });
  result.errors.unshift(...scanFailures);
  result.failed += scanFailures.length;
  const filesDeleted = result.deletesHeld === 0 ? plan.deletedFiles : 0;
  let added = 0;
  for (const a of plan.transfers) if (a.op === 'copy' && a.replace.length === 0) added++;
  const destinationFilesAfter = Math.max(0, base.destinationFilesBefore + added - result.failed - filesDeleted);
  return { ...base, ...result, filesDeleted, destinationFilesAfter, durationMs: monotonicMs() - started };
}

/**
 * Both trees: listed side by side and compared folder by folder where both storages summarise
 * folders (scanPair), else each on its own.
 */
async function scanBoth(
  src: Storage,
  dst: Storage,
  srcRoot: Entry,
  dstRoot: Entry | undefined,
  options: PairScanOptions,
): Promise<[Tree, Tree]> {
  if (dstRoot && src.listFolder && dst.listFolder) {
    return scanPair(src, dst, { src: srcRoot, dst: dstRoot }, { ...options, rootFailed: rootFailures(src, dst) });
  }
  return Promise.all([
    scan(src, srcRoot, options).catch((err: unknown) => rootProblem(err, src, 'Source')),
    dstRoot ? scan(dst, dstRoot, options).catch((err: unknown) => rootProblem(err, dst, 'Destination')) : emptyTree(),
  ]);
}

function rootFailures(src: Storage, dst: Storage): PairScanOptions['rootFailed'] {
  return { src: (err) => rootProblem(err, src, 'Source'), dst: (err) => rootProblem(err, dst, 'Destination') };
}

/**
 * The scope's folders as scanPair takes them: each one a folder on both sides, or else its parent
 * instead (whose listing then shows the folder added, removed or changed in kind), with the
 * entries of every folder from the roots down to them.
 */
async function scopeRoots(
  src: Storage,
  dst: Storage,
  folders: ReadonlyMap<RelPath, 'shallow' | 'deep'>,
  srcRoot: Entry,
  dstRoot: Entry,
) {
  const known = { src: new Map<RelPath, Entry>([['', srcRoot]]), dst: new Map<RelPath, Entry>([['', dstRoot]]) };
  const folderOn = async (storage: Storage, seen: Map<RelPath, Entry>, path: RelPath): Promise<boolean> => {
    if (seen.has(path)) return seen.get(path)!.type === 'dir';
    const entry = await storage.stat(path).catch((err: unknown) => {
      if (isStorageError(err, ErrorCode.NOT_FOUND) || isStorageError(err, ErrorCode.NOT_DIR)) return undefined;
      throw err;
    });
    if (entry === undefined) return false;
    seen.set(path, entry);
    return entry.type === 'dir';
  };
  const scope = new Map<RelPath, 'shallow' | 'deep'>();
  for (const [folder, depth] of folders) {
    let dir = folder;
    let how = depth;
    // Up to the first folder that is a folder on both sides, all its parents too.
    for (;;) {
      const chain: RelPath[] = [];
      for (let p = dir; p !== ''; p = parentOf(p)) chain.unshift(p);
      let ok = true;
      for (const p of chain) {
        if (!(await folderOn(src, known.src, p)) || !(await folderOn(dst, known.dst, p))) {
          ok = false;
          dir = parentOf(p);
          how = 'shallow';
          break;
        }
      }
      if (ok) break;
    }
    if (how === 'deep' || scope.get(dir) !== 'deep') scope.set(dir, how);
  }
  return { scope, known };
}

/**
 * What the destination keeps is measured before anything is listed or compared. A destination to
 * be made is made and probed now (nothing can refuse a run into an empty one); an existing one
 * is first taken as measured before or as its kind tells, and probed only once the guards have
 * passed (a refused run writes nothing), then surveyed again if the probe found otherwise. A
 * guard that trips on what was only assumed of a drive (ntfs-3g mounted with or without
 * `windows_names` is the same kind) is not believed before the drive is measured: its names
 * may have been read as other names. A dry run writes nothing.
 * A source on a drive that stores names encoded (a backup being restored) is listed decoded; it is
 * never written to, so only what was measured before or its kind tells is taken.
 */
async function measureAndSurvey(
  src: Storage,
  dst: Storage,
  srcRoot: Entry,
  found: Entry | undefined,
  options: SyncOptions,
): Promise<Survey> {
  let dstRoot = found;
  await src.measure?.({ probe: false });
  const probeNow = !dstRoot && !options.dryRun;
  if (probeNow) await makeRoot(dst, srcRoot);
  const known = await dst.measure?.({ probe: probeNow });
  let survey: Survey;
  try {
    survey = await surveyRun(src, dst, srcRoot, dstRoot, options);
  } catch (err) {
    if (!(err instanceof RefusedError) || known !== 'assumed' || !dstRoot || options.dryRun) throw err;
    await dst.measure!({ probe: true });
    dstRoot = await rootEntry(dst, 'Destination', true);
    survey = await surveyRun(src, dst, srcRoot, dstRoot, options);
  }
  if (dst.measure && dstRoot && !options.dryRun) {
    const before = dst.capabilities;
    await dst.measure({ probe: true });
    if (!sameCapabilities(before, dst.capabilities)) {
      dstRoot = await rootEntry(dst, 'Destination', true);
      survey = await surveyRun(src, dst, srcRoot, dstRoot, options);
    }
  }
  return survey;
}

interface Survey {
  srcTree: Tree;
  dstTree: Tree;
  plan: Plan;
  refused?: string;
  deletionsHeld?: string;
  heldBecause?: string;
}

/**
 * Both sides listed and compared, the plan made and the guards checked: everything a run decides
 * before it writes. Throws RefusedError when a guard trips and the run is to be refused.
 */
async function surveyRun(
  src: Storage,
  dst: Storage,
  srcRoot: Entry,
  dstRoot: Entry | undefined,
  options: SyncOptions,
): Promise<Survey> {
  const exclude = excludeMatcher(options.exclude ?? []);
  // A versions folder inside the destination is left out on both sides: neither deleted there nor
  // filled from a source folder that happens to have the same path.
  const hide = options.hideInDestination;
  const scanOptions: PairScanOptions = {
    exclude,
    hide,
    signal: options.signal,
    compareWhole: (options.exclude ?? []).length === 0 && !options.checksum,
  };
  const scoped =
    options.scope && !options.scope.full && dstRoot
      ? await scopeRoots(src, dst, options.scope.folders, srcRoot, dstRoot)
      : undefined;
  const [scanned, dstTree] = scoped
    ? await scanPair(
        src,
        dst,
        { src: srcRoot, dst: dstRoot! },
        { ...scanOptions, ...scoped, rootFailed: rootFailures(src, dst) },
      )
    : await scanBoth(src, dst, srcRoot, dstRoot, scanOptions);
  const followed = options.links === 'copy' ? await followLinks(src, scanned, src.description, exclude) : undefined;
  const srcTree = followed?.tree ?? scanned;

  // A destination that keeps no times it is given is compared by size (and content, with --checksum).
  const windowNs = {
    srcPrecisionNs: src.capabilities.mtimePrecisionNs,
    dstPrecisionNs: dst.capabilities.canSetModTime ? dst.capabilities.mtimePrecisionNs : TIMES_NOT_KEPT,
  };
  const window = modifyWindow(src.capabilities.mtimePrecisionNs, dst.capabilities.mtimePrecisionNs);
  const toRead =
    options.mode === 'missing'
      ? []
      : options.checksum
        ? sameSizeFiles(srcTree, dstTree)
        : rewrittenLookingSame(options.scope, srcTree, dstTree, window);
  const contentDiffers =
    toRead.length > 0
      ? await compareContents(src, dst, toRead, 4, options.signal, (p) => srcTree.entries.get(p)?.via ?? p)
      : undefined;

  const planOptions: PlanOptions = {
    mode: options.mode,
    ...windowNs,
    contentDiffers,
    compareModes: src.capabilities.permissions && dst.capabilities.permissions,
    dstFolderTimes: dst.capabilities.folderTimes ?? dst.capabilities.canSetModTime,
    allowDeletes: srcTree.errors.length === 0,
    dstCaseSensitive: await caseSensitive(dst, dstTree),
    dstNormalizesNames: dst.capabilities.normalizesNames ?? true,
    storable: dst.capabilities,
    ...(dst.capabilities.timeRange ? { dstTimeRange: dst.capabilities.timeRange } : {}),
    skip: followed?.skipped,
    ...(options.versions ? { versionsIn: options.hideInDestination ?? [] } : {}),
  };
  let plan = makePlan(srcTree, dstTree, planOptions);
  // Renamed and moved items are moved in the destination too, not copied again: planned again as
  // if the moves were made, so nothing they carry is copied or deleted. Not with --checksum (what
  // was moved would go uncompared). With versions too: a move replaces nothing and loses nothing
  // (the item is whole at its new path), and pairs keep versions by default.
  const movesAllowed = !options.checksum && dst.capabilities.atomicRename;
  const moves = !movesAllowed
    ? []
    : findMoves(plan, { src: srcTree, dst: dstTree }, modifyWindow(windowNs.srcPrecisionNs, windowNs.dstPrecisionNs));
  if (moves.length > 0) plan = makePlan(srcTree, afterMoves(dstTree, moves), { ...planOptions, moves });
  let refused: string | undefined;
  let deletionsHeld: string | undefined;
  let heldBecause: string | undefined;
  try {
    const partial = scoped
      ? { destinationFiles: options.destinationFiles, deletedBefore: options.deletedBefore }
      : undefined;
    checkGuards(plan, srcTree, dstTree, options, src.description, dst.description, partial);
    const grew = options.agreed ? grewBeyond(plan, options.agreed) : undefined;
    // Held (the service), the copies are made and the deletions wait for the user's word.
    if (grew !== undefined)
      throw new RefusedError(
        options.guardTripped === 'hold' ? grew : `${grew} Nothing was written: run again to see what it would do now.`,
      );
  } catch (err) {
    if (!(err instanceof RefusedError)) throw err;
    // A dry run still shows what would have happened, and says it would be refused.
    if (options.dryRun) refused = err.message;
    else if (options.guardTripped === 'hold') {
      deletionsHeld = err.message;
      heldBecause = err instanceof GuardError ? err.fact : err.message;
    } else throw err;
  }

  return { srcTree, dstTree, plan, refused, deletionsHeld, heldBecause };
}

/** A comparison window wider than any two times: only sizes (or contents) tell files apart. */
const TIMES_NOT_KEPT = 2n ** 64n;

/** Whether two sets of capabilities say the same (what a probe found, against what was assumed). */
function sameCapabilities(a: Capabilities, b: Capabilities): boolean {
  // What a survey depends on, a POSIX folder's where not said (its name, `kind`, only goes into
  // messages): an ext4 destination measured as what it was taken for is not surveyed twice.
  const text = ({ kind: _kind, ...c }: Capabilities) =>
    JSON.stringify(
      // Plain comparison of the (ASCII) keys: localeCompare's first call sets up ICU's collator, 5 ms of every run.
      Object.entries({ ...AS_POSIX, ...c }).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)),
      (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v),
    );
  return text(a) === text(b);
}

const AS_POSIX: Partial<Capabilities> = {
  names: NO_RULES,
  maxName: { length: 255, unit: 'byte' },
  normalizesNames: false,
  reservedNames: false,
};

async function makeRoot(dst: Storage, srcRoot: Entry): Promise<void> {
  try {
    await dst.mkdir('', { mode: srcRoot.mode });
  } catch (err) {
    throw new Error(
      `Destination \`${dst.description}\` cannot be created: ${err instanceof Error ? err.message : String(err)}.`,
    );
  }
}

async function rootEntry(storage: Storage, role: string, mayBeMissing = false): Promise<Entry | undefined> {
  let entry: Entry;
  try {
    entry = await storage.stat('');
  } catch (err) {
    if (mayBeMissing && isStorageError(err, ErrorCode.NOT_FOUND)) return undefined;
    return rootProblem(err, storage, role);
  }
  if (entry.type !== 'dir') {
    throw new RefusedError(rootMessages.notAFolder(role, storage.description));
  }
  return entry;
}

/** Turns a failure to read a root into a refusal that says what to do; anything else passes. */
function rootProblem(err: unknown, storage: Storage, role: string): never {
  if (isStorageError(err, ErrorCode.NOT_FOUND)) throw new RefusedError(rootMessages.missing(role, storage.description));
  if (isStorageError(err, ErrorCode.PERMISSION))
    throw new RefusedError(rootMessages.unreadable(role, storage.description));
  throw err;
}

const CONFLICT_TEXT = {
  'type-conflict':
    'the destination holds another kind of item here (file, folder or link) and this mode never replaces one; move ' +
    'or delete it, or use mirror mode',
  'holds-excluded':
    'the destination folder here holds excluded items, so it is not replaced by the source item; move them, then ' +
    'run again',
} as const;

function conflictError(s: Skipped): ItemError {
  return {
    path: s.path,
    code: 'CONFLICT',
    message: `${s.path}: ${CONFLICT_TEXT[s.reason as keyof typeof CONFLICT_TEXT]}`,
  };
}

/**
 * Whether the destination tells `Foo` from `foo`. A backend reports what is usual for its kind,
 * but a USB stick (FAT, exFAT), a network share or a casefold folder can differ, so one listed name
 * is looked up in the other case: a storage that finds the same item folds case.
 */
async function caseSensitive(dst: Storage, tree: Tree): Promise<boolean> {
  if (!dst.capabilities.caseSensitive) return false;
  for (const [path, entry] of tree.entries) {
    const name = baseName(path);
    const twin = name.toUpperCase() !== name ? name.toUpperCase() : name.toLowerCase();
    if (path === '' || twin === name) continue;
    const twinPath = joinRel(parentOf(path), twin);
    if (tree.entries.has(twinPath)) continue;
    try {
      const found = await dst.stat(twinPath);
      return !(found.type === entry.type && found.size === entry.size && found.mtimeNs === entry.mtimeNs);
    } catch (err) {
      // Not there: this storage tells the two names apart.
      if (isStorageError(err, ErrorCode.NOT_FOUND)) return true;
      if (isStorageError(err) && err.fatal) throw err;
      // Any other failure (a permission, a name too long in the other case) says nothing about
      // case: the next name is looked up instead.
    }
  }
  return true;
}

/**
 * Files the watcher saw written that size and time call unchanged though their times are not the
 * same: within the comparison window, which on a drive keeping whole seconds (or FAT's two) an
 * edit in the same second that keeps the size stays inside. Their content decides.
 */
function rewrittenLookingSame(scope: Scope | undefined, src: Tree, dst: Tree, windowNs: bigint): RelPath[] {
  if (!scope || scope.full || !scope.written) return [];
  const out: RelPath[] = [];
  for (const path of scope.written) {
    const s = src.entries.get(path);
    const d = dst.entries.get(path);
    if (
      s?.type === 'file' &&
      d?.type === 'file' &&
      s.size === d.size &&
      s.mtimeNs !== d.mtimeNs &&
      sameTime(s.mtimeNs, d.mtimeNs, windowNs)
    )
      out.push(path);
  }
  return out;
}

function sameSizeFiles(src: Tree, dst: Tree): RelPath[] {
  const paths: RelPath[] = [];
  for (const [path, s] of src.entries) {
    const d = dst.entries.get(path);
    if (s.type === 'file' && d?.type === 'file' && s.size === d.size) paths.push(path);
  }
  return paths;
}

function dryCounts(plan: Plan): Omit<ExecuteResult, 'failed' | 'errors'> {
  let copied = plan.mkdirs.filter((a) => a.op === 'mkdir' && a.replace.length === 0).length;
  let updated = plan.mkdirs.length - copied;
  let metadata = 0;
  for (const a of plan.transfers) {
    if (a.op === 'copy') a.replace.length > 0 ? updated++ : copied++;
    else metadata++;
  }
  let deleted = plan.deletes.filter((a) => a.op === 'delete' && !a.temp).length;
  for (const a of [...plan.mkdirs, ...plan.transfers]) {
    if (a.op === 'mkdir' || a.op === 'copy') deleted += a.replace.filter((r) => r.path !== a.path).length;
  }
  return {
    copied,
    moved: plan.moves.length,
    updated,
    deleted,
    metadata,
    vanished: 0,
    bytes: plan.bytes,
    deletesHeld: 0,
  };
}
