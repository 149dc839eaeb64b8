import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { runStamp, type VersionStore } from './engine/versions.js';
import type { DestinationProbe } from './service/destination-check.js';
import { AdbStorage } from './storage/adb/adb-storage.js';
import { isAdbLocation, parseAdbLocation } from './storage/adb/endpoint.js';
import { LocalStorage } from './storage/local/local-storage.js';
import { LocalVersions } from './storage/local/local-versions.js';
import { lookAtFolder, writeMarker } from './storage/local/pair-marker-file.js';
import { linuxVolumes } from './storage/local/volume.js';
import type { Storage } from './storage/storage.js';
import { watchMounts, type MountWatch } from './watch/mounts.js';

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

  /** Destination volumes (Linux's mount table; none elsewhere, where the marker alone decides) and markers. */
  destinations(): DestinationProbe {
    return { volumes: linuxVolumes(), look: lookAtFolder, mark: writeMarker };
  },

  /** Mount table changes through `findmnt --poll` (Linux; elsewhere nothing is watched). */
  watchMounts(onChange: () => void, onFallback?: (why: string) => void): MountWatch {
    if (process.platform !== 'linux') return { close: () => undefined };
    return watchMounts(onChange, {
      spawn: (command, args) => spawn(command, args, { stdio: ['ignore', 'pipe', 'ignore'] }),
      readMountInfo: () => fs.readFile('/proc/self/mountinfo', 'utf8'),
      setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
      clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
      ...(onFallback ? { onFallback } : {}),
    });
  },
};
