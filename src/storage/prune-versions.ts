import { ErrorCode, isStorageError } from '../core/errors.js';
import type { RelPath } from '../core/rel-path.js';
import type { Storage } from './storage.js';
import { stampTime } from './versions.js';

/** A full destination takes versions older than this, whatever is kept otherwise; newer ones stay. */
export const ROOM_KEEPS_MS = 86_400_000;

/**
 * Removes the versions kept under `root` (in `storage`) that are older than `keepMs` at `now`,
 * oldest first: a whole `<stamp>` folder at a time, once its run's start is that old, contents
 * and empty folders included. `keepMs` 0 keeps them forever. Names that are not stamps are left
 * alone. `removed` is called after each stamp folder is gone; the stamps removed are returned.
 * `most` stops after that many.
 */
export async function pruneVersions(
  storage: Storage,
  root: RelPath,
  keepMs: number,
  now: number,
  removed?: (stamp: string) => void,
  most = Number.POSITIVE_INFINITY,
): Promise<string[]> {
  if (keepMs <= 0) return [];
  let names: string[];
  try {
    names = (await storage.list(root)).filter((e) => e.type === 'dir').map((e) => e.name);
  } catch (err) {
    if (isStorageError(err, ErrorCode.NOT_FOUND)) return [];
    throw err;
  }
  const old = names
    .map((name) => ({ name, at: stampTime(name) }))
    .filter((s): s is { name: string; at: number } => s.at !== undefined && s.at < now - keepMs)
    .sort((a, b) => a.at - b.at)
    .slice(0, most);
  const done: string[] = [];
  for (const s of old) {
    // Gone meanwhile (another removal took it): not this one's to tell.
    if (!(await removeTree(storage, root === '' ? s.name : `${root}/${s.name}`))) continue;
    done.push(s.name);
    removed?.(s.name);
  }
  return done;
}

/** Removes a folder and everything in it, through the storage's own remove and rmdir; false if it was gone. */
export async function removeTree(storage: Storage, dir: RelPath): Promise<boolean> {
  try {
    for (const e of await storage.list(dir)) {
      const rel = `${dir}/${e.name}`;
      if (e.type === 'dir') await removeTree(storage, rel);
      else await storage.remove(rel).catch(unlessGone);
    }
    await storage.rmdir(dir);
    return true;
  } catch (err) {
    // Removed by another removal at the same time: the end is the same.
    if (isStorageError(err, ErrorCode.NOT_FOUND)) return false;
    throw err;
  }
}

function unlessGone(err: unknown): void {
  if (!isStorageError(err, ErrorCode.NOT_FOUND)) throw err;
}
