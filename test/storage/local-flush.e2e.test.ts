/**
 * How a sync makes its copies durable, seen in the system calls the CLI makes (strace): on a disk,
 * one syncfs for each batch of many files instead of one fsync each; each file flushed where there are
 * only a few, or without the native library; nothing flushed on a RAM disk, which keeps nothing
 * after a restart anyway.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { nativeFs, nativeFsProblem } from '../../src/storage/local/native.js';
import { assertCliBuilt, CLI_PATH } from '../helpers/cli.js';
import { disposeAllDrives, driveSkipReason, makeDrive } from '../helpers/drives.js';
import { rsyncDiff } from '../helpers/oracle.js';
import { hasTool, skipReasonOutsideCi } from '../helpers/requirements.js';
import { makeScratch, onRamDisk, removeScratch, scratchBase } from '../helpers/scratch.js';

const skip =
  process.platform !== 'linux'
    ? 'flush calls are checked with strace, on Linux only'
    : skipReasonOutsideCi(
        hasTool('strace') && nativeFs() !== undefined,
        'skipping the flush tests: needs strace (apt install strace) ' +
          `and the native library (${nativeFsProblem() ?? 'loaded'})`,
      );

let root: string | undefined;
afterEach(() => {
  if (root) removeScratch(root);
  root = undefined;
});

/** Runs a sync of `files` files (in two folders) under strace; the flush calls it made, counted by name. */
function syncTraced(
  files: number,
  options: { disk: boolean; env?: NodeJS.ProcessEnv; dst?: string; root?: string; under?: string },
): Record<string, number> {
  root = options.root ?? makeScratch('synctray-flush-', { disk: options.disk });
  const src = path.join(root, 'src');
  const dst = options.dst ?? path.join(root, 'dst');
  for (let i = 0; i < files; i++) {
    const dir = path.join(src, options.under ?? '', i % 2 === 0 ? 'even' : 'odd');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `f${i}`), `file ${i}\n`.repeat(i + 1));
  }
  const trace = path.join(root, 'trace');
  const r = spawnSync(
    'strace',
    [
      '-f',
      '-qq',
      '-e',
      'trace=fsync,fdatasync,syncfs',
      '-o',
      trace,
      process.execPath,
      CLI_PATH,
      'sync',
      src,
      dst,
      '--quiet',
    ],
    {
      encoding: 'utf8',
      env: { ...process.env, ...options.env },
    },
  );
  expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  expect(rsyncDiff(src, dst, { drive: options.dst !== undefined })).toEqual([]);
  const counts: Record<string, number> = { fsync: 0, fdatasync: 0, syncfs: 0 };
  for (const line of fs.readFileSync(trace, 'utf8').split('\n')) {
    // "PID fsync(12) = 0", or a call split around another thread's as "PID fsync(12 <unfinished ...>".
    const call = /^\d+\s+(fsync|fdatasync|syncfs)\(/.exec(line)?.[1];
    if (call) counts[call]!++;
  }
  return counts;
}

describe.skipIf(skip !== undefined)('flushing copies, as the system calls show', () => {
  beforeAll(() => assertCliBuilt());
  afterAll(() => disposeAllDrives());

  it('200 files on a disk: one syncfs per batch of 100 and one fsync per folder changed, not one per file', () => {
    const calls = syncTraced(200, { disk: true });
    expect(calls).toEqual({ fsync: 3, fdatasync: 0, syncfs: 2 });
  });

  it('3 files on a disk: each file flushed, then their folders', () => {
    const calls = syncTraced(3, { disk: true });
    expect(calls).toEqual({ fsync: 3 + 3, fdatasync: 0, syncfs: 0 });
  });

  it('without the native library: every file and folder flushed on its own (in parallel), no syncfs', () => {
    const calls = syncTraced(200, { disk: true, env: { SYNCTRAY_NATIVE: '0' } });
    expect(calls).toEqual({ fsync: 200 + 3, fdatasync: 0, syncfs: 0 });
  });

  it.skipIf(driveSkipReason('exfat') !== undefined)(
    '200 files on an exFAT drive through FUSE: one fsync of the drive per batch and one before the end, none per file',
    async () => {
      const drive = await makeDrive('exfat');
      try {
        // exfat-fuse answers an fsync of anything by flushing the whole drive (see flushItems).
        const calls = syncTraced(200, { disk: true, dst: path.join(drive.mountPoint, 'backup') });
        expect(calls).toEqual({ fsync: 3, fdatasync: 0, syncfs: 0 });
      } finally {
        await drive.dispose();
      }
    },
  );

  it.skipIf(driveSkipReason('ext4') !== undefined)(
    'a drive mounted inside the destination: the root flushed at once, each item on the drive on its own',
    async () => {
      const base = makeScratch('synctray-flush-', { disk: true });
      const drive = await makeDrive('ext4', { mountPoint: path.join(base, 'dst/photos') });
      try {
        // syncfs of the destination's file system does not reach the drive mounted in it.
        const calls = syncTraced(200, { disk: true, root: base, under: 'photos' });
        expect(calls.syncfs).toBeGreaterThanOrEqual(2);
        expect(calls.fsync).toBeGreaterThanOrEqual(200);
      } finally {
        await drive.dispose();
      }
    },
  );

  it('on a RAM disk nothing is flushed', () => {
    if (!onRamDisk(scratchBase())) return;
    const calls = syncTraced(200, { disk: false });
    expect(calls).toEqual({ fsync: 0, fdatasync: 0, syncfs: 0 });
  });
});

describe.skipIf(driveSkipReason('ext4') !== undefined)('a drive mounted where a folder on a RAM disk was', () => {
  afterAll(() => disposeAllDrives());

  it(
    'is flushed once measured, though the storage was made before the drive was there ' + '(/run/media is a RAM disk)',
    async () => {
      const base = makeScratch('synctray-late-');
      try {
        if (!onRamDisk(base)) return;
        const mountPoint = path.join(base, 'media/user/BACKUP');
        const storage = new LocalStorage(path.join(mountPoint, 'backup'));
        expect(storage.flush, 'on the RAM disk').toBeUndefined();
        const drive = await makeDrive('ext4', { mountPoint });
        try {
          await storage.measure({ probe: false });
          expect(storage.flush, 'on the drive').toBeTypeOf('function');
        } finally {
          await drive.dispose();
        }
      } finally {
        removeScratch(base);
      }
    },
  );
});
