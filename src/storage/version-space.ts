import { ErrorCode, isStorageError } from '../core/errors.js';
import type { RelPath } from '../core/rel-path.js';
import type { Storage } from './storage.js';
import { stampTime } from './versions.js';

/** What the versions under a root take: their files and bytes, and when the oldest run kept is from. */
export interface VersionsSpace {
  files: number;
  bytes: number;
  /** The oldest run's start, ISO 8601; absent when there is none. */
  oldest?: string;
}

/** Adds up the versions kept under `root` of `storage` (none when it is not there). */
export async function versionsSpace(storage: Storage, root: RelPath): Promise<VersionsSpace> {
  const space: VersionsSpace = { files: 0, bytes: 0 };
  let runs: string[];
  try {
    runs = (await storage.list(root)).filter((e) => e.type === 'dir').map((e) => e.name);
  } catch (err) {
    if (isStorageError(err, ErrorCode.NOT_FOUND)) return space;
    throw err;
  }
  let oldest = Number.POSITIVE_INFINITY;
  for (const run of runs) {
    const at = stampTime(run);
    if (at === undefined) continue;
    oldest = Math.min(oldest, at);
    await addUp(storage, root === '' ? run : `${root}/${run}`, space);
  }
  if (oldest !== Number.POSITIVE_INFINITY) space.oldest = new Date(oldest).toISOString();
  return space;
}

async function addUp(storage: Storage, dir: RelPath, space: VersionsSpace): Promise<void> {
  for (const e of await storage.list(dir)) {
    if (e.type === 'dir') await addUp(storage, `${dir}/${e.name}`, space);
    else {
      space.files++;
      space.bytes += e.size;
    }
  }
}
