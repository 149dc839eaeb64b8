/**
 * The whole sync path over a destination that reports what a probe found (a fake measurement on a
 * real folder): each result of a probe changes what the engine compares, writes and skips.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NO_RULES } from '../../src/core/name-encoding.js';
import { sync, type SyncResult } from '../../src/engine/sync.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { PROBE_TIME_NS, type Probed } from '../../src/storage/measured.js';
import { makeSyncScratch, removeScratch } from '../helpers/scratch.js';
import { setMtime } from '../helpers/mtimes.js';
import { writeTree } from '../helpers/tree-spec.js';
import { posixOnly, SYMLINKS } from '../helpers/requirements.js';

const S = 1_000_000_000n;
const POSIX: Probed = {
  time: { setNs: PROBE_TIME_NS, readNs: PROBE_TIME_NS },
  permissions: true,
  symlinks: true,
  foldsCase: false,
  names: NO_RULES,
  maxName: { length: 255, unit: 'byte' },
};

let root: string;
let src: string;
let dst: string;
beforeEach(() => {
  ({ root, src, dst } = makeSyncScratch());
  fs.mkdirSync(src);
});
afterEach(() => removeScratch(root));

/** A destination whose measurement says `probed`; `probes` counts the measurements that wrote. */
function destination(probed: Partial<Probed>): { storage: LocalStorage; probes: () => number } {
  let probes = 0;
  const storage = new LocalStorage(dst, {
    known: () => undefined,
    measured: async (_dir, options) => {
      if (options.probe) probes++;
      return { probed: { ...POSIX, ...probed }, assumed: false };
    },
  });
  return { storage, probes: () => probes };
}

async function mirror(probed: Partial<Probed>): Promise<SyncResult> {
  return sync(new LocalStorage(src), destination(probed).storage, { mode: 'mirror' });
}

const idle = { copied: 0, updated: 0, metadata: 0, deleted: 0, failed: 0 };

describe('a destination measured as keeping', () => {
  it('whole seconds: times within a second are equal, and the next run is idle', async () => {
    writeTree(src, { a: 'a', b: 'b' });
    setMtime(path.join(src, 'a'), 1_700_000_000n * S + 999_999_999n);
    const whole = { time: { setNs: PROBE_TIME_NS, readNs: PROBE_TIME_NS - 123_456_789n } };
    expect(await mirror(whole)).toMatchObject({ copied: 2, failed: 0 });
    // As a drive keeping whole seconds would have stored it.
    setMtime(path.join(dst, 'a'), 1_700_000_000n * S);
    expect(await mirror(whole)).toMatchObject(idle);
    // The same difference on a destination keeping nanoseconds is a change.
    expect(await mirror({})).toMatchObject({ updated: 1 });
  });

  it.skipIf(posixOnly('permission bits on the source'))(
    'no permission bits: modes are neither compared nor set',
    async () => {
      writeTree(src, { a: 'a' });
      fs.chmodSync(path.join(src, 'a'), 0o600);
      expect(await mirror({ permissions: false })).toMatchObject({ copied: 1, failed: 0 });
      // As such a drive shows every item.
      fs.chmodSync(path.join(dst, 'a'), 0o777);
      expect(await mirror({ permissions: false })).toMatchObject(idle);
      expect(await mirror({ permissions: true })).toMatchObject({ metadata: 1 });
    },
  );

  it.skipIf(posixOnly(SYMLINKS))(
    'no symlinks: links are skipped with their reason, not failed, at every run',
    async () => {
      writeTree(src, { a: 'a' });
      fs.symlinkSync('a', path.join(src, 'link'));
      for (let run = 0; run < 2; run++) {
        const r = await mirror({ symlinks: false, kind: 'exFAT' });
        expect(r).toMatchObject({ failed: 0, copied: run === 0 ? 1 : 0 });
        expect(r.skipped).toEqual([{ path: 'link', reason: 'no-symlinks' }]);
      }
      expect(fs.existsSync(path.join(dst, 'link'))).toBe(false);
    },
  );

  it.skipIf(posixOnly('names with : * ? " < > | in the source'))(
    'refused characters: names stored encoded, listed decoded, ' + 'the next run idle, deletions by the decoded name',
    async () => {
      writeTree(src, { 'a:b?.txt': 'x', 'dir:1/in': 'y', 'plain ': 'z' });
      const rules = { names: { refused: ':?', trailingDot: true, trailingSpace: true } };
      expect(await mirror(rules)).toMatchObject({ copied: 4, failed: 0 }); // three files and a folder
      expect(fs.readdirSync(dst).sort()).toEqual(['a：b？.txt', 'dir：1', 'plain␠']);
      expect(await mirror(rules)).toMatchObject(idle);
      fs.rmSync(path.join(src, 'a:b?.txt'));
      expect(await mirror(rules)).toMatchObject({ deleted: 1, failed: 0 });
      expect(fs.readdirSync(dst).sort()).toEqual(['dir：1', 'plain␠']);
    },
  );

  it('two source names never share a stored name: a real look-alike in a name is kept apart', async () => {
    writeTree(src, { 'a:b': 'colon', 'a：b': 'full-width colon' });
    const rules = { names: { refused: ':', trailingDot: false, trailingSpace: false } };
    expect(await mirror(rules)).toMatchObject({ copied: 2, failed: 0 });
    expect(fs.readdirSync(dst).sort()).toEqual(['a‛：b', 'a：b']);
    expect(fs.readFileSync(path.join(dst, 'a：b'), 'utf8')).toBe('colon');
    expect(fs.readFileSync(path.join(dst, 'a‛：b'), 'utf8')).toBe('full-width colon');
    expect(await mirror(rules)).toMatchObject(idle);
  });

  it.skipIf(posixOnly('folders that tell upper from lower case'))(
    'folded case: two names that are one name there are both skipped, and neither is written',
    async () => {
      writeTree(src, { 'Case.txt': 'A', 'case.txt': 'b' });
      const r = await mirror({ foldsCase: true, kind: 'exFAT' });
      expect(r.skipped).toEqual([{ path: 'Case.txt', reason: 'case-clash', with: ['case.txt'] }]);
      expect(r.failed).toBe(0);
      expect(fs.readdirSync(dst)).toEqual([]);
    },
  );

  it('a largest file: a file over it is skipped, the rest copied', async () => {
    writeTree(src, { small: 'x', big: 'y'.repeat(100) });
    const r = await mirror({ maxFileBytes: 10 });
    expect(r).toMatchObject({ copied: 1, failed: 0 });
    expect(r.skipped).toEqual([{ path: 'big', reason: 'too-large' }]);
  });

  it('a shorter name limit: a longer name is skipped', async () => {
    writeTree(src, { [`${'n'.repeat(40)}`]: 'x', short: 'y' });
    const r = await mirror({ maxName: { length: 32, unit: 'byte' } });
    expect(r.skipped.map((s) => s.reason)).toEqual(['name-too-long']);
    expect(r.copied).toBe(1);
  });
});

describe('when the destination is probed', () => {
  it('a new destination at once; an existing one only once the guards have passed; never in a dry run', async () => {
    writeTree(src, { a: 'a' });
    const fresh = destination({});
    await sync(new LocalStorage(src), fresh.storage, { mode: 'mirror', dryRun: true });
    expect(fresh.probes()).toBe(0);
    await sync(new LocalStorage(src), fresh.storage, { mode: 'mirror' });
    expect(fresh.probes()).toBe(1);

    const existing = destination({});
    await sync(new LocalStorage(src), existing.storage, { mode: 'mirror' });
    expect(existing.probes()).toBe(1);

    // A run refused by a guard (an empty source over a full destination) measures nothing.
    const refusedOne = destination({});
    fs.rmSync(path.join(src, 'a'));
    await expect(sync(new LocalStorage(src), refusedOne.storage, { mode: 'mirror' })).rejects.toThrow(/is empty/);
    expect(refusedOne.probes()).toBe(0);
  });
});

describe('a file rewritten within the time a drive keeps, at the same size', () => {
  it('is copied when the watcher saw it written; size and time alone cannot tell', async () => {
    const whole = { time: { setNs: PROBE_TIME_NS, readNs: PROBE_TIME_NS - 123_456_789n } };
    writeTree(src, { 'notes.txt': 'version 1' });
    const t = 1_700_000_000n * S;
    setMtime(path.join(src, 'notes.txt'), t + 100_000_000n);
    expect(await mirror(whole)).toMatchObject({ copied: 1 });
    setMtime(path.join(dst, 'notes.txt'), t); // as a drive keeping whole seconds stores it
    // Edited again in the same second, the same length.
    fs.writeFileSync(path.join(src, 'notes.txt'), 'version 2');
    setMtime(path.join(src, 'notes.txt'), t + 600_000_000n);
    const scoped = (written?: string[]) =>
      sync(new LocalStorage(src), destination(whole).storage, {
        mode: 'mirror',
        scope: {
          full: false,
          folders: new Map([['', 'shallow' as const]]),
          ...(written ? { written: new Set(written) } : {}),
        },
        destinationFiles: 1,
      });
    expect(await scoped()).toMatchObject({ updated: 0 });
    expect(await scoped(['notes.txt'])).toMatchObject({ updated: 1, failed: 0 });
    expect(fs.readFileSync(path.join(dst, 'notes.txt'), 'utf8')).toBe('version 2');
  });
});

describe('a destination that keeps no times it is given', () => {
  it('is compared by size: the next run is idle, a change of size is copied', async () => {
    writeTree(src, { a: 'one' });
    expect(await mirror({ time: undefined })).toMatchObject({ copied: 1 });
    setMtime(path.join(dst, 'a'), 1_000_000_000n * S); // as such a file system would have it
    expect(await mirror({ time: undefined })).toMatchObject(idle);
    fs.writeFileSync(path.join(src, 'a'), 'three');
    expect(await mirror({ time: undefined })).toMatchObject({ updated: 1 });
  });
});

describe('a destination measured as what it was taken for', () => {
  it.skipIf(posixOnly('a POSIX folder'))(
    'is listed once a run (a POSIX folder: not surveyed again after its probe)',
    async () => {
      writeTree(src, { a: 'a', 'd/b': 'b' });
      fs.mkdirSync(dst);
      for (let run = 0; run < 2; run++) {
        const storage = new LocalStorage(dst);
        let rootListings = 0;
        const list = storage.list.bind(storage);
        const listFolder = storage.listFolder?.bind(storage);
        Object.assign(storage, {
          list: (dir: string) => ((rootListings += dir === '' ? 1 : 0), list(dir)),
          ...(listFolder
            ? { listFolder: (dir: string) => ((rootListings += dir === '' ? 1 : 0), listFolder(dir)) }
            : {}),
        });
        await sync(new LocalStorage(src), storage, { mode: 'mirror' });
        expect(rootListings).toBe(1);
      }
    },
  );
});
