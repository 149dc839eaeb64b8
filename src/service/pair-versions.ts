import path from 'node:path';
import { ErrorCode, isStorageError, RefusedError } from '../core/errors.js';
import { NS_PER_MS } from '../core/entry.js';
import { assertRelPath, type RelPath } from '../core/rel-path.js';
import type { Pair } from '../config/schema.js';
import { restoreVersions } from '../engine/restore-versions.js';
import { isAdbLocation } from '../storage/adb/endpoint.js';
import type { Storage } from '../storage/storage.js';
import { listVersions, newestOfEach, type StoredVersion, type VersionReason } from '../storage/version-list.js';

/** The folder a pair's versions go to when its config names none: inside its destination. */
export const VERSIONS_FOLDER = '.synctray-versions';

/** Where a pair keeps its versions: its own `versions` folder, else `<destination>/.synctray-versions`. */
export function versionsRootOf(pair: Pick<Pair, 'destination' | 'versions'>): string {
  if (pair.versions !== undefined) return pair.versions;
  // A phone's location (adb:[SERIAL:]/PATH) is '/'-separated whatever this machine's separator.
  if (isAdbLocation(pair.destination)) return `${pair.destination.replace(/\/+$/, '')}/${VERSIONS_FOLDER}`;
  return path.join(pair.destination, VERSIONS_FOLDER);
}

/** One version as `synctray versions` shows it, and as the control socket carries it (plain JSON). */
export interface ListedVersion {
  path: RelPath;
  /** When it was set aside, ISO 8601. */
  setAside: string;
  reason: VersionReason;
  size: number;
  /** Its modification time, ISO 8601 (to the millisecond). */
  mtime: string;
}

/** What a restore of versions asks for; `atMs` and `to` are already resolved by the command line. */
export interface RestoreRequest {
  /** A file's path in the pair, or a folder's: everything under it. '' is everything. */
  path: RelPath;
  /** Take the newest version set aside at or before this time (ms since the epoch); absent: the newest. */
  atMs?: number;
  /** An absolute folder to restore into; absent: the pair's source. */
  to?: string;
}

/** What a restore brought back, and where. */
export interface RestoreResult {
  /** The folder restored into. */
  into: string;
  restored: ListedVersion[];
}

export type OpenStorage = (location: string) => Storage;

function listed(v: StoredVersion): ListedVersion {
  return {
    path: v.path,
    setAside: new Date(v.setAsideMs).toISOString(),
    reason: v.reason,
    size: v.entry.size,
    mtime: new Date(Number(v.entry.mtimeNs / NS_PER_MS)).toISOString(),
  };
}

/**
 * A path as the user typed it, made a RelPath: `./` and trailing slashes dropped, `\` taken for
 * `/`, '' or '.' for everything. Refuses paths that step outside the pair (`..`, absolute ones).
 */
export function versionPath(typed: string): RelPath {
  const rel = typed
    .replace(/\\/g, '/')
    .replace(/^(\.\/)+/, '')
    .replace(/\/+$/, '')
    .replace(/\/{2,}/g, '/');
  if (rel === '' || rel === '.') return '';
  try {
    assertRelPath(rel);
  } catch {
    throw new RefusedError(
      `"${typed}" is not a path inside the pair: give it as the pair's folders have it, e.g. docs/cv.txt.`,
    );
  }
  return rel;
}

/** The versions of `pair` under `prefix` ('' for all), newest first. */
export async function listPairVersions(open: OpenStorage, pair: Pair, prefix: RelPath): Promise<ListedVersion[]> {
  const store = open(versionsRootOf(pair));
  try {
    await store.measure?.({ probe: false });
    return (await listVersions(store, prefix)).versions.map(listed);
  } finally {
    await store.close();
  }
}

/**
 * Brings back the newest version (at or before `atMs`, when given) of the file at `request.path`,
 * or of every file under it, into the pair's source or `request.to`: see restoreVersions. Refused
 * when there is no such version, when the source is not there, or when anything would be overwritten.
 */
export async function restorePairVersions(
  open: OpenStorage,
  pair: Pair,
  request: RestoreRequest,
): Promise<RestoreResult> {
  const store = open(versionsRootOf(pair));
  const into = request.to ?? pair.source;
  const target = open(into);
  try {
    await store.measure?.({ probe: false });
    const all = (await listVersions(store, request.path)).versions;
    const chosen = newestOfEach(all, request.atMs);
    const what = request.path === '' ? `pair "${pair.name}"` : `"${request.path}" in pair "${pair.name}"`;
    if (all.length === 0)
      throw new RefusedError(`There is no version of ${what} (see 'synctray versions ${pair.name}').`);
    if (chosen.length === 0) {
      throw new RefusedError(
        `There is no version of ${what} set aside at or before ${new Date(request.atMs!).toISOString()}: the ` +
          `oldest is from ${new Date(all[all.length - 1]!.setAsideMs).toISOString()}.`,
      );
    }
    await readyTarget(target, into, request.to === undefined);
    await target.measure?.({ probe: false });
    await restoreVersions(store, target, chosen, into);
    return { into, restored: chosen.map(listed) };
  } finally {
    await Promise.all([store.close(), target.close()]);
  }
}

/** The folder restored into must be a folder; a --to folder is made when missing, a missing source is refused. */
async function readyTarget(target: Storage, where: string, isSource: boolean): Promise<void> {
  try {
    if ((await target.stat('')).type === 'dir') return;
    throw new RefusedError(`${where} is not a folder: nothing can be restored into it.`);
  } catch (err) {
    if (!isStorageError(err, ErrorCode.NOT_FOUND)) throw err;
  }
  if (isSource) throw new RefusedError(`The source ${where} is not there: nothing can be restored into it.`);
  await target.mkdir('');
}
