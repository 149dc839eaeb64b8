import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/core/errors.js';
import { sync } from '../../src/engine/sync.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { runCli } from '../helpers/cli.js';
import { disposeAllDrives, driveSkipReason, makeDrive } from '../helpers/drives.js';
import { FaultyStorage } from '../helpers/faulty-storage.js';
import { isRoot } from '../helpers/privilege.js';
import { hasTool, skipReasonOutsideCi } from '../helpers/requirements.js';
import { makeSyncScratch, removeScratch } from '../helpers/scratch.js';
import { writeTree } from '../helpers/tree-spec.js';

let root: string;
let src: string;
let dst: string;
beforeEach(() => {
  ({ root, src, dst } = makeSyncScratch());
  writeTree(src, { a: 'alpha', b: 'bravo', c: 'charlie', 'd/e': 'echo' });
});
afterEach(() => removeScratch(root));

const temps = (dir: string) =>
  fs
    .readdirSync(dir, { recursive: true })
    .map(String)
    .filter((n) => path.basename(n).startsWith('.~synctray-'));
const quickRetry = { attempts: 5, firstDelayMs: 5 };

describe('retrying transient errors', () => {
  it('a file busy twice is copied on the third attempt', async () => {
    const faulty = new FaultyStorage(
      new LocalStorage(dst),
      new Map([['b', { code: ErrorCode.BUSY, retryable: true, times: 2 }]]),
    );
    const r = await sync(new LocalStorage(src), faulty, { mode: 'mirror', retry: quickRetry });
    expect(r.failed).toBe(0);
    expect(faulty.attempts.get('b')).toBe(3);
    expect(fs.readFileSync(path.join(dst, 'b'), 'utf8')).toBe('bravo');
  });

  it('a file busy every time fails after five attempts, the rest is synced', async () => {
    const faulty = new FaultyStorage(
      new LocalStorage(dst),
      new Map([['b', { code: ErrorCode.BUSY, retryable: true, times: Infinity }]]),
    );
    const r = await sync(new LocalStorage(src), faulty, { mode: 'mirror', retry: quickRetry });
    expect(faulty.attempts.get('b')).toBe(5);
    expect(r.failed).toBe(1);
    expect(r.errors).toEqual([expect.objectContaining({ path: 'b', code: 'BUSY' })]);
    expect(fs.readFileSync(path.join(dst, 'd/e'), 'utf8')).toBe('echo');
    expect(fs.existsSync(path.join(dst, 'b'))).toBe(false);
    expect(temps(dst)).toEqual([]);
  });

  it('an error that does not pass is not retried', async () => {
    const faulty = new FaultyStorage(
      new LocalStorage(dst),
      new Map([['b', { code: ErrorCode.NAME_TOO_LONG, retryable: false, times: Infinity }]]),
    );
    const r = await sync(new LocalStorage(src), faulty, { mode: 'mirror', retry: quickRetry });
    expect(faulty.attempts.get('b')).toBe(1);
    expect(r.failed).toBe(1);
  });

  it('a full disk ends the run at once with the reason', async () => {
    writeTree(src, Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`many/f${i}`, `${i}`])));
    const faulty = new FaultyStorage(
      new LocalStorage(dst),
      new Map([['a', { code: ErrorCode.NO_SPACE, retryable: false, times: Infinity }]]),
    );
    const r = await sync(new LocalStorage(src), faulty, { mode: 'mirror', retry: quickRetry, concurrency: 1 });
    expect(r.fatal?.code).toBe('NO_SPACE');
    expect(r.copied).toBeLessThan(200);
    expect(temps(dst)).toEqual([]);
  });
});

// A real full disk: a small tmpfs mounted for the test (root only; CI runs as root).
const mountSkipReason = skipReasonOutsideCi(
  isRoot && hasTool('mount'),
  'skipping the full-disk test: it mounts a tmpfs, which needs root',
);

describe.skipIf(mountSkipReason !== undefined)('a really full disk', () => {
  let mnt: string;
  beforeEach(() => {
    mnt = path.join(root, 'small');
    fs.mkdirSync(mnt);
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mount failed: ${r.stderr}`);
  });
  afterEach(() => {
    spawnSync('umount', [mnt]);
  });

  it('stops with a clear message, exit 1, nothing partial, and recovers once there is room', async () => {
    const files = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`big${i}`, String(i).repeat(40_000)]));
    writeTree(src, files);
    const target = path.join(mnt, 'backup');
    const r = await runCli(['sync', src, target, '--json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Stopped: .*no space left on the device/);
    expect(r.json).toMatchObject({ fatal: { code: 'NO_SPACE' } });
    expect(temps(target)).toEqual([]);
    for (const name of fs.readdirSync(target)) {
      if (name in files) expect(fs.readFileSync(path.join(target, name), 'utf8')).toBe(files[name]);
    }
    spawnSync('mount', ['-o', 'remount,size=4m', mnt]);
    const again = await runCli(['sync', src, target, '--json']);
    expect(again.code).toBe(0);
    for (const [name, content] of Object.entries(files))
      expect(fs.readFileSync(path.join(target, name), 'utf8')).toBe(content);
  });
});

// The same on a disk that is flushed in batches (tmpfs is never flushed): a small ext4 drive, a
// filler file leaving about 3 MiB, 12 files of 1 MiB.
describe.skipIf(driveSkipReason('ext4') !== undefined)('a really full disk, flushed in batches (ext4)', () => {
  afterAll(() => disposeAllDrives());

  it('stops with a clear message, exit 1, nothing partial, and recovers once there is room', async () => {
    const drive = await makeDrive('ext4', { sizeMiB: 24 });
    const files = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`big${i}`, String(i % 10).repeat(1 << 20)]));
    writeTree(src, files);
    const filler = path.join(drive.mountPoint, 'filler');
    const free = () => Number(fs.statfsSync(drive.mountPoint).bavail * fs.statfsSync(drive.mountPoint).bsize);
    fs.writeFileSync(filler, Buffer.alloc(free() - 3 * (1 << 20)));
    const target = path.join(drive.mountPoint, 'backup');
    const r = await runCli(['sync', src, target, '--json']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/Stopped: .*no space left on the device/);
    expect(r.json).toMatchObject({ fatal: { code: 'NO_SPACE' } });
    expect(temps(target)).toEqual([]);
    for (const name of fs.readdirSync(target)) {
      if (name in files) expect(fs.readFileSync(path.join(target, name), 'utf8')).toBe(files[name]);
    }
    fs.rmSync(filler);
    const again = await runCli(['sync', src, target, '--json']);
    expect(again.code, again.stderr).toBe(0);
    for (const [name, content] of Object.entries(files))
      expect(fs.readFileSync(path.join(target, name), 'utf8')).toBe(content);
  });
});
