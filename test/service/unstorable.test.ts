/**
 * What a pair's destination cannot hold is a standing note: the pair is idle, `status` and the tray
 * say how many items are skipped and why, and it is notified once, not at every step.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { app } from '../../src/app.js';
import { NO_RULES } from '../../src/core/name-encoding.js';
import { ConfigStore } from '../../src/config/store.js';
import { Service, type ServiceEvent } from '../../src/service/service.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { PROBE_TIME_NS } from '../../src/storage/measured.js';
import { folderWatcher } from '../../src/watch/folder-watcher.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { writeTree } from '../helpers/tree-spec.js';
import { onWindows, SYMLINKS } from '../helpers/requirements.js';
import { waitFor } from '../helpers/wait-for.js';

let root: string;
let service: Service | undefined;
let events: ServiceEvent[];
beforeEach(() => {
  root = makeScratch('synctray-unstorable-');
  events = [];
});
afterEach(async () => {
  await service?.stop();
  service = undefined;
  removeScratch(root);
});

const at = (p: string) => path.join(root, p);

/** Destinations measured as an exFAT drive would be: no symlinks, case folded. */
function exfatLike(location: string): LocalStorage {
  return new LocalStorage(location, {
    known: () => undefined,
    measured: async () => ({
      probed: {
        time: { setNs: PROBE_TIME_NS, readNs: PROBE_TIME_NS },
        permissions: false,
        symlinks: false,
        foldsCase: true,
        names: NO_RULES,
        maxName: { length: 255, unit: 'utf16' },
        kind: 'exFAT',
      },
      assumed: false,
    }),
  });
}

it('an unstorable item leaves the pair idle with a note in its status, told once across steps', async ({ skip }) => {
  skip(onWindows, 'needs folders that tell upper from lower case, and symlinks, which Windows does not have');
  writeTree(at('photos'), { 'a.jpg': 'a', 'Case.txt': 'A', 'case.txt': 'b' });
  fs.symlinkSync('a.jpg', at('photos/latest'));
  const { store } = ConfigStore.open(at('config'));
  store.add({
    name: 'photos',
    source: at('photos'),
    destination: at('backup'),
    mode: 'mirror',
    checksum: false,
    exclude: [],
    rescanIntervalMs: 0,
    keepVersionsMs: 2_592_000_000,
    paused: false,
    notify: 'all',
  });
  const openStorage = (location: string) =>
    location === at('backup') ? exfatLike(location) : new LocalStorage(location);
  service = new Service(store, {
    openStorage,
    openVersions: app.openVersions,
    watchFolder: folderWatcher,
    now: () => performance.now(),
  });
  service.on('event', (e) => events.push(e));
  service.start();

  const status = () => service!.status()[0]!;
  const synced = () => events.filter((e) => e.type === 'synced').length;
  const told = () => events.filter((e) => e.type === 'problem' && e.kind === 'unstorable');
  await waitFor(() => status().state === 'idle' && synced() > 0, 'the first sync');
  expect(status().lastError).toBeUndefined();
  expect(status().unstorable).toMatchObject({ count: 3, note: "3 items can't be stored on this drive (exFAT)" });
  expect(status().unstorable!.items).toEqual([
    'Case.txt and case.txt: one name on this drive (exFAT), ' +
      'which does not tell upper from lower case; rename one to back up both',
    'latest: a symlink, and this drive (exFAT) cannot hold symlinks (--links copy copies what it points to instead)',
  ]);
  expect(told()).toHaveLength(1);

  // Another full step: the same note, nothing told again.
  await service.resync('photos');
  await waitFor(() => synced() > 1 && status().state === 'idle', 'the second sync');
  expect(status().unstorable?.count).toBe(3);
  expect(told()).toHaveLength(1);

  // A new one while watching is added to the note and told; one taken away leaves it at the next full step.
  fs.symlinkSync('a.jpg', at('photos/newest'));
  await waitFor(() => status().unstorable?.count === 4, 'the new link in the note');
  expect(told()).toHaveLength(2);
  fs.rmSync(at('photos/latest'));
  fs.rmSync(at('photos/newest'));
  fs.rmSync(at('photos/case.txt'));
  await service.resync('photos');
  await waitFor(() => status().unstorable === undefined && status().state === 'idle', 'the note gone, the pair idle');
  expect(fs.readFileSync(at('backup/Case.txt'), 'utf8')).toBe('A');
});

it('a pair that copies links as what they lead to has nothing to note for them', async ({ skip }) => {
  skip(onWindows, `needs ${SYMLINKS}, which Windows does not have`);
  writeTree(at('photos'), { 'a.jpg': 'a' });
  fs.symlinkSync('a.jpg', at('photos/latest'));
  const { store } = ConfigStore.open(at('config'));
  store.add({
    name: 'photos',
    source: at('photos'),
    destination: at('backup'),
    mode: 'mirror',
    checksum: false,
    exclude: [],
    links: 'copy',
    rescanIntervalMs: 0,
    keepVersionsMs: 2_592_000_000,
    paused: false,
    notify: 'all',
  });
  const openStorage = (location: string) =>
    location === at('backup') ? exfatLike(location) : new LocalStorage(location);
  service = new Service(store, {
    openStorage,
    openVersions: app.openVersions,
    watchFolder: folderWatcher,
    now: () => performance.now(),
  });
  service.on('event', (e) => events.push(e));
  service.start();
  await waitFor(
    () => service!.status()[0]!.state === 'idle' && events.some((e) => e.type === 'synced'),
    'the first sync',
  );
  expect(service.status()[0]!.unstorable).toBeUndefined();
  expect(fs.lstatSync(at('backup/latest')).isFile()).toBe(true);
  expect(fs.readFileSync(at('backup/latest'), 'utf8')).toBe('a');
});
