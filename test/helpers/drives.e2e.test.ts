/**
 * The real-drive helper itself: a drive unplugs (its files gone, the mount point left empty),
 * replugs at another path with its files, and leaves no loop device, mount or file behind, even
 * when the test using it fails or its process dies.
 */
import { typeScriptArgs } from './processes.js';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './cli.js';
import {
  disposeAllDrives,
  driveSkipReason,
  makeDrive,
  trackedDriveResources,
  type Drive,
  type DriveKind,
} from './drives.js';
import { makeScratch, removeScratch } from './scratch.js';
import { waitFor } from './wait-for.js';

const DRIVES = path.join(REPO_ROOT, 'test/helpers/drives.ts');

const scratches: string[] = [];
afterEach(() => {
  try {
    disposeAllDrives();
  } finally {
    for (const dir of scratches.splice(0)) removeScratch(dir);
  }
});

function scratch(): string {
  const dir = makeScratch('synctray-drives-');
  scratches.push(dir);
  return dir;
}

/** The mount-table lines for `device` at one of `mountPoints` (another test may reuse the device number elsewhere). */
function mountsOf(device: string, mountPoints: string[]): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => {
      const fields = line.split(' ');
      const source = fields[fields.indexOf('-') + 2];
      return source === device && mountPoints.includes(fields[4]!);
    });
}

/** `losetup -a` lines naming `image`. */
function loopDevicesOn(image: string): string[] {
  const r = spawnSync('losetup', ['-a'], { encoding: 'utf8', timeout: 10_000 });
  return r.stdout.split('\n').filter((line) => line.includes(image));
}

function expectNothingLeft(d: { device: string; image: string }, mountPoints: string[]): void {
  expect(mountsOf(d.device, mountPoints)).toEqual([]);
  expect(loopDevicesOn(d.image)).toEqual([]);
  expect(fs.existsSync(d.image)).toBe(false);
  expect(trackedDriveResources()).toEqual([]);
}

const FS_TYPE: Record<DriveKind, string> = { exfat: 'fuseblk', ntfs: 'fuseblk', vfat: 'vfat', 'exfat-kernel': 'exfat' };

describe.each(['exfat', 'ntfs', 'vfat', 'exfat-kernel'] as const)('a %s drive', (kind) => {
  it.skipIf(driveSkipReason(kind))(
    'unplugs, replugs at another path with its files, and leaves nothing once disposed',
    async () => {
      const drive = await makeDrive(kind, { label: 'BACKUP' });
      const first = drive.mountPoint;
      expect(drive.label).toBe('BACKUP');
      expect(drive.uuid).toMatch(/^[0-9A-F-]{8,}$/);
      expect(mountsOf(drive.device, [first])).toHaveLength(1);
      expect(mountsOf(drive.device, [first])[0]).toContain(` - ${FS_TYPE[kind]} `);

      fs.mkdirSync(path.join(first, 'photos'));
      fs.writeFileSync(path.join(first, 'photos', 'cat.jpg'), 'meow');

      await drive.unplug();
      expect(drive.mounted).toBe(false);
      expect(mountsOf(drive.device, [first])).toEqual([]);
      expect(fs.readdirSync(first)).toEqual([]);

      const second = path.join(scratch(), 'media', 'BACKUP1');
      await drive.replug(second);
      expect(drive.mountPoint).toBe(second);
      expect(fs.readFileSync(path.join(second, 'photos', 'cat.jpg'), 'utf8')).toBe('meow');
      expect(fs.readdirSync(first)).toEqual([]);

      await drive.unplug();
      await drive.replug();
      expect(fs.readFileSync(path.join(second, 'photos', 'cat.jpg'), 'utf8')).toBe('meow');

      await drive.dispose();
      expectNothingLeft(drive, [first, second]);
      expect(fs.existsSync(first)).toBe(false);
      expect(fs.existsSync(second)).toBe(false);
    },
  );
});

describe.skipIf(driveSkipReason('exfat') ?? driveSkipReason('ntfs'))('cleaning up after a failure', () => {
  let left: Drive[] = [];

  it.fails('(this test fails on purpose, holding a mounted drive and an unplugged one)', async () => {
    left = [await makeDrive('exfat'), await makeDrive('ntfs')];
    fs.writeFileSync(path.join(left[0]!.mountPoint, 'half-done.txt'), 'x');
    await left[1]!.unplug();
    throw new Error('the test body failed');
  });

  it('left nothing behind after the failed test', () => {
    expect(left).toHaveLength(2);
    for (const d of left) expectNothingLeft(d, [d.mountPoint]);
  });

  it(
    'detaches a drive that a process still uses, names that process, ' +
      'and the kernel frees the device once it exits',
    async () => {
      const drive = await makeDrive('exfat');
      const user = spawn('sleep', ['600'], { cwd: drive.mountPoint, stdio: 'ignore' });
      try {
        await waitFor(
          () => fs.existsSync(`/proc/${user.pid}/cwd`) && fs.readlinkSync(`/proc/${user.pid}/cwd`) === drive.mountPoint,
          'sleep running on the drive',
        );
        await expect(drive.unplug()).rejects.toThrow(/busy.*in use by pid \d+ \(sleep\)/s);
        expect(drive.mounted).toBe(true);
        await expect(drive.dispose()).rejects.toThrow(/still attached .* pid \d+ \(sleep\), which kept its mount busy/);
        expect(mountsOf(drive.device, [drive.mountPoint])).toEqual([]);
        expect(trackedDriveResources()).toEqual([]);
      } finally {
        user.kill('SIGKILL');
      }
      await waitFor(() => loopDevicesOn(drive.image).length === 0, 'the loop device freed by the kernel', {
        timeoutMs: 10_000,
        intervalMs: 50,
      });
    },
  );

  it('kills a hung FUSE daemon rather than hanging in its unmount', async () => {
    const drive = await makeDrive('exfat', { hungAfterMs: 1_000 });
    const daemon = spawnSync('pgrep', ['-f', `mount.exfat-fuse ${drive.device} `], { encoding: 'utf8' }).stdout.trim();
    expect(daemon).toMatch(/^\d+$/);
    process.kill(Number(daemon), 'SIGSTOP');
    const started = performance.now();
    await expect(drive.unplug()).rejects.toThrow(
      /hung for 1 s: its FUSE daemon \(pid \d+ \(mount.exfat-fus\w*\)\) did not answer and was killed/,
    );
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(drive.mounted).toBe(false);
    expect(mountsOf(drive.device, [drive.mountPoint])).toEqual([]);
    await drive.dispose();
    expectNothingLeft(drive, [drive.mountPoint]);
  });

  /** Runs the helper in a process of its own that makes a drive, prints it, then ends as `how` says. */
  function childWithDrive(how: string) {
    const script = path.join(scratch(), 'child.mts');
    fs.writeFileSync(
      script,
      `import { makeDrive } from ${JSON.stringify(DRIVES)};
const d = await makeDrive('exfat');
console.log(JSON.stringify({ device: d.device, image: d.image, mountPoint: d.mountPoint }));
${how}`,
    );
    const r = spawnSync(process.execPath, typeScriptArgs(script), {
      encoding: 'utf8',
      timeout: 30_000,
    });
    const drive = JSON.parse(r.stdout.split('\n')[0]!) as { device: string; image: string; mountPoint: string };
    return { drive, stderr: r.stderr, status: r.status, signal: r.signal };
  }

  it('undoes a drive whose process throws without disposing it', () => {
    const { drive, stderr, status } = childWithDrive(`throw new Error('crashed');`);
    expect(status).toBe(1);
    expect(stderr).toContain('crashed');
    expectNothingLeft(drive, [drive.mountPoint]);
  });

  it('undoes a drive whose process is terminated by a signal, and the process still dies of it', () => {
    const { drive, signal } = childWithDrive(`process.kill(process.pid, 'SIGTERM'); setTimeout(() => {}, 60_000);`);
    expect(signal).toBe('SIGTERM');
    expectNothingLeft(drive, [drive.mountPoint]);
  });
});
