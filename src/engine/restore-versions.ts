import { ErrorCode, isStorageError, RefusedError } from '../core/errors.js';
import { parentOf, type RelPath } from '../core/rel-path.js';
import type { Storage } from '../storage/storage.js';
import type { StoredVersion } from '../storage/version-list.js';
import { tempPathFor } from '../core/temp-name.js';

/** At most this many of the files in the way are named in a refusal (the count has them all). */
const NAMED = 10;

/**
 * Copies each of `chosen` from the versions folder `from` into `into` at its path, with its bytes,
 * mtime and mode; the versions stay where they are. Nothing existing is overwritten: when any of
 * the paths is taken in `into`, it refuses (RefusedError naming them) before writing anything.
 * Each file is written under a temp name in its folder, then renamed into place only where
 * nothing stands (a file that appeared meanwhile is kept, and that one restore fails with EXISTS).
 * `where` names `into` in messages.
 */
export async function restoreVersions(
  from: Storage,
  into: Storage,
  chosen: readonly StoredVersion[],
  where: string,
): Promise<void> {
  const taken: RelPath[] = [];
  for (const v of chosen) {
    try {
      await into.stat(v.path);
      taken.push(v.path);
    } catch (err) {
      if (!isStorageError(err, ErrorCode.NOT_FOUND) && !isStorageError(err, ErrorCode.NOT_DIR)) throw err;
    }
  }
  if (taken.length > 0) {
    const names = taken.slice(0, NAMED).join(', ');
    const more = taken.length > NAMED ? ` and ${taken.length - NAMED} more` : '';
    throw new RefusedError(
      `${taken.length === 1 ? 'A file is' : `${taken.length} files are`} already in ${where}: ${names}${more}. ` +
        `Nothing was restored: move or rename ${taken.length === 1 ? 'it' : 'them'} first, or restore elsewhere ` +
        'with --to DIR.',
    );
  }
  for (const v of chosen) {
    await makeParents(into, parentOf(v.path));
    const temp = tempPathFor(v.path);
    const times = { mtimeNs: v.entry.mtimeNs, atimeNs: v.entry.atimeNs };
    try {
      if (v.entry.type === 'symlink') await into.symlink(temp, v.entry.target ?? '', times);
      else await into.write(temp, from.read(v.stored), { ...times, mode: v.entry.mode });
      await into.rename(temp, v.path, { replacing: null });
    } catch (err) {
      await into.remove(temp).catch(() => undefined);
      throw err;
    }
  }
}

/** Makes the folder `dir` in `into`, and the ones above it that are missing. */
async function makeParents(into: Storage, dir: RelPath): Promise<void> {
  if (dir === '') return;
  try {
    const st = await into.stat(dir);
    if (st.type === 'dir') return;
  } catch (err) {
    if (!isStorageError(err, ErrorCode.NOT_FOUND)) throw err;
  }
  await makeParents(into, parentOf(dir));
  try {
    await into.mkdir(dir);
  } catch (err) {
    if (!isStorageError(err, ErrorCode.EXISTS)) throw err;
  }
}
