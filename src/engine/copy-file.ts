import type { Entry } from '../core/entry.js';
import { ErrorCode, StorageError, isStorageError } from '../core/errors.js';
import type { RelPath } from '../core/rel-path.js';
import type { Replacing, Storage } from '../storage/storage.js';
import type { Doomed } from './plan.js';
import { tempPathFor } from './temp-name.js';
import type { VersionStore } from './versions.js';

/** How often a file that keeps changing while we copy it is tried again before it is reported. */
const MAX_CHANGED_RETRIES = 3;

export interface PlaceContext {
  src: Storage;
  dst: Storage;
  versions?: VersionStore;
  signal?: AbortSignal;
}

export type PlaceOutcome = { placed: Entry } | { vanished: true };

/**
 * Puts a copy of the source file or symlink at `path` in the destination without ever exposing a
 * partial file there: the content goes to a temp name in the same folder, gets its mode and times,
 * is flushed, and only then is renamed over what the listing saw at `path` (never over something
 * that appeared or changed there since: that is kept and reported). If the source moved (size or
 * mtime) while it was copied, the copy is thrown away and made again. The temp file is removed
 * whatever happens, except when the process itself dies (the next run removes it then).
 */
export async function placeItem(
  ctx: PlaceContext,
  path: RelPath,
  listed: Entry,
  replace: readonly Doomed[],
): Promise<PlaceOutcome> {
  let entry = listed;
  // A followed symlink (--links copy) is read from where it leads.
  const from = listed.via ?? path;
  // The item the final rename swaps out, unless it has to be versioned (moved away) first.
  const direct = replace.find((r) => r.path === path && r.entry.type !== 'dir');
  const swapsDirect = direct !== undefined && ctx.versions === undefined;
  const replacing: Replacing = swapsDirect ? { type: direct.entry.type, size: direct.entry.size, mtimeNs: direct.entry.mtimeNs } : null;
  // With nothing to clear first, the storage may rename the checked file into place itself.
  const renameTo = replace.every((r) => swapsDirect && r === direct) ? path : undefined;

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
          checked = await ctx.dst.write(tmp, ctx.src.read(from), { ...times, mode: entry.mode, expect, renameTo, replacing });
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
          throw new StorageError(ErrorCode.CHANGED, `${path}: changed type while being copied; it will be picked up next run`, path);
        }
        entry = listed.via === undefined ? now : { ...now, via: listed.via };
        continue;
      }
      ctx.signal?.throwIfAborted();
      await clearWay(ctx, replace, path);
      try {
        await ctx.dst.rename(tmp, path, { replacing });
      } catch (err) {
        if (isStorageError(err, ErrorCode.EXISTS)) throw changedInDestination(path);
        throw err;
      }
      return { placed: entry };
    } catch (err) {
      await removeQuietly(ctx.dst, tmp);
      if (isStorageError(err, ErrorCode.NOT_FOUND) && (await vanished(ctx.src, from))) return { vanished: true };
      throw aboutTarget(err, tmp, path);
    }
  }
  throw new StorageError(ErrorCode.CHANGED, `${path}: kept changing while being copied; it will be copied once it settles`, path);
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
    if (item.path === path && item.entry.type !== 'dir' && ctx.versions === undefined) continue;
    await discard(ctx, item);
  }
}

/** Deletes one destination item, or moves it into the version store when there is one. */
export async function discard(ctx: PlaceContext, item: Doomed): Promise<void> {
  try {
    if (item.entry.type === 'dir') await ctx.dst.rmdir(item.path);
    else if (ctx.versions) await ctx.versions.keep(ctx.dst, item.path, item.entry);
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
