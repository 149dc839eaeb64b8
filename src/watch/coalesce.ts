import { parentOf, type RelPath } from '../core/rel-path.js';
import { addFolder, bounded, FULL, type Scope } from '../engine/scope.js';

/** What the watcher reports, with paths relative to the watched root ('' is the root itself). */
export type WatchEvent =
  | { kind: 'add' | 'change' | 'unlink'; path: RelPath }
  | { kind: 'addDir' | 'unlinkDir'; path: RelPath }
  /** The watcher may have missed something (overflow, a restart): look at everything. */
  | { kind: 'rescan' };

export interface CoalesceOptions {
  /** Paths that produce no work: our own temp files, excluded paths. */
  ignore: (path: RelPath, isDir: boolean) => boolean;
}

/**
 * Turns a run of events into the folders to look at again. Pure. A file's event puts its folder in
 * the scope (the step then compares that folder's items on both sides, so the order and number of
 * events for one file do not matter); a folder's event puts the folder in whole, and its parent.
 * Events for ignored paths are dropped; a flood becomes a full rescan.
 */
export function coalesce(events: readonly WatchEvent[], options: CoalesceOptions): Scope | undefined {
  const folders = new Map<RelPath, 'shallow' | 'deep'>();
  for (const e of events) {
    if (e.kind === 'rescan') return FULL;
    const isDir = e.kind === 'addDir' || e.kind === 'unlinkDir';
    if (e.path === '') {
      // The root itself was added or removed: only a full look says what happened.
      return FULL;
    }
    if (options.ignore(e.path, isDir)) continue;
    if (isDir) addFolder(folders, e.path, 'deep');
    addFolder(folders, parentOf(e.path), 'shallow');
  }
  if (folders.size === 0) return undefined;
  return bounded(folders);
}
