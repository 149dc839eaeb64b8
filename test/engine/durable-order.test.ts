/**
 * The order batched durability rests on, seen in the calls a sync makes on a real destination on
 * disk: no copy is renamed to its final name before a flush that covered it, and nothing is
 * deleted before a flush made after the last copy was placed. A flush that fails places nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, StorageError } from '../../src/core/errors.js';
import { parentOf, type RelPath } from '../../src/core/rel-path.js';
import { sync } from '../../src/engine/sync.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import type { Storage } from '../../src/storage/storage.js';
import { rsyncDiff, rsyncSkipReason } from '../helpers/oracle.js';
import { makeSyncScratch, onRamDisk, removeScratch } from '../helpers/scratch.js';
import { findTempFiles } from '../helpers/tree-inspect.js';

type Call =
  | { op: 'write'; path: RelPath; flushed: boolean }
  | { op: 'flush'; paths: readonly RelPath[] }
  | { op: 'rename'; from: RelPath; to: RelPath }
  | { op: 'remove' | 'rmdir'; path: RelPath };

/** The destination with every write, flush, rename and removal logged, in order; `failFlush` makes flushes fail. */
function recorded(inner: LocalStorage, log: Call[], failFlush?: (n: number) => boolean): Storage {
  let flushes = 0;
  const innerFlush = inner.flush;
  if (innerFlush === undefined)
    throw new Error(`${inner.description}: offers no flush (a RAM disk?); this test needs a disk`);
  return new Proxy(inner, {
    get(target, key, receiver) {
      if (key === 'flush') {
        return async (paths: readonly RelPath[]) => {
          log.push({ op: 'flush', paths });
          if (failFlush?.(++flushes)) throw new StorageError(ErrorCode.IO, 'injected: the flush failed', '');
          return innerFlush(paths);
        };
      }
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (key === 'write') {
        return (p: RelPath, source: unknown, options?: { flush?: boolean }) => {
          log.push({ op: 'write', path: p, flushed: options?.flush !== false });
          return fn.call(target, p, source, options);
        };
      }
      if (key === 'rename') {
        return (from: RelPath, to: RelPath, options?: unknown) => {
          log.push({ op: 'rename', from, to });
          return fn.call(target, from, to, options);
        };
      }
      if (key === 'remove' || key === 'rmdir') {
        return (p: RelPath) => {
          log.push({ op: key, path: p });
          return fn.call(target, p);
        };
      }
      return fn.bind(target);
    },
  });
}

const isTemp = (p: RelPath) => path.basename(p).startsWith('.~synctray-');
const skip = rsyncSkipReason();

let root: string;
let src: string;
let dst: string;
beforeEach(() => {
  ({ root, src, dst } = makeSyncScratch('synctray-durable-', { disk: true }));
  // 60 new files in 3 folders, 10 to replace, 5 to delete, a folder to delete, a symlink.
  for (let i = 0; i < 60; i++) put(src, `new/${i % 3}/f${i}`, `new ${i}`.repeat(i + 1));
  for (let i = 0; i < 10; i++) {
    put(src, `old/r${i}`, `the new version of ${i}`);
    put(dst, `old/r${i}`, `the old ${i}`);
  }
  for (let i = 0; i < 5; i++) put(dst, `old/gone${i}`, `delete me ${i}`);
  put(dst, 'gone-folder/inner', 'x');
  fs.symlinkSync('new/0/f0', path.join(src, 'link'));
});
afterEach(() => removeScratch(root));

function put(base: string, rel: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(base, rel)), { recursive: true });
  fs.writeFileSync(path.join(base, rel), text);
}

describe.skipIf(skip !== undefined)('batched durability, as a sync calls its destination', () => {
  it(
    'renames each copy only after a flush covered it, ' + 'and deletes only after a flush that followed every rename',
    async () => {
      const log: Call[] = [];
      const r = await sync(new LocalStorage(src), recorded(new LocalStorage(dst), log), {
        mode: 'mirror',
        batch: { files: 16, bytes: 1 << 30, ms: 60_000 },
      });
      expect(r.failed, JSON.stringify(r.errors)).toBe(0);
      expect(rsyncDiff(src, dst)).toEqual([]);
      expect(findTempFiles(dst)).toEqual([]);

      const writes = log.filter((c) => c.op === 'write');
      expect(writes.length).toBe(70);
      expect(
        writes.filter((c) => c.flushed),
        'writes flushed one by one',
      ).toEqual([]);
      const flushes = log.filter((c) => c.op === 'flush');
      // 71 items in batches of 16: 5 batches, then the folders once.
      expect(flushes.length).toBe(6);

      const flushedSoFar = new Set<RelPath>();
      let lastPlaced = -1;
      log.forEach((c, i) => {
        if (c.op === 'flush') for (const p of c.paths) flushedSoFar.add(p);
        if (c.op === 'rename' && isTemp(c.from)) {
          const covered = flushedSoFar.has(c.from) || (c.to === 'link' && flushedSoFar.has(parentOf(c.from)));
          expect(covered, `${c.to} renamed into place before a flush covered ${c.from}`).toBe(true);
          lastPlaced = i;
        }
      });
      const deletions = log
        .map((c, i) => [c, i] as const)
        .filter(([c]) => (c.op === 'remove' || c.op === 'rmdir') && !isTemp(c.path));
      expect(deletions.map(([c]) => (c as { path: string }).path).sort()).toEqual(
        ['gone-folder', 'gone-folder/inner', ...[0, 1, 2, 3, 4].map((i) => `old/gone${i}`)].sort(),
      );
      const finalFlush = log.findIndex((c, i) => i > lastPlaced && c.op === 'flush');
      expect(finalFlush, 'a flush after the last copy was placed').toBeGreaterThan(lastPlaced);
      for (const [c, i] of deletions)
        expect(i, `${(c as { path: string }).path} deleted before the final flush`).toBeGreaterThan(finalFlush);
      // The final flush names the folders whose entries changed.
      const final = log[finalFlush];
      expect(final?.op === 'flush' ? new Set(final.paths) : undefined).toEqual(
        new Set(['', 'new', 'new/0', 'new/1', 'new/2', 'old']),
      );
    },
  );

  it(
    'a flush that fails ends the run, told once: ' +
      'none of its batch placed, their temp files removed, nothing deleted; the next run completes',
    async () => {
      const log: Call[] = [];
      const r = await sync(
        new LocalStorage(src),
        recorded(new LocalStorage(dst), log, (n) => n === 2),
        {
          mode: 'mirror',
          batch: { files: 16, bytes: 1 << 30, ms: 60_000 },
        },
      );
      expect(r.fatal?.message).toMatch(
        /^could not make the copies durable on .*\(injected: the flush failed\); nothing was put in place unflushed$/,
      );
      expect(r.errors, 'one message, not one per file').toEqual([]);
      expect(findTempFiles(dst)).toEqual([]);
      const flushes = log.filter((c) => c.op === 'flush');
      const firstBatch = new Set(flushes[0]!.paths);
      const failedBatch = new Set(flushes[1]!.paths);
      // A copy is covered by a flush of its temp file (a symlink: of its folder).
      const coveredBy = (batch: Set<RelPath>) => (p: RelPath) =>
        batch.has(p) || (p.split('/').length === 1 && batch.has(parentOf(p)));
      const placed = log.filter((c) => c.op === 'rename' && isTemp(c.from)).map((c) => (c as { from: RelPath }).from);
      expect(placed.filter(coveredBy(firstBatch)).length).toBe(16);
      // Batches already under way when the run ended are placed after their own flush; the failed one never.
      expect(placed.filter((p) => failedBatch.has(p))).toEqual([]);
      for (const p of placed)
        expect(
          flushes.some((f) => f.op === 'flush' && coveredBy(new Set(f.paths))(p)),
          `${p} placed unflushed`,
        ).toBe(true);
      expect(log.filter((c) => (c.op === 'remove' || c.op === 'rmdir') && !isTemp(c.path))).toEqual([]);
      expect(fs.existsSync(path.join(dst, 'old/gone0'))).toBe(true);

      const again = await sync(new LocalStorage(src), new LocalStorage(dst), { mode: 'mirror' });
      expect(again.failed).toBe(0);
      expect(rsyncDiff(src, dst)).toEqual([]);
    },
  );

  it('the flush before deletions names the folders a move left and entered', async () => {
    fs.rmSync(path.join(src, 'new'), { recursive: true });
    // An album moved from one kept folder to another: the folders whose entries change are those two.
    for (const side of [src, dst]) for (const f of ['from', 'to']) put(side, `${f}/keep`, f);
    put(src, 'to/album/photo', 'a photo that moved');
    put(dst, 'from/album/photo', 'a photo that moved');
    const t = new Date('2024-05-01T10:00:00Z');
    for (const album of [path.join(src, 'to/album'), path.join(dst, 'from/album')]) {
      fs.utimesSync(path.join(album, 'photo'), t, t);
      fs.utimesSync(album, t, t);
    }
    const log: Call[] = [];
    const r = await sync(new LocalStorage(src), recorded(new LocalStorage(dst), log), { mode: 'mirror' });
    expect(r.failed, JSON.stringify(r.errors)).toBe(0);
    expect(r.moved).toBe(1);
    const firstDeletion = log.findIndex((c) => (c.op === 'remove' || c.op === 'rmdir') && !isTemp(c.path));
    const lastFlush = log
      .slice(0, firstDeletion)
      .filter((c) => c.op === 'flush')
      .pop();
    expect(lastFlush?.op === 'flush' ? lastFlush.paths : []).toEqual(expect.arrayContaining(['from', 'to']));
    expect(rsyncDiff(src, dst)).toEqual([]);
  });

  it('a run stopped while copies wait in a batch removes them without flushing or placing them', async () => {
    const log: Call[] = [];
    const stop = new AbortController();
    const dst2 = recorded(new LocalStorage(dst), log);
    // Stopped as the copy that fills the first batch is written: that batch is never flushed.
    const stopping = new Proxy(dst2, {
      get: (t, k, r) => {
        const value = Reflect.get(t, k, r) as unknown;
        if (k !== 'write' || typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (log.filter((c) => c.op === 'write').length === 15) stop.abort();
          return (value as (...a: unknown[]) => unknown)(...args);
        };
      },
    });
    const r = await sync(new LocalStorage(src), stopping, {
      mode: 'mirror',
      signal: stop.signal,
      batch: { files: 16, bytes: 1 << 30, ms: 60_000 },
    }).catch((err: unknown) => err);
    expect(stop.signal.aborted).toBe(true);
    expect(findTempFiles(dst)).toEqual([]);
    expect(log.filter((c) => c.op === 'rename' && isTemp(c.from))).toEqual([]);
    expect(log.filter((c) => c.op === 'flush')).toEqual([]);
    expect(log.filter((c) => (c.op === 'remove' || c.op === 'rmdir') && !isTemp(c.path))).toEqual([]);
    if (!(r instanceof Error)) {
      const done = r as Awaited<ReturnType<typeof sync>>;
      expect(done.failed, JSON.stringify(done.errors)).toBe(0);
    }
  });

  it('a RAM disk is not flushed at all: its copies are placed as they are made', () => {
    const shm = '/dev/shm';
    const ram = onRamDisk(shm);
    if (!ram) return;
    expect(new LocalStorage(path.join(shm, 'not-made')).flush).toBeUndefined();
    expect(new LocalStorage(dst).flush).toBeTypeOf('function');
  });
});
