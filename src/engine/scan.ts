import type { Entry } from '../core/entry.js';
import { isStorageError } from '../core/errors.js';
import { joinRel, parentOf, type RelPath } from '../core/rel-path.js';
import type { Storage } from '../storage/storage.js';
import { NO_EXCLUDES, type ExcludeMatcher } from './exclude.js';
import { isTempName } from './temp-name.js';
import { emptyTree, type Tree } from './tree.js';

export interface ScanOptions {
  exclude?: ExcludeMatcher;
  /**
   * Paths (and everything below them) to leave out like excluded ones, e.g. a versions folder
   * inside the destination (and the same path in the source, which must not be copied into it).
   */
  hide?: readonly RelPath[];
  /** Folders listed at once; a local disk gains nothing, a phone or network share a lot. */
  concurrency?: number;
  signal?: AbortSignal;
}

/**
 * Lists a whole tree. Never throws for an item: folders that cannot be listed are recorded in
 * `errors` (their contents are then unknown). Only the root must be listable.
 */
export async function scan(storage: Storage, root: Entry, options: ScanOptions = {}): Promise<Tree> {
  const exclude = options.exclude ?? NO_EXCLUDES;
  const hide = new Set(options.hide ?? []);
  const tree = emptyTree();
  tree.entries.set('', root);
  const markExcluded = (dir: RelPath) => {
    for (let p = dir; !tree.holdsExcluded.has(p); p = parentOf(p)) {
      tree.holdsExcluded.add(p);
      if (p === '') break;
    }
  };

  const queue: RelPath[] = [''];
  const limit = options.concurrency ?? 32;
  let active = 0;
  let listed = 0;
  let failure: unknown;

  await new Promise<void>((resolve) => {
    const pump = () => {
      if (failure !== undefined || options.signal?.aborted) {
        if (active === 0) resolve();
        return;
      }
      while (active < limit && queue.length > 0) {
        const dir = queue.pop()!;
        active++;
        storage.list(dir).then(
          (entries) => {
            for (const entry of entries) {
              const path = joinRel(dir, entry.name);
              if ((entry.type === 'file' || entry.type === 'symlink') && isTempName(entry.name)) {
                tree.temps.push(path);
                continue;
              }
              if (hide.has(path) || exclude(path, entry.type === 'dir')) {
                markExcluded(dir);
                continue;
              }
              tree.entries.set(path, entry);
              if (entry.type === 'dir') queue.push(path);
            }
            active--;
            // A local listing never waits, so without a pause now and then a whole scan would run
            // in one turn of the event loop and a Ctrl+C would go unseen until it ended.
            if (++listed % 64 === 0) setImmediate(pump);
            else pump();
          },
          (err: unknown) => {
            active--;
            if (dir === '' || !isStorageError(err)) failure ??= err;
            else {
              tree.errors.push({ path: dir, code: err.code, message: err.message });
              // What the folder holds is unknown: it must not be removed.
              markExcluded(dir);
            }
            pump();
          },
        );
      }
      if (active === 0 && (queue.length === 0 || failure !== undefined)) resolve();
    };
    pump();
  });
  if (failure !== undefined) throw failure;
  options.signal?.throwIfAborted();
  return tree;
}
