/**
 * Which volume a path lives on: the mountinfo parser, the choice of a path's mount, and the
 * volume's names, from a mount table and device links handed in by the test.
 */
import { describe, expect, it } from 'vitest';
import {
  LinuxVolumes,
  majorMinorOf,
  mountContaining,
  parseBlkidExport,
  parseMountInfo,
  pathInVolume,
  placeInMount,
  sameVolume,
  unescapeUdevName,
  type VolumeSystem,
} from '../../src/storage/local/volume.js';
import { posixOnly } from '../helpers/requirements.js';

const TABLE = [
  '26 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard',
  '24 23 0:22 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24683748k',
  // mounted over the first /dev/shm
  '29 24 0:26 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24683748k',
  '44 26 7:0 / /media/ann/BACKUP rw,nosuid,nodev,relatime shared:310 master:1 ' +
    '- fuseblk /dev/loop0 rw,user_id=0,group_id=0,default_permissions,allow_other,blksize=4096',
  '45 26 7:1 / /media/ann/My\\040Drive rw,relatime ' +
    '- fuseblk /dev/loop1 rw,user_id=0,group_id=0,allow_other,blksize=4096',
  // the Backups folder of the first drive, bound at another place
  '46 26 7:0 /Backups /srv/backups rw,relatime - fuseblk /dev/loop0 rw',
  '',
  'garbage that is not a mount line',
].join('\n');

describe('the mount table', () => {
  const mounts = parseMountInfo(TABLE);

  it('parses every line, optional fields and escapes included', () => {
    expect(mounts).toHaveLength(6);
    expect(mounts[3]).toEqual({
      mountId: 44,
      parentId: 26,
      majorMinor: '7:0',
      root: '/',
      mountPoint: '/media/ann/BACKUP',
      fsType: 'fuseblk',
      source: '/dev/loop0',
    });
    expect(mounts[4]!.mountPoint).toBe('/media/ann/My Drive');
    expect(mounts[5]).toMatchObject({ root: '/Backups', mountPoint: '/srv/backups' });
    const tricky = parseMountInfo('50 26 8:1 / /mnt/a\\011b\\012c\\134d rw - ext4 /dev/sd\\040b rw');
    expect(tricky[0]).toMatchObject({ mountPoint: '/mnt/a\tb\nc\\d', source: '/dev/sd b' });
  });

  it('finds the mount of a path by its device, the deepest one, the one mounted last', () => {
    expect(mountContaining(mounts, '/media/ann/BACKUP/photos', '7:0')?.mountId).toBe(44);
    // The drive unmounted: its mount point folder is on the root file system.
    expect(
      mountContaining(
        mounts.filter((m) => m.mountId !== 44),
        '/media/ann/BACKUP/photos',
        '254:0',
      )?.mountId,
    ).toBe(26);
    // Same device as the root's would be, though the path is under the drive's mount point: a folder hidden under it.
    expect(mountContaining(mounts, '/media/ann/BACKUP', '254:0')?.mountId).toBe(26);
    expect(mountContaining(mounts, '/dev/shm/x', '0:26')?.mountId).toBe(29);
    expect(mountContaining(mounts, '/dev/shm/x', '0:22')?.mountId).toBe(24);
    // No mount with the path's device (btrfs subvolumes): the deepest, last mounted.
    expect(mountContaining(mounts, '/dev/shm/x', '0:99')?.mountId).toBe(29);
    expect(mountContaining(mounts, '/media/ann/BACKUPS', '254:0')?.mountId).toBe(26);
    expect(mountContaining(mounts, '/', '254:0')?.mountId).toBe(26);
  });

  it('says where a path lies inside its volume, bind mounts included, and back', () => {
    const drive = mounts[3]!;
    const bound = mounts[5]!;
    expect(pathInVolume(drive, '/media/ann/BACKUP')).toBe('/');
    expect(pathInVolume(drive, '/media/ann/BACKUP/Backups/photos')).toBe('/Backups/photos');
    expect(pathInVolume(bound, '/srv/backups/photos')).toBe('/Backups/photos');
    expect(placeInMount(bound, '/Backups/photos')).toBe('/srv/backups/photos');
    expect(placeInMount(drive, '/Backups/photos')).toBe('/media/ann/BACKUP/Backups/photos');
    expect(placeInMount(bound, '/Other')).toBeUndefined();
  });

  it('reads major:minor out of a Linux st_dev', () => {
    expect(majorMinorOf(1794n)).toBe('7:2');
    expect(majorMinorOf((254n << 8n) | 0n)).toBe('254:0');
    // Large numbers use the high bits: major 259, minor 300 (NVMe partitions).
    const dev = ((259n & 0xfffn) << 8n) | ((259n & ~0xfffn) << 32n) | (300n & 0xffn) | ((300n & ~0xffn) << 12n);
    expect(majorMinorOf(dev)).toBe('259:300');
  });
});

describe('volume names', () => {
  it('reads blkid -o export, escapes included', () => {
    expect(
      parseBlkidExport(
        'DEVNAME=/dev/loop4\nLABEL=My\\ Drive\nUUID=6BB6-946C\nBLOCK_SIZE=512\nTYPE=exfat\nPTTYPE=dos\n',
      ),
    ).toEqual({
      label: 'My Drive',
      uuid: '6BB6-946C',
      kind: 'exfat',
    });
    expect(parseBlkidExport('')).toEqual({});
  });

  it("reads udev's link names", () => {
    expect(unescapeUdevName('My\\x20Drive')).toBe('My Drive');
    expect(unescapeUdevName('Fotos\\x2fAlt')).toBe('Fotos/Alt');
    expect(unescapeUdevName('Sauvegarde\\xc3\\xa9')).toBe('Sauvegardeé');
    expect(unescapeUdevName('BACKUP')).toBe('BACKUP');
  });

  it('tells one volume from another by UUID, else by label and kind, else not at all', () => {
    expect(sameVolume({ uuid: 'A' }, { uuid: 'A', label: 'X' })).toBe(true);
    expect(sameVolume({ uuid: 'A', label: 'X' }, { uuid: 'B', label: 'X' })).toBe(false);
    expect(sameVolume({ label: 'X', kind: 'exfat' }, { label: 'X', kind: 'exfat' })).toBe(true);
    expect(sameVolume({ label: 'X', kind: 'exfat' }, { label: 'X', kind: 'ntfs' })).toBe(false);
    expect(sameVolume({ label: 'X' }, { label: 'Y' })).toBe(false);
    expect(sameVolume({ label: 'X' }, { uuid: 'A' })).toBeUndefined();
    expect(sameVolume({}, {})).toBeUndefined();
  });
});

/** A machine of the test's making: a mount table, folders with their devices, links and blkid answers. */
function system(over: {
  table?: string;
  folders: Record<string, bigint>;
  links?: Record<string, string[]>;
  blkid?: Record<string, string>;
}) {
  let blkidCalls = 0;
  const sys: VolumeSystem = {
    readMountInfo: async () => over.table ?? TABLE,
    realpath: async (p) => {
      if (p.startsWith('/dev/disk/')) {
        const name = p.split('/').pop()!;
        const target = Object.entries(over.links ?? {}).find(([, names]) => names.includes(name))?.[0];
        if (!target) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
        return target;
      }
      if (p.startsWith('/dev/')) return p;
      if (!(p in over.folders)) throw Object.assign(new Error(`ENOENT ${p}`), { code: 'ENOENT' });
      return p;
    },
    dev: async (p) => over.folders[p]!,
    readdir: async (dir) =>
      Object.values(over.links ?? {}).flatMap((names) =>
        names.filter((n) => (dir.endsWith('by-uuid') ? n.includes('-') : !n.includes('-'))),
      ),
    blkid: async (device) => {
      blkidCalls++;
      return over.blkid?.[device] ?? '';
    },
  };
  return { sys, blkidCalls: () => blkidCalls };
}

describe('LinuxVolumes', () => {
  it.skipIf(posixOnly('the mount table and udev of Linux (volumes are read on Linux only)'))(
    'names the volume of a path, one that does not exist yet included, by links and blkid',
    async () => {
      const { sys, blkidCalls } = system({
        folders: { '/': 0xfe00n, '/media/ann/BACKUP': 1792n, '/media/ann/BACKUP/photos': 1792n },
        links: { '/dev/loop0': ['FBDD-A33E', 'BACKUP'] },
        blkid: { '/dev/loop0': 'UUID=FBDD-A33E\nLABEL=BACKUP\nTYPE=exfat\n' },
      });
      const volumes = new LinuxVolumes(sys);
      const info = await volumes.at('/media/ann/BACKUP/photos/2024');
      expect(info).toEqual({
        mountId: 44,
        mountPoint: '/media/ann/BACKUP',
        device: '/dev/loop0',
        fsType: 'fuseblk',
        uuid: 'FBDD-A33E',
        label: 'BACKUP',
        kind: 'exfat',
        pathInVolume: '/photos/2024',
      });
      await volumes.at('/media/ann/BACKUP');
      expect(blkidCalls()).toBe(1); // names are kept while the mount table stays the same
      expect((await volumes.at('/home/ann'))?.mountPoint).toBe('/');
    },
  );

  it.skipIf(posixOnly('the mount table and udev of Linux (volumes are read on Linux only)'))(
    'takes what blkid says where there are no udev links (containers), ' + 'and finds every mount of a volume',
    async () => {
      const { sys } = system({
        folders: { '/': 0xfe00n, '/srv/backups': 1792n },
        blkid: {
          '/dev/loop0': 'UUID=FBDD-A33E\nLABEL=BACKUP\nTYPE=exfat\n',
          '/dev/loop1': 'UUID=1111-2222\nTYPE=ntfs\n',
        },
      });
      const volumes = new LinuxVolumes(sys);
      expect(await volumes.at('/srv/backups/photos')).toMatchObject({
        mountId: 46,
        uuid: 'FBDD-A33E',
        label: 'BACKUP',
        pathInVolume: '/Backups/photos',
      });
      const found = await volumes.find({ uuid: 'FBDD-A33E' });
      expect(found.map((v) => [v.mountPoint, v.pathInVolume])).toEqual([
        ['/media/ann/BACKUP', '/'],
        ['/srv/backups', '/Backups'],
      ]);
      expect(await volumes.find({ label: 'NOPE' })).toEqual([]);
    },
  );

  it.skipIf(posixOnly('the mount table of Linux (volumes are read on Linux only)'))(
    'gives no names to volumes without a device, and reads the table again when it changes',
    async () => {
      let table = TABLE;
      const { sys, blkidCalls } = system({
        folders: { '/': 0xfe00n, '/dev/shm': 26n, '/media/ann/BACKUP': 1792n },
        blkid: { '/dev/loop0': 'UUID=A-1\n' },
      });
      sys.readMountInfo = async () => table;
      const volumes = new LinuxVolumes(sys);
      expect(await volumes.at('/dev/shm')).toMatchObject({ fsType: 'tmpfs', pathInVolume: '/' });
      expect((await volumes.at('/dev/shm'))!.uuid).toBeUndefined();
      expect((await volumes.at('/media/ann/BACKUP'))!.uuid).toBe('A-1');
      table = TABLE.replace('44 26 7:0', '47 26 7:0');
      expect(await volumes.at('/media/ann/BACKUP')).toMatchObject({ mountId: 47, uuid: 'A-1' });
      expect(blkidCalls()).toBe(2);
    },
  );
});
