/**
 * Versions kept by a pair in the service, through the real engine, watcher and config store on
 * temp folders: what a step deletes or overwrites lands in `<destination>/.synctray-versions/
 * <stamp>/deleted|replaced/...` with its bytes and time, the folder is never synced, and versions
 * older than the pair keeps them are removed, oldest first, by the service's wall clock.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { app } from '../../src/app.js';
import type { Pair } from '../../src/config/schema.js';
import { ConfigStore } from '../../src/config/store.js';
import { pairVersions } from '../../src/service/pair-versions.js';
import { Service, type ServiceEvent } from '../../src/service/service.js';
import { runStamp } from '../../src/storage/versions.js';
import { folderWatcher } from '../../src/watch/folder-watcher.js';
import { rsyncDiff, rsyncSkipReason } from '../helpers/oracle.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { writeTree } from '../helpers/tree-spec.js';
import { waitFor } from '../helpers/wait-for.js';
import { HOSTILE_NAMES } from '../storage/conformance-fixtures.js';

const DAY = 86_400_000;
const noRsync = rsyncSkipReason();
let root: string;
let service: Service | undefined;
let events: ServiceEvent[];
/** The service's wall clock (versions' stamps and ages), moved by the tests. */
let wall: number;

beforeEach(() => {
  root = makeScratch('synctray-versions-');
  events = [];
  wall = Date.parse('2026-12-06T05:20:00.000Z');
});
afterEach(async () => {
  await service?.stop();
  service = undefined;
  removeScratch(root);
});

const at = (p: string) => path.join(root, p);
const VERSIONS = 'backup/docs/.synctray-versions';

/** The pair of these tests: docs backed up to backup/docs, keeping versions 30 days. */
function docsPair(change: Partial<Pair> = {}): Omit<Pair, 'id'> {
  return {
    name: 'docs',
    source: at('docs'),
    destination: at('backup/docs'),
    mode: 'mirror',
    checksum: false,
    exclude: [],
    rescanIntervalMs: 0,
    keepVersionsMs: 30 * DAY,
    paused: false,
    notify: 'all',
    ...change,
  };
}

function start(change: Partial<Pair> = {}, pruneEveryMs?: number): Service {
  const { store } = ConfigStore.open(at('config'));
  store.add(docsPair(change));
  service = new Service(store, {
    openStorage: app.openStorage,
    openVersions: app.openVersions,
    watchFolder: folderWatcher,
    now: () => performance.now(),
    wallClock: () => wall,
    ...(pruneEveryMs ? { pruneEveryMs } : {}),
  });
  service.on('event', (e) => events.push(e));
  service.start();
  return service;
}

const steps = () => events.filter((e) => e.type === 'synced').length;
const idle = () => service!.status()[0]!.state === 'idle';
const removedStamps = () => events.flatMap((e) => (e.type === 'versions-removed' ? [e.stamp] : []));
const mtimeNs = (p: string) => fs.lstatSync(at(p), { bigint: true }).mtimeNs;

describe.skipIf(noRsync)("a pair's versions", () => {
  it(
    'keeps what a step deletes and overwrites under <stamp>/deleted and <stamp>/replaced, bytes and time ' +
      'kept, hostile names too, and never syncs the versions folder',
    async () => {
      const names = HOSTILE_NAMES.map((h) => h.name);
      const files: Record<string, string> = { '.synctray-versions/planted.txt': 'not to be copied' };
      for (const [i, name] of names.entries()) {
        files[`del/${name}`] = `deleted ${i}`;
        files[`rep/${name}`] = `old ${i}`;
      }
      // Enough files staying put that the deletions are not a mass deletion the guard holds.
      for (let i = 0; i < 3 * names.length; i++) files[`same/f${i}`] = `same ${i}`;
      writeTree(at('docs'), files);
      start();
      await waitFor(() => steps() === 1 && idle(), 'the first sync');
      expect(fs.existsSync(at('backup/docs/.synctray-versions'))).toBe(false);
      expect(fs.existsSync(at('backup/docs/del'))).toBe(true);
      const before = new Map(
        names.map((n) => [n, { del: mtimeNs(`backup/docs/del/${n}`), rep: mtimeNs(`backup/docs/rep/${n}`) }]),
      );

      fs.rmSync(at('docs/del'), { recursive: true });
      for (const [i, name] of names.entries()) {
        fs.writeFileSync(at(`docs/rep/${name}`), `new ${i}, longer`);
      }
      await waitFor(
        () => !fs.existsSync(at('backup/docs/del')) && idle() && rsyncDiff(at('docs'), at('backup/docs')).length === 0,
        'the deletions and updates synced',
      );
      await service!.settled();

      const stamp = runStamp(new Date(wall));
      expect(fs.readdirSync(at(VERSIONS))).toEqual([stamp]);
      expect(fs.readdirSync(at(`${VERSIONS}/${stamp}`)).sort()).toEqual(['deleted', 'replaced']);
      for (const [i, name] of names.entries()) {
        const deleted = `${VERSIONS}/${stamp}/deleted/del/${name}`;
        const replaced = `${VERSIONS}/${stamp}/replaced/rep/${name}`;
        expect(fs.readFileSync(at(deleted), 'utf8'), name).toBe(`deleted ${i}`);
        expect(fs.readFileSync(at(replaced), 'utf8'), name).toBe(`old ${i}`);
        expect(mtimeNs(deleted), name).toBe(before.get(name)!.del);
        expect(mtimeNs(replaced), name).toBe(before.get(name)!.rep);
        expect(fs.readFileSync(at(`backup/docs/rep/${name}`), 'utf8')).toBe(`new ${i}, longer`);
      }
      // The source's own folder of that name is not copied, and the destination's is not deleted.
      expect(fs.existsSync(at(`${VERSIONS}/planted.txt`))).toBe(false);
      expect(fs.existsSync(at('docs/.synctray-versions/planted.txt'))).toBe(true);
      const n = steps();
      service!.resync('docs');
      await waitFor(() => steps() > n && idle(), 'a full compare');
      const last = events.filter((e) => e.type === 'synced').at(-1)!;
      expect(last).toMatchObject({ copied: 0, clean: true });
      expect(fs.readdirSync(at(VERSIONS))).toEqual([stamp]);
      expect(fs.readdirSync(at(`${VERSIONS}/${stamp}/deleted/del`))).toHaveLength(names.length);
      // What they take, as status and the tray show it.
      const bytes = names.reduce((sum, _, i) => sum + `deleted ${i}`.length + `old ${i}`.length, 0);
      expect(service!.status()[0]!.versions).toEqual({
        files: 2 * names.length,
        bytes,
        oldest: new Date(wall).toISOString(),
        keepMs: 30 * DAY,
      });
    },
  );

  it('removes versions older than the pair keeps them, oldest first, after each step; newer ones stay', async () => {
    const stampAt = (daysAgo: number) => runStamp(new Date(wall - daysAgo * DAY));
    const old = [stampAt(40), stampAt(31)];
    const young = stampAt(29);
    // Written youngest first: removal order must come from the stamps, not from the listing.
    for (const stamp of [young, ...old].reverse())
      writeTree(at(`${VERSIONS}/${stamp}`), { 'deleted/a/gone.txt': stamp, 'replaced/b.txt': stamp });
    writeTree(at(`${VERSIONS}/notes`), { 'keep.txt': 'not a stamp: left alone' });
    writeTree(at('docs'), { 'a.txt': 'a' });
    start();
    await waitFor(() => steps() === 1 && idle(), 'the first sync');
    await service!.settled();
    expect(removedStamps()).toEqual(old);
    expect(fs.readdirSync(at(VERSIONS)).sort()).toEqual([young, 'notes'].sort());
    expect(service!.status()[0]!.versions).toEqual({
      files: 2,
      bytes: 2 * young.length,
      oldest: new Date(wall - 29 * DAY).toISOString(),
      keepMs: 30 * DAY,
    });
    const told = events.find((e) => e.type === 'versions-removed');
    expect(told).toMatchObject({ message: `Versions set aside at ${old[0]} removed: older than 30d.` });

    // Two days on, the next step finds the young one past 30 days too.
    wall += 2 * DAY;
    fs.writeFileSync(at('docs/b.txt'), 'b');
    await waitFor(() => fs.existsSync(at('backup/docs/b.txt')) && idle(), 'the next step');
    await service!.settled();
    expect(removedStamps()).toEqual([...old, young]);
    expect(fs.readdirSync(at(VERSIONS))).toEqual(['notes']);
    // Measured again after the removal, though the step set nothing aside.
    expect(service!.status()[0]!.versions).toEqual({ files: 0, bytes: 0, keepMs: 30 * DAY });
  });

  it('removes them on its timer too, while nothing changes and no step runs', async () => {
    writeTree(at('docs'), { 'a.txt': 'a' });
    start({ keepVersionsMs: DAY }, 50);
    await waitFor(idle, 'the first sync');
    const synced = steps();
    // Set aside by an earlier run, a day and a minute before now: due for removal.
    writeTree(at(`${VERSIONS}/${runStamp(new Date(wall - DAY - 60_000))}/deleted`), { 'old.txt': 'old' });
    await waitFor(() => removedStamps().length === 1, 'the old run removed');
    expect(fs.readdirSync(at(VERSIONS))).toEqual([]);
    expect(steps()).toBe(synced);
  });

  it('keeps versions forever with keep-versions 0, and none at all with versions off', async () => {
    writeTree(at(`${VERSIONS}/${runStamp(new Date(wall - 400 * DAY))}`), { 'deleted/x': 'x' });
    writeTree(at('docs'), { 'a.txt': 'a', 'b.txt': 'b', 'c.txt': 'c' });
    writeTree(at('backup/docs'), { 'extra.txt': 'extra' });
    start({ versions: false, keepVersionsMs: 0 });
    await waitFor(() => steps() === 1 && idle(), 'the first sync');
    await service!.settled();
    expect(fs.existsSync(at('backup/docs/extra.txt'))).toBe(false);
    // Nothing kept (no versions), and the old folder left as it was (no pruning either).
    expect(fs.readdirSync(at(VERSIONS))).toEqual([runStamp(new Date(wall - 400 * DAY))]);
    expect(removedStamps()).toEqual([]);
    expect(service!.status()[0]!.versions).toBeUndefined();
  });
});

describe('making room on a full destination', () => {
  const pairOf = (keepVersionsMs: number): Pair => ({ id: 'p1', ...docsPair({ keepVersionsMs }) });

  it('takes the oldest run older than a day, one a call, and none from a pair keeping them for ever', async () => {
    const old = [runStamp(new Date(wall - 5 * DAY)), runStamp(new Date(wall - 2 * DAY))];
    const young = runStamp(new Date(wall - 3_600_000));
    for (const stamp of [...old, young]) writeTree(at(`${VERSIONS}/${stamp}/deleted`), { 'x.txt': stamp });
    const dst = app.openStorage(at('backup/docs'));
    const deps = { openStorage: app.openStorage, openVersions: app.openVersions };
    const forever = pairVersions(pairOf(0), dst, deps)!;
    expect(await forever.makeRoom(wall, () => undefined)).toBe(false);
    expect(fs.readdirSync(at(VERSIONS)).sort()).toEqual([...old, young].sort());
    const kept = pairVersions(pairOf(30 * DAY), dst, deps)!;
    const told: string[] = [];
    expect(await kept.makeRoom(wall, (s) => told.push(s))).toBe(true);
    expect(await kept.makeRoom(wall, (s) => told.push(s))).toBe(true);
    expect(await kept.makeRoom(wall, (s) => told.push(s))).toBe(false);
    expect(told).toEqual(old);
    expect(fs.readdirSync(at(VERSIONS))).toEqual([young]);
  });
});
