/**
 * The decision whether a pair may write into its destination, as a table: what lies at the path
 * (folder, marker, volume), what the pair remembers, and where else its volume is mounted.
 */
import { describe, expect, it } from 'vitest';
import type { DestinationVolume } from '../../src/config/schema.js';
import {
  judgeDestination,
  lookAtDestination,
  type DestinationProbe,
  type DestinationSight,
} from '../../src/service/destination-check.js';
import type { FolderLook } from '../../src/storage/local/pair-marker-file.js';
import type { VolumeInfo } from '../../src/storage/local/volume.js';
import { posixOnly } from '../helpers/requirements.js';

const ID = 'pair0001';
const DEST = '/media/ann/BACKUP/photos';
const drive: DestinationVolume = { uuid: 'FBDD-A33E', label: 'BACKUP', kind: 'exfat', pathInVolume: '/photos' };
const onDrive: VolumeInfo = {
  mountId: 44,
  mountPoint: '/media/ann/BACKUP',
  device: '/dev/sdb1',
  fsType: 'fuseblk',
  uuid: 'FBDD-A33E',
  label: 'BACKUP',
  kind: 'exfat',
  pathInVolume: '/photos',
};
const systemDisk: VolumeInfo = {
  mountId: 26,
  mountPoint: '/',
  device: '/dev/vda',
  fsType: 'ext4',
  uuid: '0d1c-root',
  pathInVolume: DEST,
};
const noNames: VolumeInfo = {
  mountId: 30,
  mountPoint: '/mnt/share',
  device: 'server:/share',
  fsType: 'nfs4',
  pathInVolume: '/photos',
};

const ours: FolderLook = {
  exists: true,
  empty: false,
  marker: { state: 'found', marker: { pairId: ID, pairName: 'Photos' } },
};
const unmarked: FolderLook = { exists: true, empty: false, marker: { state: 'missing' } };
const emptyUnmarked: FolderLook = { exists: true, empty: true, marker: { state: 'missing' } };
const damaged: FolderLook = { exists: true, empty: false, marker: { state: 'found' } };
const another: FolderLook = {
  exists: true,
  empty: false,
  marker: { state: 'found', marker: { pairId: 'pair0002', pairName: 'Music' } },
};
const missing: FolderLook = { exists: false, empty: true, marker: { state: 'missing' } };
const broken: FolderLook = { exists: true, empty: false, marker: { state: 'unreadable', code: 'ENOTCONN' } };

function sight(here: FolderLook, volume?: VolumeInfo, elsewhere: DestinationSight['elsewhere'] = []): DestinationSight {
  return { here: volume ? { ...here, volume } : here, elsewhere };
}
const judge = (remembered: DestinationVolume | undefined, s: DestinationSight) =>
  judgeDestination(
    { id: ID, name: 'Photos', destination: DEST, ...(remembered ? { destinationVolume: remembered } : {}) },
    s,
  );

describe('whether a pair may write into its destination', () => {
  const table: [string, DestinationVolume | undefined, DestinationSight, Record<string, unknown>][] = [
    ['its drive, with its marker', drive, sight(ours, onDrive), { kind: 'ready', adopt: false }],
    [
      'the drive unplugged: an empty mount point folder on the system disk',
      drive,
      sight(emptyUnmarked, systemDisk),
      { kind: 'wait', why: 'not-connected', confirmable: false },
    ],
    [
      'the drive unplugged, the mount point folder gone too',
      drive,
      sight(missing, systemDisk),
      { kind: 'wait', why: 'not-connected', confirmable: false },
    ],
    [
      'the drive unplugged, the system disk without a name (a container)',
      drive,
      sight(emptyUnmarked, { ...systemDisk, uuid: undefined }),
      { kind: 'wait', why: 'not-connected', confirmable: false },
    ],
    [
      'its marker on a volume without a name',
      drive,
      sight(ours, { ...systemDisk, uuid: undefined }),
      { kind: 'wait', why: 'other-drive', confirmable: true },
    ],
    [
      'another drive at the same place, without a marker',
      drive,
      sight(unmarked, { ...onDrive, uuid: 'OTHER', label: 'STICK' }),
      { kind: 'wait', why: 'not-connected' },
    ],
    [
      'its drive without the marker',
      drive,
      sight(unmarked, onDrive),
      { kind: 'wait', why: 'marker-missing', confirmable: true },
    ],
    [
      'its drive, its folder emptied and unmarked',
      drive,
      sight(emptyUnmarked, onDrive),
      { kind: 'wait', why: 'marker-missing', confirmable: true },
    ],
    [
      'its drive with a damaged marker',
      drive,
      sight(damaged, onDrive),
      { kind: 'wait', why: 'marker-missing', confirmable: true },
    ],
    [
      "its drive with another pair's marker",
      drive,
      sight(another, onDrive),
      { kind: 'wait', why: 'other-pair', confirmable: true },
    ],
    [
      'its drive, the folder gone from it',
      drive,
      sight(missing, onDrive),
      { kind: 'wait', why: 'gone', confirmable: true },
    ],
    [
      'its marker on another drive (a copy)',
      drive,
      sight(ours, { ...onDrive, uuid: 'NEWDRIVE' }),
      { kind: 'wait', why: 'other-drive', confirmable: true },
    ],
    [
      'a drive that does not answer',
      drive,
      sight(broken, onDrive),
      { kind: 'wait', why: 'unreadable', confirmable: false },
    ],
    [
      'its drive mounted elsewhere, with its marker there',
      drive,
      sight(emptyUnmarked, systemDisk, [
        {
          path: '/media/ann/BACKUP1/photos',
          look: ours,
          volume: { ...onDrive, mountPoint: '/media/ann/BACKUP1', pathInVolume: '/' },
        },
      ]),
      { kind: 'moved', to: '/media/ann/BACKUP1/photos' },
    ],
    [
      'its drive mounted elsewhere, without its marker there',
      drive,
      sight(emptyUnmarked, systemDisk, [{ path: '/media/ann/BACKUP1/photos', look: unmarked, volume: onDrive }]),
      { kind: 'wait', why: 'not-connected' },
    ],
    [
      'added before its folder was made, its drive there',
      { ...drive, unmarked: true },
      sight(missing, onDrive),
      { kind: 'ready', adopt: true },
    ],
    [
      'added before its folder was made, its drive unplugged since',
      { ...drive, unmarked: true },
      sight(missing, systemDisk),
      { kind: 'wait', why: 'not-connected', confirmable: false },
    ],
    [
      'not marked yet (an older config): written, then marked',
      undefined,
      sight(emptyUnmarked, systemDisk),
      { kind: 'ready', adopt: true },
    ],
    ['not marked yet, not made yet', undefined, sight(missing, onDrive), { kind: 'ready', adopt: true }],
    ["not marked yet, another pair's marker", undefined, sight(another, onDrive), { kind: 'wait', why: 'other-pair' }],
    [
      'a volume without names (a share), marked',
      { pathInVolume: '/photos' },
      sight(ours, noNames),
      { kind: 'ready', adopt: false },
    ],
    [
      'a volume without names, unmounted: empty and unmarked',
      { pathInVolume: '/photos' },
      sight(emptyUnmarked, noNames),
      { kind: 'wait', why: 'not-connected', confirmable: false },
    ],
    [
      'a volume without names, not empty, unmarked',
      { pathInVolume: '/photos' },
      sight(unmarked, noNames),
      { kind: 'wait', why: 'marker-missing', confirmable: true },
    ],
    [
      'a volume without names, the folder gone',
      { pathInVolume: '/photos' },
      sight(missing, noNames),
      { kind: 'wait', why: 'not-connected', confirmable: false },
    ],
    ['no volumes to read (not Linux), marked', {}, sight(ours), { kind: 'ready', adopt: false }],
    ['no volumes to read, empty and unmarked', {}, sight(emptyUnmarked), { kind: 'wait', why: 'not-connected' }],
    [
      'marked when blkid could not name the drive, named now',
      { pathInVolume: '/photos' },
      sight(ours, onDrive),
      { kind: 'ready', adopt: true },
    ],
  ];
  it.each(table)('%s', (_what, remembered, s, expected) => {
    expect(judge(remembered, s)).toMatchObject(expected);
  });

  it.skipIf(posixOnly('Linux drive paths (volumes are read on Linux only)'))(
    'names the drive and the way out in its reasons',
    () => {
      const away = judge(drive, sight(emptyUnmarked, systemDisk));
      expect(away.kind === 'wait' && away.reason).toMatch(/^Backup drive BACKUP is not connected: plug it in/);
      const unlabelled = judge({ uuid: 'X', pathInVolume: '/photos' }, sight(emptyUnmarked, systemDisk));
      expect(unlabelled.kind === 'wait' && unlabelled.reason).toMatch(`The drive of ${DEST} is not connected`);
      const lost = judge(drive, sight(unmarked, onDrive));
      expect(lost.kind === 'wait' && lost.reason).toContain("resync the pair ('synctray pair resync Photos'");
      expect(lost.kind === 'wait' && lost.reason).toContain(`${DEST}/.synctray-pair`);
      const taken = judge(drive, sight(another, onDrive));
      expect(taken.kind === 'wait' && taken.reason).toContain('another pair ("Music")');
      const moved = judge(
        drive,
        sight(missing, systemDisk, [
          { path: '/media/ann/BACKUP1/photos', look: ours, volume: { ...onDrive, mountPoint: '/media/ann/BACKUP1' } },
        ]),
      );
      expect(moved.kind === 'moved' && moved.reason).toBe(
        'Backup drive BACKUP is now mounted at /media/ann/BACKUP1: the pair follows it to /media/ann/BACKUP1/photos.',
      );
    },
  );
});

describe('looking at a destination', () => {
  it('looks for other mounts of the volume only when the path no longer leads to it', async () => {
    const looked: string[] = [];
    let finds = 0;
    const probe = (at: VolumeInfo): DestinationProbe => ({
      volumes: {
        at: async () => at,
        find: async () => {
          finds++;
          return [{ ...onDrive, mountPoint: '/media/ann/BACKUP1', pathInVolume: '/' }];
        },
      },
      look: async (dir) => {
        looked.push(dir);
        return dir === DEST ? emptyUnmarked : ours;
      },
      mark: async () => undefined,
    });
    const pair = { id: ID, destination: DEST, destinationVolume: drive };
    await lookAtDestination(probe(onDrive), pair);
    expect(finds).toBe(0);
    const s = await lookAtDestination(probe(systemDisk), pair);
    expect(finds).toBe(1);
    expect(s.elsewhere.map((e) => e.path)).toEqual(['/media/ann/BACKUP1/photos']);
    expect(looked).toContain('/media/ann/BACKUP1/photos');
  });

  it(
    'reads the folder and its volume as one sight: ' + 'a drive unmounted between the two is seen gone, not moved',
    async () => {
      // The drive is mounted while its marker is read, and gone when the volume is asked next.
      const volumes = [onDrive, systemDisk, systemDisk, systemDisk];
      const looks = [ours, emptyUnmarked];
      const probe: DestinationProbe = {
        volumes: { at: async () => volumes.shift() ?? systemDisk, find: async () => [] },
        look: async () => looks.shift() ?? emptyUnmarked,
        mark: async () => undefined,
      };
      const s = await lookAtDestination(probe, { id: ID, destination: DEST, destinationVolume: drive });
      expect(s.here).toMatchObject({ volume: systemDisk, marker: emptyUnmarked.marker });
      const verdict = judgeDestination({ id: ID, name: 'Photos', destination: DEST, destinationVolume: drive }, s);
      expect(verdict).toMatchObject({ kind: 'wait', why: 'not-connected' });
    },
  );
});
