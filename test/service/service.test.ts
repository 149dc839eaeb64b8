/**
 * The service's pairs as state machines, driven through the real engine, watcher and config store
 * on temp folders: the states and progress the tray and `status` show, and the problems
 * notifications are made from.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { app } from '../../src/app.js';
import { ErrorCode } from '../../src/core/errors.js';
import type { RelPath } from '../../src/core/rel-path.js';
import { ConfigStore } from '../../src/config/store.js';
import type { Pair } from '../../src/config/schema.js';
import { Service, type PairStatus, type ServiceEvent } from '../../src/service/service.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { folderWatcher } from '../../src/watch/folder-watcher.js';
import { FaultyStorage, type Fault } from '../helpers/faulty-storage.js';
import { rsyncDiff, rsyncSkipReason } from '../helpers/oracle.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { writeTree } from '../helpers/tree-spec.js';
import { waitFor } from '../helpers/wait-for.js';

const noRsync = rsyncSkipReason();
let root: string;
let service: Service | undefined;
let events: ServiceEvent[];
/** The service's clock: real time, or a fake one that moves 200 ms whenever it is read. */
let clock: () => number;

beforeEach(() => {
  root = makeScratch('synctray-states-');
  events = [];
  clock = () => performance.now();
});
afterEach(async () => {
  await service?.stop();
  service = undefined;
  removeScratch(root);
});

const at = (p: string) => path.join(root, p);
/** What a pair's destination backs up: its versions folder left out. */
const backedUp = (p: string) => fs.readdirSync(at(p)).filter((n) => n !== '.synctray-versions');

function pairOf(name: string, change: Partial<Pair> = {}): Omit<Pair, 'id'> {
  return {
    name,
    source: at(name),
    destination: at(`backup/${name}`),
    mode: 'mirror',
    checksum: false,
    exclude: [],
    rescanIntervalMs: 0,
    keepVersionsMs: 2_592_000_000,
    paused: false,
    notify: 'all',
    ...change,
  };
}

function startService(
  pairs: Omit<Pair, 'id'>[],
  faults?: Map<RelPath, Fault>,
): { store: ConfigStore; service: Service } {
  const { store } = ConfigStore.open(at('config'));
  for (const p of pairs) store.add(p);
  const openStorage = (location: string) => {
    const local = new LocalStorage(location);
    return faults && location.includes(`${path.sep}backup${path.sep}`) ? new FaultyStorage(local, faults) : local;
  };
  service = new Service(store, {
    openStorage,
    openVersions: app.openVersions,
    watchFolder: folderWatcher,
    now: () => clock(),
  });
  service.on('event', (e) => events.push(e));
  service.start();
  return { store, service };
}

const statuses = (name: string) =>
  events.flatMap((e) => (e.type === 'status' && e.status.name === name ? [e.status] : []));
/** The states a pair went through, repeats folded. */
const statesOf = (name: string) =>
  statuses(name)
    .map((s) => s.state)
    .filter((s, i, all) => i === 0 || all[i - 1] !== s);
const last = (name: string): PairStatus => statuses(name).at(-1)!;
const problems = (name: string) =>
  events.flatMap((e) => (e.type === 'problem' && e.pair.name === name ? [{ kind: e.kind, message: e.message }] : []));
const idleSince = (name: string, n: number) => statuses(name).length > n && last(name).state === 'idle';

describe.skipIf(noRsync)('a pair in the service', () => {
  it(
    'goes scanning → syncing → idle on its first sync, ' + 'with progress and an ETA, then idle with its totals',
    async () => {
      const files: Record<string, string> = {};
      for (let i = 0; i < 40; i++) files[`f${i}.bin`] = 'x'.repeat(1000 + i);
      writeTree(at('photos'), files);
      let t = 0;
      clock = () => (t += 200);
      startService([pairOf('photos')]);
      await waitFor(() => idleSince('photos', 0), 'the first sync');
      expect(statesOf('photos')).toEqual(['scanning', 'syncing', 'idle']);
      expect(rsyncDiff(at('photos'), at('backup/photos'))).toEqual([]);

      const progress = statuses('photos').flatMap((s) => (s.progress ? [s.progress] : []));
      expect(progress[0]).toMatchObject({ files: 0, totalFiles: 40, bytes: 0, totalBytes: 40 * 1000 + 780 });
      expect(progress.at(-1)).toMatchObject({ files: 40, totalFiles: 40, bytes: 40 * 1000 + 780 });
      // Each file took 200 ms of the fake clock: what is left of 40 files is 200 ms each, bytes weighed.
      // Published at most every 250 ms of the clock: here every other file.
      expect(progress.length).toBeGreaterThan(15);
      expect(progress.length).toBeLessThan(30);
      const midway = progress.find((p) => p.files >= 20)!;
      const left = 40 - midway.files;
      expect(midway.etaMs).toBeGreaterThan(left * 200 * 0.9);
      expect(midway.etaMs).toBeLessThan(left * 200 * 1.1);
      const done = last('photos');
      expect(done).toMatchObject({ state: 'idle', files: 40, bytes: 40 * 1000 + 780 });
      expect(done.progress).toBeUndefined();
      expect(Date.parse(done.lastSyncAt!)).toBeGreaterThan(Date.now() - 60_000);
      expect(events.find((e) => e.type === 'synced')).toMatchObject({ first: true, clean: true });
    },
  );

  it('is paused and resumed: nothing moves while paused, the change is synced on resume', async () => {
    writeTree(at('docs'), { 'a.txt': 'a' });
    const { store, service: s } = startService([pairOf('docs')]);
    await waitFor(() => idleSince('docs', 0), 'the first sync');
    expect((await s.pause('docs')).state).toBe('paused');
    expect(store.find('docs')!.paused).toBe(true);
    fs.writeFileSync(at('docs/while-paused.txt'), 'p');
    const n = statuses('docs').length;
    await s.settled();
    expect(statuses('docs').length).toBe(n);
    expect(fs.existsSync(at('backup/docs/while-paused.txt'))).toBe(false);

    await s.resume('docs');
    expect(store.find('docs')!.paused).toBe(false);
    await waitFor(() => idleSince('docs', n), 'the sync on resume');
    expect(statesOf('docs').slice(-4)).toEqual(['paused', 'scanning', 'syncing', 'idle']);
    expect(rsyncDiff(at('docs'), at('backup/docs'))).toEqual([]);
    await expect(s.resync('nope')).rejects.toThrow('No pair is called "nope"');
  });

  it('paused in the middle of its first sync, resumes without copying finished files again', async () => {
    const big = Buffer.alloc(128 * 1024, 5);
    for (let d = 0; d < 6; d++) {
      fs.mkdirSync(at(`large/d${d}`), { recursive: true });
      for (let f = 0; f < 50; f++) fs.writeFileSync(at(`large/d${d}/f${f}`), big);
    }
    const { service: s } = startService([pairOf('large')]);
    // Paused from the first progress report, as a click in the tray would.
    const paused = new Promise((resolve) => {
      const listener = (e: ServiceEvent) => {
        if (e.type !== 'status' || (e.status.progress?.files ?? 0) === 0) return;
        s.off('event', listener);
        resolve(s.pause('large'));
      };
      s.on('event', listener);
    });
    await paused;
    const copied = fs.readdirSync(at('backup/large'), { recursive: true }).filter((n) => /\/f\d+$/.test(String(n)));
    expect(copied.length).toBeLessThan(300);
    expect(
      fs.readdirSync(at('backup/large'), { recursive: true }).filter((n) => String(n).includes('.~synctray-')),
    ).toEqual([]);

    const n = statuses('large').length;
    await s.resume('large');
    await waitFor(() => idleSince('large', n), 'the sync after resume');
    expect(rsyncDiff(at('large'), at('backup/large'))).toEqual([]);
    const planned = statuses('large')
      .slice(n)
      .find((st) => st.progress)!.progress!;
    expect(planned.totalFiles).toBe(300 - copied.length);
  });

  it('waits for a source that is gone, deleting nothing, and comes back by itself', async () => {
    writeTree(at('music'), { 'a.mp3': 'a', 'b/c.mp3': 'c' });
    startService([pairOf('music')]);
    await waitFor(() => idleSince('music', 0), 'the first sync');
    fs.renameSync(at('music'), at('music-away'));
    await waitFor(() => last('music').state === 'waiting-for-source', 'waiting for the source');
    expect(problems('music')).toEqual([{ kind: 'source-missing', message: expect.stringContaining('is gone') }]);
    expect(rsyncDiff(at('music-away'), at('backup/music'))).toEqual([]);

    const n = statuses('music').length;
    fs.renameSync(at('music-away'), at('music'));
    fs.writeFileSync(at('music/d.mp3'), 'd');
    await waitFor(() => idleSince('music', n) && fs.existsSync(at('backup/music/d.mp3')), 'the source back and synced');
    expect(rsyncDiff(at('music'), at('backup/music'))).toEqual([]);
  });

  it('waits while its destination is gone, saying so, and recovers when it is back', async () => {
    writeTree(at('docs'), { 'a.txt': 'a' });
    startService([pairOf('docs')]);
    await waitFor(() => idleSince('docs', 0), 'the first sync');
    fs.renameSync(at('backup/docs'), at('backup/docs-unplugged'));
    fs.writeFileSync(at('docs/b.txt'), 'b');
    await waitFor(() => last('docs').state === 'waiting-for-destination', 'waiting for the destination');
    expect(last('docs').reason).toContain('is gone');
    expect(problems('docs').map((p) => p.kind)).toEqual(['destination-missing']);
    expect(fs.existsSync(at('backup/docs'))).toBe(false); // never made again where a drive may be missing

    fs.renameSync(at('backup/docs-unplugged'), at('backup/docs'));
    await waitFor(
      () => last('docs').state === 'idle' && fs.existsSync(at('backup/docs/b.txt')),
      'the destination back and synced',
    );
    expect(rsyncDiff(at('docs'), at('backup/docs'))).toEqual([]);
  });

  it('reports a copy that failed all its attempts as a problem ' +
    'and its last error, then tries again later', async () => {
    writeTree(at('docs'), { 'ok.txt': 'ok', 'locked.txt': 'l' });
    // Five attempts in the step (3 s of pauses), then the pair's own retry 5 s later gets through.
    const faults = new Map<RelPath, Fault>([
      ['locked.txt' as RelPath, { code: ErrorCode.BUSY, retryable: true, times: 5 }],
    ]);
    startService([pairOf('docs')], faults);
    await waitFor(() => problems('docs').length > 0, 'the failure reported', { timeoutMs: 20_000 });
    expect(problems('docs')[0]).toEqual({
      kind: 'failed',
      message: expect.stringMatching(/^1 item could not be synced: .*locked\.txt/),
    });
    expect(events.find((e) => e.type === 'synced')).toMatchObject({ first: true, clean: false });
    expect(fs.existsSync(at('backup/docs/ok.txt'))).toBe(true);
    await waitFor(() => last('docs').state === 'error', 'the pair in error');
    expect(last('docs').lastError).toContain('locked.txt');
    // Another change synced meanwhile does not mend the failed one: the pair stays in error.
    const n = events.filter((e) => e.type === 'synced').length;
    fs.writeFileSync(at('docs/other.txt'), 'o');
    await waitFor(
      () => events.filter((e) => e.type === 'synced').length > n && last('docs').state === 'error',
      'the other change synced',
    );
    expect(fs.existsSync(at('backup/docs/other.txt'))).toBe(true);
    expect(events.filter((e) => e.type === 'synced').at(-1)).toMatchObject({ clean: false });
    expect(last('docs').lastError).toContain('locked.txt');

    await waitFor(
      () => events.some((e) => e.type === 'synced' && e.clean) && last('docs').state === 'idle',
      'the retry getting through',
      { timeoutMs: 20_000 },
    );
    expect(rsyncDiff(at('docs'), at('backup/docs'))).toEqual([]);
    expect(last('docs').lastError).toBeUndefined();
  }, 40_000);

  it('starts paused pairs paused, and forgets a removed pair', async () => {
    writeTree(at('docs'), { 'a.txt': 'a' });
    writeTree(at('music'), { 'a.mp3': 'a' });
    const { store, service: s } = startService([pairOf('docs', { paused: true }), pairOf('music')]);
    await waitFor(() => idleSince('music', 0), 'music synced');
    expect(s.status().map((p) => [p.name, p.state])).toEqual([
      ['docs', 'paused'],
      ['music', 'idle'],
    ]);
    expect(fs.existsSync(at('backup/docs'))).toBe(false);
    await s.remove('music');
    expect(store.pairs().map((p) => p.name)).toEqual(['docs']);
    fs.writeFileSync(at('music/b.mp3'), 'b');
    await s.settled();
    expect(fs.existsSync(at('backup/music/b.mp3'))).toBe(false);
    await expect(s.pause('music')).rejects.toThrow('No pair is called "music"');
  });

  describe('a first sync after a preview the user agreed to', () => {
    /** A destination holding one file the source lacks; the user agreed to lose exactly that one. */
    function agreedToOne(): void {
      writeTree(at('docs'), { 'a.txt': 'a', 'b.txt': 'b' });
      writeTree(at('backup/docs'), { 'a.txt': 'a', 'old.txt': 'old' });
    }

    it('runs as agreed, and the pair forgets the agreement once its first sync is done', async () => {
      agreedToOne();
      const { store } = startService([pairOf('docs', { agreedFirstSync: { replaced: 1, deleted: 1 } })]);
      await waitFor(() => idleSince('docs', 0), 'the first sync');
      expect(last('docs').held).toBeUndefined();
      expect(rsyncDiff(at('docs'), at('backup/docs'))).toEqual([]);
      expect(store.pairs()[0]!.agreedFirstSync).toBeUndefined();
    });

    it('holds the deletions of a first sync that would take more than agreed, and says why', async () => {
      agreedToOne();
      // Written after the preview: the first sync would now delete two files.
      writeTree(at('backup/docs'), { 'new.txt': 'appeared since the preview' });
      const { store } = startService([pairOf('docs', { agreedFirstSync: { replaced: 1, deleted: 1 } })]);
      await waitFor(() => last('docs').held !== undefined, 'the deletions held');
      expect(last('docs').held).toContain('where you agreed to 1 and 1');
      expect(backedUp('backup/docs').sort()).toEqual(['a.txt', 'b.txt', 'new.txt', 'old.txt']);
      expect(store.pairs()[0]!.agreedFirstSync).toBeUndefined();
      // Approved, the held deletions are made; nothing else holds them any more.
      const s = service!;
      const preview = await s.heldDeletions('docs');
      expect(preview.count).toBe(2);
      await s.applyDeletions('docs', preview.token);
      await waitFor(() => last('docs').held === undefined && last('docs').state === 'idle', 'the deletions applied');
      expect(rsyncDiff(at('docs'), at('backup/docs'))).toEqual([]);
    });
  });

  describe('holding back a mass deletion', () => {
    /** 20 files synced, then 15 deleted from the source: more than half, so the guard holds. */
    async function held(): Promise<Service> {
      const files: Record<string, string> = {};
      for (let i = 0; i < 20; i++) files[`f${String(i).padStart(2, '0')}.txt`] = `file ${i}`;
      writeTree(at('docs'), files);
      const { service: s } = startService([pairOf('docs')]);
      await waitFor(() => idleSince('docs', 0), 'the first sync');
      for (let i = 0; i < 15; i++) fs.rmSync(at(`docs/f${String(i).padStart(2, '0')}.txt`));
      await waitFor(() => last('docs').held !== undefined, 'the deletions held');
      expect(problems('docs').map((p) => p.kind)).toContain('held');
      expect(backedUp('backup/docs')).toHaveLength(20);
      return s;
    }

    it('shows what is held, and applies exactly that on request', async () => {
      const s = await held();
      const preview = await s.heldDeletions('docs');
      expect(preview.count).toBe(15);
      expect(preview.sample).toEqual(Array.from({ length: 10 }, (_, i) => `f${String(i).padStart(2, '0')}.txt`));
      expect(preview.reason).toMatch(/would delete 15 of the 20 files/);

      await s.applyDeletions('docs', preview.token);
      await waitFor(() => last('docs').held === undefined && last('docs').state === 'idle', 'the deletions applied');
      expect(rsyncDiff(at('docs'), at('backup/docs'))).toEqual([]);
      expect(backedUp('backup/docs')).toHaveLength(5);
      // Deletions approved past the guard are set aside as versions all the same.
      const [stamp] = fs.readdirSync(at('backup/docs/.synctray-versions'));
      expect(fs.readdirSync(at(`backup/docs/.synctray-versions/${stamp}/deleted`)).sort()).toEqual(
        preview.sample.concat(['f10.txt', 'f11.txt', 'f12.txt', 'f13.txt', 'f14.txt']),
      );
    });

    it('refuses to apply deletions that changed since they were shown, even as many of them', async () => {
      const s = await held();
      const preview = await s.heldDeletions('docs');
      // One held file comes back and another goes: still 15, but not the 15 shown.
      fs.copyFileSync(at('backup/docs/f00.txt'), at('docs/f00.txt'));
      fs.rmSync(at('docs/f15.txt'));
      await waitFor(() => rsyncDiff(at('docs'), at('backup/docs')).every((l) => !l.includes('f00')), 'the change seen');
      const refused = await s.applyDeletions('docs', preview.token).catch((e: Error) => e.message);
      expect(refused).toContain('have changed since they were shown (now 15 files)');
      await s.settled();
      expect(backedUp('backup/docs')).toHaveLength(20);
      const again = await s.heldDeletions('docs');
      expect(again.count).toBe(15);
      expect(again.token).not.toBe(preview.token);
      await s.applyDeletions('docs', again.token);
      await waitFor(
        () => last('docs').held === undefined && backedUp('backup/docs').length === 5,
        'the new set applied',
      );
      expect(rsyncDiff(at('docs'), at('backup/docs'))).toEqual([]);
    });

    it('stops in the middle of a restore without starting the pair again', async () => {
      const s = await held();
      const restoring = s.restore('docs');
      await s.stop();
      await restoring.catch(() => undefined);
      const n = events.length;
      fs.writeFileSync(at('docs/after-stop.txt'), 'x');
      await s.settled();
      expect(events.slice(n).filter((e) => e.type === 'synced')).toEqual([]);
      expect(fs.existsSync(at('backup/docs/after-stop.txt'))).toBe(false);
      await expect(s.pause('docs')).rejects.toThrow('SyncTray is stopping.');
    });

    it('restores the deleted files into the source from the destination, times kept, and is clear again', async () => {
      const s = await held();
      fs.writeFileSync(at('docs/f19.txt'), 'changed since');
      const backedUp = fs.statSync(at('backup/docs/f00.txt')).mtimeMs;
      const result = await s.restore('docs');
      expect(fs.statSync(at('docs/f00.txt')).mtimeMs).toBe(backedUp);
      expect(result).toEqual({ restored: 15, failed: 0, errors: [] });
      await waitFor(() => last('docs').state === 'idle' && last('docs').held === undefined, 'synced after the restore');
      expect(fs.readdirSync(at('docs'))).toHaveLength(20);
      // What the source had is never overwritten by a restore; the change goes to the backup as usual.
      expect(fs.readFileSync(at('docs/f19.txt'), 'utf8')).toBe('changed since');
      await waitFor(() => rsyncDiff(at('docs'), at('backup/docs')).length === 0, 'the trees equal');
      await expect(s.heldDeletions('docs')).rejects.toThrow('holds no deletions back');
    });
  });
});
