/**
 * A backup drive unplugged and plugged back in under `synctray run` (issue 14): real exFAT and
 * NTFS drives on loop devices (root, as CI), the built CLI, and the pair's destination the drive's
 * mount point. Unplugged while the source changes, nothing is written anywhere (the mount point
 * folder left behind stays empty) and the pair says which drive is missing; plugged in at the same
 * place, the changes land within seconds and the run says the drive connected, with a count;
 * plugged in at another place, the pair follows it there.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PAIR_MARKER } from '../../src/core/pair-marker.js';
import { assertCliBuilt, runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { disposeAllDrives, driveSkipReason, makeDrive } from '../helpers/drives.js';
import { rsyncSkipReason } from '../helpers/oracle.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { writeTree } from '../helpers/tree-spec.js';
import { waitFor } from '../helpers/wait-for.js';
import { DEFAULT_VERSIONS_FOLDER } from '../../src/config/schema.js';

type Line = Record<string, unknown> & { event: string; at: number };

/** `synctray run --json`, its lines with the time each arrived. */
class Running {
  readonly lines: Line[] = [];
  readonly run: RunningCli;
  private buffer = '';
  constructor(configDir: string) {
    this.run = startCli(['run', '--json', '--config-dir', configDir]);
    this.run.child.stdout.on('data', (chunk: string) => {
      this.buffer += chunk;
      for (let i: number; (i = this.buffer.indexOf('\n')) >= 0; ) {
        const text = this.buffer.slice(0, i);
        this.buffer = this.buffer.slice(i + 1);
        if (text.startsWith('{')) this.lines.push({ ...(JSON.parse(text) as Line), at: performance.now() });
      }
    });
  }

  async next(what: string, test: (l: Line) => boolean, from: number, timeoutMs = 20_000): Promise<Line> {
    let found: Line | undefined;
    await waitFor(
      () => (found = this.lines.slice(from).find(test)) !== undefined,
      `${what} (run printed: ${JSON.stringify(this.lines.slice(from))})`,
      {
        timeoutMs,
        intervalMs: 5,
      },
    );
    return found!;
  }

  async stop() {
    this.run.child.kill('SIGTERM');
    return this.run.done;
  }
}

/**
 * rsync's view of the trees, as on any exFAT or NTFS drive: no permission bits, times within a
 * second; the pair's marker and its versions are SyncTray's own and not part of the backup.
 */
function driveDiff(src: string, dst: string): string[] {
  const r = spawnSync(
    'rsync',
    [
      '-anic',
      '--delete',
      '--no-perms',
      '--modify-window=1',
      `--exclude=/${PAIR_MARKER}`,
      `--exclude=/${DEFAULT_VERSIONS_FOLDER}`,
      `${src}/`,
      `${dst}/`,
    ],
    { encoding: 'utf8' },
  );
  if (r.status === 24) return ['(files vanished)', r.stderr];
  if (r.status !== 0) throw new Error(`rsync failed (${r.status}): ${r.stderr}`);
  return r.stdout === '' ? [] : r.stdout.trimEnd().split('\n');
}

let root: string | undefined;
let service: Running | undefined;
let writer: NodeJS.Timeout | undefined;
beforeAll(() => assertCliBuilt());
afterEach(async () => {
  clearInterval(writer);
  writer = undefined;
  try {
    const done = await service?.stop();
    if (done) expect(done.code, done.stderr).toBe(0);
  } finally {
    service = undefined;
    try {
      disposeAllDrives();
    } finally {
      if (root) removeScratch(root);
      root = undefined;
    }
  }
});

const noRsync = rsyncSkipReason();

describe.each(['exfat', 'ntfs'] as const)('a %s backup drive under the running service', (kind) => {
  it.skipIf(noRsync ?? driveSkipReason(kind))(
    'writes nothing while unplugged, says which drive is missing, ' +
      'and syncs within seconds when it is back, here or elsewhere',
    async () => {
      root = makeScratch('synctray-unplug-');
      const at = (p: string) => path.join(root!, p);
      const configDir = at('config');
      const cli = (...args: string[]) => runCli([...args, '--config-dir', configDir]);
      writeTree(
        at('photos'),
        Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`2024/img${i}.jpg`, `photo ${i}`])),
      );
      const drive = await makeDrive(kind, { label: 'BACKUP', sizeMiB: 64, mountPoint: at('media/BACKUP') });
      const mnt = drive.mountPoint;

      const added = await cli('pair', 'add', at('photos'), mnt, '--name', 'Photos');
      expect(added.code, added.stderr).toBe(0);
      const pair = (
        JSON.parse((await cli('pair', 'list', '--json')).stdout) as { destinationVolume?: Record<string, string> }[]
      )[0]!;
      expect(pair.destinationVolume).toEqual({ uuid: drive.uuid, label: 'BACKUP', kind, pathInVolume: '/' });
      expect(fs.existsSync(path.join(mnt, PAIR_MARKER))).toBe(true);

      service = new Running(configDir);
      const idle = (from: number) =>
        service!.next('the pair idle', (l) => l.event === 'status' && l.name === 'Photos' && l.state === 'idle', from);
      await idle(0);
      expect(driveDiff(at('photos'), mnt)).toEqual([]);

      // Unplugged as a pulled-out drive is (a lazy unmount), while the source keeps changing.
      let n = 0;
      writer = setInterval(() => {
        fs.writeFileSync(at(`photos/2024/new${n}.jpg`), `new ${n}`);
        if (n < 5) fs.rmSync(at(`photos/2024/img${n}.jpg`));
        // Longer each time: on a drive keeping whole seconds, an edit of the same size within the
        // second of the last copy looks unchanged (to rsync's --modify-window=1 as to SyncTray).
        fs.writeFileSync(at('photos/2024/img39.jpg'), `edited ${'!'.repeat(n)}`);
        n++;
      }, 15);
      await waitFor(() => n > 10, 'changes under way');
      const before = service.lines.length;
      const unplugged = performance.now();
      const r = spawnSync('umount', ['-l', mnt], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const waiting = await service.next(
        'waiting for the drive',
        (l) => l.event === 'status' && l.state === 'waiting-for-destination',
        before,
      );
      const noticedMs = waiting.at - unplugged;
      // What was written from here on cannot have reached the drive.
      const writtenWhileWaiting = n;
      expect(waiting.reason).toMatch(/^Backup drive BACKUP is not connected/);
      await waitFor(() => n > 60, 'changes made while unplugged', { timeoutMs: 10_000 });
      clearInterval(writer);
      await drive.unplug(); // the helper's own bookkeeping; the mount is detached already
      // However long one waits, nothing lands in the mount point folder.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(fs.readdirSync(mnt)).toEqual([]);
      const status = JSON.parse((await cli('status', '--json')).stdout) as {
        pairs: { state: string; reason?: string; destinationProblem?: string }[];
      };
      expect(status.pairs[0]).toMatchObject({
        state: 'waiting-for-destination',
        reason: expect.stringMatching(/^Backup drive BACKUP is not connected/),
        destinationProblem: 'not-connected',
      });
      expect((await cli('status')).stdout).toContain('Photos: waiting-for-destination');

      // Plugged in again at the same place: the changes land at once.
      const beforeReplug = service.lines.length;
      const replugged = performance.now();
      await drive.replug();
      const connected = await service.next('the drive connected', (l) => l.event === 'drive-connected', beforeReplug);
      const landedMs = connected.at - replugged;
      // New files, and the edited one; some of the first were synced before the drive went.
      const count = Number(
        /^Backup drive BACKUP connected: (\d+) files backed up$/.exec(String(connected.message))?.[1],
      );
      expect(count).toBeGreaterThanOrEqual(n - writtenWhileWaiting + 1);
      expect(count).toBeLessThanOrEqual(n + 1);
      await idle(beforeReplug);
      expect(driveDiff(at('photos'), mnt)).toEqual([]);

      // Unplugged while idle (an eject), and plugged in at another place: the pair follows it.
      await drive.unplug();
      const beforeMove = service.lines.length;
      await service.next(
        'waiting again',
        (l) => l.event === 'status' && l.state === 'waiting-for-destination',
        beforeMove,
      );
      fs.writeFileSync(at('photos/2024/after-move.jpg'), 'moved');
      await drive.replug(at('media/BACKUP1'));
      const followed = await service.next('the pair following its drive', (l) => l.event === 'followed', beforeMove);
      expect(followed).toMatchObject({ from: mnt, to: drive.mountPoint });
      await service.next('the drive connected at its new place', (l) => l.event === 'drive-connected', beforeMove);
      await idle(beforeMove);
      expect(driveDiff(at('photos'), drive.mountPoint)).toEqual([]);
      expect(fs.readdirSync(mnt)).toEqual([]);
      const listed = JSON.parse((await cli('pair', 'list', '--json')).stdout) as { destination: string }[];
      expect(listed[0]!.destination).toBe(drive.mountPoint);
      console.log(
        `${kind}: unplug noticed after ${Math.round(noticedMs)} ms; ` +
          `replugged, ${count} changed files landed ${Math.round(landedMs)} ms after the mount command began`,
      );
    },
    120_000,
  );
});
