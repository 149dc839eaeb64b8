import { baseName, isSameOrInside, type RelPath } from '../core/rel-path.js';
import { excludeMatcher } from '../engine/exclude.js';
import { isTempName } from '../core/temp-name.js';

/**
 * The paths whose events produce no work in a watched pair: our own temp files, excluded paths
 * (gitignore patterns; an empty one is refused), and a versions folder hidden from the sync.
 */
export function watchIgnore(
  exclude: readonly string[],
  hidden: readonly RelPath[],
): (path: RelPath, isDir: boolean) => boolean {
  const excluded = excludeMatcher(exclude);
  return (path, isDir) =>
    isTempName(baseName(path)) || excluded(path, isDir) || hidden.some((h) => isSameOrInside(path, h));
}
