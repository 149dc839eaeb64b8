import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import type { DestinationProbe } from './service/destination-check.js';
import { embeddedFile, isSingleBinary } from './single-binary.js';
import { AdbStorage } from './storage/adb/adb-storage.js';
import { isAdbLocation, parseAdbLocation } from './storage/adb/endpoint.js';
import { locateBundledFiles } from './storage/local/bundled-files.js';
import { LocalStorage } from './storage/local/local-storage.js';
import { LocalVersions } from './storage/local/local-versions.js';
import { isRcloneLocation, parseRcloneLocation } from './storage/rclone/endpoint.js';
import { RcloneStorage } from './storage/rclone/rclone-storage.js';
import { rcloneServerFor } from './storage/rclone/servers.js';
import type { TransferLimits } from './core/transfer-limits.js';
import { lookAtFolder, writeMarker } from './storage/local/pair-marker-file.js';
import { linuxVolumes } from './storage/local/volume.js';
import type { Storage } from './storage/storage.js';
import { runStamp, type VersionStore } from './storage/versions.js';
import { watchMounts, type MountWatch } from './watch/mounts.js';
import { readLinuxPower } from './service/power/linux.js';
import { readMacPower } from './service/power/macos.js';
import { POWER_CHECK_MS, watchPower, type PowerSource, type PowerWatch } from './service/power/watch-power.js';
import { readWindowsPower } from './service/power/windows.js';

// The single binary carries the local backend's native library and worker inside itself: they are
// extracted when a local folder first needs them.
if (isSingleBinary()) {
  locateBundledFiles({
    nativeLibrary: () => embeddedFile('native/fast-fs.node'),
    fsWorker: () => pathToFileURL(embeddedFile('cli/fs-worker.mjs')),
  });
}

/**
 * The composition root: the one place that picks real implementations. Commands ask it for
 * storages and version stores and never construct a backend themselves; host.ts adds what only
 * the service needs.
 */
export const app = {
  /**
   * A storage for a folder argument: a local path, a phone's `adb:[SERIAL:]/PATH` or
   * `rclone:REMOTE:PATH`; a remote's transfers held to `limits` (--bwlimit, --transfers, --checkers).
   */
  openStorage(location: string, limits?: TransferLimits): Storage {
    if (isAdbLocation(location)) return new AdbStorage(parseAdbLocation(location));
    if (isRcloneLocation(location)) return new RcloneStorage(parseRcloneLocation(location), rcloneServerFor(limits));
    return new LocalStorage(location);
  },

  /** Where a run started at `started` keeps what it deletes or overwrites. */
  openVersions(dir: string, started: Date): VersionStore {
    return new LocalVersions(dir, runStamp(started));
  },

  /**
   * Hides a folder where the file system has a hidden attribute: Windows (`attrib +h`). Elsewhere a
   * name starting with a dot hides it already, and nothing is done. Not tested here: the tests run
   * on Linux, where there is no such attribute to set or read back.
   */
  hideFolder(location: string): Promise<void> {
    if (process.platform !== 'win32') return Promise.resolve();
    return new Promise((resolve) => {
      const child = spawn('attrib', ['+h', location], { stdio: 'ignore', windowsHide: true });
      child.on('error', () => resolve());
      child.on('close', () => resolve());
    });
  },

  /** Whether two local folders are on the same drive (file system): a rename between them moves no bytes. */
  async sameDrive(a: string, b: string): Promise<boolean> {
    const [x, y] = await Promise.all([fs.stat(a), fs.stat(b)]);
    return x.dev === y.dev;
  },

  /** Destination volumes (Linux's mount table; none elsewhere, where the marker alone decides) and markers. */
  destinations(): DestinationProbe {
    return { volumes: linuxVolumes(), look: lookAtFolder, mark: writeMarker };
  },

  /**
   * The power source, for pause on battery: /sys/class/power_supply on Linux (or
   * SYNCTRAY_POWER_SUPPLY_DIR), `pmset` on macOS, PowerShell on Windows; every 30 s, or every
   * SYNCTRAY_POWER_CHECK_MS.
   */
  watchPower(onChange: (source: PowerSource) => void): PowerWatch {
    const everyMs = Number(process.env.SYNCTRAY_POWER_CHECK_MS);
    return watchPower(onChange, {
      read: powerReader(),
      everyMs: Number.isInteger(everyMs) && everyMs > 0 ? everyMs : POWER_CHECK_MS,
      setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
      clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
    });
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

/** This platform's reader of the power source; one that has none reads `unknown` (nothing waits). */
function powerReader(): () => Promise<PowerSource> {
  const run = (command: string, args: string[]) =>
    new Promise<string>((resolve, reject) =>
      execFile(command, args, { timeout: 10_000, windowsHide: true }, (err, stdout) =>
        err ? reject(err) : resolve(stdout),
      ),
    );
  if (process.platform === 'linux')
    return () => readLinuxPower(process.env.SYNCTRAY_POWER_SUPPLY_DIR || '/sys/class/power_supply');
  if (process.platform === 'darwin') return () => readMacPower(run);
  if (process.platform === 'win32') return () => readWindowsPower(run);
  return () => Promise.resolve('unknown');
}
