import type { Entry } from '../core/entry.js';
import { ErrorCode, StorageError } from '../core/errors.js';
import type { RelPath } from '../core/rel-path.js';
import type { Storage } from './storage.js';

/** Why an item was set aside: removed from the destination, or overwritten by a newer copy. */
export type VersionReason = 'deleted' | 'replaced';

/**
 * Where a run puts what it deletes or overwrites instead of destroying it, laid out as
 * `<root>/<stamp>/<reason>/<relative path>` (`<stamp>`: runStamp of the run's start).
 * `keep` moves the item at `path` out of `from` (it is gone from there when the promise resolves),
 * keeping its bytes and modification time. Files and symlinks only: folders are removed once
 * empty, their contents kept one by one.
 */
export interface VersionStore {
  readonly description: string;
  keep(from: Storage, path: RelPath, entry: Entry, reason: VersionReason): Promise<void>;
}

/**
 * A folder name for one run's versions: sortable, no characters any file system forbids, and to
 * the millisecond so that back-to-back runs get folders of their own.
 */
export function runStamp(date: Date): string {
  return date.toISOString().replace(/[:.]/g, '-');
}

/** The time a runStamp folder name stands for; undefined for any other name. */
export function stampTime(name: string): number | undefined {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z$/.exec(name);
  if (!m) return undefined;
  const t = Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4]}.${m[5]}Z`);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * Only what the listing saw is kept: an item that changed or appeared since stays in place
 * (CHANGED, so the run reports it and leaves it), as a rename given `listedAs` does.
 */
export async function stillAsListed(from: Storage, rel: RelPath, entry: Entry): Promise<void> {
  const now = await from.stat(rel);
  if (now.type !== entry.type || now.size !== entry.size || now.mtimeNs !== entry.mtimeNs) {
    throw new StorageError(
      ErrorCode.CHANGED,
      `${rel}: changed in the destination since it was listed; left as it is`,
      rel,
    );
  }
}
