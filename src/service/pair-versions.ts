import path from 'node:path';
import { DEFAULT_VERSIONS_FOLDER, type Pair } from '../config/schema.js';
import { isAdbLocation } from '../storage/adb/endpoint.js';
import { pruneVersions } from '../storage/prune-versions.js';
import type { Storage } from '../storage/storage.js';
import { StorageVersions } from '../storage/storage-versions.js';
import { runStamp, type VersionStore } from '../storage/versions.js';

/** How often versions past a pair's keep-versions are looked for, besides after every step. */
export const PRUNE_EVERY_MS = 3_600_000;

/** Where one pair keeps its versions, and how they are reached for keeping and for pruning. */
export interface PairVersions {
  /** The store a step started at `started` keeps into (`<stamp>` is that time). */
  open(started: Date): VersionStore;
  /** Removes versions older than the pair's keep-versions at `now`; each removal told to `removed`. */
  prune(now: number, removed: (stamp: string) => void): Promise<string[]>;
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
    return {
      open: (started) => deps.openVersions(dir, started),
      prune: (now, removed) => pruneVersions(storage, '', keep, now, removed),
      storages: [storage],
    };
  }
  const root = DEFAULT_VERSIONS_FOLDER;
  const hide = deps.hideFolder;
  // A phone's folder starting with a dot is hidden already.
  const hideRoot = hide && !isAdbLocation(pair.destination) ? () => hide(path.join(pair.destination, root)) : undefined;
  return {
    open: (started) => new StorageVersions(root, runStamp(started), hideRoot),
    prune: (now, removed) => pruneVersions(destination, root, keep, now, removed),
    storages: [],
  };
}
