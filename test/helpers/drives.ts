/**
 * Real file systems on loop devices, for tests of backup drives (issue 14): an image made with
 * `truncate`, attached with `losetup`, formatted, and mounted through FUSE (exfat-fuse, ntfs-3g)
 * or the kernel (vfat, exfat, and ext4 for the power-cut test). An existing image (a copy of a
 * drive's image, as a power cut leaves it) can be attached and mounted too. Needs root, as CI has.
 *
 * Every loop device, mount and folder made here is tracked in a registry under its own id, and is
 * undone by `Drive.dispose`, by `disposeAllDrives` (call it from afterEach or afterAll), or as a
 * last resort when the process exits or is signalled, so a failing test leaks nothing. Nothing made
 * elsewhere is touched: a mount is only undone while the mount table still shows our device at our
 * mount point, a loop device only while it is still backed by our image.
 *
 * Commands are run with blocking calls, each bounded by a timeout, so that a hung FUSE daemon fails
 * the test rather than hanging CI, and so that the same code can run from an 'exit' handler. The
 * Drive methods return promises all the same, so that callers need not change if that ever does.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseMountInfo } from '../../src/storage/local/volume.js';
import { isRoot } from './privilege.js';
import { hasTool, skipReasonOutsideCi } from './requirements.js';
import { makeScratch } from './scratch.js';

export type DriveKind = 'exfat' | 'ntfs' | 'vfat' | 'exfat-kernel';
/**
 * Every kind a loop device can be made of: the backup drives' kinds above, and Linux disks: kernel
 * ext4, with mount options such as `commit=60` (test/reliability/power-cut.e2e.test.ts), and btrfs
 * and XFS, which share blocks between copies (reflinks; btrfs needs 114 MiB, XFS 300 MiB).
 */
export type DiskKind = DriveKind | 'ext4' | 'btrfs' | 'xfs';

export interface DriveOptions {
  /** The volume label; default BACKUP. FAT and exFAT take at most 11 characters. */
  label?: string;
  /** The image size; default 64. The image is sparse, so only what is written takes room. */
  sizeMiB?: number;
  /** Where to mount; default a fresh folder. Created when missing. */
  mountPoint?: string;
  /** How long an unmount may wait for the FUSE daemon before it counts as hung and is killed; default 20 s. */
  hungAfterMs?: number;
  /** Mount options (`-o`), e.g. ntfs-3g's `windows_names`, as desktops mount NTFS. */
  mountOptions?: string[];
  /** Added to the mkfs command before the device, e.g. `['-O', '^fast_commit']` for ext4. */
  mkfsOptions?: string[];
}

export interface AttachOptions {
  /** Attach the image read-only (`losetup -r`) and mount it read-only; default false. */
  readOnly?: boolean;
  /** Where to mount; default a fresh folder. Created when missing. */
  mountPoint?: string;
  /** Mount options (`-o`), added after `ro` when read-only. */
  mountOptions?: string[];
  /** As for makeDrive; default 20 s. */
  hungAfterMs?: number;
}

export interface Drive {
  readonly kind: DiskKind;
  readonly image: string;
  /** The loop device, e.g. /dev/loop3. */
  readonly device: string;
  /** Where the drive is mounted, or was last mounted while unplugged. */
  readonly mountPoint: string;
  readonly mounted: boolean;
  /** As `blkid` reads them from the device. */
  readonly label: string;
  readonly uuid: string;
  /**
   * Unmounts, and waits until the FUSE daemon has let go of the device; the mount-point folder
   * stays, empty. Fails if something has files open on the drive, or, after a test's own
   * `umount -l`, if the daemon is still serving open files after `hungAfterMs` (it is then killed):
   * close what this process holds there first.
   */
  unplug(): Promise<void>;
  /** Mounts again at `at` (created when missing), or where it was last mounted. */
  replug(at?: string): Promise<void>;
  /**
   * Unmounts if mounted, detaches the loop device, and removes the folders made for it and the image
   * makeDrive made (an image given to attachImage stays).
   */
  dispose(): Promise<void>;
}

interface KindSetup {
  /** How the kind is named in messages. */
  what: string;
  mkfs: (label: string) => [string, string[]];
  /** The FUSE mount helper; undefined for kernel mounts. */
  fuseMount?: string;
  /** The kernel file system name; undefined for FUSE mounts. */
  kernelFs?: string;
}

const KINDS: Record<DiskKind, KindSetup> = {
  exfat: { what: 'exFAT (exfat-fuse)', mkfs: (label) => ['mkfs.exfat', ['-n', label]], fuseMount: 'mount.exfat-fuse' },
  ntfs: { what: 'NTFS (ntfs-3g)', mkfs: (label) => ['mkntfs', ['-q', '-F', '-f', '-L', label]], fuseMount: 'ntfs-3g' },
  vfat: { what: 'FAT32 (kernel vfat)', mkfs: (label) => ['mkfs.vfat', ['-F', '32', '-n', label]], kernelFs: 'vfat' },
  'exfat-kernel': { what: 'exFAT (kernel exfat)', mkfs: (label) => ['mkfs.exfat', ['-n', label]], kernelFs: 'exfat' },
  ext4: { what: 'ext4 (kernel ext4)', mkfs: (label) => ['mkfs.ext4', ['-q', '-L', label]], kernelFs: 'ext4' },
  btrfs: { what: 'btrfs (kernel btrfs)', mkfs: (label) => ['mkfs.btrfs', ['-q', '-L', label]], kernelFs: 'btrfs' },
  xfs: {
    what: 'XFS (kernel xfs)',
    mkfs: (label) => ['mkfs.xfs', ['-q', '-m', 'reflink=1', '-L', label]],
    kernelFs: 'xfs',
  },
};

const COMMAND_TIMEOUT_MS = 20_000;
/** How long a loop device may take to detach once nothing holds it. */
const RELEASE_TIMEOUT_MS = 10_000;

// ---------------------------------------------------------------------------------------------
// Can it run here?

interface Unavailability {
  reason: string;
  /** False when no package can fix it: the kernel lacks the file system. */
  installable: boolean;
}

const unavailabilityByKind = new Map<DiskKind, Unavailability | undefined>();

function unavailability(kind: DiskKind): Unavailability | undefined {
  if (unavailabilityByKind.has(kind)) return unavailabilityByKind.get(kind);
  const setup = KINDS[kind];
  const missing = (reason: string): Unavailability => ({ reason, installable: true });
  const found = ((): Unavailability | undefined => {
    if (process.platform !== 'linux') return missing('loop devices need Linux');
    if (!isRoot) return missing('making loop devices and mounting them needs root');
    const tools = [
      'truncate',
      'losetup',
      'blkid',
      setup.mkfs('')[0],
      'umount',
      ...(setup.fuseMount ? [setup.fuseMount, 'fusermount', 'bash'] : ['mount']),
    ];
    const absent = tools.filter((t) => !hasTool(t));
    if (absent.length > 0) {
      const packages = new Set(absent.map((t) => PACKAGE_OF[t] ?? t));
      return missing(`${absent.join(', ')} not found (install ${[...packages].join(' ')})`);
    }
    if (setup.fuseMount && !fs.existsSync('/dev/fuse')) return missing('/dev/fuse is missing (no FUSE here)');
    const kernelLack = setup.kernelFs && kernelLacks(setup.kernelFs);
    if (kernelLack)
      return {
        reason: `${kernelLack}: ${setup.what} is not tested on a real drive on this machine`,
        installable: false,
      };
    return undefined;
  })();
  unavailabilityByKind.set(kind, found);
  return found;
}

/** The Debian package that brings each tool. */
const PACKAGE_OF: Record<string, string> = {
  truncate: 'coreutils',
  losetup: 'mount',
  mount: 'mount',
  umount: 'mount',
  blkid: 'util-linux',
  'mkfs.exfat': 'exfatprogs',
  'mount.exfat-fuse': 'exfat-fuse',
  mkntfs: 'ntfs-3g',
  'ntfs-3g': 'ntfs-3g',
  'mkfs.vfat': 'dosfstools',
  'mkfs.ext4': 'e2fsprogs',
  'mkfs.btrfs': 'btrfs-progs',
  'mkfs.xfs': 'xfsprogs',
  fusermount: 'fuse3',
};

/** Why the kernel cannot mount `fsName` here, or undefined when it can (after loading its module if need be). */
function kernelLacks(fsName: string): string | undefined {
  const listed = () =>
    fs
      .readFileSync('/proc/filesystems', 'utf8')
      .split('\n')
      .some((l) => l.split('\t')[1] === fsName);
  if (listed()) return undefined;
  const notListed = `kernel ${fsName} is not available here (not in /proc/filesystems`;
  if (!hasTool('modprobe')) return `${notListed}, and no modprobe to load it)`;
  spawnSync('modprobe', ['-q', fsName], { stdio: 'ignore', timeout: COMMAND_TIMEOUT_MS });
  return listed() ? undefined : `${notListed}, and modprobe ${fsName} did not add it)`;
}

/**
 * Why a drive of `kind` cannot be made here (not root, a tool or FUSE missing, the kernel lacks
 * the file system), or undefined.
 */
export function drivesUnavailable(kind: DiskKind): string | undefined {
  return unavailability(kind)?.reason;
}

/**
 * Why tests of `kind` skip (printed), or undefined when they run. As in requirements.ts, under
 * CI=true a missing tool fails the test instead of skipping it; a kernel without vfat or exfat is
 * not something CI can install, so that skips everywhere, saying so.
 */
export function driveSkipReason(kind: DiskKind): string | undefined {
  const missing = unavailability(kind);
  if (missing && !missing.installable) {
    console.warn(missing.reason);
    return missing.reason;
  }
  return skipReasonOutsideCi(missing === undefined, `skipping ${KINDS[kind].what} drive tests: ${missing?.reason}`);
}

// ---------------------------------------------------------------------------------------------
// Commands and the system's tables

/** Runs a command to its end, its output kept out of the test's (mkntfs is noisy), and returns its stdout. */
function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: COMMAND_TIMEOUT_MS,
    killSignal: 'SIGKILL',
  });
  const command = [cmd, ...args].join(' ');
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') {
    throw new Error(`\`${command}\` did not finish within ${COMMAND_TIMEOUT_MS / 1000} s (a hung FUSE daemon?)`);
  }
  if (r.error) throw new Error(`\`${command}\` could not run: ${r.error.message}`);
  if (r.status !== 0)
    throw new Error(`\`${command}\` failed (exit status ${r.status ?? r.signal}): ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Waits, blocking, until `done` holds; false if it still does not after `timeoutMs`. */
function waitUntil(done: () => boolean, timeoutMs: number): boolean {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) return false;
    Atomics.wait(pause, 0, 0, 10);
  }
  return true;
}

/** The mount table as SyncTray itself reads it. */
const mountTable = () => parseMountInfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'));

/**
 * Whether the loop device (`/dev/loopN`, numbered `devNumber`) is mounted at `mountPoint`; btrfs
 * lists a number of its own, and the device as its source.
 */
const isMountedAt = (devNumber: string, mountPoint: string, device?: string) =>
  mountTable().some(
    (m) => (m.majorMinor === devNumber || (device !== undefined && m.source === device)) && m.mountPoint === mountPoint,
  );

const loopSysDir = (device: string) => path.join('/sys/class/block', path.basename(device));

/** The image behind a loop device, or undefined when it is detached. */
function backingFile(device: string): string | undefined {
  try {
    return fs
      .readFileSync(path.join(loopSysDir(device), 'loop/backing_file'), 'utf8')
      .trim()
      .replace(/ \(deleted\)$/, '');
  } catch {
    return undefined;
  }
}

/**
 * The processes with `device`, or something at or below the folder `under`, open (or as their
 * cwd), this one included.
 */
function processesUsing(target: { device: string } | { under: string }): number[] {
  const matches = (link: string) =>
    'device' in target ? link === target.device : link === target.under || link.startsWith(`${target.under}/`);
  const users: number[] = [];
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const links = [`/proc/${pid}/cwd`];
    try {
      for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) links.push(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // gone meanwhile
    }
    const uses = links.some((l) => {
      try {
        return matches(fs.readlinkSync(l));
      } catch {
        return false;
      }
    });
    if (uses) users.push(Number(pid));
  }
  return users;
}

function describeProcesses(pids: number[]): string {
  return pids
    .map((pid) => {
      if (pid === process.pid) return `pid ${pid} (this test process)`;
      try {
        return `pid ${pid} (${fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim()})`;
      } catch {
        return `pid ${pid}`;
      }
    })
    .join(', ');
}

/**
 * Runs an unmount of a FUSE file system. A hung daemon blocks the unmount in the kernel, where
 * no signal reaches it (seen with fusermount stuck in state D), so on timeout the watchdog kills
 * the daemons instead, which aborts the connection and lets the unmount finish. Exit status 124
 * means that happened.
 */
function runFuseUnmount(args: string[], daemons: number[], hungAfterMs: number): void {
  const watched =
    '"$@" & job=$!; sleep "$SECS" & nap=$!; wait -n $job $nap; ' +
    'if kill -0 $job 2>/dev/null; then ' +
    'kill -KILL $DAEMONS 2>/dev/null; kill $nap 2>/dev/null; wait $job; exit 124; fi; ' +
    'kill $nap 2>/dev/null; wait $job';
  const r = spawnSync('bash', ['-c', watched, 'unmount', 'fusermount', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SECS: String(hungAfterMs / 1000), DAEMONS: daemons.join(' ') },
    timeout: hungAfterMs + COMMAND_TIMEOUT_MS,
    killSignal: 'SIGKILL',
  });
  const command = ['fusermount', ...args].join(' ');
  if (r.status === 124) {
    throw new CleanedUpWithProblem(
      `\`${command}\` hung for ${hungAfterMs / 1000} s: ` +
        `its FUSE daemon (${describeProcesses(daemons)}) did not answer and was killed`,
    );
  }
  if (r.error) throw new Error(`\`${command}\` could not run: ${r.error.message}`);
  if (r.status !== 0)
    throw new Error(`\`${command}\` failed (exit status ${r.status ?? r.signal}): ${r.stderr.trim()}`);
}

// ---------------------------------------------------------------------------------------------
// The registry

/**
 * Thrown by an undo that did all it could, so the item is no longer tracked, but that hit something
 * the test must hear about (a hung daemon killed, a device the kernel will only free later).
 */
class CleanedUpWithProblem extends Error {}

interface Tracked {
  id: number;
  description: string;
  /** `force` when disposing: a busy mount is then detached anyway rather than refused. */
  undo: (force: boolean) => void;
}

const tracked = new Map<number, Tracked>();
let nextId = 1;
let safetyNetInstalled = false;

function track(description: string, undo: (force: boolean) => void): number {
  installSafetyNet();
  const id = nextId++;
  tracked.set(id, { id, description, undo });
  return id;
}

/** Undoes one tracked item. If that fails outright it stays tracked, so that a later disposeAllDrives tries again. */
function release(id: number, force: boolean): void {
  const item = tracked.get(id);
  if (!item) return;
  try {
    item.undo(force);
  } catch (err) {
    if (err instanceof CleanedUpWithProblem) tracked.delete(id);
    throw err;
  }
  tracked.delete(id);
}

/** Releases each id, newest first, trying them all; throws what went wrong at the end. */
function releaseAll(ids: number[], force: boolean): void {
  const errors: unknown[] = [];
  for (const id of [...ids].sort((a, b) => b - a)) {
    try {
      release(id, force);
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1)
    throw new AggregateError(errors, errors.map((e) => (e instanceof Error ? e.message : String(e))).join('; '));
}

/** What is made and not yet undone, e.g. `#4 mount of /dev/loop3 at /dev/shm/x/mnt`; empty when nothing leaked. */
export function trackedDriveResources(): string[] {
  return [...tracked.values()].map((t) => `#${t.id} ${t.description}`);
}

/**
 * Undoes everything still tracked, newest first (mounts before their loop devices before their
 * folders), even mounts that are busy. Blocking, so that it also works from an 'exit' handler.
 * Throws after trying them all if anything went wrong.
 */
export function disposeAllDrives(): void {
  releaseAll([...tracked.keys()], true);
}

/**
 * Tracks a folder a test made (its sources, say) like the drives' own folders: removed by
 * disposeAllDrives, newest first, and by the last-resort cleanup when the process exits or is
 * signalled, so that a test stopped part way does not leave it behind. Never removed through a
 * live mount.
 */
export function removeWithDrives(folder: string): void {
  const abs = path.resolve(folder);
  track(`folder ${abs}`, () => removeFolder(abs));
}

function installSafetyNet(): void {
  if (safetyNetInstalled) return;
  safetyNetInstalled = true;
  const lastResort = () => {
    try {
      disposeAllDrives();
    } catch (err) {
      process.stderr.write(`drives: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  };
  process.on('exit', lastResort);
  // 'exit' does not run on a signal; after cleaning up, die of it as if unhandled, unless someone else handles it.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      lastResort();
      if (process.listenerCount(signal) === 1) {
        process.off(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}

// ---------------------------------------------------------------------------------------------
// Drives

/** Makes a file system of `kind` on a fresh loop device and mounts it. */
export async function makeDrive(kind: DiskKind, options: DriveOptions = {}): Promise<Drive> {
  const { label = 'BACKUP', sizeMiB = 64 } = options;
  if (!Number.isInteger(sizeMiB) || sizeMiB < 1)
    throw new TypeError(`sizeMiB must be a whole number of at least 1 (got ${sizeMiB})`);
  return mountOnLoop(kind, options, {
    doing: (what) => `make a ${what} drive`,
    folderPrefix: `synctray-drive-${kind}-`,
    image: (folder) => {
      const image = path.join(folder, `${kind}.img`);
      run('truncate', ['-s', `${sizeMiB}M`, image]);
      return image;
    },
    readOnly: false,
    format: (device, setup) => {
      const [mkfs, mkfsArgs] = setup.mkfs(label);
      run(mkfs, [...mkfsArgs, ...(options.mkfsOptions ?? []), device]);
    },
    mountOptions: options.mountOptions ?? [],
  });
}

/**
 * Attaches an existing image of a `kind` file system (a copy of a drive's image, say, taken as a
 * power cut leaves the device) on a fresh loop device and mounts it. Tracked like a drive makeDrive
 * made; dispose unmounts it and detaches the loop device, and leaves the image where it is.
 */
export async function attachImage(kind: DiskKind, image: string, options: AttachOptions = {}): Promise<Drive> {
  const { readOnly = false } = options;
  return mountOnLoop(kind, options, {
    doing: (what) => `attach a ${what} image`,
    folderPrefix: `synctray-attached-${kind}-`,
    image: () => fs.realpathSync(image),
    readOnly,
    mountOptions: [...(readOnly ? ['ro'] : []), ...(options.mountOptions ?? [])],
  });
}

interface LoopSteps {
  /** What the caller was doing, for the error when this machine cannot: `make a … drive`. */
  doing: (what: string) => string;
  folderPrefix: string;
  /** The image to attach: made in the fresh scratch folder, or one that exists. */
  image: (folder: string) => string;
  readOnly: boolean;
  /** Done to the attached device before it is mounted (mkfs). */
  format?: (device: string, setup: KindSetup) => void;
  mountOptions: string[];
}

/** An image of `kind` on a fresh loop device, mounted and tracked for disposeAllDrives. */
async function mountOnLoop(
  kind: DiskKind,
  options: Pick<DriveOptions, 'mountPoint' | 'hungAfterMs'>,
  steps: LoopSteps,
): Promise<Drive> {
  const setup = KINDS[kind];
  if (!setup)
    throw new TypeError(
      `unknown drive kind ${JSON.stringify(kind)}: use exfat, ntfs, vfat, exfat-kernel, ext4, btrfs or xfs`,
    );
  const { hungAfterMs = COMMAND_TIMEOUT_MS } = options;
  if (!(hungAfterMs > 0)) throw new TypeError(`hungAfterMs must be positive (got ${hungAfterMs})`);
  const missing = drivesUnavailable(kind);
  if (missing) throw new Error(`cannot ${steps.doing(setup.what)}: ${missing}`);

  const folder = makeScratch(steps.folderPrefix);
  const made = [track(`folder ${folder}`, () => removeFolder(folder))];
  try {
    const image = steps.image(folder);
    const device = run('losetup', ['-f', '--show', ...(steps.readOnly ? ['-r'] : []), image]).trim();
    const busy: { note?: string } = {};
    made.push(track(`loop device ${device} on ${image}`, () => detachLoop(device, image, busy.note)));
    steps.format?.(device, setup);
    const drive = new LoopDrive(
      kind,
      setup,
      image,
      device,
      blkidOf(device),
      made,
      busy,
      hungAfterMs,
      steps.mountOptions,
    );
    await drive.replug(options.mountPoint ?? path.join(folder, 'mnt'));
    return drive;
  } catch (err) {
    // Undo what this call made before handing the error on; other drives are left alone.
    try {
      releaseAll(made, true);
    } catch {
      // still tracked: disposeAllDrives tries again
    }
    throw err;
  }
}

/** Read from the device itself (-p), not blkid's cache: loop devices are reused with other contents. */
function blkidOf(device: string): { label: string; uuid: string } {
  const fields = Object.fromEntries(
    run('blkid', ['-p', '-o', 'export', device])
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  return { label: fields.LABEL ?? '', uuid: fields.UUID ?? '' };
}

class LoopDrive implements Drive {
  readonly label: string;
  readonly uuid: string;
  private readonly devNumber: string;
  private lastMountPoint = '';
  private mountId: number | undefined;
  private disposed = false;

  constructor(
    readonly kind: DiskKind,
    private readonly setup: KindSetup,
    readonly image: string,
    readonly device: string,
    ids: { label: string; uuid: string },
    /** Everything tracked for this drive, oldest first: its folder, its loop device, then mount points and mounts. */
    private readonly made: number[],
    /** Who kept the last mount busy when it was forced off, for the loop device's report. */
    private readonly busy: { note?: string },
    private readonly hungAfterMs: number,
    private readonly mountOptions: string[],
  ) {
    this.label = ids.label;
    this.uuid = ids.uuid;
    this.devNumber = fs.readFileSync(path.join(loopSysDir(device), 'dev'), 'utf8').trim();
  }

  get mountPoint(): string {
    return this.lastMountPoint;
  }

  get mounted(): boolean {
    return this.mountId !== undefined;
  }

  async unplug(): Promise<void> {
    if (this.mountId === undefined) throw new TypeError(`${this.device} is not mounted: nothing to unplug`);
    try {
      release(this.mountId, false);
    } finally {
      if (!tracked.has(this.mountId)) this.mountId = undefined;
    }
  }

  async replug(at?: string): Promise<void> {
    if (this.disposed) throw new TypeError(`${this.device} was disposed: make a new drive`);
    if (this.mountId !== undefined)
      throw new TypeError(`${this.device} is already mounted at ${this.lastMountPoint}: unplug it first`);
    const target = path.resolve(at ?? this.lastMountPoint);
    const firstMade = fs.mkdirSync(target, { recursive: true });
    if (firstMade !== undefined) {
      const folders = foldersBetween(firstMade, target);
      this.made.push(track(`mount-point folders ${folders.join(', ')}`, () => removeEmptyFolders(folders)));
    }
    const mountPoint = fs.realpathSync(target);
    const { fuseMount, kernelFs } = this.setup;
    const options = this.mountOptions.length > 0 ? ['-o', this.mountOptions.join(',')] : [];
    if (fuseMount) run(fuseMount, [...options, this.device, mountPoint]);
    else run('mount', ['-t', kernelFs!, ...options, this.device, mountPoint]);
    // The daemon, so that an unplug can wait for it to flush and let go of the device, or kill it if it hangs.
    const daemons = fuseMount ? processesUsing({ device: this.device }).filter((pid) => pid !== process.pid) : [];
    this.mountId = track(`mount of ${this.device} at ${mountPoint}`, (force) =>
      this.unmount(mountPoint, daemons, force),
    );
    this.made.push(this.mountId);
    this.lastMountPoint = mountPoint;
    if (!isMountedAt(this.devNumber, mountPoint, this.device)) {
      throw new Error(
        `${this.device} is not in /proc/self/mountinfo at ${mountPoint} although the mount command succeeded`,
      );
    }
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.mountId = undefined;
    releaseAll(this.made, true);
  }

  /**
   * Unmounts if our device is still mounted there, then waits for the FUSE daemon to exit: mounting
   * again while the old daemon still holds the device could fail or corrupt it. A busy mount is an
   * error, unless `force`: then it is detached lazily, and the device is freed by the kernel once
   * whoever holds it closes it.
   */
  private unmount(mountPoint: string, daemons: number[], force: boolean): void {
    if (!isMountedAt(this.devNumber, mountPoint, this.device)) return this.waitForDaemons(daemons);
    const users = () => describeProcesses(processesUsing({ under: mountPoint }));
    try {
      if (this.setup.fuseMount) runFuseUnmount(['-u', mountPoint], daemons, this.hungAfterMs);
      else run('umount', [mountPoint]);
    } catch (err) {
      if (err instanceof CleanedUpWithProblem || !isMountedAt(this.devNumber, mountPoint, this.device)) throw err;
      const holders = users();
      if (!force)
        throw new Error(
          `${err instanceof Error ? err.message : String(err)}${holders ? `; in use by ${holders}` : ''}`,
        );
      this.busy.note = holders || 'something';
      run('umount', ['-l', mountPoint]);
      return;
    }
    this.waitForDaemons(daemons);
  }

  private waitForDaemons(daemons: number[]): void {
    const left = () => daemons.filter((pid) => processesUsing({ device: this.device }).includes(pid));
    if (waitUntil(() => left().length === 0, this.hungAfterMs)) return;
    const stuck = left();
    for (const pid of stuck) process.kill(pid, 'SIGKILL');
    throw new CleanedUpWithProblem(
      `the FUSE daemon of ${this.device} (${describeProcesses(stuck)}) ` +
        `still held it ${this.hungAfterMs / 1000} s after its unmount, and was killed`,
    );
  }
}

/** `first` and each folder below it down to `last`, deepest first: what mkdir -p made. */
function foldersBetween(first: string, last: string): string[] {
  const made: string[] = [];
  for (let dir = path.resolve(last); ; dir = path.dirname(dir)) {
    made.push(dir);
    if (dir === path.resolve(first) || path.dirname(dir) === dir) return made;
  }
}

/** Leaves a folder that has something in it: that was written by the test, not made here. */
function removeEmptyFolders(deepestFirst: string[]): void {
  for (const dir of deepestFirst) {
    try {
      fs.rmdirSync(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') return;
      if (code !== 'ENOENT') throw err;
    }
  }
}

/**
 * Detaches the loop device if it is still ours. `losetup -d` on a device in use only marks it to be
 * freed by the kernel when the last user lets go (autoclear); `busyNote` names who kept its last
 * mount busy, if anyone did.
 */
function detachLoop(device: string, image: string, busyNote: string | undefined): void {
  if (backingFile(device) !== image) return; // already detached, perhaps reused by someone else
  run('losetup', ['-d', device]);
  const timeoutMs = busyNote ? 2_000 : RELEASE_TIMEOUT_MS;
  if (waitUntil(() => backingFile(device) !== image, timeoutMs)) return;
  throw new CleanedUpWithProblem(
    `${device} (${image}) is still attached ${timeoutMs / 1000} s after losetup -d; the kernel frees it once ` +
      (busyNote
        ? `${busyNote}, which kept its mount busy, closes what it has open on the drive`
        : 'whoever holds it open closes it'),
  );
}

/** Never removes through a live mount: that would empty the drive, or someone else's. */
function removeFolder(folder: string): void {
  const inside = mountTable().filter((m) => m.mountPoint === folder || m.mountPoint.startsWith(`${folder}/`));
  if (inside.length > 0)
    throw new Error(`not removing ${folder}: ${inside.map((m) => m.mountPoint).join(', ')} still mounted inside`);
  fs.rmSync(folder, { recursive: true, force: true });
}
