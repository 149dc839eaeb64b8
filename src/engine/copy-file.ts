import type { Entry } from '../core/entry.js';
import { ErrorCode, StorageError, isStorageError } from '../core/errors.js';
import type { RelPath } from '../core/rel-path.js';
import type { Storage } from '../storage/storage.js';
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
 * is flushed, and only then is renamed over whatever stood at `path`. If the source moved (size or
 * mtime) while it was copied, the copy is thrown away and made again. Whatever the outcome, no temp
 * file is left behind.
 */
export async function placeItem(
  ctx: PlaceContext,
  path: RelPath,
  listed: Entry,
  replace: readonly Doomed[],
): Promise<PlaceOutcome> {
  let entry = listed;
  for (let attempt = 0; attempt <= MAX_CHANGED_RETRIES; attempt++) {
    const tmp = tempPathFor(path);
    try {
      const times = { mtimeNs: entry.mtimeNs, atimeNs: entry.atimeNs };
      let checked = false;
      if (entry.type === 'symlink') {
        await ctx.dst.symlink(tmp, entry.target ?? '', times);
      } else {
        const expect = { size: entry.size, mtimeNs: entry.mtimeNs };
        // With nothing to clear first, the storage may rename the finished, checked file itself.
        const renameTo = nothingToClear(ctx, replace, path) ? path : undefined;
        try {
          checked = await ctx.dst.write(tmp, ctx.src.read(path), { ...times, mode: entry.mode, expect, renameTo });
        } catch (err) {
          if (!isStorageError(err, ErrorCode.CHANGED)) throw err;
        }
        if (checked && renameTo !== undefined) return { placed: entry };
      }
      const now = checked ? entry : await ctx.src.stat(path);
      if (!sameVersion(entry, now)) {
        await removeQuietly(ctx.dst, tmp);
        if (now.type !== 'file' && now.type !== 'symlink') {
          throw new StorageError(ErrorCode.CHANGED, `${path}: changed type while being copied; it will be picked up next run`, path);
        }
        entry = now;
        continue;
      }
      ctx.signal?.throwIfAborted();
      await clearWay(ctx, replace, path);
      await ctx.dst.rename(tmp, path);
      return { placed: entry };
    } catch (err) {
      await removeQuietly(ctx.dst, tmp);
      if (isStorageError(err, ErrorCode.NOT_FOUND) && (await vanished(ctx.src, path))) return { vanished: true };
      throw err;
    }
  }
  throw new StorageError(ErrorCode.CHANGED, `${path}: kept changing while being copied; it will be copied once it settles`, path, true);
}

function nothingToClear(ctx: PlaceContext, replace: readonly Doomed[], path: RelPath): boolean {
  return ctx.versions === undefined && replace.every((r) => r.path === path && r.entry.type !== 'dir');
}

/**
 * Removes (or versions) what stands where the new item goes. A file or link directly at `path` is
 * left for the rename to replace atomically, unless it has to be versioned first.
 */
export async function clearWay(ctx: PlaceContext, replace: readonly Doomed[], path: RelPath): Promise<void> {
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
