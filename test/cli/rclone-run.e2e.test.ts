/**
 * A service pair whose destination is a NAS through rclone (`rclone serve sftp` on 127.0.0.1, the
 * remote defined by RCLONE_CONFIG_NAS_* only): while the server is down the pair waits for its
 * destination, saying why, and it syncs once the server is back.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertCliBuilt, runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { rsyncDiff, rsyncSkipReason } from '../helpers/oracle.js';
import { RCLONE_SKIP, rcloneEnv, startSftpServer, tearDown, type SftpServer } from '../helpers/rclone.js';
import { makeScratch } from '../helpers/scratch.js';
import { waitFor } from '../helpers/wait-for.js';

const SKIP = RCLONE_SKIP ?? rsyncSkipReason();
let root: string;
let servers: SftpServer[];
let service: RunningCli | undefined;
let env: NodeJS.ProcessEnv;

type Status = { running: boolean; pairs: { name: string; state: string; reason?: string }[] };

const cli = (...args: string[]) => runCli([...args, '--config-dir', path.join(root, 'config')], { env });
const pairOf = async () => {
  const now = JSON.parse((await cli('status', '--json')).stdout) as Status;
  return now.running ? now.pairs[0] : undefined;
};

beforeAll(() => {
  if (!SKIP) assertCliBuilt();
});
beforeEach(() => {
  root = makeScratch('synctray-rclone-run-');
  servers = [];
});
afterEach(async () => {
  service?.child.kill('SIGINT');
  await service?.done;
  service = undefined;
  await tearDown(servers, env, root);
});

describe.skipIf(SKIP)('a service pair to a NAS through rclone', () => {
  it('waits while the server is down, saying why, syncs once it is back, and keeps versions there', async () => {
    const src = path.join(root, 'docs');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'cv.txt'), 'cv');
    fs.writeFileSync(path.join(src, 'letter.txt'), 'dear');
    const served = path.join(root, 'served');
    const first = await startSftpServer(root, served);
    servers.push(first);
    env = rcloneEnv(root, first.remoteEnv('nas'));
    await first.stop();

    const added = await cli('pair', 'add', src, 'rclone:nas:backup/docs');
    expect(added.code, added.stderr).toBe(0);
    service = startCli(['run', '--config-dir', path.join(root, 'config')], { env });
    await waitFor(async () => (await pairOf())?.state === 'waiting-for-destination', 'the pair waiting', {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    expect((await pairOf())?.reason).toMatch(/cannot reach nas: connection refused/);
    expect(fs.existsSync(path.join(served, 'backup'))).toBe(false);

    servers.push(await startSftpServer(root, served, { port: first.port }));
    await waitFor(async () => (await pairOf())?.state === 'idle', 'the pair synced', {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    // Folders' times aside: rclone sets none.
    const diff = rsyncDiff(src, path.join(served, 'backup', 'docs'), { drive: true });
    expect(diff.filter((line) => !/^\.d\.\.t\.* /.test(line))).toEqual([]);

    // What the pair replaces is kept on the remote, in .synctray-versions.
    fs.writeFileSync(path.join(src, 'cv.txt'), 'cv, rewritten');
    const versions = path.join(served, 'backup', 'docs', '.synctray-versions');
    const kept = () =>
      fs.existsSync(versions)
        ? (fs.readdirSync(versions, { recursive: true }) as string[]).filter((p) => p.endsWith('replaced/cv.txt'))
        : [];
    await waitFor(() => kept().length === 1, 'the old cv kept as a version', { timeoutMs: 30_000, intervalMs: 100 });
    expect(fs.readFileSync(path.join(versions, kept()[0]!), 'utf8')).toBe('cv');
    await waitFor(
      () => fs.readFileSync(path.join(served, 'backup', 'docs', 'cv.txt'), 'utf8') === 'cv, rewritten',
      'the new cv backed up',
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  });
});
