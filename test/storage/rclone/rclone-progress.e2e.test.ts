/**
 * What RcloneStorage tells of a large file on its way (WriteOptions.onProgress, from rclone's
 * core/stats), against `rclone serve sftp` on 127.0.0.1 with rcd's own bandwidth limit, so that
 * the bytes told are bytes that left this machine.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RcloneServer } from '../../../src/storage/rclone/server.js';
import { RcloneStorage } from '../../../src/storage/rclone/rclone-storage.js';
import { LocalStorage } from '../../../src/storage/local/local-storage.js';
import { processAlive, RCLONE_SKIP, rcloneEnv, startSftpServer, type SftpServer } from '../../helpers/rclone.js';
import { makeScratch, removeScratch } from '../../helpers/scratch.js';

let root: string;
let served: SftpServer | undefined;
let server: RcloneServer | undefined;

beforeEach(() => {
  root = makeScratch('synctray-rclone-progress-');
});
afterEach(async () => {
  const pid = await server?.pid().catch(() => undefined);
  await server?.stop();
  await served?.stop();
  removeScratch(root);
  if (pid !== undefined) expect(processAlive(pid), 'rcd is stopped').toBe(false);
});

describe.skipIf(RCLONE_SKIP)('progress of a large file to a remote', () => {
  it('tells the bytes sent as they go, rising to the whole file, at the rate rclone is held to', async () => {
    served = await startSftpServer(root, path.join(root, 'served'));
    server = new RcloneServer({ env: rcloneEnv(root, served.remoteEnv('nas')), flags: ['--bwlimit', '4M'] });
    const storage = new RcloneStorage({ remote: 'nas', path: 'films' }, server);
    await storage.mkdir('');
    const film = path.join(root, 'film.mkv');
    fs.writeFileSync(film, Buffer.alloc(12 * 1024 * 1024, 3));
    const st = fs.statSync(film, { bigint: true });
    const told: { at: number; bytes: number }[] = [];
    const t0 = performance.now();
    const local = new LocalStorage(root);
    await storage.write('film.mkv', local.read('film.mkv'), {
      mtimeNs: st.mtimeNs,
      onProgress: (bytes) => told.push({ at: performance.now() - t0, bytes }),
    });
    await storage.close();
    await local.close();

    // 12 MiB at 4 MiB a second: about three seconds, told along the way, never going back.
    const during = told.filter((t) => t.bytes > 0 && t.bytes < st.size);
    expect(during.length, JSON.stringify(told)).toBeGreaterThanOrEqual(3);
    expect(told.every((t, i) => i === 0 || t.bytes >= told[i - 1]!.bytes)).toBe(true);
    expect(told.at(-1)?.bytes).toBeLessThanOrEqual(Number(st.size));
    const halfway = told.find((t) => t.bytes >= Number(st.size) / 2)!;
    expect(halfway.at, 'half the file is not told sent before a second').toBeGreaterThan(1000);
    expect(fs.statSync(path.join(served.served, 'films', 'film.mkv')).size).toBe(Number(st.size));
  }, 60_000);
});
