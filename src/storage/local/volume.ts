/**
 * Which volume (mounted file system) a local path lives on, and what that volume is called: its
 * UUID, label and file-system kind. A pair remembers its destination's volume, so that a path
 * that now lies on another file system (the drive unmounted, its mount point folder left behind
 * on the system disk) is told apart from the drive itself (issue 14).
 *
 * Linux only: the mount table is /proc/self/mountinfo and names come from /dev/disk/by-uuid,
 * /dev/disk/by-label (udev; absent in most containers) and else `blkid` (util-linux). On other
 * systems `linuxVolumes()` gives undefined and pairs rely on their marker file alone: macOS
 * (statfs' f_mntonname, `diskutil info`) and Windows (volume GUID paths) are not done.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';

/** One line of /proc/self/mountinfo (see proc(5)). */
export interface MountEntry {
  mountId: number;
  parentId: number;
  /** `major:minor` of the file system's device (st_dev of what lies on it, for most types). */
  majorMinor: string;
  /** The folder of the file system that is mounted (not '/' for a bind mount of a subfolder). */
  root: string;
  mountPoint: string;
  /** `fuseblk` for exfat-fuse and ntfs-3g alike: says nothing about what the drive holds. */
  fsType: string;
  /** The device (`/dev/sdb1`, `/dev/loop0`) or whatever the file system calls its source. */
  source: string;
}

/** What a volume is called, as far as it can be read. */
export interface VolumeIdentity {
  uuid?: string;
  label?: string;
  /** The file system as blkid names it (`exfat`, `ntfs`, `vfat`, `ext4`), whatever the mount type. */
  kind?: string;
}

export interface VolumeInfo extends VolumeIdentity {
  mountId: number;
  mountPoint: string;
  device: string;
  fsType: string;
  /** Where the path lies inside the volume, '/'-separated from the volume's own root ('/' for the root). */
  pathInVolume: string;
}

/** mountinfo writes space, tab, newline and backslash as `\040`, `\011`, `\012`, `\134`. */
export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** The mount table from the text of /proc/self/mountinfo; lines that do not parse are skipped. */
export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    // Optional fields (shared:N, master:N, …) run up to a lone '-'.
    const dash = fields.indexOf('-', 6);
    if (dash < 0 || fields.length < dash + 3) continue;
    const [id, parent, majorMinor, root, mountPoint] = fields;
    if (!/^\d+$/.test(id!) || !/^\d+$/.test(parent!) || !/^\d+:\d+$/.test(majorMinor!)) continue;
    out.push({
      mountId: Number(id),
      parentId: Number(parent),
      majorMinor: majorMinor!,
      root: unescapeMountField(root!),
      mountPoint: unescapeMountField(mountPoint!),
      fsType: unescapeMountField(fields[dash + 1]!),
      source: unescapeMountField(fields[dash + 2]!),
    });
  }
  return out;
}

/** `major:minor` of a Linux st_dev (glibc's gnu_dev_major/minor encoding). */
export function majorMinorOf(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n);
  const minor = (dev & 0xffn) | ((dev >> 12n) & 0xffffff00n);
  return `${major}:${minor}`;
}

function isSameOrBelow(p: string, dir: string): boolean {
  return p === dir || dir === '/' || p.startsWith(`${dir}/`);
}

/**
 * The mount `realPath` lies on: among the mounts whose mount point holds it, the deepest; of
 * those, one whose device is the path's own (`majorMinor`, from its st_dev) when there is one,
 * and the last listed (mounted over the others) otherwise. The device tells an over-mount from
 * the folder under it; the fallback covers file systems whose st_dev is not the mount's (btrfs
 * subvolumes).
 */
export function mountContaining(
  mounts: readonly MountEntry[],
  realPath: string,
  majorMinor?: string,
): MountEntry | undefined {
  const holding = mounts.filter((m) => isSameOrBelow(realPath, m.mountPoint));
  const pick = (list: MountEntry[]) => {
    let best: MountEntry | undefined;
    for (const m of list) if (!best || m.mountPoint.length >= best.mountPoint.length) best = m;
    return best;
  };
  return pick(holding.filter((m) => m.majorMinor === majorMinor)) ?? pick(holding);
}

/** Where `realPath` lies inside the volume mounted by `mount` (mount.root counts for bind mounts). */
export function pathInVolume(mount: MountEntry, realPath: string): string {
  const rest = path.posix.relative(mount.mountPoint, realPath);
  return path.posix.join(mount.root, rest);
}

/** The inverse: the path at which `inVolume` is reached through `mount`, or undefined if the mount does not show it. */
export function placeInMount(mount: MountEntry, inVolume: string): string | undefined {
  if (!isSameOrBelow(inVolume, mount.root)) return undefined;
  return path.posix.join(mount.mountPoint, path.posix.relative(mount.root, inVolume));
}

/** `blkid -o export` output: KEY=value lines, with backslash escapes in values. */
export function parseBlkidExport(text: string): VolumeIdentity {
  const out: VolumeIdentity = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const value = line.slice(eq + 1).replace(/\\(.)/g, '$1');
    if (value === '') continue;
    const key = line.slice(0, eq);
    if (key === 'UUID') out.uuid = value;
    else if (key === 'LABEL') out.label = value;
    else if (key === 'TYPE') out.kind = value;
  }
  return out;
}

/** udev names links with `\xNN` for bytes it will not put in a file name (a space is `\x20`). */
export function unescapeUdevName(name: string): string {
  if (!name.includes('\\x')) return name;
  const bytes: number[] = [];
  for (let i = 0; i < name.length; ) {
    const m = /^\\x([0-9a-fA-F]{2})/.exec(name.slice(i, i + 4));
    if (m) {
      bytes.push(parseInt(m[1]!, 16));
      i += 4;
    } else {
      const cp = name.codePointAt(i)!;
      bytes.push(...Buffer.from(String.fromCodePoint(cp), 'utf8'));
      i += cp > 0xffff ? 2 : 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** What LinuxVolumes reads, passed in so that tests can hand it a mount table of their own. */
export interface VolumeSystem {
  readMountInfo(): Promise<string>;
  /** st_dev of the path itself (not following a final symlink is not needed: paths are real). */
  dev(p: string): Promise<bigint>;
  realpath(p: string): Promise<string>;
  /** Entries of a folder such as /dev/disk/by-uuid; [] when it does not exist. */
  readdir(dir: string): Promise<string[]>;
  /** `blkid -o export DEVICE`; '' when it cannot say (not installed, not allowed to read the device). */
  blkid(device: string): Promise<string>;
}

export const realVolumeSystem: VolumeSystem = {
  readMountInfo: () => fs.readFile('/proc/self/mountinfo', 'utf8'),
  dev: async (p) => (await fs.stat(p, { bigint: true })).dev,
  realpath: (p) => fs.realpath(p),
  readdir: (dir) => fs.readdir(dir).catch(() => []),
  blkid: (device) =>
    new Promise((resolve) => {
      execFile('blkid', ['-o', 'export', device], { timeout: 5000, encoding: 'utf8' }, (err, stdout) =>
        resolve(err ? '' : stdout),
      );
    }),
};

/**
 * The volumes of this machine as its mount table shows them. Names are read once per mount and
 * kept until the mount table changes (blkid takes a few milliseconds and may spawn a process).
 */
export class LinuxVolumes {
  private table: { text: string; mounts: MountEntry[] } | undefined;
  private readonly names = new Map<string, Promise<VolumeIdentity>>();

  constructor(private readonly system: VolumeSystem = realVolumeSystem) {}

  /** The mount table as it is now. */
  async mounts(): Promise<MountEntry[]> {
    const text = await this.system.readMountInfo();
    if (this.table?.text !== text) {
      this.table = { text, mounts: parseMountInfo(text) };
      this.names.clear();
    }
    return this.table.mounts;
  }

  /**
   * The volume `location` lies on now. A path that does not exist yet lies where its nearest
   * existing ancestor does (its pathInVolume is where it would be). Undefined when the mount
   * table cannot be read.
   */
  async at(location: string): Promise<VolumeInfo | undefined> {
    const missing: string[] = [];
    let existing = path.resolve(location);
    let real: string | undefined;
    let dev: bigint | undefined;
    for (;;) {
      try {
        real = await this.system.realpath(existing);
        dev = await this.system.dev(real);
        break;
      } catch {
        const up = path.dirname(existing);
        if (up === existing) return undefined;
        missing.unshift(path.basename(existing));
        existing = up;
      }
    }
    let mounts: MountEntry[];
    try {
      mounts = await this.mounts();
    } catch {
      return undefined;
    }
    const mount = mountContaining(mounts, real, majorMinorOf(dev));
    if (!mount) return undefined;
    return this.describe(mount, path.posix.join(pathInVolume(mount, real), ...missing));
  }

  /** Every mount of a volume with this identity, each with the path its mount shows as its root. */
  async find(wanted: VolumeIdentity): Promise<VolumeInfo[]> {
    const out: VolumeInfo[] = [];
    for (const m of await this.mounts().catch(() => [] as MountEntry[])) {
      if (!m.source.startsWith('/dev/')) continue;
      const info = await this.describe(m, m.root);
      if (sameVolume(wanted, info) === true) out.push(info);
    }
    return out;
  }

  private async describe(mount: MountEntry, inVolume: string): Promise<VolumeInfo> {
    const id = await this.identity(mount);
    return {
      mountId: mount.mountId,
      mountPoint: mount.mountPoint,
      device: mount.source,
      fsType: mount.fsType,
      ...id,
      pathInVolume: inVolume,
    };
  }

  /** The names of a mount's volume: udev's links where there are some, then blkid for what they lack. */
  identity(mount: MountEntry): Promise<VolumeIdentity> {
    const key = `${mount.mountId} ${mount.majorMinor} ${mount.source}`;
    let found = this.names.get(key);
    if (!found) {
      found = this.readIdentity(mount.source);
      this.names.set(key, found);
    }
    return found;
  }

  private async readIdentity(source: string): Promise<VolumeIdentity> {
    // tmpfs, overlay, network shares: no device to name. The marker file alone tells them apart.
    if (!source.startsWith('/dev/')) return {};
    const device = await this.system.realpath(source).catch(() => source);
    const out: VolumeIdentity = {};
    const linked = async (dir: string) => {
      for (const name of await this.system.readdir(dir)) {
        const target = await this.system.realpath(path.join(dir, name)).catch(() => undefined);
        if (target === device) return unescapeUdevName(name);
      }
      return undefined;
    };
    const uuid = await linked('/dev/disk/by-uuid');
    const label = await linked('/dev/disk/by-label');
    if (uuid) out.uuid = uuid;
    if (label) out.label = label;
    const read = parseBlkidExport(await this.system.blkid(device));
    return { ...read, ...out };
  }
}

/**
 * Whether two identities name one volume: by UUID when both have one, else by label and kind
 * (where both are known). Undefined when neither can be compared: the caller must decide by
 * other means (the marker).
 */
export function sameVolume(a: VolumeIdentity, b: VolumeIdentity): boolean | undefined {
  if (a.uuid !== undefined && b.uuid !== undefined) return a.uuid === b.uuid;
  if (a.label !== undefined && b.label !== undefined) {
    if (a.label !== b.label) return false;
    return a.kind === undefined || b.kind === undefined || a.kind === b.kind;
  }
  return undefined;
}

/** The volumes of this machine, or undefined where SyncTray cannot read them (every system but Linux). */
export function linuxVolumes(): LinuxVolumes | undefined {
  return process.platform === 'linux' ? new LinuxVolumes() : undefined;
}
