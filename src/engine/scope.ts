import { isSameOrInside, parentOf, type RelPath } from '../core/rel-path.js';

/**
 * What a sync step must look at again: everything, or some folders. A shallow folder is listed
 * with its direct items (subfolders on one side only are listed whole); a deep one with everything
 * below it.
 */
export type Scope =
  | { full: true }
  | {
      full: false;
      folders: ReadonlyMap<RelPath, 'shallow' | 'deep'>;
      /**
       * Files the watcher saw written. One that looks unchanged by size and time is compared by
       * content: on a drive that keeps whole seconds, an edit within the same second that keeps the
       * size leaves both the same (see sync.ts).
       */
      written?: ReadonlySet<RelPath>;
    };

export const FULL: Scope = Object.freeze({ full: true });

/** Past this many folders a step lists everything instead: memory stays bounded, whatever the flood. */
export const MAX_SCOPE_FOLDERS = 2_000;

/** Past this many written files a step keeps no more (memory stays bounded); the rest go by size and time. */
export const MAX_WRITTEN = 10_000;

/**
 * Both scopes in one. Deep folders absorb what lies below them; too many folders become a full
 * rescan.
 */
export function mergeScopes(a: Scope | undefined, b: Scope): Scope {
  if (a === undefined) return b;
  if (a.full || b.full) return FULL;
  const folders = new Map(a.folders);
  for (const [dir, depth] of b.folders) addFolder(folders, dir, depth);
  return bounded(folders, union(a.written, b.written));
}

function union(
  a: ReadonlySet<RelPath> | undefined,
  b: ReadonlySet<RelPath> | undefined,
): ReadonlySet<RelPath> | undefined {
  if (!a || a.size === 0) return b;
  if (!b || b.size === 0) return a;
  const out = new Set(a);
  for (const p of b) if (out.size < MAX_WRITTEN) out.add(p);
  return out;
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

export function bounded(folders: Map<RelPath, 'shallow' | 'deep'>, written?: ReadonlySet<RelPath>): Scope {
  if (folders.size > MAX_SCOPE_FOLDERS) return FULL;
  return written && written.size > 0 ? { full: false, folders, written } : { full: false, folders };
}
