/**
 * `synctray watch` into a real exFAT drive (root, as CI) that is unmounted while watching: nothing
 * lands in the mount point folder left behind, watch says it waits, and once the drive is mounted
 * again the changes made meanwhile land on it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt } from '../helpers/cli.js';
import { disposeAllDrives, driveSkipReason, makeDrive } from '../helpers/drives.js';
import { rsyncSkipReason } from '../helpers/oracle.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { writeTree } from '../helpers/tree-spec.js';
import { waitFor } from '../helpers/wait-for.js';
import { Watching } from '../helpers/watching.js';

let root: string | undefined;
let watching: Watching | undefined;
beforeAll(() => assertCliBuilt());
afterEach(async () => {
  try {
    const done = await watching?.stop();
    if (done) expect(done.code, done.stderr).toBe(0);
  } finally {
    watching = undefined;
    try {
      disposeAllDrives();
    } finally {
      if (root) removeScratch(root);
      root = undefined;
    }
  }
});

/** rsync as an exFAT drive allows: no permission bits, times to the second. */
function driveDiff(src: string, dst: string): string[] {
  const r = spawnSync('rsync', ['-anic', '--delete', '--no-perms', '--modify-window=1', `${src}/`, `${dst}/`], {
    encoding: 'utf8',
  });
  if (r.status !== 0 && r.status !== 24) throw new Error(`rsync failed (${r.status}): ${r.stderr}`);
  return r.stdout === '' && r.status === 0 ? [] : [r.stdout || '(files vanished)'];
}

describe('watch into a drive that is unmounted meanwhile', () => {
  it.skipIf(rsyncSkipReason() ?? driveSkipReason('exfat'))(
    'writes nothing where the drive was, and catches up once it is back',
    async () => {
      root = makeScratch('synctray-watchdrive-');
      const src = path.join(root, 'photos');
      writeTree(src, { 'a.jpg': 'a', 'trip/b.jpg': 'b' });
      const drive = await makeDrive('exfat', { label: 'CARD', mountPoint: path.join(root, 'media/CARD') });
      watching = new Watching(src, drive.mountPoint);
      await watching.next('ready', (l) => l.event === 'ready');
      expect(driveDiff(src, drive.mountPoint)).toEqual([]);

      const from = watching.lines.length;
      const r = spawnSync('umount', ['-l', drive.mountPoint], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      await drive.unplug();
      fs.writeFileSync(path.join(src, 'c.jpg'), 'c');
      fs.writeFileSync(path.join(src, 'trip/d.jpg'), 'd');
      const waiting = await watching.next(
        'waiting',
        (l) => l.event === 'state' && l.state === 'waiting-for-destination',
        from,
      );
      expect(waiting.reason).toMatch(/^The drive CARD is not there/);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(fs.readdirSync(drive.mountPoint)).toEqual([]);

      await drive.replug();
      await waitFor(() => driveDiff(src, drive.mountPoint).length === 0, 'the changes on the drive once it is back', {
        timeoutMs: 15_000,
        intervalMs: 100,
      });
    },
    60_000,
  );
});
