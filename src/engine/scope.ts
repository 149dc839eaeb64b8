import { isSameOrInside, parentOf, type RelPath } from '../core/rel-path.js';

/**
 * What a sync step must look at again: everything, or some folders. A shallow folder is listed
 * with its direct items (subfolders on one side only are listed whole); a deep one with everything
 * below it.
 */
export type Scope = { full: true } | { full: false; folders: ReadonlyMap<RelPath, 'shallow' | 'deep'> };

export const FULL: Scope = Object.freeze({ full: true });

/** Past this many folders a step lists everything instead: memory stays bounded, whatever the flood. */
export const MAX_SCOPE_FOLDERS = 2_000;

/**
 * Both scopes in one. Deep folders absorb what lies below them; too many folders become a full
 * rescan.
 */
export function mergeScopes(a: Scope | undefined, b: Scope): Scope {
  if (a === undefined) return b;
  if (a.full || b.full) return FULL;
  const folders = new Map(a.folders);
  for (const [dir, depth] of b.folders) addFolder(folders, dir, depth);
  return bounded(folders);
}

/** Adds one folder to a scope under construction, keeping it free of redundant entries. */
export function addFolder(folders: Map<RelPath, 'shallow' | 'deep'>, dir: RelPath, depth: 'shallow' | 'deep'): void {
  for (let p = dir; ; p = parentOf(p)) {
    if (folders.get(p) === 'deep') return; // already covered by a deep ancestor (or itself)
    if (p === '') break;
  }
  if (depth === 'deep') {
    for (const other of [...folders.keys()]) if (isSameOrInside(other, dir)) folders.delete(other);
  }
  folders.set(dir, depth === 'deep' ? 'deep' : (folders.get(dir) ?? 'shallow'));
}

export function bounded(folders: Map<RelPath, 'shallow' | 'deep'>): Scope {
  return folders.size > MAX_SCOPE_FOLDERS ? FULL : { full: false, folders };
}
