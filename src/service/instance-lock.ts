import fs from 'node:fs';
import path from 'node:path';
import { RefusedError } from '../core/errors.js';

/**
 * One running instance per config folder: a lock file holding the owner's pid, created
 * exclusively. A lock whose pid no longer runs (a crash, a reboot) is taken over.
 */
export class InstanceLock {
  private constructor(readonly file: string) {}

  static acquire(stateDir: string): InstanceLock {
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const file = path.join(stateDir, 'synctray.lock');
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
        fs.writeSync(fd, `${process.pid}\n`);
        fs.closeSync(fd);
        return new InstanceLock(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = ownerOf(file);
      if (owner !== undefined && isRunning(owner)) {
        throw new RefusedError(`SyncTray is already running (pid ${owner}) for this config; stop it first, or use it ('synctray status').`);
      }
      // Stale: its owner is gone. Removing it and trying again leaves a race to O_EXCL, which one wins.
      fs.rmSync(file, { force: true });
    }
    throw new RefusedError(`Could not take the lock ${file}: another SyncTray keeps starting. Try again.`);
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

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
