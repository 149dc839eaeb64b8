import fs from 'node:fs';
import path from 'node:path';
import { RefusedError } from '../core/errors.js';
import { processAlive, releasePidLock, tryPidLock } from '../config/pid-lock.js';

/**
 * One running instance per config folder: a lock naming the owner's pid (config/pid-lock.ts).
 * A lock whose pid no longer runs SyncTray (a crash, a reboot) is taken over.
 */
export class InstanceLock {
  private constructor(readonly file: string) {}

  static acquire(dir: string): InstanceLock {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, 'synctray.lock');
    const owner = tryPidLock(file, (pid) => isSyncTray(pid));
    if (owner === undefined) return new InstanceLock(file);
    if (owner > 0 && isSyncTray(owner)) {
      throw new RefusedError(
        `SyncTray is already running (pid ${owner}) for this config; stop it first, or use it ('synctray status').`,
      );
    }
    throw new RefusedError(`Could not take the lock ${file}: another SyncTray keeps starting. Try again.`);
  }

  /** Removes the lock if it is still ours. */
  release(): void {
    releasePidLock(this.file);
  }
}

/**
 * Whether `pid` is a SyncTray. After a reboot the lock's pid may belong to another program: on
 * Linux its command line tells (SyncTray's holds 'synctray' or its CLI's path). Elsewhere a live
 * pid is taken at its word: there is no /proc, and on Windows `/proc/…` would be a path on the
 * current drive, which anything could have made.
 */
export function isSyncTray(
  pid: number,
  platform: NodeJS.Platform = process.platform,
  commandLine = (p: number) => fs.readFileSync(`/proc/${p}/cmdline`, 'utf8'),
): boolean {
  if (pid === process.pid) return true;
  if (!processAlive(pid)) return false;
  if (platform !== 'linux') return true;
  try {
    return /synctray|cli[\\/]main\.js/i.test(commandLine(pid));
  } catch {
    return true; // gone meanwhile, or /proc not mounted: a live pid is taken at its word
  }
}
