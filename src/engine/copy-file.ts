import type { Entry } from '../core/entry.js';
import { ErrorCode, StorageError, isStorageError } from '../core/errors.js';
import { SyncEvents, type SyncEventListener } from '../core/events.js';
import { joinRel, parentOf, type RelPath } from '../core/rel-path.js';
import type { Replacing, Storage } from '../storage/storage.js';
import type { Doomed } from './plan.js';
import { tempPathFor } from '../core/temp-name.js';
import type { VersionReason, VersionStore } from '../storage/versions.js';

/** How often a file that keeps changing while we copy it is tried again before it is reported. */
const MAX_CHANGED_RETRIES = 3;

export interface PlaceContext {
  src: Storage;
  dst: Storage;
  versions?: VersionStore;
  signal?: AbortSignal;
  onEvent?: SyncEventListener;
}

export type PlaceOutcome = { placed: Entry } | { vanished: true };

/** A checked copy at its temp name, not yet durable or in place (see stageItem). */
export interface Staged {
  tmp: RelPath;
  /** The source as copied. */
  entry: Entry;
}

/**
 * Puts a copy of the source file or symlink at `path` in the destination without ever exposing a
 * partial file there: stageItem, then commitItem at once.
 */
export async function placeItem(
  ctx: PlaceContext,
  path: RelPath,
  listed: Entry,
  replace: readonly Doomed[],
): Promise<PlaceOutcome> {
  const outcome = await stageItem(ctx, path, listed, replace, { later: false });
  if (!('staged' in outcome)) return outcome;
  return commitItem(ctx, path, outcome.staged, replace);
}

/**
 * Copies the source file or symlink at `path` to a temp name in the same destination folder, with
 * its mode and times. If the source moved (size or mtime) while it was copied, the copy is thrown
 * away and made again. With `later: false` the copy is flushed, and where the storage can check
 * the source itself it also renames it into place (`placed`); with `later: true` it is left
 * unflushed at its temp name for the caller to flush (with others) and commit. The temp file is
 * removed on failure, except when the process itself dies (the next run removes it then).
 */
export async function stageItem(
  ctx: PlaceContext,
  path: RelPath,
  listed: Entry,
  replace: readonly Doomed[],
  { later }: { later: boolean },
): Promise<PlaceOutcome | { staged: Staged }> {
  let entry = listed;
  // A followed symlink (--links copy) is read from where it leads.
  const from = listed.via ?? path;
  const replacing = replacingOf(ctx, path, replace);
  // With nothing to clear first, the storage may rename the checked file into place itself.
  const renameTo = !later && replace.every((r) => replacing !== null && r.path === path) ? path : undefined;

  for (let attempt = 0; attempt <= MAX_CHANGED_RETRIES; attempt++) {
    const tmp = tempPathFor(path);
    try {
      const times = { mtimeNs: entry.mtimeNs, atimeNs: entry.atimeNs };
      let checked = false;
      let moved = false;
      if (entry.type === 'symlink') {
        await ctx.dst.symlink(tmp, entry.target ?? '', times);
      } else {
        const expect = { size: entry.size, mtimeNs: entry.mtimeNs };
        try {
          const onProgress = ctx.onEvent && progressOf(ctx.onEvent, path);
          const { signal } = ctx;
          const options = later
            ? { ...times, mode: entry.mode, expect, flush: false, onProgress, signal }
            : { ...times, mode: entry.mode, expect, renameTo, replacing, onProgress, signal };
          checked = await ctx.dst.write(tmp, ctx.src.read(from), options);
        } catch (err) {
          if (isStorageError(err, ErrorCode.EXISTS) && renameTo !== undefined) throw changedInDestination(path);
          // IS_DIR: the source became a folder since it was listed.
          if (!isStorageError(err, ErrorCode.CHANGED) && !isStorageError(err, ErrorCode.IS_DIR)) throw err;
          moved = true;
        }
        if (checked && renameTo !== undefined) return { placed: entry };
      }
      const now = checked ? entry : await ctx.src.stat(from);
      if (moved || !sameVersion(entry, now)) {
        // The temp file of a write that saw its source move is never renamed, whatever it holds:
        // it is dropped and the copy made again from the source as it is now.
        await removeQuietly(ctx.dst, tmp);
        if (now.type !== 'file' && now.type !== 'symlink') {
          throw new StorageError(
            ErrorCode.CHANGED,
            `${path}: changed type while being copied; it will be picked up next run`,
            path,
          );
        }
        entry = listed.via === undefined ? now : { ...now, via: listed.via };
        continue;
      }
      return { staged: { tmp, entry } };
    } catch (err) {
      return await dropped(ctx, err, tmp, path, from);
    }
  }
  throw new StorageError(
    ErrorCode.CHANGED,
    `${path}: kept changing while being copied; it will be copied once it settles`,
    path,
  );
}

/**
 * Renames a staged copy (durable by now) over what the listing saw at `path`, never over something
 * that appeared or changed there since: that is kept and reported. What has to go first (a folder,
 * an item to version) is cleared. On failure the temp file is removed.
 */
export async function commitItem(
  ctx: PlaceContext,
  path: RelPath,
  staged: Staged,
  replace: readonly Doomed[],
  attempt: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn(),
): Promise<PlaceOutcome> {
  try {
    ctx.signal?.throwIfAborted();
    // Tried again as a whole (a file held open for a moment) while the temp file is still there.
    await attempt(async () => {
      await clearWay(ctx, replace, path);
      try {
        await ctx.dst.rename(staged.tmp, path, { replacing: replacingOf(ctx, path, replace) });
      } catch (err) {
        if (isStorageError(err, ErrorCode.EXISTS)) throw changedInDestination(path);
        throw err;
      }
    });
    return { placed: staged.entry };
  } catch (err) {
    return await dropped(ctx, err, staged.tmp, path, staged.entry.via ?? path);
  }
}

function progressOf(onEvent: SyncEventListener, path: RelPath): (bytes: number) => void {
  return (bytes) => onEvent({ type: SyncEvents.ItemProgress, path, bytes });
}

/** What to flush to make a staged copy durable: the file, or for a symlink the folder holding it. */
export function flushPathOf(staged: Staged): RelPath {
  return staged.entry.type === 'symlink' ? parentOf(staged.tmp) : staged.tmp;
}

/** The item the final rename swaps out (see Replacing), unless it has to be versioned (moved away) first. */
function replacingOf(ctx: PlaceContext, path: RelPath, replace: readonly Doomed[]): Replacing {
  const direct = replace.find((r) => r.path === path && r.entry.type !== 'dir');
  if (direct === undefined || ctx.versions !== undefined) return null;
  return { type: direct.entry.type, size: direct.entry.size, mtimeNs: direct.entry.mtimeNs };
}

/** Removes the temp file of a failed copy; `vanished` when the source went away, else throws the error to report. */
async function dropped(
  ctx: PlaceContext,
  err: unknown,
  tmp: RelPath,
  path: RelPath,
  from: RelPath,
): Promise<{ vanished: true }> {
  await removeQuietly(ctx.dst, tmp);
  if (isStorageError(err, ErrorCode.NOT_FOUND) && (await vanished(ctx.src, from))) return { vanished: true };
  throw aboutTarget(err, tmp, path);
}

function changedInDestination(path: RelPath): StorageError {
  return new StorageError(
    ErrorCode.CHANGED,
    `${path}: appeared or changed in the destination while syncing; left as it is (run again to sync it)`,
    path,
  );
}

/** Errors about the temp file are reported about the item being placed. */
function aboutTarget(err: unknown, tmp: RelPath, path: RelPath): unknown {
  if (!isStorageError(err) || !err.message.includes(tmp)) return err;
  return new StorageError(err.code, err.message.replaceAll(tmp, path), path, err.retryable, err.native);
}

/**
 * Removes (or versions) what stands where the new item goes. A file or link directly at `path` is
 * left for the rename to replace atomically, unless it has to be versioned first.
 */
async function clearWay(ctx: PlaceContext, replace: readonly Doomed[], path: RelPath): Promise<void> {
  for (const item of replace) {
    const direct = item.path === path && item.entry.type !== 'dir';
    if (direct && ctx.versions === undefined) continue;
    // The file the new copy overwrites is `replaced`; what a type change removes (a folder's
    // contents, a file where a folder goes) is `deleted`.
    await discard(ctx, item, direct ? 'replaced' : 'deleted');
  }
}

/** Deletes one destination item, or moves it into the version store when there is one. */
export async function discard(ctx: PlaceContext, item: Doomed, reason: VersionReason = 'deleted'): Promise<void> {
  try {
    if (item.entry.type === 'dir') await ctx.dst.rmdir(item.path);
    else if (ctx.versions) await ctx.versions.keep(ctx.dst, item.path, item.entry, reason);
    else await ctx.dst.remove(item.path);
  } catch (err) {
    if (!isStorageError(err, ErrorCode.NOT_FOUND)) throw err;
  }
}

function sameVersion(a: Entry, b: Entry): boolean {
  return a.type === b.type && a.size === b.size && a.mtimeNs === b.mtimeNs && a.target === b.target;
}

async function vanished(src: Storage, path: RelPath): Promise<boolean> {
  try {
    await src.stat(path);
    return false;
  } catch (err) {
    return isStorageError(err, ErrorCode.NOT_FOUND);
  }
}

export async function removeQuietly(storage: Storage, path: RelPath): Promise<void> {
  try {
    await storage.remove(path);
  } catch {
    // Already gone, or unremovable: either way the next run's scan finds and removes it.
  }
}

/** Removes a temp item of ours, a folder with what it holds too; quietly, as removeQuietly. */
export async function removeTemp(storage: Storage, path: RelPath): Promise<void> {
  try {
    await storage.remove(path);
  } catch (err) {
    if (!isStorageError(err, ErrorCode.IS_DIR)) return;
    try {
      // A stage a stopped run left on a remote can hold thousands of files: one call, not one each.
      if (storage.removeTree) return void (await storage.removeTree(path));
      for (const e of await storage.list(path)) await removeTemp(storage, joinRel(path, e.name));
      await storage.rmdir(path);
    } catch {
      // As removeQuietly.
    }
  }
}
