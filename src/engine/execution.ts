import { ErrorCode, RunEndingError, StorageError, isStorageError } from '../core/errors.js';
import { SyncEvents, type ItemError, type ItemOutcome, type SyncEventListener } from '../core/events.js';
import { depthOf, isSameOrInside, joinRel, parentOf, type RelPath } from '../core/rel-path.js';
import type { FoldersPut, Storage } from '../storage/storage.js';
import {
  commitItem,
  discard,
  flushPathOf,
  placeItem,
  removeQuietly,
  removeTemp,
  stageItem,
  type PlaceOutcome,
  type Staged,
} from './copy-file.js';
import { BATCH_LIMITS, DurableBatches, type BatchItem, type BatchLimits } from './durable-batch.js';
import type { Move } from './moves.js';
import type { Action } from './plan.js';
import { withRetry, type RetryPolicy } from './retry.js';
import { tempPathFor } from '../core/temp-name.js';
import type { WholeFolderGroup } from './whole-folders.js';
import type { VersionStore } from '../storage/versions.js';

export interface ExecuteContext {
  src: Storage;
  dst: Storage;
  versions?: VersionStore;
  retry: RetryPolicy;
  /** Items worked on at once. */
  concurrency: number;
  signal?: AbortSignal;
  onEvent?: SyncEventListener;
  /**
   * Something this run could not back up is already known (a folder that could not be listed, a
   * conflict): deletions are held back as they are after a failed copy.
   */
  holdDeletes?: boolean;
  /** How copies are grouped to be flushed together, where the destination offers `flush`. */
  batch?: BatchLimits;
}

export interface ExecuteResult {
  copied: number;
  /** Destination items moved to their new path instead of copied again. */
  moved: number;
  updated: number;
  deleted: number;
  metadata: number;
  failed: number;
  vanished: number;
  bytes: number;
  errors: ItemError[];
  /**
   * Deletions not carried out because items failed to copy this run: a file that failed might be
   * the renamed twin of one this run would delete, so nothing is deleted until all copies succeed.
   */
  deletesHeld: number;
  /** Set when a run-ending error (disk full, read-only, device gone) stopped it early. */
  fatal?: StorageError;
}

type CopyAction = Extract<Action, { op: 'copy' }>;

/** A copy waiting in a batch to be flushed and placed. */
interface StagedCopy extends BatchItem {
  action: CopyAction;
  staged: Staged;
}

/**
 * One run of a plan: what it has done so far, and how it does each kind of action. One failed item
 * is recorded and the rest go on; an error that would fail every remaining item too (`fatal`) stops
 * the run, as does an aborted signal: nothing new starts, and what is under way finishes or cleans up.
 */
export class Execution {
  readonly result: ExecuteResult = {
    copied: 0,
    moved: 0,
    updated: 0,
    deleted: 0,
    metadata: 0,
    failed: 0,
    vanished: 0,
    bytes: 0,
    errors: [],
    deletesHeld: 0,
  };
  /** Folders that could not be made: nothing goes inside them. */
  private readonly failedDirs: RelPath[] = [];
  /** Folders whose entries this run changed: flushed before anything is deleted. */
  private readonly touched = new Set<RelPath>();
  /**
   * Where the destination can flush many items at once, copies wait in batches: written, flushed
   * together, and only then renamed into place (durable-batch.ts).
   */
  private readonly batches: DurableBatches<StagedCopy> | undefined;

  constructor(private readonly ctx: ExecuteContext) {
    this.batches = ctx.dst.flush && this.makeBatches();
  }

  stopped(): boolean {
    return this.ctx.signal?.aborted === true || this.result.fatal !== undefined;
  }

  /** Deletions wait while anything of this run failed, or something was known not backed up. */
  holdsDeletes(): boolean {
    return this.result.failed > 0 || this.ctx.holdDeletes === true;
  }

  /** Runs depth-sorted actions a depth at a time, each depth's all at once, until the run stops. */
  async inDepthOrder(actions: readonly Action[]): Promise<void> {
    for (const group of byDepth(actions)) {
      if (this.stopped()) break;
      await this.all(group, this.run);
    }
  }

  /** Runs actions (or moves) as many at a time as the context allows, starting none once stopped. */
  async all<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
    await pool(items, this.ctx.concurrency, work, () => this.stopped());
  }

  /** Places the copies still waiting in a batch, even when the run stopped (an abort drops them). */
  async placeStaged(): Promise<void> {
    await this.batches?.finish();
  }

  /**
   * Makes every change so far durable, names included, before anything is deleted: a power cut
   * must not keep a deletion and lose the copy it made safe. A stopped run deletes nothing more,
   * so it waits on no flush.
   */
  async flushTouched(): Promise<void> {
    if (!this.ctx.dst.flush || this.touched.size === 0 || this.ctx.signal?.aborted === true) return;
    try {
      await this.flushOrEnd([...this.touched]);
      this.touched.clear();
    } catch (err) {
      this.fail('', err);
    }
  }

  readonly run = async (action: Action): Promise<void> => {
    // A folder that could not be created may be a user's file now: its metadata is not ours to set.
    if (action.op === 'dirMeta' && this.failedDirs.includes(action.path)) return;
    if (this.failedDirs.some((d) => isSameOrInside(action.path, d) && d !== action.path)) {
      this.fail(
        action.path,
        new StorageError(
          ErrorCode.NOT_FOUND,
          `${action.path}: not copied because its folder could not be created`,
          action.path,
        ),
      );
      return;
    }
    try {
      const staged = await this.retried(() => this.apply(action));
      if (staged) await this.batches!.add(staged);
    } catch (err) {
      if (this.ctx.signal?.aborted && !isStorageError(err)) return;
      if (action.op === 'mkdir') this.failedDirs.push(action.path);
      this.fail(action.path, err);
    }
  };

  readonly move = async (m: Move): Promise<void> => {
    try {
      await this.retried(() => this.ctx.dst.rename(m.from, m.to, { replacing: null }));
      this.touched.add(parentOf(m.from)).add(parentOf(m.to));
      this.done('moved', m.to);
    } catch (err) {
      this.failUnlessStopped(m.to, err);
    }
  };

  /** Which copies may go with a whole new folder (see phasesOf); undefined where none can. */
  takesWhole(): ((copy: CopyAction) => boolean) | undefined {
    const { src, dst } = this.ctx;
    if (!dst.putFolders || dst.capabilities.wholeFolders !== true) return undefined;
    return (copy) => src.read(copy.src.via ?? copy.path).localPath !== undefined;
  }

  /**
   * Puts groups of new folders whole, with their files (see Storage.putFolders). A folder that
   * could not go whole is made one by one, and a file left out joins `copies`.
   */
  async putWhole(groups: readonly WholeFolderGroup[], copies: Action[]): Promise<void> {
    for (const g of groups) {
      if (this.stopped()) return;
      await this.putGroup(g, copies);
    }
  }

  private async putGroup(g: WholeFolderGroup, copies: Action[]): Promise<void> {
    const { src, dst, signal, onEvent } = this.ctx;
    const tops = g.tops.map((a) => a.path);
    const everything = { placed: [], failed: [], left: g.copies.map((a) => a.path) };
    // Nothing goes into a folder that could not be made: the one-by-one way reports it.
    if (this.failedDirs.some((d) => isSameOrInside(g.parent, d))) return this.placedOf(g, everything, copies);
    for (const a of g.copies) onEvent?.({ type: SyncEvents.ItemStarted, path: a.path, size: a.src.size });
    const stage = tempPathFor(joinRel(g.parent, 'folders'));
    let put: FoldersPut;
    try {
      put = await dst.putFolders!(
        {
          stage,
          folders: tops,
          inner: g.inner.map((a) => a.path),
          files: g.copies.map((a) => ({
            path: a.path,
            localPath: src.read(a.src.via ?? a.path).localPath!,
            size: a.src.size,
            mtimeNs: a.src.mtimeNs,
          })),
        },
        { signal, onProgress: (bytes) => onEvent?.({ type: SyncEvents.ItemProgress, path: stage, bytes }) },
      );
    } catch (err) {
      if (signal?.aborted && !isStorageError(err)) return;
      if (isStorageError(err) && err.fatal) return this.fail('', err);
      // Not known what was placed: everything goes one by one, which finds what is there.
      put = { ...everything, failed: tops.map((path) => ({ path, error: err as StorageError })) };
    } finally {
      onEvent?.({ type: SyncEvents.ItemProgress, path: stage, bytes: 0 });
    }
    await this.placedOf(g, put, copies);
  }

  /** Counts what putFolders placed; the rest is made one by one (folders now, files in `copies`). */
  private async placedOf(g: WholeFolderGroup, put: FoldersPut, copies: Action[]): Promise<void> {
    const tops = g.tops.map((a) => a.path);
    const placed = new Set(put.placed);
    const left = new Set(put.left);
    // A file directly in the parent is placed unless left; one in a new folder, with its folder.
    const topOf = (path: RelPath) => tops.find((t) => isSameOrInside(path, t));
    const isPlaced = (path: RelPath) => {
      const top = topOf(path);
      return top === undefined || placed.has(top);
    };
    const again: Action[] = [];
    for (const a of [...g.tops, ...g.inner])
      if (isPlaced(a.path)) this.done('created-dir', a.path);
      else again.push(a);
    for (const a of g.copies)
      if (isPlaced(a.path) && !left.has(a.path)) this.done('copied', a.path, a.src.size);
      else copies.push(a);
    if (put.placed.length > 0 || g.copies.length > left.size) this.touched.add(g.parent);
    await this.inDepthOrder(again.sort((a, b) => depthOf(a.path) - depthOf(b.path)));
  }

  private retried<T>(fn: () => Promise<T>): Promise<T> {
    return withRetry(fn, this.ctx.retry, this.ctx.signal);
  }

  /** Carries out one action; a copy left for a batch comes back to be added to it. */
  private async apply(action: Action): Promise<StagedCopy | undefined> {
    const { dst } = this.ctx;
    switch (action.op) {
      case 'mkdir':
        return this.mkdir(action);
      case 'copy':
        return this.copy(action);
      case 'meta':
        if (action.mode) await dst.setMode(action.path, action.src.mode);
        if (action.mtime) await dst.setModTime(action.path, action.src.mtimeNs, action.src.atimeNs);
        this.done('metadata', action.path);
        return;
      case 'delete':
        if (action.temp) return void (await removeTemp(dst, action.path));
        await discard(this.ctx, { path: action.path, entry: action.entry });
        this.done('deleted', action.path);
        return;
      case 'dirMeta':
        if (action.mode) await dst.setMode(action.path, action.src.mode);
        if (dst.capabilities.folderTimes !== false)
          await dst.setModTime(action.path, action.src.mtimeNs, action.src.atimeNs);
        return;
    }
  }

  private async mkdir(action: Extract<Action, { op: 'mkdir' }>): Promise<undefined> {
    for (const item of action.replace) await discard(this.ctx, item);
    try {
      await this.ctx.dst.mkdir(action.path, { mode: action.src.mode });
      this.touched.add(parentOf(action.path));
    } catch (err) {
      // A folder that appeared since the scan is what we wanted anyway.
      if (!isStorageError(err, ErrorCode.EXISTS) || (await this.ctx.dst.stat(action.path)).type !== 'dir') throw err;
    }
    this.done(action.replace.length > 0 ? 'updated' : 'created-dir', action.path);
    return undefined;
  }

  private async copy(action: CopyAction): Promise<StagedCopy | undefined> {
    this.ctx.onEvent?.({ type: SyncEvents.ItemStarted, path: action.path, size: action.src.size });
    // Copies that replace a folder run one by one after every other (execute.ts): not batched.
    if (this.batches && !replacesFolder(action)) {
      const outcome = await stageItem(this.ctx, action.path, action.src, action.replace, { later: true });
      if ('staged' in outcome)
        return {
          action,
          staged: outcome.staged,
          flushPath: flushPathOf(outcome.staged),
          bytes: outcome.staged.entry.size,
        };
      if ('vanished' in outcome) this.result.vanished++;
      return undefined;
    }
    this.placed(action, await placeItem(this.ctx, action.path, action.src, action.replace));
    return undefined;
  }

  private placed(action: CopyAction, outcome: PlaceOutcome): void {
    if ('vanished' in outcome) {
      this.result.vanished++;
      return;
    }
    this.touched.add(parentOf(action.path));
    for (const item of action.replace) if (item.path !== action.path) this.result.deleted++;
    this.done(action.replace.length > 0 ? 'updated' : 'copied', action.path, outcome.placed.size);
  }

  private makeBatches(): DurableBatches<StagedCopy> {
    return new DurableBatches<StagedCopy>(
      {
        // A stopped run places nothing more: its staged copies are removed without waiting on a flush.
        flush: async (paths) => {
          this.ctx.signal?.throwIfAborted();
          await this.flushOrEnd(paths);
        },
        commit: async (c) => {
          try {
            this.placed(
              c.action,
              await commitItem(this.ctx, c.action.path, c.staged, c.action.replace, (fn) => this.retried(fn)),
            );
          } catch (err) {
            this.failUnlessStopped(c.action.path, err);
          }
        },
        drop: async (c, err) => {
          await removeQuietly(this.ctx.dst, c.staged.tmp);
          this.failUnlessStopped(c.action.path, err);
        },
      },
      this.ctx.batch ?? BATCH_LIMITS,
    );
  }

  /** A flush that fails ends the run, told once: every later batch would fail the same way. */
  private async flushOrEnd(paths: readonly RelPath[]): Promise<void> {
    const { dst } = this.ctx;
    try {
      await dst.flush!(paths);
    } catch (err) {
      const e = isStorageError(err) ? err : undefined;
      const why = err instanceof Error ? err.message : String(err);
      throw new RunEndingError(
        e?.code ?? ErrorCode.IO,
        `could not make the copies durable on ${dst.description} (${why}); nothing was put in place unflushed`,
        '',
        false,
        e?.native,
      );
    }
  }

  private done(outcome: ItemOutcome, path: RelPath, bytes = 0): void {
    const { result } = this;
    if (outcome === 'copied' || outcome === 'created-dir') result.copied++;
    else if (outcome === 'moved') result.moved++;
    else if (outcome === 'updated') result.updated++;
    else if (outcome === 'deleted') result.deleted++;
    else result.metadata++;
    result.bytes += bytes;
    this.ctx.onEvent?.({ type: SyncEvents.ItemDone, outcome, path, bytes });
  }

  private fail(path: RelPath, err: unknown): void {
    if (isStorageError(err) && err.fatal) {
      this.result.fatal ??= err;
      return;
    }
    const code = isStorageError(err) ? err.code : 'ERROR';
    const message = err instanceof Error ? err.message : String(err);
    this.result.failed++;
    this.result.errors.push({ path, code, message });
    this.ctx.onEvent?.({ type: SyncEvents.ItemFailed, path, code, message });
  }

  /** A failure, unless it is only the run being stopped (an abort, not a storage error). */
  private failUnlessStopped(path: RelPath, err: unknown): void {
    if (this.ctx.signal?.aborted && !isStorageError(err)) return;
    this.fail(path, err);
  }
}

/**
 * Copies that replace a whole destination folder delete what it holds, so they wait, like the
 * deletions, until every other copy has succeeded.
 */
export function replacesFolder(a: Action): boolean {
  return a.op === 'copy' && a.replace.some((r) => r.entry.type === 'dir');
}

/** Splits an already depth-sorted list into runs of equal depth, keeping the order. */
function byDepth(actions: readonly Action[]): Action[][] {
  const groups: Action[][] = [];
  let last = -1;
  for (const a of actions) {
    const d = depthOf(a.path);
    if (d !== last || groups.length === 0) groups.push([]);
    groups[groups.length - 1]!.push(a);
    last = d;
  }
  return groups;
}

/** Runs `work` over `items` with at most `limit` at a time, starting nothing once `stop()` says so. */
async function pool<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
  stop: () => boolean,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length && !stop()) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
