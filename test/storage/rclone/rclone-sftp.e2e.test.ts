/**
 * The rclone backend through the storage conformance suite against `rclone serve sftp` on
 * 127.0.0.1, the remote defined by RCLONE_CONFIG_NAS_* variables alone: one server and one rcd
 * for the file, a fresh folder on the server for every test.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { RcloneServer } from '../../../src/storage/rclone/server.js';
import { RcloneStorage } from '../../../src/storage/rclone/rclone-storage.js';
import { processAlive, RCLONE_SKIP, rcloneEnv, startSftpServer, type SftpServer } from '../../helpers/rclone.js';
import { makeScratch, removeScratch } from '../../helpers/scratch.js';
import { describeStorageConformance } from '../conformance.js';

let root: string;
let sftp: SftpServer | undefined;
let server: RcloneServer;
let pid: number | undefined;
let n = 0;

describe.skipIf(RCLONE_SKIP)('the rclone backend over SFTP', () => {
  beforeAll(async () => {
    root = makeScratch('synctray-rclone-sftp-');
    sftp = await startSftpServer(root, path.join(root, 'served'));
    server = new RcloneServer({ env: rcloneEnv(root, sftp.remoteEnv('nas')) });
    server.use();
  });
  afterAll(async () => {
    pid ??= await server?.pid().catch(() => undefined);
    await server?.release();
    await sftp?.stop();
    removeScratch(root);
    if (pid !== undefined) expect(processAlive(pid), 'rcd is stopped').toBe(false);
    if (sftp) expect(processAlive(sftp.pid), 'the SFTP server is stopped').toBe(false);
  });

  describeStorageConformance('RcloneStorage, rclone:nas:PATH over SFTP', async () => {
    const dir = `t${++n}`;
    const storage = new RcloneStorage({ remote: 'nas', path: dir }, server);
    await storage.mkdir('');
    await storage.measure();
    pid ??= await server.pid();
    return { storage, cleanup: async () => removeScratch(path.join(sftp!.served, dir)) };
  });
});
