import type { Entry } from '../core/entry.js';
import type { RelPath } from '../core/rel-path.js';
import type { Storage } from './storage.js';

/**
 * Where a run puts what it deletes or overwrites instead of destroying it.
 * `keep` moves the item at `path` out of `from` (it is gone from there when the promise resolves).
 * Files and symlinks only: folders are removed once empty, their contents kept one by one.
 */
export interface VersionStore {
  readonly description: string;
  keep(from: Storage, path: RelPath, entry: Entry): Promise<void>;
}

/**
 * A folder name for one run's versions: sortable, no characters any file system forbids, and to
 * the millisecond so that back-to-back runs get folders of their own.
 */
export function runStamp(date: Date): string {
  return date.toISOString().replace(/[:.]/g, '-');
}
