import type { Entry } from '../core/entry.js';
import type { RelPath } from '../core/rel-path.js';

export interface ScanIssue {
  path: RelPath;
  code: string;
  message: string;
}

/** One side's listing, as the planner sees it. */
export interface Tree {
  /** Every item below the root (the root itself is ''), parents always before their children. */
  entries: Map<RelPath, Entry>;
  /** Folders that could not be listed or items that could not be read; their contents are unknown. */
  errors: ScanIssue[];
  /** Our own leftover temp files from an interrupted run. */
  temps: RelPath[];
  /** Folders holding excluded items (directly or deeper): they must never be removed. */
  holdsExcluded: Set<RelPath>;
  /**
   * Items (not folders) left out of `entries` because they were found equal on both sides
   * (scanPair): their whole folder by its summary, or files one by one. The same number on each
   * side, all unchanged.
   */
  equalItems: number;
}

export function emptyTree(): Tree {
  return { entries: new Map(), errors: [], temps: [], holdsExcluded: new Set(), equalItems: 0 };
}

/** Items other than folders in a tree, those found equal whole (equalItems) included. */
export function countNonFolders(tree: Tree): number {
  let n = tree.equalItems;
  for (const e of tree.entries.values()) if (e.type !== 'dir') n++;
  return n;
}
