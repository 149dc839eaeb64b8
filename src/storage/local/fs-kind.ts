import fs from 'node:fs';

/** A file system as far as its type tells: a name for people, and whether it runs through FUSE. */
export interface FileSystemKind {
  /** "exFAT", "NTFS", "FAT32", … when known. */
  name?: string;
  fuse: boolean;
  /** statfs(2)'s f_type of the folder; 0 where statfs is missing. */
  magic: number;
}

// statfs(2) magic numbers.
const FUSE_MAGIC = 0x65735546;
const BY_MAGIC: ReadonlyMap<number, string> = new Map([
  [0x4d44, 'FAT32'], // vfat and msdos (FAT12/16 included: the same rules)
  [0x2011bab0, 'exFAT'],
  [0x5346544e, 'NTFS'], // ntfs3, the kernel's own driver
  [0xef53, 'ext4'],
  [0x01021994, 'tmpfs'],
  [0x9123683e, 'btrfs'],
  [0x58465342, 'XFS'],
]);

// blkid's TYPE of a block device behind a FUSE mount.
const BY_BLKID: Readonly<Record<string, string>> = {
  vfat: 'FAT32',
  msdos: 'FAT32',
  exfat: 'exFAT',
  ntfs: 'NTFS',
  ntfs3: 'NTFS',
};

/** A person's name for what blkid says a block device holds (`exfat` → exFAT). */
export function kindOfBlockDevice(type: string): string {
  return BY_BLKID[type] ?? type;
}

/**
 * The kind of file system holding the folder `dir` (one that exists), by its statfs type. Every
 * FUSE drive reports the type `fuseblk`: its name comes from the block device behind the mount
 * (kindOfBlockDevice), which the caller asks when it needs it.
 */
export function fileSystemKind(dir: string): FileSystemKind {
  let magic: number;
  try {
    magic = Number(fs.statfsSync(dir).type);
  } catch {
    return { fuse: false, magic: 0 };
  }
  return magic === FUSE_MAGIC ? { fuse: true, magic } : { name: BY_MAGIC.get(magic), fuse: false, magic };
}

const RAMFS_MAGIC = 0x858458f6;

/** A RAM disk: nothing written there survives a restart, so flushing it would buy nothing. */
export function keepsNothingAfterRestart(kind: FileSystemKind): boolean {
  return kind.name === 'tmpfs' || kind.magic === RAMFS_MAGIC;
}
