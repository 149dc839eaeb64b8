/**
 * The pid lock's states one by one, in one process: what a dead owner, a taker that died half-way
 * and an older SyncTray can leave, and what taking and releasing do with each.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pidLockOwner, processAlive, releasePidLock, tryPidLock } from '../../src/config/pid-lock.js';
import { deadPid } from '../helpers/processes.js';
import { onWindows } from '../helpers/requirements.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = makeScratch('synctray-pid-lock-');
  file = path.join(dir, 'x.lock');
});
afterEach(() => removeScratch(dir));

/** A lock folder as its owner made it: one file named `<pid>-<token>`. */
function lockOf(pid: number, token = 'old'): void {
  fs.mkdirSync(file);
  fs.writeFileSync(path.join(file, `${pid}-${token}`), '');
}

describe('the pid lock', () => {
  it('is a folder naming its owner, refused to a second taker while held, and gone once released', () => {
    expect(tryPidLock(file, processAlive)).toBeUndefined();
    expect(pidLockOwner(file)).toBe(process.pid);
    const [own] = fs.readdirSync(file);
    expect(own).toMatch(new RegExp(`^${process.pid}-[a-z0-9]+$`));
    if (!onWindows) expect(fs.statSync(file).mode & 0o777).toBe(0o700); // Windows keeps no mode bits
    expect(tryPidLock(file, processAlive)).toBe(process.pid);
    expect(fs.readdirSync(file)).toEqual([own]);
    releasePidLock(file);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("takes over a dead owner's lock and clears what dead takers left beside it, and only theirs", () => {
    lockOf(deadPid());
    const dead = deadPid();
    const half = `${file}.${dead}-half.tmp`;
    fs.mkdirSync(half);
    fs.writeFileSync(path.join(half, `${dead}-half`), '');
    fs.writeFileSync(`${file}.${deadPid()}.tmp`, ''); // an older SyncTray's, as it linked its lock file
    fs.writeFileSync(`${file}.takeover`, `${deadPid()}\n`); // and its takeover guard
    const alive = `${file}.${process.ppid}-busy.tmp`; // a live taker's, about to be used
    fs.mkdirSync(alive);
    expect(tryPidLock(file, processAlive)).toBeUndefined();
    expect(pidLockOwner(file)).toBe(process.pid);
    expect(fs.readdirSync(dir).sort()).toEqual([path.basename(file), path.basename(alive)].sort());
    releasePidLock(file);
  });

  it('takes over a lock emptied by an owner that died releasing it, or holding no owner it can read', () => {
    fs.mkdirSync(file);
    expect(tryPidLock(file, processAlive)).toBeUndefined();
    releasePidLock(file);
    fs.mkdirSync(file);
    fs.writeFileSync(path.join(file, 'not-a-pid'), '');
    expect(tryPidLock(file, processAlive)).toBeUndefined();
    expect(fs.readdirSync(file)).toHaveLength(1);
    expect(pidLockOwner(file)).toBe(process.pid);
    releasePidLock(file);
    expect(fs.existsSync(file)).toBe(false);
  });

  it("refuses while an older SyncTray's lock file names a live process, and takes it over once that is gone", () => {
    fs.writeFileSync(file, `${process.ppid}\n`);
    expect(tryPidLock(file, processAlive)).toBe(process.ppid);
    expect(fs.readFileSync(file, 'utf8')).toBe(`${process.ppid}\n`);
    const dead = deadPid();
    fs.writeFileSync(file, `${dead}\n`);
    expect(tryPidLock(file, (pid) => pid !== dead)).toBeUndefined();
    expect(pidLockOwner(file)).toBe(process.pid);
    releasePidLock(file);
  });

  it("takes over a lock with this process's pid that is not the one it holds, with what was left beside it", () => {
    lockOf(process.pid, 'earlier');
    const half = `${file}.${process.pid}-half.tmp`;
    fs.mkdirSync(half);
    expect(tryPidLock(file, () => true)).toBeUndefined();
    const [own] = fs.readdirSync(file);
    expect(own).not.toBe(`${process.pid}-earlier`);
    expect(fs.readdirSync(dir)).toEqual([path.basename(file)]);
    expect(tryPidLock(file, () => false)).toBe(process.pid); // the one it holds is alive, whatever is said
    releasePidLock(file);
  });

  it('never takes pid 0 or below for a live process (they name process groups)', () => {
    expect(processAlive(0)).toBe(false);
    expect(processAlive(-1)).toBe(false);
  });

  it('asks `alive` about the owner it found, and refuses whatever it says runs', () => {
    lockOf(4242);
    const asked: number[] = [];
    expect(tryPidLock(file, (pid) => (asked.push(pid), true))).toBe(4242);
    expect(asked).toEqual([4242]);
    expect(fs.readdirSync(file)).toEqual(['4242-old']);
  });

  it('releases nothing of a lock that is no longer its own', () => {
    expect(tryPidLock(file, processAlive)).toBeUndefined();
    // Judged dead and taken over meanwhile (as after a pid reuse): the new owner's lock stays whole.
    for (const name of fs.readdirSync(file)) fs.rmSync(path.join(file, name));
    fs.writeFileSync(path.join(file, `${process.ppid}-new`), '');
    releasePidLock(file);
    expect(fs.readdirSync(file)).toEqual([`${process.ppid}-new`]);
    releasePidLock(file); // twice: nothing either
    expect(pidLockOwner(file)).toBe(process.ppid);
  });

  it('says why when it cannot make its lock at all', () => {
    expect(() => tryPidLock(path.join(dir, 'missing', 'x.lock'), processAlive)).toThrow(/ENOENT/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
