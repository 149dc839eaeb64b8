/**
 * A pair's destination drive in the service: marked when added, waited for when the path leads to
 * another file system or the marker is gone, taken back when the drive returns (told with a
 * count), followed to another mount point, and confirmed by a resync where only the user can
 * vouch for it. Real folders and markers; the volumes and the mount table are the test's, so that
 * a drive can be "unplugged" without root (test/service/drive-unplug.e2e.test.ts does it for real).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { app } from '../../src/app.js';
import { PAIR_MARKER } from '../../src/core/pair-marker.js';
import { ConfigStore } from '../../src/config/store.js';
import { readConfig } from '../../src/config/read-config.js';
import type { Pair } from '../../src/config/schema.js';
import type { DestinationProbe } from '../../src/service/destination-check.js';
import { Service, type PairStatus, type ServiceEvent } from '../../src/service/service.js';
import { lookAtFolder, readMarker, writeMarker } from '../../src/storage/local/pair-marker-file.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import type { VolumeInfo } from '../../src/storage/local/volume.js';
import { folderWatcher } from '../../src/watch/folder-watcher.js';
import { rsyncDiff, rsyncSkipReason } from '../helpers/oracle.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { writeTree } from '../helpers/tree-spec.js';
import { waitFor } from '../helpers/wait-for.js';

const noRsync = rsyncSkipReason();
let root: string;
let service: Service | undefined;
let events: ServiceEvent[];
/** Where the test's drive BACKUP is mounted now (undefined: unplugged). */
let mountedAt: string | undefined;
let mountsChanged: (() => void) | undefined;

beforeEach(() => {
  root = makeScratch('synctray-drive-');
  events = [];
  mountedAt = at('media/BACKUP');
  fs.mkdirSync(mountedAt, { recursive: true });
});
afterEach(async () => {
  await service?.stop();
  service = undefined;
  mountsChanged = undefined;
  removeScratch(root);
});

const at = (p: string) => path.join(root, p);
const DRIVE = { uuid: 'FBDD-A33E', label: 'BACKUP', kind: 'exfat' };

/** Volumes as the test has them: below a mount point of BACKUP the drive, anywhere else the system disk. */
const probe: DestinationProbe = {
  volumes: {
    at: async (location) => {
      if (mountedAt && (location === mountedAt || location.startsWith(`${mountedAt}/`))) {
        return {
          mountId: 44,
          mountPoint: mountedAt,
          device: '/dev/sdb1',
          fsType: 'fuseblk',
          ...DRIVE,
          pathInVolume: path.posix.join('/', path.relative(mountedAt, location)),
        };
      }
      return {
        mountId: 1,
        mountPoint: '/',
        device: '/dev/vda',
        fsType: 'ext4',
        uuid: 'SYSTEM',
        pathInVolume: location,
      };
    },
    find: async (identity): Promise<VolumeInfo[]> =>
      mountedAt && identity.uuid === DRIVE.uuid
        ? [{ mountId: 45, mountPoint: mountedAt, device: '/dev/sdb1', fsType: 'fuseblk', ...DRIVE, pathInVolume: '/' }]
        : [],
  },
  look: lookAtFolder,
  mark: writeMarker,
};

function pairOf(name: string, destination: string): Omit<Pair, 'id'> {
  return {
    name,
    source: at(name),
    destination,
    mode: 'mirror',
    checksum: false,
    exclude: [],
    rescanIntervalMs: 0,
    keepVersionsMs: 2_592_000_000,
    paused: false,
    notify: 'all',
  };
}

function startService(): { store: ConfigStore; service: Service } {
  const { store } = ConfigStore.open(at('config'));
  service = new Service(store, {
    openStorage: (l) => new LocalStorage(l),
    openVersions: app.openVersions,
    watchFolder: folderWatcher,
    now: () => performance.now(),
    destinations: probe,
    watchMounts: (onChange) => {
      mountsChanged = onChange;
      return { close: () => (mountsChanged = undefined) };
    },
  });
  service.on('event', (e) => events.push(e));
  service.start();
  return { store, service };
}

const statuses = (name: string) =>
  events.flatMap((e) => (e.type === 'status' && e.status.name === name ? [e.status] : []));
const last = (name: string): PairStatus => statuses(name).at(-1)!;

const idleSince = (name: string, n: number) => statuses(name).length > n && last(name).state === 'idle';

/** Unplugs BACKUP as the kernel does: the drive's files go away and an empty folder stays at the mount point. */
function unplug(): void {
  fs.renameSync(mountedAt!, at('drive-contents'));
  fs.mkdirSync(mountedAt!);
  mountedAt = undefined;
  mountsChanged?.();
}
function replug(where = at('media/BACKUP')): void {
  fs.rmdirSync(where, { recursive: false } as never);
  fs.renameSync(at('drive-contents'), where);
  mountedAt = where;
  mountsChanged?.();
}

describe.skipIf(noRsync)("a pair's backup drive", () => {
  it('is marked when the pair is added, and remembered by its volume', async () => {
    writeTree(at('photos'), { 'a.jpg': 'a' });
    fs.mkdirSync(at('media/BACKUP/photos'));
    const { store, service: s } = startService();
    await s.add(pairOf('photos', at('media/BACKUP/photos')));
    const pair = store.find('photos')!;
    expect(pair.destinationVolume).toEqual({ ...DRIVE, pathInVolume: '/photos' });
    expect(await readMarker(at('media/BACKUP/photos'))).toEqual({
      state: 'found',
      marker: { pairId: pair.id, pairName: 'photos' },
    });
    await waitFor(() => idleSince('photos', 0), 'the first sync');
    expect(rsyncDiff(at('photos'), at('media/BACKUP/photos')).filter((l) => !l.includes(PAIR_MARKER))).toEqual([]);
    // The marker is never synced away (a mirror would delete an item the source lacks).
    expect(fs.existsSync(at(`media/BACKUP/photos/${PAIR_MARKER}`))).toBe(true);
  });

  it('writes nothing while unplugged, says which drive is missing, and syncs by itself when it is back', async () => {
    writeTree(at('photos'), { 'a.jpg': 'a' });
    const { store, service: s } = startService();
    await s.add(pairOf('photos', at('media/BACKUP')));
    await waitFor(() => idleSince('photos', 0), 'the first sync');

    unplug();
    await waitFor(() => last('photos').state === 'waiting-for-destination', 'waiting for the drive');
    expect(last('photos')).toMatchObject({
      reason: expect.stringMatching(/^Backup drive BACKUP is not connected/),
      destinationProblem: 'not-connected',
    });
    // Unplugging a backup drive is nothing to warn about; a marker gone is (below).
    expect(events.filter((e) => e.type === 'problem')).toEqual([]);
    fs.writeFileSync(at('photos/b.jpg'), 'b');
    fs.writeFileSync(at('photos/c.jpg'), 'c');
    // Nothing lands in the empty mount point folder, however long one waits.
    await new Promise((r) => setTimeout(r, 1500));
    expect(fs.readdirSync(at('media/BACKUP'))).toEqual([]);
    expect(last('photos').state).toBe('waiting-for-destination');

    const n = statuses('photos').length;
    replug();
    await waitFor(() => idleSince('photos', n), 'the sync once the drive is back');
    expect(rsyncDiff(at('photos'), at('media/BACKUP')).filter((l) => !l.includes(PAIR_MARKER))).toEqual([]);
    const connected = events.find((e) => e.type === 'synced' && e.connected !== undefined);
    expect(connected).toMatchObject({ connected: 'Backup drive BACKUP connected: 2 files backed up' });
    expect(last('photos').reason).toBeUndefined();
    expect(store.find('photos')!.destination).toBe(at('media/BACKUP'));
  });

  it('follows its drive to another mount point', async () => {
    writeTree(at('photos'), { 'a.jpg': 'a' });
    const { store, service: s } = startService();
    await s.add(pairOf('photos', at('media/BACKUP/photos')));
    await waitFor(() => idleSince('photos', 0), 'the first sync');
    unplug();
    await waitFor(() => last('photos').state === 'waiting-for-destination', 'waiting for the drive');
    fs.writeFileSync(at('photos/b.jpg'), 'b');

    fs.mkdirSync(at('media/BACKUP1'));
    const n = statuses('photos').length;
    replug(at('media/BACKUP1'));
    await waitFor(
      () => idleSince('photos', n) && fs.existsSync(at('media/BACKUP1/photos/b.jpg')),
      'the sync at the new place',
    );
    expect(store.find('photos')!.destination).toBe(at('media/BACKUP1/photos'));
    expect(rsyncDiff(at('photos'), at('media/BACKUP1/photos')).filter((l) => !l.includes(PAIR_MARKER))).toEqual([]);
    expect(events.find((e) => e.type === 'followed')).toMatchObject({
      from: at('media/BACKUP/photos'),
      to: at('media/BACKUP1/photos'),
    });
    expect(fs.readdirSync(at('media/BACKUP'))).toEqual([]);
  });

  it(
    'waits when its marker is gone from its drive, ' + 'and takes a resync as the word that the folder is right',
    async () => {
      writeTree(at('photos'), { 'a.jpg': 'a' });
      const { service: s } = startService();
      await s.add(pairOf('photos', at('media/BACKUP')));
      await waitFor(() => idleSince('photos', 0), 'the first sync');
      fs.rmSync(at(`media/BACKUP/${PAIR_MARKER}`));
      fs.writeFileSync(at('photos/b.jpg'), 'b');
      await waitFor(() => last('photos').state === 'waiting-for-destination', 'waiting');
      expect(last('photos')).toMatchObject({
        destinationProblem: 'marker-missing',
        reason: expect.stringContaining("'synctray pair resync photos'"),
      });
      expect(events.filter((e) => e.type === 'problem').map((e) => e.type === 'problem' && e.kind)).toEqual([
        'destination-missing',
      ]);
      expect(fs.existsSync(at('media/BACKUP/b.jpg'))).toBe(false);

      const n = statuses('photos').length;
      await s.resync('photos');
      await waitFor(
        () => idleSince('photos', n) && fs.existsSync(at('media/BACKUP/b.jpg')),
        'the sync after the resync',
      );
      expect(fs.existsSync(at(`media/BACKUP/${PAIR_MARKER}`))).toBe(true);
    },
  );

  it('will not take a drive that is not connected for the destination, resync or not', async () => {
    writeTree(at('photos'), { 'a.jpg': 'a' });
    const { service: s } = startService();
    await s.add(pairOf('photos', at('media/BACKUP')));
    await waitFor(() => idleSince('photos', 0), 'the first sync');
    unplug();
    await waitFor(() => last('photos').state === 'waiting-for-destination', 'waiting');
    await s.resync('photos');
    await new Promise((r) => setTimeout(r, 1200));
    expect(fs.readdirSync(at('media/BACKUP'))).toEqual([]);
    expect(last('photos').state).toBe('waiting-for-destination');
  });

  it(
    'remembers the drive of a destination still to be made, ' + 'and waits for it rather than make it on another disk',
    async () => {
      writeTree(at('photos'), { 'a.jpg': 'a' });
      const { store: s0 } = ConfigStore.open(at('config'));
      const { markNewPair } = await import('../../src/service/pair-destination.js');
      const added = await markNewPair(probe, s0, s0.add(pairOf('photos', at('media/BACKUP/photos'))));
      expect(added.destinationVolume).toEqual({ ...DRIVE, pathInVolume: '/photos', unmarked: true });
      unplug();
      startService();
      await waitFor(() => last('photos')?.state === 'waiting-for-destination', 'waiting for the drive');
      expect(fs.readdirSync(at('media/BACKUP'))).toEqual([]);
      replug();
      await waitFor(
        () => last('photos').state === 'idle' && fs.existsSync(at('media/BACKUP/photos/a.jpg')),
        'made on the drive once it is back',
      );
      await waitFor(
        () => service!.status()[0]!.state === 'idle' && !readConfig(at('config')).pairs[0]!.destinationVolume?.unmarked,
        'marked after its first sync',
      );
      expect((await readMarker(at('media/BACKUP/photos'))).state).toBe('found');
    },
  );

  it('marks a pair from an older config after its first sync', async () => {
    writeTree(at('photos'), { 'a.jpg': 'a' });
    const { store } = ConfigStore.open(at('config'));
    store.add(pairOf('photos', at('media/BACKUP/photos')));
    const { store: again } = startService();
    await waitFor(
      () => idleSince('photos', 0) && again.find('photos')!.destinationVolume !== undefined,
      'the first sync, and the mark',
    );
    expect(again.find('photos')!.destinationVolume).toEqual({ ...DRIVE, pathInVolume: '/photos' });
    expect((await readMarker(at('media/BACKUP/photos'))).state).toBe('found');
  });
});
