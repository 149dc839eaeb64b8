import fs from 'node:fs';
import path from 'node:path';

/**
 * A lock one process holds at a time, taken over when its owner has died.
 *
 * The lock is a folder holding one empty file named for its owner, `<pid>-<token>`, the token new
 * at every taking. The folder is made whole beside the lock and renamed into place, which only
 * succeeds where there is no lock (or, on POSIX, an emptied one): it is never seen half-made and
 * never replaces a held one. Taking over a dead owner's lock removes only what cannot be another's:
 * the dead owner's file by its own name, which no later owner has, then the folder with rmdir,
 * which removes it only while empty, that is ownerless. A lock file that is read and then removed
 * by name can't do that: between the two another taker may have put its own lock there, and two
 * takers of the same dead lock both win (seen with a guard file around the removal too, which
 * itself goes stale: three takers at once were enough).
 *
 * Returns undefined once taken, else the owner's pid (0 when the lock kept changing hands).
 */
export function tryPidLock(file: string, alive: (pid: number) => boolean): number | undefined {
  const entry = `${process.pid}-${token()}`;
  const mine = `${file}.${entry}.tmp`;
  fs.mkdirSync(mine, { mode: 0o700 });
  fs.closeSync(fs.openSync(path.join(mine, entry), 'wx', 0o600));
  let taken = false;
  try {
    let owner = 0;
    let trouble: Error | undefined;
    const until = Date.now() + TRYING_MS;
    let backOff = 1;
    // A number of looks as well as a time: a process kept waiting past the time (a loaded machine)
    // still looks, rather than answering that the lock kept changing hands.
    for (let look = 0; look < LOOKS || Date.now() < until; look++) {
      const found = lockAt(file);
      if (found !== 'busy' && found !== 'gone') {
        trouble = undefined;
        const live = found.owners.find((o) => isAlive(o, file, alive));
        if (live !== undefined) return live.pid;
        owner = found.owners[0]?.pid ?? owner;
        found.remove();
      }
      if (found === 'busy' || (found !== 'gone' && found.owners.length === 0)) {
        // Being deleted: Windows deletes a folder only once no one has it open, and takers that
        // list it without a pause keep it open between them (seen under Wine: for over a second).
        pause(Math.random() * backOff);
        backOff = Math.min(2 * backOff, 64);
      }
      if (found !== 'gone') continue;
      // Only where nothing was seen: Windows (and Wine) may move a folder over a file, which
      // would replace an older SyncTray's live lock file.
      const placed = place(mine, file);
      if (placed === true) {
        taken = true;
        held.set(file, entry);
        removeLeftovers(file);
        return undefined;
      }
      trouble = placed; // nothing there, yet the rename failed: if it stays so, say why
    }
    if (trouble) throw trouble;
    return owner;
  } finally {
    if (!taken) removeQuietly(mine, entry);
  }
}

/** Removes the lock if it is this process's. */
export function releasePidLock(file: string): void {
  const entry = held.get(file);
  if (entry === undefined) return;
  held.delete(file);
  removeQuietly(file, entry);
}

/** Whether a process with this pid runs (EPERM: it does, as another user). */
export function processAlive(pid: number): boolean {
  if (!(pid > 0)) return false; // 0 and below name process groups, not a process
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid holding the lock, if any holds it (for tests and messages; the answer may be stale at once). */
export function pidLockOwner(file: string): number | undefined {
  const found = lockAt(file);
  return typeof found === 'object' ? found.owners[0]?.pid : undefined;
}

/** The locks this process holds: lock → its own file's name. */
const held = new Map<string, string>();

/** How long a taker keeps at it while the lock changes hands under it (or Windows deletes a folder). */
const TRYING_MS = 5000;
const LOOKS = 20;

/** An owner's file: its pid, then the taking's token. */
const OWNER = /^([1-9]\d*)-[a-z0-9]+$/;

function token(): string {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
}

/** Renames the prepared folder into place: true, or the error that says something is (or was) there. */
function place(mine: string, file: string): true | Error {
  try {
    fs.renameSync(mine, file);
    return true;
  } catch (err) {
    // EEXIST / ENOTEMPTY: a lock is there (POSIX); EPERM / EACCES: Windows, which moves no folder
    // onto another, nor onto one being deleted; ENOTDIR: a lock file of an older SyncTray.
    if (!['EEXIST', 'ENOTEMPTY', 'EPERM', 'EACCES', 'ENOTDIR', 'EISDIR', 'EBUSY'].includes(code(err))) throw err;
    return err as Error;
  }
}

/**
 * What is at the lock's name: nothing, something Windows is still deleting, or a lock with its
 * owners (normally one; none while it is being released) and how to remove it once they are dead.
 */
function lockAt(file: string): 'gone' | 'busy' | FoundLock {
  let names: string[];
  try {
    names = fs.readdirSync(file);
  } catch (err) {
    if (code(err) === 'ENOENT') return 'gone';
    if (code(err) === 'ENOTDIR') return olderLock(file);
    if (BUSY.includes(code(err))) return 'busy';
    throw err;
  }
  const owners = names.flatMap((name) => {
    const pid = OWNER.exec(name)?.[1];
    return pid === undefined ? [] : [{ pid: Number(pid), name }];
  });
  return {
    owners,
    remove: () => {
      // By name: each is a dead owner's (or a file no owner would name so); a live lock's file is
      // never among them, so this cannot take a lock from under a taker that got in meanwhile.
      try {
        for (const name of names) fs.rmSync(path.join(file, name), { force: true });
      } catch (err) {
        if (!BUSY.includes(code(err))) throw err;
        return; // held open (an antivirus, Windows): looked at again
      }
      removeFolder(file);
    },
  };
}

/** A lock as found: its owners (normally one; none while it is being released), and its removal. */
interface FoundLock {
  owners: { pid: number; name?: string }[];
  remove: () => void;
}

/**
 * Whether the owner runs. One with this process's pid that is not the lock this process holds was
 * left by an earlier process that had the same pid (a container's pid 1 after a restart, a service
 * started at boot): it is dead, whatever `alive` says of the pid.
 */
function isAlive(owner: { pid: number; name?: string }, file: string, alive: (pid: number) => boolean): boolean {
  if (owner.pid === process.pid) return owner.name !== undefined && owner.name === held.get(file);
  return alive(owner.pid);
}

/** What a file or folder answers while Windows or another program holds it open. */
const BUSY = ['EPERM', 'EACCES', 'EBUSY'];

/**
 * A lock file as SyncTray wrote it before locks were folders: its pid, and a removal that can only
 * remove a file, never a lock folder put there since.
 */
function olderLock(file: string): 'gone' | 'busy' | FoundLock {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    // Gone, or a lock folder by now; anything else is there still, and must not be moved over.
    return ['ENOENT', 'EISDIR'].includes(code(err)) ? 'gone' : 'busy';
  }
  const pid = Number.parseInt(text, 10);
  return {
    owners: Number.isSafeInteger(pid) && pid > 0 ? [{ pid }] : [],
    remove: () => {
      try {
        fs.unlinkSync(file);
      } catch {
        // gone, or a folder by now (a lock another taker put there): not ours to remove
      }
    },
  };
}

/** Removes a lock folder if it is empty; one that is not is another's lock by now. */
function removeFolder(file: string): void {
  try {
    fs.rmdirSync(file);
  } catch (err) {
    if (!['ENOENT', 'ENOTEMPTY', 'EEXIST', ...BUSY].includes(code(err))) throw err;
  }
}

function removeQuietly(folder: string, entry: string): void {
  fs.rmSync(path.join(folder, entry), { force: true });
  removeFolder(folder);
}

/**
 * Removes what takers that died left beside the lock: their prepared folders, and the files of the
 * lock before it was a folder. Only a dead pid's: a live one may be about to use its own.
 */
function removeLeftovers(file: string): void {
  const dir = path.dirname(file);
  const base = path.basename(file);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(`${base}.`)) continue;
    const rest = name.slice(base.length + 1);
    const pid = /^([1-9]\d*)(?:-[a-z0-9]+)?\.tmp(?:\.guard)?$/.exec(rest)?.[1] ?? takeoverPid(dir, name, rest);
    // This process's pid: an earlier process's that had it (this one is using none now).
    if (pid === undefined || (Number(pid) !== process.pid && processAlive(Number(pid)))) continue;
    try {
      fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    } catch {
      // held open: the next taker removes it; the lock is taken either way
    }
  }
}

/** The pid in an older SyncTray's takeover guard (`<lock>.takeover`). */
function takeoverPid(dir: string, name: string, rest: string): string | undefined {
  if (rest !== 'takeover') return undefined;
  try {
    return /^([1-9]\d*)/.exec(fs.readFileSync(path.join(dir, name), 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

function code(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? '';
}

/** Something to wait on for a few milliseconds without a busy loop (taking a lock is synchronous). */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

function pause(ms: number): void {
  Atomics.wait(PAUSE, 0, 0, ms);
}
