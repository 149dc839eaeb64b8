import ignore from 'ignore';
import { RefusedError } from '../core/errors.js';
import type { RelPath } from '../core/rel-path.js';

/** Decides whether a path is excluded; folders are tested with a trailing slash as git does. */
export type ExcludeMatcher = (path: RelPath, isDir: boolean) => boolean;

export const NO_EXCLUDES: ExcludeMatcher = () => false;

/** Builds a matcher from gitignore-syntax patterns; refuses (RefusedError) a pattern it cannot use. */
export function excludeMatcher(patterns: readonly string[]): ExcludeMatcher {
  if (patterns.length === 0) return NO_EXCLUDES;
  const ig = ignore({ allowRelativePaths: false });
  for (const pattern of patterns) {
    if (pattern.trim() === '')
      throw new RefusedError(
        'An --exclude pattern is empty: give a gitignore-style pattern such as "*.tmp" or "cache/".',
      );
    ig.add(pattern);
  }
  return (path, isDir) => path !== '' && ig.ignores(isDir ? `${path}/` : path);
}
