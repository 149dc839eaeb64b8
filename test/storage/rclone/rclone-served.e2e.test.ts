/**
 * The rclone backend through the storage conformance suite against `rclone serve sftp` and
 * `rclone serve webdav` on 127.0.0.1, each remote defined by RCLONE_CONFIG_NAS_* variables alone:
 * one server and one rcd per protocol, a fresh folder on the server for every test.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { RcloneServer } from '../../../src/storage/rclone/server.js';
import { RcloneStorage } from '../../../src/storage/rclone/rclone-storage.js';
import {
  processAlive,
  type Protocol,
  RCLONE_SKIP,
  rcloneEnv,
  startServer,
  type SftpServer,
} from '../../helpers/rclone.js';
import { makeScratch, removeScratch } from '../../helpers/scratch.js';
import { describeStorageConformance } from '../conformance.js';

for (const protocol of ['sftp', 'webdav'] as Protocol[]) {
  let root: string;
  let served: SftpServer | undefined;
  let server: RcloneServer | undefined;
  let pid: number | undefined;
  let n = 0;

  describe.skipIf(RCLONE_SKIP)(`the rclone backend over ${protocol}`, () => {
    beforeAll(async () => {
      root = makeScratch(`synctray-rclone-${protocol}-`);
      served = await startServer(protocol, root, path.join(root, 'served'));
      server = new RcloneServer({ env: rcloneEnv(root, served.remoteEnv('nas')) });
      server.use();
    });
    afterAll(async () => {
      pid ??= await server?.pid().catch(() => undefined);
      await server?.release();
      await served?.stop();
      removeScratch(root);
      if (pid !== undefined) expect(processAlive(pid), 'rcd is stopped').toBe(false);
      if (served) expect(processAlive(served.pid), 'the server is stopped').toBe(false);
    });

    describeStorageConformance(`RcloneStorage, rclone:nas:PATH over ${protocol}`, async () => {
      const dir = `t${++n}`;
      const storage = new RcloneStorage({ remote: 'nas', path: dir }, server);
      await storage.mkdir('');
      await storage.measure();
      pid ??= await server!.pid();
      return { storage, cleanup: async () => removeScratch(path.join(served!.served, dir)) };
    });
  });
}
