import type { Entry } from '../core/entry.js';
import { ErrorCode, isStorageError } from '../core/errors.js';
import { baseName, isSameOrInside, joinRel, parentOf, type RelPath } from '../core/rel-path.js';
import type { Storage } from '../storage/storage.js';
import type { ExcludeMatcher } from './exclude.js';
import type { Skipped } from './plan.js';
import { isTempName } from '../core/temp-name.js';
import type { Tree } from './tree.js';

/** A link is followed through at most this many links (as the kernel's ELOOP limit does). */
const MAX_HOPS = 40;

export interface Followed {
  tree: Tree;
  /** Links that were not followed, with why: they are neither copied nor deleted at their path. */
  skipped: Map<RelPath, Skipped>;
}

/**
 * `--links copy`: every symlink of the source tree that leads to a file or folder inside the source
 * becomes what it leads to, under the link's own path; its entries carry `via`, the path their
 * bytes are read from. A link that leads outside the source (or is absolute and not below
 * `rootPath`), to nothing, or into a folder that holds the link itself, is skipped with that
 * reason. Links met inside a followed folder are followed the same way.
 */
export async function followLinks(
  src: Storage,
  tree: Tree,
  rootPath: string,
  exclude: ExcludeMatcher,
): Promise<Followed> {
  const skipped = new Map<RelPath, Skipped>();
  const entries = new Map<RelPath, Entry>();
  const put = async (path: RelPath, entry: Entry, via: RelPath | undefined, inside: RelPath[]) => {
    if (entry.type !== 'symlink') {
      entries.set(path, via === undefined ? entry : { ...entry, via });
      if (entry.type === 'dir' && via !== undefined) await copyFolder(path, via, inside);
      return;
    }
    const found = await resolve(src, via ?? path, entry.target ?? '', rootPath);
    if ('problem' in found) {
      skipped.set(path, { path, reason: found.problem });
      return;
    }
    // A folder reached again from inside itself would be copied into itself without end.
    if (
      found.entry.type === 'dir' &&
      (isSameOrInside(path, found.path) || inside.some((v) => isSameOrInside(v, found.path)))
    ) {
      skipped.set(path, { path, reason: 'link-loop' });
      return;
    }
    await put(path, { ...found.entry, name: baseName(path) }, found.path, inside);
  };
  const copyFolder = async (path: RelPath, from: RelPath, inside: RelPath[]) => {
    let items: Entry[];
    try {
      items = await src.list(from);
    } catch (err) {
      if (!isStorageError(err)) throw err;
      tree.errors.push({ path, code: err.code, message: err.message });
      return;
    }
    for (const item of items) {
      const at = joinRel(path, item.name);
      if (isTempName(item.name) || exclude(at, item.type === 'dir')) continue;
      await put(at, item, joinRel(from, item.name), [...inside, from]);
    }
  };
  for (const [path, entry] of tree.entries) {
    if (entry.type === 'symlink') await put(path, entry, undefined, []);
    else entries.set(path, entry);
  }
  return { tree: { ...tree, entries }, skipped };
}

type Resolved = { path: RelPath; entry: Entry } | { problem: 'link-outside' | 'link-dangling' | 'link-loop' };

/**
 * Where the link at `at` with text `target` leads, inside the source: each part of the way looked
 * at with stat(), a link met on the way followed from where it stands. Never leaves the root.
 */
async function resolve(src: Storage, at: RelPath, target: string, rootPath: string): Promise<Resolved> {
  const root = rootPath.endsWith('/') ? rootPath : `${rootPath}/`;
  // The parts walked so far, from the root, and those still to walk.
  const done: string[] = parentOf(at) === '' ? [] : parentOf(at).split('/');
  let rest: string[] = [];
  /** Goes on from a link's text, where the link stands; false when an absolute one leads out. */
  const follow = (text: string): boolean => {
    if (text.startsWith('/')) {
      if (!text.startsWith(root)) return false;
      done.length = 0;
      text = text.slice(root.length);
    }
    rest = [...text.split('/'), ...rest];
    return true;
  };
  if (!follow(target)) return { problem: 'link-outside' };
  for (let hops = 0; rest.length > 0; ) {
    const part = rest.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (done.length === 0) return { problem: 'link-outside' };
      done.pop();
      continue;
    }
    const here = [...done, part].join('/');
    let entry: Entry;
    try {
      entry = await src.stat(here);
    } catch (err) {
      if (isStorageError(err, ErrorCode.NOT_FOUND) || isStorageError(err, ErrorCode.NOT_DIR))
        return { problem: 'link-dangling' };
      throw err;
    }
    if (entry.type === 'symlink') {
      if (++hops > MAX_HOPS) return { problem: 'link-loop' };
      if (!follow(entry.target ?? '')) return { problem: 'link-outside' };
      continue;
    }
    done.push(part);
    if (rest.length > 0 && entry.type !== 'dir') return { problem: 'link-dangling' };
    if (rest.length === 0) return { path: here, entry };
  }
  // The link leads to the source folder itself.
  return { path: '', entry: await src.stat('') };
}
