import fs from 'node:fs';

/**
 * Tries to take a lock file holding this process's pid: written whole under another name, then
 * linked into place, so it never exists empty and never replaces another's. A lock whose owner
 * `alive` says is gone (or that holds no pid) is taken over. Returns undefined once taken, else the
 * owner's pid.
 *
 * Taking over is guarded: two processes that both find the same dead owner must not both remove
 * "the stale lock", or the second would remove the lock the first just made and both would run.
 * So a stale lock is only removed under a second lock (`.takeover`), after reading it again there.
 */
export function tryPidLock(file: string, alive: (pid: number) => boolean): number | undefined {
  const mine = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(mine, `${process.pid}\n`, { mode: 0o600 });
  try {
    let owner = 0;
    for (let attempt = 0; attempt < 20; attempt++) {
      if (link(mine, file)) return undefined;
      const read = ownerOf(file);
      if (read === 'gone') continue; // released meanwhile
      if (read !== undefined && alive(read.pid)) return read.pid;
      owner = read?.pid ?? 0;
      removeStale(file, mine, read, alive);
    }
    return owner;
  } finally {
    fs.rmSync(mine, { force: true });
  }
}

/** Removes `file` if it is still the stale lock read as `stale`, holding the takeover lock meanwhile. */
function removeStale(file: string, mine: string, stale: Owner | undefined, alive: (pid: number) => boolean): void {
  const guard = `${file}.takeover`;
  if (!link(mine, guard)) {
    const holder = ownerOf(guard);
    // A taker that died between its two steps would block every start: its guard is stale too.
    if (holder !== 'gone' && (holder === undefined || !alive(holder.pid))) removeStaleGuard(guard, mine, holder);
    return;
  }
  try {
    const now = ownerOf(file);
    if (now !== 'gone' && sameLock(now, stale)) fs.rmSync(file, { force: true });
  } finally {
    fs.rmSync(guard, { force: true });
  }
}

/**
 * Removes the takeover guard if it is still the one read as `held`. It is moved aside first (a
 * rename takes whatever is there in one step) and looked at there: removed by name after looking,
 * it could be the guard another taker made meanwhile, letting two takers into the guarded section,
 * where both may remove a lock and take it (seen under Wine, where a process can wait long between
 * two calls). A guard moved aside that is not the stale one is put back at once.
 */
function removeStaleGuard(guard: string, mine: string, held: Owner | undefined): void {
  const aside = `${mine}.guard`;
  try {
    fs.renameSync(guard, aside);
  } catch {
    return; // removed meanwhile by another taker
  }
  try {
    const moved = ownerOf(aside);
    if (moved !== 'gone' && !sameLock(moved, held)) link(aside, guard);
  } finally {
    fs.rmSync(aside, { force: true });
  }
}

/** Removes the lock if it is still this process's. */
export function releasePidLock(file: string): void {
  const owner = ownerOf(file);
  if (owner !== 'gone' && owner?.pid === process.pid) fs.rmSync(file, { force: true });
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

function link(from: string, to: string): boolean {
  try {
    fs.linkSync(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return false;
  }
}

/** A lock file's owner and identity; the inode tells a new lock by the same pid from the old one. */
interface Owner {
  pid: number;
  ino: number;
}

function sameLock(a: Owner | undefined, b: Owner | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.pid === b.pid && a.ino === b.ino;
}

/** The lock's owner; undefined for a file that holds no pid (torn by hand), 'gone' when there is none. */
function ownerOf(file: string): Owner | undefined | 'gone' {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return 'gone';
  }
  try {
    const text = fs.readFileSync(fd, 'utf8');
    const pid = Number.parseInt(text, 10);
    return Number.isSafeInteger(pid) && pid > 0 ? { pid, ino: fs.fstatSync(fd).ino } : undefined;
  } finally {
    fs.closeSync(fd);
  }
}
