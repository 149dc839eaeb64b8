/**
 * What only the local backend does, beyond the conformance suite: special files met where a file
 * was listed, the worker pool's limits on the main thread and its failure when a worker dies, the
 * version store across file systems, and its errno mapping.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, StorageError } from '../../src/core/errors.js';
import { assertRelPath } from '../../src/core/rel-path.js';
import { FsPool, sharedFsPool } from '../../src/storage/local/fs-pool.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { LocalVersions } from '../../src/storage/local/local-versions.js';
import { mapFsError } from '../../src/storage/local/map-error.js';
import { bytesSource, readAll } from '../../src/storage/sources.js';
import { SYMLINKS, hasTool, posixOnly, skipReasonOutsideCi } from '../helpers/requirements.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { waitFor } from '../helpers/wait-for.js';
import { expectStorageError, failureOf, MTIME, pseudoRandomBytes } from './conformance-fixtures.js';

const MiB = 1024 * 1024;
const noMkfifo = skipReasonOutsideCi(hasTool('mkfifo'), 'mkfifo is not installed: FIFO tests skipped');

let root: string;
const pools: FsPool[] = [];
const fifos: string[] = [];

beforeEach(() => {
  root = makeScratch('synctray-local-');
});

afterEach(async () => {
  // A regression that opened a FIFO for reading waits for a writer: be one, so nothing hangs on.
  for (const fifo of fifos.splice(0)) {
    try {
      fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
    } catch {
      // no reader waiting (ENXIO), or already removed
    }
  }
  for (const pool of pools.splice(0)) await Promise.all(pool.threads.map((w) => w.terminate()));
  removeScratch(root);
});

/** A pool of its own, so each test sees the workers start (or not) and none outlives it. */
function newPool(size = 1, inline?: ConstructorParameters<typeof FsPool>[1]): FsPool {
  const pool = new FsPool(size, inline);
  pools.push(pool);
  return pool;
}

/** A LocalStorage whose every call goes through `pool` (the native library, if built, would copy instead). */
function storageOn(pool: FsPool, dir = root): LocalStorage {
  return new LocalStorage(dir, { pool, native: false });
}

function mkfifo(rel: string, dir = root): string {
  const abs = path.join(dir, rel);
  const r = spawnSync('mkfifo', [abs]);
  if (r.status !== 0) throw new Error(`mkfifo ${abs}: ${r.stderr.toString()}`);
  fifos.push(abs);
  return abs;
}

/** A copy from `from` as the engine asks for it: checked against what was listed, with times. */
async function copyListed(s: LocalStorage, from: string, to: string): Promise<boolean> {
  const { size, mtimeNs } = await s.stat(from);
  return s.write(to, s.read(from), { mtimeNs, expect: { size, mtimeNs } });
}

/** Rejects if `promise` takes longer than `ms`: a hang shows as a failure, not a stuck run. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Counts turns of the event loop while `work` runs: how often this thread was free in between. */
async function turnsDuring<T>(work: () => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let done = false;
  const tick = () => {
    turns++;
    if (!done) setImmediate(tick);
  };
  setImmediate(tick);
  try {
    return { result: await work(), turns };
  } finally {
    done = true;
  }
}

describe('special files where a file was listed', () => {
  it.skipIf(noMkfifo)(
    'a FIFO is refused CHANGED as a copy source and when streamed, without waiting for a writer',
    async () => {
      const pool = newPool();
      // In a worker, so a regression times out here instead of freezing the test runner.
      await pool.startWorkers();
      const s = storageOn(pool);
      mkfifo('pipe');
      const copy = await within(
        failureOf(() => copyListed(s, 'pipe', 'copy')),
        5000,
        'copy from a FIFO',
      );
      expect(copy).toMatchObject({
        code: ErrorCode.CHANGED,
        message: expect.stringContaining('no longer a regular file'),
      });
      const unchecked = await within(
        failureOf(() => s.write('copy2', s.read('pipe'), { mtimeNs: MTIME })),
        5000,
        'unchecked copy',
      );
      expect(unchecked).toMatchObject({ code: ErrorCode.CHANGED });
      const streamed = await within(
        failureOf(() => readAll(s.read('pipe'))),
        5000,
        'streaming a FIFO',
      );
      expect(streamed).toMatchObject({ code: ErrorCode.CHANGED });
      expect(fs.readdirSync(root)).toEqual(['pipe']);
    },
  );

  it.skipIf(posixOnly('Unix sockets in a folder'))(
    'a socket is one item that changed (CHANGED), not a device that went away',
    async () => {
      const s = storageOn(newPool());
      const server = net.createServer();
      await new Promise<void>((resolve) => server.listen(path.join(root, 'sock'), resolve));
      try {
        expect((await s.stat('sock')).type).toBe('special');
        const copy = await failureOf(() =>
          s.write('copy', s.read('sock'), { mtimeNs: MTIME, expect: { size: 0, mtimeNs: MTIME } }),
        );
        expect(copy).toBeInstanceOf(StorageError);
        expect(copy).toMatchObject({ code: ErrorCode.CHANGED, fatal: false });
        expect(await failureOf(() => readAll(s.read('sock')))).toMatchObject({ code: ErrorCode.CHANGED, fatal: false });
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    },
  );

  it('a folder streamed or copied is IS_DIR', async () => {
    const s = storageOn(newPool());
    await s.mkdir('d');
    await expectStorageError(() => readAll(s.read('d')), ErrorCode.IS_DIR);
    await expectStorageError(() => s.write('copy', s.read('d'), { mtimeNs: MTIME }), ErrorCode.IS_DIR);
  });
});

describe('setMode', () => {
  it.skipIf(noMkfifo)('sets the mode of a FIFO without opening it for reading', async () => {
    const pool = newPool();
    await pool.startWorkers();
    const s = storageOn(pool);
    mkfifo('pipe');
    await within(s.setMode('pipe', 0o640), 5000, 'setMode on a FIFO');
    expect((await s.stat('pipe')).mode).toBe(0o640);
  });

  it.skipIf(posixOnly(SYMLINKS))('refuses a symlink (CHANGED), leaving its target as it was', async () => {
    const s = storageOn(newPool());
    await s.write('locked', bytesSource('x'), { mode: 0o600 });
    await s.symlink('link', 'locked');
    const err = await failureOf(() => s.setMode('link', 0o777));
    expect(err).toMatchObject({ code: ErrorCode.CHANGED, message: expect.stringContaining('is a symlink') });
    expect((await s.stat('locked')).mode).toBe(0o600);
  });
});

describe('the worker pool', () => {
  it('copies a file larger than an inline copy in a worker, leaving this thread free', async () => {
    const pool = newPool();
    const s = storageOn(pool);
    const data = pseudoRandomBytes(16 * MiB);
    fs.writeFileSync(path.join(root, 'big'), data);
    const { result, turns } = await turnsDuring(() => copyListed(s, 'big', 'copy'));
    expect(result).toBe(true);
    expect(pool.threads.length, 'workers started').toBe(1);
    expect(turns, 'event-loop turns while the copy ran').toBeGreaterThan(20);
    expect(fs.readFileSync(path.join(root, 'copy')).equals(data)).toBe(true);
  });

  it('runs a few hundred small copies on this thread, a budget per turn, without starting workers', async () => {
    const pool = newPool(1, { turnBytes: 64 * 1024 });
    const s = storageOn(pool);
    await s.mkdir('src');
    await s.mkdir('dst');
    for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(root, `src/f${i}`), pseudoRandomBytes(4096 + i));
    const names = Array.from({ length: 200 }, (_, i) => `f${i}`);
    const { turns } = await turnsDuring(() => Promise.all(names.map((n) => copyListed(s, `src/${n}`, `dst/${n}`))));
    expect(pool.threads.length, 'workers started').toBe(0);
    // 200 copies of about 4 KiB at 64 KiB a turn: at least 12 turns.
    expect(turns).toBeGreaterThanOrEqual(12);
    expect(fs.readdirSync(path.join(root, 'dst')).length).toBe(200);
  });

  it('starts the workers once the bytes copied on this thread pass the limit', async () => {
    const pool = newPool(1, { bytes: 2 * MiB });
    const s = storageOn(pool);
    for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(root, `f${i}`), pseudoRandomBytes(MiB));
    await Promise.all([0, 1, 2, 3].map((i) => copyListed(s, `f${i}`, `copy${i}`)));
    expect(pool.threads.length).toBe(1);
  });

  describe('when a worker dies', () => {
    it('fails a queued call DEVICE_GONE (fatal), never runs it later, and stops the other workers', async () => {
      const pool = newPool(2);
      await pool.startWorkers();
      const s = storageOn(pool);
      const queued = failureOf(() => s.mkdir('late'));
      void pool.threads[0]!.terminate();
      const err = await within(queued, 5000, 'the queued call');
      expect(err).toBeInstanceOf(StorageError);
      expect(err).toMatchObject({
        code: ErrorCode.DEVICE_GONE,
        fatal: true,
        message: expect.stringContaining('internal file worker stopped'),
      });
      await waitFor(() => pool.threads.every((w) => w.threadId === -1), 'every worker to stop', { timeoutMs: 5000 });
      expect(fs.existsSync(path.join(root, 'late'))).toBe(false);
      await expectStorageError(() => within(s.stat(''), 1000, 'a later call'), ErrorCode.DEVICE_GONE);
    });

    it('fails every later call DEVICE_GONE when an idle worker died', async () => {
      const pool = newPool(1);
      await pool.startWorkers();
      const s = storageOn(pool);
      await s.mkdir('before');
      await pool.threads[0]!.terminate();
      const err = await within(
        failureOf(() => s.mkdir('after')),
        1000,
        'a call after the worker died',
      );
      expect(err).toMatchObject({ code: ErrorCode.DEVICE_GONE, fatal: true });
      expect(fs.existsSync(path.join(root, 'after'))).toBe(false);
    });
  });
});

describe('LocalVersions across file systems', () => {
  // The version store on another file system than the storage, so renaming into it fails EXDEV.
  let other: string;
  beforeEach(() => {
    other = fs.mkdtempSync(path.join(os.tmpdir(), 'synctray-versions-'));
  });
  afterEach(() => removeScratch(other));
  const sameDevice = () => fs.statSync(root).dev === fs.statSync(other).dev;
  // The store copies through the shared pool: with its workers up, a regression that reads a FIFO
  // times out here rather than freezing the test runner.
  const workersUp = () => sharedFsPool().startWorkers();

  it.skipIf(noMkfifo)('removes a FIFO it cannot move (nothing to keep) without reading it', async ({ skip }) => {
    skip(sameDevice(), `${root} and ${other} are on one file system: no EXDEV to test`);
    await workersUp();
    const s = storageOn(newPool());
    mkfifo('pipe');
    const versions = new LocalVersions(other, 'run');
    await within(versions.keep(s, 'pipe', await s.stat('pipe'), 'deleted'), 5000, 'keeping a FIFO');
    expect(fs.readdirSync(root)).toEqual([]);
    expect(fs.readdirSync(path.join(other, 'run/deleted'))).toEqual([]);
  });

  it.skipIf(noMkfifo)(
    'refuses (CHANGED: changed since listed) a file that became a FIFO, and keeps it',
    async ({ skip }) => {
      skip(sameDevice(), `${root} and ${other} are on one file system: no EXDEV to test`);
      await workersUp();
      const s = storageOn(newPool());
      await s.write('was-file', bytesSource('content'), { mtimeNs: MTIME });
      const listed = await s.stat('was-file');
      fs.unlinkSync(path.join(root, 'was-file'));
      mkfifo('was-file');
      const versions = new LocalVersions(other, 'run');
      await expectStorageError(
        () => within(versions.keep(s, 'was-file', listed, 'deleted'), 5000, 'keeping'),
        ErrorCode.CHANGED,
      );
      expect(fs.lstatSync(path.join(root, 'was-file')).isFIFO()).toBe(true);
    },
  );

  it('copies a file and a symlink over, then removes them', async ({ skip }) => {
    skip(sameDevice(), `${root} and ${other} are on one file system: no EXDEV to test`);
    const s = storageOn(newPool());
    await s.write('f', bytesSource('content'), { mtimeNs: MTIME, mode: 0o640 });
    await s.symlink('l', 'f');
    const versions = new LocalVersions(other, 'run');
    await versions.keep(s, 'f', await s.stat('f'), 'deleted');
    await versions.keep(s, 'l', await s.stat('l'), 'deleted');
    expect(fs.readdirSync(root)).toEqual([]);
    expect(fs.readFileSync(path.join(other, 'run/deleted/f'), 'utf8')).toBe('content');
    expect(fs.statSync(path.join(other, 'run/deleted/f')).mode & 0o7777).toBe(0o640);
    expect(fs.readlinkSync(path.join(other, 'run/deleted/l'))).toBe('f');
  });
});

describe('errno mapping', () => {
  const errno = (code: string) =>
    mapFsError(Object.assign(new Error(`${code}: native message`), { code }), 'some/file');

  it('reports a file over the destination size limit (EFBIG) as TOO_LARGE, for that item only', () => {
    expect(errno('EFBIG')).toMatchObject({
      code: ErrorCode.TOO_LARGE,
      fatal: false,
      retryable: false,
      path: 'some/file',
    });
    expect(errno('EFBIG').message).toContain('too large for the destination file system');
  });

  it('reports ENXIO (a socket, a device without a driver) as CHANGED, not DEVICE_GONE', () => {
    expect(errno('ENXIO')).toMatchObject({ code: ErrorCode.CHANGED, fatal: false });
  });

  it.for(['EACCES', 'EPERM', 'EBUSY', 'ETXTBSY', 'EAGAIN'])('keeps %s retryable', (code) => {
    expect(errno(code).retryable).toBe(true);
  });

  it('ends the run (fatal) for a full disk, a read-only file system and a device that went away', () => {
    for (const code of ['ENOSPC', 'EROFS', 'ENODEV']) expect(errno(code).fatal, code).toBe(true);
  });
});

describe('relative paths', () => {
  // LocalStorage checks paths with its own regular expression (for speed); it must refuse exactly
  // what assertRelPath refuses.
  it('refuses exactly the paths assertRelPath refuses', () => {
    const s = new LocalStorage(root);
    const refuses = (f: () => unknown) => {
      try {
        f();
        return false;
      } catch (err) {
        expect(err).toBeInstanceOf(TypeError);
        return true;
      }
    };
    const part = fc.constantFrom('a', '.', '..', '...', '', '.a', 'a.', ' ', '\0', 'é');
    const paths = fc.oneof(
      fc.array(part, { maxLength: 5 }).map((p) => p.join('/')),
      fc.string({ unit: fc.constantFrom('a', '.', '/', '\0') }),
    );
    fc.assert(
      fc.property(paths, (p) => {
        expect(
          refuses(() => s.absolute(p)),
          JSON.stringify(p),
        ).toBe(refuses(() => assertRelPath(p)));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('versions kept by two runs', () => {
  it('never overwrite each other, even in the same second and on the same names', async () => {
    const s = new LocalStorage(root);
    const other = makeScratch('synctray-versions-');
    try {
      const stamp = 'same-stamp';
      for (const content of ['first run', 'second run']) {
        await s.write('a', bytesSource(content), { mtimeNs: MTIME });
        await s.write('a~1', bytesSource(`${content} tilde`), { mtimeNs: MTIME });
        const versions = new LocalVersions(other, stamp);
        await Promise.all([
          versions.keep(s, 'a', await s.stat('a'), 'deleted'),
          versions.keep(s, 'a~1', await s.stat('a~1'), 'deleted'),
        ]);
      }
      const kept = fs
        .readdirSync(path.join(other, 'same-stamp/deleted'))
        .map((n) => fs.readFileSync(path.join(other, 'same-stamp/deleted', n), 'utf8'));
      expect(kept.sort()).toEqual(['first run', 'first run tilde', 'second run', 'second run tilde']);
    } finally {
      removeScratch(other);
    }
  });

  it('keep only what was listed: an item changed since stays in place', async () => {
    const s = new LocalStorage(root);
    await s.write('doc', bytesSource('listed'), { mtimeNs: MTIME });
    const listed = await s.stat('doc');
    fs.writeFileSync(path.join(root, 'doc'), 'edited by the user since');
    const other = makeScratch('synctray-versions-');
    try {
      await expectStorageError(
        () => new LocalVersions(other, 'run').keep(s, 'doc', listed, 'deleted'),
        ErrorCode.CHANGED,
      );
      expect(fs.readFileSync(path.join(root, 'doc'), 'utf8')).toBe('edited by the user since');
    } finally {
      removeScratch(other);
    }
  });
});

describe('a source that tells what it was once read (a phone)', () => {
  /**
   * A source of `size` bytes in 64 KiB chunks that records whether it holds its connection: from
   * the first chunk asked for (as a phone's is opened) until it is let go.
   */
  function phoneLike(size: number, mtimeNs: bigint) {
    const state = { held: false, chunks: 0 };
    const source = {
      async *stream() {
        state.held = true;
        try {
          for (let sent = 0; sent < size; sent += 65_536) {
            state.chunks++;
            yield Buffer.alloc(Math.min(65_536, size - sent), 7);
          }
        } finally {
          state.held = false;
        }
      },
      statAfterRead: async () => ({ type: 'file' as const, size, mtimeNs }),
    };
    return { source, state };
  }

  it('is checked and placed by the write itself, small or large', async () => {
    const s = new LocalStorage(root);
    for (const size of [10, 3 * 1024 * 1024]) {
      const { source } = phoneLike(size, MTIME);
      const placed = await s.write(`tmp${size}`, source, {
        mtimeNs: MTIME,
        expect: { size, mtimeNs: MTIME },
        renameTo: `file${size}`,
        replacing: null,
      });
      expect(placed).toBe(true);
      expect(fs.statSync(path.join(root, `file${size}`)).size).toBe(size);
      expect(fs.existsSync(path.join(root, `tmp${size}`))).toBe(false);
    }
  });

  it('refuses a source that changed (CHANGED), placing nothing', async () => {
    const s = new LocalStorage(root);
    const { source } = phoneLike(10, MTIME + 1_000_000_000n);
    await expectStorageError(
      () =>
        s.write('tmp', source, {
          mtimeNs: MTIME,
          expect: { size: 10, mtimeNs: MTIME },
          renameTo: 'file',
          replacing: null,
        }),
      ErrorCode.CHANGED,
    );
    expect(fs.existsSync(path.join(root, 'file'))).toBe(false);
  });

  it('lets a large source go when the write fails, so its connection is not held', async () => {
    const s = new LocalStorage(root);
    const { source, state } = phoneLike(3 * 1024 * 1024, MTIME);
    await expectStorageError(
      () => s.write('missing/tmp', source, { mtimeNs: MTIME, expect: { size: 3 * 1024 * 1024, mtimeNs: MTIME } }),
      ErrorCode.NOT_FOUND,
    );
    // Read in part and let go (the native copier gathers a small file first), or never opened.
    expect(state.held).toBe(false);
    expect(state.chunks).toBeLessThan(48);
  });
});

describe('a file where a folder is expected on the way', () => {
  it.for([
    { label: 'native library', native: undefined },
    { label: 'portable code', native: false as const },
  ])('is NOT_DIR, not a changed folder ($label)', async ({ native }) => {
    const s = new LocalStorage(root, { native });
    await s.write('f', bytesSource('a file'));
    await expectStorageError(() => s.mkdir('f/x'), ErrorCode.NOT_DIR);
    await expectStorageError(() => s.remove('f/x'), ErrorCode.NOT_DIR);
    await expectStorageError(() => s.write('f/x', bytesSource('x'), { mtimeNs: MTIME }), ErrorCode.NOT_DIR);
  });

  it.skipIf(posixOnly(SYMLINKS))(
    'is CHANGED when it is a symlink to a folder (native library): nothing goes through it',
    async () => {
      const s = new LocalStorage(root);
      const outside = makeScratch('synctray-outside-');
      try {
        fs.symlinkSync(outside, path.join(root, 'link'));
        await expectStorageError(() => s.mkdir('link/x'), ErrorCode.CHANGED);
        await expectStorageError(() => s.write('link/x', bytesSource('x'), { mtimeNs: MTIME }), ErrorCode.CHANGED);
        expect(fs.readdirSync(outside)).toEqual([]);
      } finally {
        removeScratch(outside);
      }
    },
  );
});
