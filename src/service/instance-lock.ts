import fs from 'node:fs';
import path from 'node:path';
import { RefusedError } from '../core/errors.js';

/**
 * One running instance per config folder: a lock file holding the owner's pid, created
 * exclusively. A lock whose pid no longer runs (a crash, a reboot) is taken over.
 */
export class InstanceLock {
  private constructor(readonly file: string) {}

  static acquire(dir: string): InstanceLock {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, 'synctray.lock');
    // Written whole under another name, then linked into place: the lock never exists empty.
    const mine = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(mine, `${process.pid}\n`, { mode: 0o600 });
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          fs.linkSync(mine, file);
          return new InstanceLock(file);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        const owner = ownerOf(file);
        if (owner !== undefined && isRunning(owner)) {
          throw new RefusedError(`SyncTray is already running (pid ${owner}) for this config; stop it first, or use it ('synctray status').`);
        }
        // Stale: its owner is gone. Removing it and trying again leaves a race to link(), which one wins.
        fs.rmSync(file, { force: true });
      }
      throw new RefusedError(`Could not take the lock ${file}: another SyncTray keeps starting. Try again.`);
    } finally {
      fs.rmSync(mine, { force: true });
    }
  }

  /** Removes the lock if it is still ours. */
  release(): void {
    if (ownerOf(this.file) === process.pid) fs.rmSync(this.file, { force: true });
  }
}

function ownerOf(file: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether `pid` is a SyncTray. After a reboot the lock's pid may belong to another program: on
 * Linux its command line tells (SyncTray's holds 'synctray' or its CLI's path).
 */
function isRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it runs, as another user.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /synctray|cli[\\/]main\.js/i.test(cmdline);
  } catch {
    return true; // no /proc (not Linux): a live pid is taken at its word
  }
}
