/**
 * Paths inside a storage are relative, '/'-separated, with no leading or trailing slash; '' is the root.
 * Keeping one form everywhere lets plans compare listings from different backends directly.
 */
export type RelPath = string;

export function joinRel(dir: RelPath, name: string): RelPath {
  return dir === '' ? name : `${dir}/${name}`;
}

export function parentOf(path: RelPath): RelPath {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

export function baseName(path: RelPath): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function depthOf(path: RelPath): number {
  if (path === '') return 0;
  let depth = 1;
  for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) === 47) depth++;
  return depth;
}

/** True when `path` is `dir` itself or lies below it. */
export function isSameOrInside(path: RelPath, dir: RelPath): boolean {
  return dir === '' || path === dir || path.startsWith(`${dir}/`);
}

/** Rejects anything that could step outside a storage root. */
export function assertRelPath(path: RelPath): void {
  if (path === '') return;
  if (path.startsWith('/') || path.endsWith('/') || path.includes('\0')) {
    throw new TypeError(`Not a relative storage path: ${JSON.stringify(path)}`);
  }
  for (const part of path.split('/')) {
    if (part === '' || part === '.' || part === '..') {
      throw new TypeError(`Not a relative storage path: ${JSON.stringify(path)}`);
    }
  }
}
