import fs from 'node:fs';

/**
 * Tries to take a lock file holding this process's pid: written whole under another name, then
 * linked into place, so it never exists empty and never replaces another's. A lock whose owner
 * `alive` says is gone (or that holds no pid) is removed and tried again; a race to remove one is
 * settled by link(), which only one wins. Returns undefined once taken, else the owner's pid.
 */
export function tryPidLock(file: string, alive: (pid: number) => boolean): number | undefined {
  const mine = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(mine, `${process.pid}\n`, { mode: 0o600 });
  try {
    let owner = 0;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        fs.linkSync(mine, file);
        return undefined;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const read = ownerOf(file);
      if (read === 'gone') continue; // released meanwhile
      if (read !== undefined && alive(read)) return read;
      owner = read ?? 0;
      fs.rmSync(file, { force: true });
    }
    return owner;
  } finally {
    fs.rmSync(mine, { force: true });
  }
}

/** Removes the lock if it is still this process's. */
export function releasePidLock(file: string): void {
  if (ownerOf(file) === process.pid) fs.rmSync(file, { force: true });
}

/** Whether a process with this pid runs (EPERM: it does, as another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ownerOf(file: string): number | undefined | 'gone' {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return 'gone';
  }
  const pid = Number.parseInt(text, 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}
