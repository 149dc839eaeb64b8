import { ErrorCode, RunEndingError, StorageError, isStorageError } from '../core/errors.js';
import { SyncEvents, type ItemError, type ItemOutcome, type SyncEventListener } from '../core/events.js';
import { depthOf, isSameOrInside, parentOf, type RelPath } from '../core/rel-path.js';
import type { Storage } from '../storage/storage.js';
import { commitItem, discard, flushPathOf, placeItem, removeQuietly, stageItem, type PlaceOutcome, type Staged } from './copy-file.js';
import { BATCH_LIMITS, DurableBatches, type BatchItem, type BatchLimits } from './durable-batch.js';
import type { Move } from './moves.js';
import type { Action, Plan } from './plan.js';
import { withRetry, type RetryPolicy } from './retry.js';
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

/** A copy waiting in a batch to be flushed and placed. */
interface StagedCopy extends BatchItem {
  action: Extract<Action, { op: 'copy' }>;
  staged: Staged;
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

/**
 * Carries out a plan in its phases: folders, moves, then transfers (placed a flushed batch at a
 * time where the destination offers `flush`), a flush of the folders changed, then deletions
 * (deepest first), then folder metadata (deepest first). One failed item is recorded and the rest
 * go on; an error that would fail every remaining item too ends the run. An aborted signal stops
 * new work; items already under way finish or clean up after themselves.
 */
export async function execute(plan: Plan, ctx: ExecuteContext): Promise<ExecuteResult> {
  const result: ExecuteResult = {
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
  const failedDirs: RelPath[] = [];
  const stopped = () => ctx.signal?.aborted === true || result.fatal !== undefined;

  const done = (outcome: ItemOutcome, path: RelPath, bytes = 0) => {
    if (outcome === 'copied' || outcome === 'created-dir') result.copied++;
    else if (outcome === 'moved') result.moved++;
    else if (outcome === 'updated') result.updated++;
    else if (outcome === 'deleted') result.deleted++;
    else result.metadata++;
    result.bytes += bytes;
    ctx.onEvent?.({ type: SyncEvents.ItemDone, outcome, path, bytes });
  };
  const fail = (path: RelPath, err: unknown) => {
    if (isStorageError(err) && err.fatal) {
      result.fatal ??= err;
      return;
    }
    const code = isStorageError(err) ? err.code : 'ERROR';
    const message = err instanceof Error ? err.message : String(err);
    result.failed++;
    result.errors.push({ path, code, message });
    ctx.onEvent?.({ type: SyncEvents.ItemFailed, path, code, message });
  };
  /** A failure, unless it is only the run being stopped (an abort, not a storage error). */
  const failUnlessStopped = (path: RelPath, err: unknown) => {
    if (ctx.signal?.aborted && !isStorageError(err)) return;
    fail(path, err);
  };
  const underFailedDir = (path: RelPath) => failedDirs.some((d) => isSameOrInside(path, d) && d !== path);

  const run = async (action: Action): Promise<void> => {
    // A folder that could not be created may be a user's file now: its metadata is not ours to set.
    if (action.op === 'dirMeta' && failedDirs.includes(action.path)) return;
    if (underFailedDir(action.path)) {
      fail(action.path, new StorageError(ErrorCode.NOT_FOUND, `${action.path}: not copied because its folder could not be created`, action.path));
      return;
    }
    try {
      const staged = await withRetry(() => apply(action), ctx.retry, ctx.signal);
      if (staged) await batches!.add(staged);
    } catch (err) {
      if (ctx.signal?.aborted && !isStorageError(err)) return;
      if (action.op === 'mkdir') failedDirs.push(action.path);
      fail(action.path, err);
    }
  };

  /** Runs depth-sorted actions a depth at a time, each depth's all at once, until the run stops. */
  const inDepthOrder = async (actions: readonly Action[]) => {
    for (const group of byDepth(actions)) {
      if (stopped()) break;
      await pool(group, ctx.concurrency, run, stopped);
    }
  };
  // Folders whose entries this run changed: flushed before anything is deleted.
  const touched = new Set<RelPath>();

  const placed = (action: Extract<Action, { op: 'copy' }>, outcome: PlaceOutcome) => {
    if ('vanished' in outcome) {
      result.vanished++;
      return;
    }
    touched.add(parentOf(action.path));
    for (const item of action.replace) if (item.path !== action.path) result.deleted++;
    done(action.replace.length > 0 ? 'updated' : 'copied', action.path, outcome.placed.size);
  };

  // Where the destination can flush many items at once, copies wait in batches: written, flushed
  // together, and only then renamed into place (durable-batch.ts).
  const dstFlush = ctx.dst.flush;
  // A flush that fails ends the run, told once: every later batch would fail the same way.
  const flushOrEnd = async (paths: readonly RelPath[]) => {
    try {
      await dstFlush!(paths);
    } catch (err) {
      const e = isStorageError(err) ? err : undefined;
      const why = err instanceof Error ? err.message : String(err);
      throw new RunEndingError(e?.code ?? ErrorCode.IO, `could not make the copies durable on ${ctx.dst.description} (${why}); nothing was put in place unflushed`, '', false, e?.native);
    }
  };
  const batches =
    dstFlush &&
    new DurableBatches<StagedCopy>(
      {
        // A stopped run places nothing more: its staged copies are removed without waiting on a flush.
        flush: async (paths) => {
          ctx.signal?.throwIfAborted();
          await flushOrEnd(paths);
        },
        commit: async (c) => {
          try {
            placed(c.action, await commitItem(ctx, c.action.path, c.staged, c.action.replace, (fn) => withRetry(fn, ctx.retry, ctx.signal)));
          } catch (err) {
            failUnlessStopped(c.action.path, err);
          }
        },
        drop: async (c, err) => {
          await removeQuietly(ctx.dst, c.staged.tmp);
          failUnlessStopped(c.action.path, err);
        },
      },
      ctx.batch ?? BATCH_LIMITS,
    );
  const flushTouched = async () => {
    // A stopped run deletes nothing more, so it waits on no flush.
    if (!dstFlush || touched.size === 0 || ctx.signal?.aborted === true) return;
    try {
      await flushOrEnd([...touched]);
    } catch (err) {
      fail('', err);
    }
  };

  const move = async (m: Move): Promise<void> => {
    try {
      await withRetry(() => ctx.dst.rename(m.from, m.to, { replacing: null }), ctx.retry, ctx.signal);
      touched.add(parentOf(m.from)).add(parentOf(m.to));
      done('moved', m.to);
    } catch (err) {
      failUnlessStopped(m.to, err);
    }
  };

  /** Carries out one action; a copy left for a batch comes back to be added to it. */
  const apply = async (action: Action): Promise<StagedCopy | undefined> => {
    switch (action.op) {
      case 'mkdir': {
        for (const item of action.replace) await discard(ctx, item);
        try {
          await ctx.dst.mkdir(action.path, { mode: action.src.mode });
          touched.add(parentOf(action.path));
        } catch (err) {
          // A folder that appeared since the scan is what we wanted anyway.
          if (!isStorageError(err, ErrorCode.EXISTS) || (await ctx.dst.stat(action.path)).type !== 'dir') throw err;
        }
        done(action.replace.length > 0 ? 'updated' : 'created-dir', action.path);
        return;
      }
      case 'copy': {
        ctx.onEvent?.({ type: SyncEvents.ItemStarted, path: action.path, size: action.src.size });
        // Copies that replace a folder run after every other (see below), one by one.
        if (batches && !replacesFolder(action)) {
          const outcome = await stageItem(ctx, action.path, action.src, action.replace, { later: true });
          if ('staged' in outcome) return { action, staged: outcome.staged, flushPath: flushPathOf(outcome.staged), bytes: outcome.staged.entry.size };
          if ('vanished' in outcome) result.vanished++;
          return;
        }
        placed(action, await placeItem(ctx, action.path, action.src, action.replace));
        return;
      }
      case 'meta': {
        if (action.mode) await ctx.dst.setMode(action.path, action.src.mode);
        if (action.mtime) await ctx.dst.setModTime(action.path, action.src.mtimeNs, action.src.atimeNs);
        done('metadata', action.path);
        return;
      }
      case 'delete': {
        if (action.temp) {
          await removeQuietly(ctx.dst, action.path);
          return;
        }
        await discard(ctx, { path: action.path, entry: action.entry });
        done('deleted', action.path);
        return;
      }
      case 'dirMeta': {
        if (action.mode) await ctx.dst.setMode(action.path, action.src.mode);
        await ctx.dst.setModTime(action.path, action.src.mtimeNs, action.src.atimeNs);
        return;
      }
    }
  };

  ctx.onEvent?.({
    type: SyncEvents.Planned,
    files: plan.transfers.filter((a) => a.op === 'copy').length,
    bytes: plan.bytes,
    deletes: plan.deletes.length,
  });

  // A new folder inside a moved one (its parent comes with the move) is made after the moves, every
  // other one before them, as a move may go into a new folder. No move goes inside another move's
  // destination (moves.ts keeps the outermost), so one round of each is enough.
  const movedTo = new Set(plan.moves.map((m) => m.to));
  const insideMoved = (a: Action) => {
    for (let p = parentOf(a.path); p !== ''; p = parentOf(p)) if (movedTo.has(p)) return true;
    return false;
  };
  const mkdirsAfterMoves = movedTo.size === 0 ? [] : plan.mkdirs.filter(insideMoved);
  await inDepthOrder(mkdirsAfterMoves.length === 0 ? plan.mkdirs : plan.mkdirs.filter((a) => !insideMoved(a)));
  // Moves after the folders they go into exist, before anything is copied into them. One that fails
  // counts as failed, which holds back every deletion of the run.
  if (!stopped()) await pool(plan.moves, ctx.concurrency, move, stopped);
  await inDepthOrder(mkdirsAfterMoves);
  if (!stopped()) await pool(plan.transfers.filter((a) => !replacesFolder(a)), ctx.concurrency, run, stopped);
  // Copies already made are placed even when the run stops (an abort drops them instead).
  await batches?.finish();
  // Nothing is deleted before every copy and move of the run is durable, names included: a power
  // cut must not keep a deletion and lose the copy it made safe.
  await flushTouched();
  const hold = () => result.failed > 0 || ctx.holdDeletes === true;
  const folderReplacements = plan.transfers.filter(replacesFolder);
  if (hold()) {
    for (const a of folderReplacements) if (a.op === 'copy') result.deletesHeld += a.replace.length;
  } else if (!stopped()) {
    touched.clear();
    await pool(folderReplacements, ctx.concurrency, run, stopped);
    // Those copies too are durable, names included, before anything else is deleted.
    await flushTouched();
  }
  const deletes = hold() ? plan.deletes.filter((a) => a.op === 'delete' && a.temp) : plan.deletes;
  result.deletesHeld += plan.deletes.length - deletes.length;
  await inDepthOrder(deletes);
  await inDepthOrder(plan.dirMetas);
  return result;
}

/**
 * Copies that replace a whole destination folder delete what it holds, so they wait, like the
 * deletions, until every other copy has succeeded.
 */
function replacesFolder(a: Action): boolean {
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
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>, stop: () => boolean): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length && !stop()) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
