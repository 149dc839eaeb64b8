import { runStamp, type VersionStore } from './engine/versions.js';
import { AdbStorage } from './storage/adb/adb-storage.js';
import { isAdbLocation, parseAdbLocation } from './storage/adb/endpoint.js';
import { LocalStorage } from './storage/local/local-storage.js';
import { LocalVersions } from './storage/local/local-versions.js';
import type { Storage } from './storage/storage.js';

/**
 * The composition root: the one place that picks real implementations. Commands ask it for
 * storages and version stores and never construct a backend themselves.
 */
export const app = {
  /** A storage for a folder argument: a local path, or a phone's `adb:[SERIAL:]/PATH`. */
  openStorage(location: string): Storage {
    return isAdbLocation(location) ? new AdbStorage(parseAdbLocation(location)) : new LocalStorage(location);
  },

  /** Where a run started at `started` keeps what it deletes or overwrites. */
  openVersions(dir: string, started: Date): VersionStore {
    return new LocalVersions(dir, runStamp(started));
  },
};
