import path from 'node:path';
import { ErrorCode, isStorageError, RefusedError } from '../core/errors.js';
import { NS_PER_MS } from '../core/entry.js';
import { assertRelPath, type RelPath } from '../core/rel-path.js';
import { DEFAULT_VERSIONS_FOLDER, type Pair } from '../config/schema.js';
import { restoreVersions } from '../engine/restore-versions.js';
import { isRemoteLocation, remoteChild } from '../storage/location.js';
import { pruneVersions, ROOM_KEEPS_MS } from '../storage/prune-versions.js';
import type { Storage } from '../storage/storage.js';
import { StorageVersions } from '../storage/storage-versions.js';
import { versionsSpace, type VersionsSpace } from '../storage/version-space.js';
import { listVersions, newestOfEach, type StoredVersion, type VersionReason } from '../storage/version-list.js';
import { runStamp, type VersionStore } from '../storage/versions.js';

/**
 * Where a pair keeps its versions: its own `versions` folder, else `<destination>/.synctray-versions`
 * (also where versions kept before a pair turned them off are found).
 */
export function versionsRootOf(pair: Pick<Pair, 'destination' | 'versions'>): string {
  if (typeof pair.versions === 'string') return pair.versions;
  if (isRemoteLocation(pair.destination)) return remoteChild(pair.destination, DEFAULT_VERSIONS_FOLDER);
  return path.join(pair.destination, DEFAULT_VERSIONS_FOLDER);
}

/** Where the pair's syncs put what they delete or replace; undefined when it keeps no versions. */
export function keptVersionsAt(pair: Pick<Pair, 'destination' | 'versions'>): string | undefined {
  return pair.versions === false ? undefined : versionsRootOf(pair);
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

/** How often versions past a pair's keep-versions are looked for, besides after every step. */
export const PRUNE_EVERY_MS = 3_600_000;

/** Where one pair keeps its versions, and how they are reached for keeping and for pruning. */
export interface PairVersions {
  /** The store a step started at `started` keeps into (`<stamp>` is that time). */
  open(started: Date): VersionStore;
  /** Removes versions older than the pair's keep-versions at `now`; each removal told to `removed`. */
  prune(now: number, removed: (stamp: string) => void): Promise<string[]>;
  /**
   * The destination is full: removes the oldest run of versions older than ROOM_KEEPS_MS at `now`
   * from its drive, and says whether there was one. Versions on another drive free no room there.
   */
  makeRoom(now: number, removed: (stamp: string) => void): Promise<boolean>;
  /** What its versions take. */
  space(): Promise<VersionsSpace>;
  /** Storages opened for it alone, to close with the pair. */
  storages: Storage[];
}

export interface PairVersionsDeps {
  openStorage(location: string): Storage;
  openVersions(dir: string, started: Date): VersionStore;
  /**
   * Hides a folder (by its absolute path) where the platform has such an attribute (Windows);
   * absent or a no-op elsewhere.
   */
  hideFolder?(location: string): Promise<void>;
  /** Whether two folders (absolute paths, both there) are on the same drive; absent: taken as not. */
  sameDrive?(a: string, b: string): Promise<boolean>;
}

/**
 * A pair's versions: none with `versions: false`; in a folder of its own on this computer with a
 * path; else in `<destination>/.synctray-versions`, moved there through the destination's own
 * rename and mkdir, so a phone keeps its versions on the phone, in the same layout.
 */
export function pairVersions(pair: Pair, destination: Storage, deps: PairVersionsDeps): PairVersions | undefined {
  if (pair.versions === false) return undefined;
  const keep = pair.keepVersionsMs;
  if (typeof pair.versions === 'string') {
    const dir = pair.versions;
    const storage = deps.openStorage(dir);
    const sameDrive = deps.sameDrive;
    return {
      open: (started) => deps.openVersions(dir, started),
      prune: (now, removed) => pruneVersions(storage, '', keep, now, removed),
      makeRoom: async (now, removed) =>
        keep > 0 &&
        !isRemoteLocation(pair.destination) &&
        sameDrive !== undefined &&
        (await sameDrive(dir, pair.destination).catch(() => false)) &&
        (await pruneVersions(storage, '', ROOM_KEEPS_MS, now, removed, 1)).length > 0,
      space: () => versionsSpace(storage, ''),
      storages: [storage],
    };
  }
  const root = DEFAULT_VERSIONS_FOLDER;
  const hide = deps.hideFolder;
  // A phone's folder starting with a dot is hidden already.
  const hideRoot =
    hide && !isRemoteLocation(pair.destination) ? () => hide(path.join(pair.destination, root)) : undefined;
  return {
    open: (started) => new StorageVersions(root, runStamp(started), hideRoot),
    prune: (now, removed) => pruneVersions(destination, root, keep, now, removed),
    // Kept for ever (keep-versions 0) means kept for ever, a full drive or not.
    makeRoom: async (now, removed) =>
      keep > 0 && (await pruneVersions(destination, root, ROOM_KEEPS_MS, now, removed, 1)).length > 0,
    space: () => versionsSpace(destination, root),
    storages: [],
  };
}
