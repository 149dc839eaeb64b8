/**
 * `synctray sync` into a pair's backup folder: it works while the pair's drive is there (the
 * pair's marker kept), and is refused with exit 2, nothing written, when the drive is not: the
 * folder left behind is empty without the marker, or the path leads to another disk.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PAIR_MARKER } from '../../src/core/pair-marker.js';
import { assertCliBuilt, describeRun, runCli } from '../helpers/cli.js';
import { disposeAllDrives, driveSkipReason, makeDrive } from '../helpers/drives.js';
import { rsyncSkipReason } from '../helpers/oracle.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { writeTree } from '../helpers/tree-spec.js';

let root: string;
beforeAll(() => assertCliBuilt());
beforeEach(() => {
  root = makeScratch('synctray-syncpair-');
  writeTree(at('photos'), { 'a.jpg': 'a', 'trip/b.jpg': 'b' });
});
afterEach(() => {
  try {
    disposeAllDrives();
  } finally {
    removeScratch(root);
  }
});

const at = (p: string) => path.join(root, p);
const configDir = () => at('config');

describe.skipIf(rsyncSkipReason())("sync into a pair's backup folder", () => {
  it(
    'writes there while the folder is marked, keeping the marker, ' +
      'and refuses once it is an empty folder without it',
    async () => {
      fs.mkdirSync(at('backup'));
      expect(
        (await runCli(['pair', 'add', at('photos'), at('backup'), '--name', 'Photos', '--config-dir', configDir()]))
          .code,
      ).toBe(0);
      expect(fs.existsSync(at(`backup/${PAIR_MARKER}`))).toBe(true);

      const ok = await runCli(['sync', at('photos'), at('backup'), '--config-dir', configDir(), '--json']);
      expect(ok.code, describeRun(ok)).toBe(0);
      expect(fs.existsSync(at('backup/trip/b.jpg'))).toBe(true);
      // A mirror does not delete the marker, nor count it.
      expect(fs.existsSync(at(`backup/${PAIR_MARKER}`))).toBe(true);
      expect(ok.json).toMatchObject({ deleted: 0 });

      // What an unplugged drive leaves: the folder, empty.
      fs.rmSync(at('backup'), { recursive: true });
      fs.mkdirSync(at('backup'));
      for (const args of [[], ['--dry-run']]) {
        const refused = await runCli(['sync', at('photos'), at('backup'), ...args], {
          env: { SYNCTRAY_CONFIG_DIR: configDir() },
        });
        expect(refused.code, describeRun(refused)).toBe(2);
        expect(refused.stderr).toContain(
          `Destination \`${at('backup')}\` is the backup folder of pair "Photos", ` +
            `but it is empty and has no SyncTray marker (${PAIR_MARKER})`,
        );
        expect(refused.stderr).toContain("remove the pair first ('synctray pair remove Photos')");
        expect(fs.readdirSync(at('backup'))).toEqual([]);
      }
      // Another config knows no such pair: any folder may be synced.
      const elsewhere = await runCli([
        'sync',
        at('photos'),
        at('backup'),
        '--config-dir',
        at('other-config'),
        '--json',
      ]);
      expect(elsewhere.code, describeRun(elsewhere)).toBe(0);
    },
  );

  it.skipIf(driveSkipReason('exfat'))(
    'refuses to write where an unplugged drive was, naming the drive, at its mount point and below',
    async () => {
      const drive = await makeDrive('exfat', { label: 'BACKUP', mountPoint: at('media/BACKUP') });
      expect(
        (
          await runCli([
            'pair',
            'add',
            at('photos'),
            path.join(drive.mountPoint, 'photos'),
            '--name',
            'Photos',
            '--config-dir',
            configDir(),
          ])
        ).code,
      ).toBe(0);
      const first = await runCli([
        'sync',
        at('photos'),
        path.join(drive.mountPoint, 'photos'),
        '--config-dir',
        configDir(),
      ]);
      expect(first.code, describeRun(first)).toBe(0);
      await drive.unplug();
      for (const target of [path.join(drive.mountPoint, 'photos'), path.join(drive.mountPoint, 'photos/2024')]) {
        const refused = await runCli(['sync', at('photos'), target, '--config-dir', configDir()]);
        expect(refused.code, describeRun(refused)).toBe(2);
        expect(refused.stderr).toContain('pair "Photos"');
        expect(refused.stderr).toMatch(/backup drive BACKUP is (probably )?not connected/);
      }
      expect(fs.readdirSync(drive.mountPoint)).toEqual([]);
      await drive.replug();
      const again = await runCli([
        'sync',
        at('photos'),
        path.join(drive.mountPoint, 'photos'),
        '--config-dir',
        configDir(),
      ]);
      expect(again.code, describeRun(again)).toBe(0);
    },
  );
});
