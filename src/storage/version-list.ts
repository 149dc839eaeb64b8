import type { Entry } from '../core/entry.js';
import { ErrorCode, isStorageError } from '../core/errors.js';
import { isSameOrInside, joinRel, type RelPath } from '../core/rel-path.js';
import type { Storage } from './storage.js';
import { TEMP_PREFIX } from '../core/temp-name.js';

/** Why a sync set an item aside: it was deleted, or replaced by a newer one. */
export type VersionReason = 'deleted' | 'replaced';
const REASONS: readonly string[] = ['deleted', 'replaced'] satisfies VersionReason[];

/**
 * One item kept in a versions folder, laid out as `<stamp>/<reason>/<relative path>` where
 * `<stamp>` is runStamp() of the run that set it aside.
 */
export interface StoredVersion {
  /** The item's path in the pair's folders. */
  path: RelPath;
  /** Where it lies in the versions folder. */
  stored: RelPath;
  /** When it was set aside, in milliseconds since the epoch (read from the stamp). */
  setAsideMs: number;
  reason: VersionReason;
  entry: Entry;
}

/** What runStamp() makes of an ISO time: `2026-12-06T05-20-00-000Z`. */
const STAMP = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z$/;

/** The time a runStamp() folder name stands for, in milliseconds; undefined for any other name. */
export function parseRunStamp(name: string): number | undefined {
  const m = STAMP.exec(name);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4]}.${m[5]}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * Every version in the versions folder `store` whose path is `prefix` or lies under it ('' for
 * all), newest first (then by path). A versions folder that does not exist holds none. What does
 * not fit the layout (other names at the top two levels, folders left empty, temp files) is left
 * out and counted in `ignored`.
 */
export async function listVersions(
  store: Storage,
  prefix: RelPath = '',
): Promise<{ versions: StoredVersion[]; ignored: number }> {
  const versions: StoredVersion[] = [];
  let ignored = 0;
  const list = async (dir: RelPath) => {
    try {
      return await store.list(dir);
    } catch (err) {
      if (isStorageError(err, ErrorCode.NOT_FOUND) || isStorageError(err, ErrorCode.NOT_DIR)) return undefined;
      throw err;
    }
  };
  for (const run of (await list('')) ?? []) {
    const setAsideMs = run.type === 'dir' ? parseRunStamp(run.name) : undefined;
    if (setAsideMs === undefined) {
      ignored++;
      continue;
    }
    for (const why of (await list(run.name)) ?? []) {
      if (why.type !== 'dir' || !REASONS.includes(why.name)) {
        ignored++;
        continue;
      }
      const reason = why.name as VersionReason;
      const base = joinRel(run.name, why.name);
      const walk = async (rel: RelPath): Promise<void> => {
        for (const e of (await list(rel === '' ? base : joinRel(base, rel))) ?? []) {
          const path = joinRel(rel, e.name);
          if (e.name.startsWith(TEMP_PREFIX) || e.type === 'special') ignored++;
          else if (e.type === 'dir') {
            // Only folders that can hold what the prefix asks for are walked.
            if (isSameOrInside(path, prefix) || isSameOrInside(prefix, path)) await walk(path);
          } else if (isSameOrInside(path, prefix))
            versions.push({ path, stored: joinRel(base, path), setAsideMs, reason, entry: e });
        }
      };
      await walk('');
    }
  }
  versions.sort((a, b) => b.setAsideMs - a.setAsideMs || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { versions, ignored };
}

/**
 * For each path among `versions`, the newest one set aside at or before `atMs` (any time when
 * undefined): what a restore brings back. Sorted by path.
 */
export function newestOfEach(versions: readonly StoredVersion[], atMs?: number): StoredVersion[] {
  const chosen = new Map<RelPath, StoredVersion>();
  for (const v of versions) {
    if (atMs !== undefined && v.setAsideMs > atMs) continue;
    const had = chosen.get(v.path);
    if (had === undefined || v.setAsideMs > had.setAsideMs) chosen.set(v.path, v);
  }
  return [...chosen.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
