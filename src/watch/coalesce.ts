import { parentOf, type RelPath } from '../core/rel-path.js';
import { addFolder, bounded, FULL, MAX_SCOPE_FOLDERS, type Scope } from '../engine/scope.js';

/** What the watcher reports, with paths relative to the watched root ('' is the root itself). */
export type WatchEvent =
  | { kind: 'add' | 'change' | 'unlink'; path: RelPath }
  | { kind: 'addDir' | 'unlinkDir'; path: RelPath }
  /** The watcher may have missed something (overflow, a restart): look at everything. */
  | { kind: 'rescan' }
  /** Another folder stands at the watched path now (the old one moved away): watch anew, look at everything. */
  | { kind: 'rootChanged' };

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
  for (const e of events) if (addEvent(folders, e, options) === 'full') return FULL;
  if (folders.size === 0) return undefined;
  return bounded(folders);
}

/**
 * Adds one event to a scope under construction (see coalesce); 'full' when only a full rescan
 * will do: the root itself changed, the watcher asked for it, or too many folders. 'ignored' when
 * the event makes no work, so that it does not count as activity either.
 */
export function addEvent(
  folders: Map<RelPath, 'shallow' | 'deep'>,
  e: WatchEvent,
  options: CoalesceOptions,
): 'full' | 'added' | 'ignored' {
  // The root itself added or removed, or a watcher that lost track: only a full look says what happened.
  if (e.kind === 'rescan' || e.kind === 'rootChanged' || e.path === '') return 'full';
  const isDir = e.kind === 'addDir' || e.kind === 'unlinkDir';
  if (options.ignore(e.path, isDir)) return 'ignored';
  if (isDir) addFolder(folders, e.path, 'deep');
  addFolder(folders, parentOf(e.path), 'shallow');
  return folders.size > MAX_SCOPE_FOLDERS ? 'full' : 'added';
}
