/**
 * A remote that ignores case, for real: rclone's local backend over an exFAT drive on a loop
 * device, told it is case-insensitive (RCLONE_LOCAL_CASE_INSENSITIVE). A rename that only changes
 * case goes through, and a move still never replaces a file that stands at its target.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/core/errors.js';
import { RcloneStorage } from '../../../src/storage/rclone/rclone-storage.js';
import { RcloneServer } from '../../../src/storage/rclone/server.js';
import { bytesSource, readAll } from '../../../src/storage/sources.js';
import { disposeAllDrives, driveSkipReason, makeDrive } from '../../helpers/drives.js';
import { processAlive, RCLONE_SKIP, rcloneEnv } from '../../helpers/rclone.js';
import { makeScratch, removeScratch } from '../../helpers/scratch.js';

const SKIP = RCLONE_SKIP ?? driveSkipReason('exfat');
afterAll(() => disposeAllDrives());

describe.skipIf(SKIP)('an rclone remote that ignores case', () => {
  it('renames a file and a folder to another case of their name, and moves nothing over a file there', async () => {
    const root = makeScratch('synctray-rclone-case-');
    const drive = await makeDrive('exfat');
    const server = new RcloneServer({ env: rcloneEnv(root, { RCLONE_LOCAL_CASE_INSENSITIVE: 'true' }) });
    const storage = new RcloneStorage({ path: path.join(drive.mountPoint, 'backup') }, server);
    let pid: number | undefined;
    try {
      await storage.mkdir('');
      await storage.measure();
      pid = await server.pid();
      expect(storage.capabilities.caseSensitive).toBe(false);
      await storage.write('photo.jpg', bytesSource('the photo'));
      await storage.rename('photo.jpg', 'Photo.JPG');
      expect(fs.readdirSync(path.join(drive.mountPoint, 'backup'))).toEqual(['Photo.JPG']);
      expect((await readAll(storage.read('Photo.JPG'))).toString()).toBe('the photo');

      await storage.mkdir('album');
      await storage.write('album/a.jpg', bytesSource('in the album'));
      await storage.rename('album', 'Album');
      expect(fs.readdirSync(path.join(drive.mountPoint, 'backup')).sort()).toEqual(['Album', 'Photo.JPG']);
      expect((await readAll(storage.read('Album/a.jpg'))).toString()).toBe('in the album');

      await storage.write('other.jpg', bytesSource('another'));
      await expect(storage.rename('other.jpg', 'PHOTO.jpg', { replacing: null })).rejects.toMatchObject({
        code: ErrorCode.EXISTS,
      });
      expect(fs.readFileSync(path.join(drive.mountPoint, 'backup', 'Photo.JPG'), 'utf8')).toBe('the photo');
    } finally {
      await storage.close();
      await server.stop();
      await drive.dispose();
      removeScratch(root);
    }
    if (pid !== undefined) expect(processAlive(pid), 'rcd is stopped').toBe(false);
  }, 60_000);
});
