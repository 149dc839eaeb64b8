/**
 * A power cut right after a sync to an exFAT drive through exfat-fuse: SyncTray flushes a batch
 * there by one fsync of the drive's root folder (LocalStorage.flushItems), trusting exfat-fuse to
 * write out its own state and sync the whole device for it. The image of the loop device, copied
 * while the drive is still mounted, is what the drive holds if the power goes now: every file the
 * sync reported must be whole in it. A plain `cp` made just before the image, never flushed, shows
 * that the image can tell flushed from unflushed: its files must not all be there.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { attachImage, disposeAllDrives, driveSkipReason, makeDrive } from '../helpers/drives.js';
import { hasTool, skipReasonOutsideCi } from '../helpers/requirements.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';

const skip =
  driveSkipReason('exfat') ??
  skipReasonOutsideCi(
    hasTool('fsck.exfat'),
    'skipping the exFAT power-cut test: fsck.exfat is missing (apt install exfatprogs)',
  );

/** Files under `dir`, by path relative to it. */
function filesIn(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((rel) => fs.lstatSync(path.join(dir, rel)).isFile());
}

/** How many of the source's files are whole (same bytes) under `copy`. */
function wholeIn(src: string, copy: string): number {
  return filesIn(src).filter((rel) => {
    const there = path.join(copy, rel);
    return fs.existsSync(there) && fs.readFileSync(there).equals(fs.readFileSync(path.join(src, rel)));
  }).length;
}

describe.skipIf(skip !== undefined)('a power cut right after a sync to an exFAT drive (exfat-fuse)', () => {
  afterAll(() => disposeAllDrives());

  it('leaves every file the sync copied whole on the drive, where an unflushed copy is not', async () => {
    const root = makeScratch('synctray-exfat-cut-', { disk: true });
    try {
      const src = path.join(root, 'src');
      for (let i = 0; i < 150; i++) {
        for (const [folder, size] of [
          ['a', 1000 + i * 900],
          ['b', 500 + i * 700],
        ] as const) {
          fs.mkdirSync(path.join(src, folder), { recursive: true });
          fs.writeFileSync(path.join(src, folder, `f${i}`), crypto.randomBytes(size));
        }
      }
      const drive = await makeDrive('exfat', { sizeMiB: 128 });
      const r = await runCli(['sync', src, path.join(drive.mountPoint, 'dst'), '--quiet']);
      expect(r.code, r.stderr).toBe(0);
      // Written after the sync and never flushed: the part of the drive a power cut may lose.
      const cp = spawnSync('cp', ['-r', src, path.join(drive.mountPoint, 'plain')]);
      expect(cp.status).toBe(0);

      const image = path.join(root, 'cut.img');
      expect(spawnSync('cp', ['--sparse=always', drive.image, image]).status).toBe(0);
      await drive.dispose();
      const fsck = spawnSync('fsck.exfat', ['-y', image], { encoding: 'utf8' });
      expect([0, 1], `fsck.exfat: ${fsck.stdout}${fsck.stderr}`).toContain(fsck.status);
      const cut = await attachImage('exfat', image, { readOnly: true });
      try {
        const total = filesIn(src).length;
        expect(wholeIn(src, path.join(cut.mountPoint, 'dst')), 'files of the sync whole in the power-cut image').toBe(
          total,
        );
        const plain = fs.existsSync(path.join(cut.mountPoint, 'plain'))
          ? wholeIn(src, path.join(cut.mountPoint, 'plain'))
          : 0;
        expect(plain, 'the unflushed copy is not all there (else the image cannot tell a missing flush)').toBeLessThan(
          total,
        );
      } finally {
        await cut.dispose();
      }
    } finally {
      removeScratch(root);
    }
  }, 120_000);
});
