/**
 * The rclone backend through the storage conformance suite, on rclone's own local backend
 * (`rclone:/PATH`): one rcd for the file, a fresh folder for every test.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { RcloneServer } from '../../../src/storage/rclone/server.js';
import { RcloneStorage } from '../../../src/storage/rclone/rclone-storage.js';
import { processAlive, RCLONE_SKIP, rcloneEnv } from '../../helpers/rclone.js';
import { makeScratch, removeScratch } from '../../helpers/scratch.js';
import { describeStorageConformance } from '../conformance.js';

let root: string;
let server: RcloneServer;
let pid: number | undefined;
let n = 0;

describe.skipIf(RCLONE_SKIP)('the rclone backend on its local backend', () => {
  beforeAll(() => {
    root = makeScratch('synctray-rclone-local-');
    server = new RcloneServer({ env: rcloneEnv(root) });
    // Held for the whole file, so that the suite's storages share one rcd.
    server.use();
  });
  afterAll(async () => {
    pid ??= await server.pid().catch(() => undefined);
    await server.release();
    removeScratch(root);
    if (pid !== undefined) expect(processAlive(pid), 'rcd is stopped').toBe(false);
  });

  describeStorageConformance('RcloneStorage, rclone:/PATH', async () => {
    const dir = path.join(root, `t${++n}`);
    const storage = new RcloneStorage({ path: dir }, server);
    await storage.mkdir('');
    await storage.measure();
    pid ??= await server.pid();
    return { storage, cleanup: async () => removeScratch(dir) };
  });
});
