/**
 * The storage conformance suite on a real exFAT drive (exfat-fuse on a loop device): names it
 * refuses, whole-second times, no symlinks, and case ignored, each as the probe finds them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { disposeAllDrives, driveSkipReason, makeDrive, type Drive } from '../helpers/drives.js';
import { describeStorageConformance } from './conformance.js';

let drive: Drive | undefined;
let n = 0;

describe.skipIf(driveSkipReason('exfat'))('LocalStorage on a real exFAT drive', () => {
  beforeAll(async () => {
    drive = await makeDrive('exfat', { sizeMiB: 128 });
  });
  afterAll(async () => {
    await drive?.dispose();
    disposeAllDrives();
  });

  describeStorageConformance('LocalStorage on exFAT', async () => {
    const dir = path.join(drive!.mountPoint, `t${++n}`);
    fs.mkdirSync(dir);
    const storage = new LocalStorage(dir);
    await storage.measure?.({ probe: true });
    return { storage, cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  });
});
