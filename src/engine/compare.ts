import type { Entry } from '../core/entry.js';

/** The window within which two modification times count as equal: the coarser of the two sides. */
export function modifyWindow(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

export function sameTime(a: bigint, b: bigint, windowNs: bigint): boolean {
  const d = a - b;
  return (d < 0n ? -d : d) <= windowNs;
}

/**
 * What differs between a source item and the destination item at the same path.
 *
 * The rule, for two items of the same type:
 * - files: the content differs when the sizes differ; otherwise, with `contentDiffers` known
 *   (checksum mode), exactly when it says so; otherwise when the mtimes differ by more than the window
 *   (size + mtime is the quick check rsync and every sync tool use).
 *   When the content is the same, the mtime and the mode are still compared as metadata.
 * - symlinks: the content is the link text; the link's own mtime is metadata.
 * - folders: only metadata (mode and mtime); their contents are compared item by item.
 * Items of different types always differ in content (a type change replaces the item).
 */
export interface Difference {
  content: boolean;
  mtime: boolean;
  mode: boolean;
}

export function compareEntries(
  src: Entry,
  dst: Entry,
  windowNs: bigint,
  contentDiffers: boolean | undefined,
  compareModes: boolean,
): Difference {
  if (src.type !== dst.type) return { content: true, mtime: true, mode: true };
  const mtime = !sameTime(src.mtimeNs, dst.mtimeNs, windowNs);
  const mode = compareModes && src.type !== 'symlink' && src.mode !== dst.mode;
  let content = false;
  if (src.type === 'file') {
    content = src.size !== dst.size || (contentDiffers ?? mtime);
  } else if (src.type === 'symlink') {
    content = src.target !== dst.target;
  }
  return { content, mtime, mode };
}
