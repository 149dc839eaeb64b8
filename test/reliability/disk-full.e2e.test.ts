/**
 * A destination that fills up under the running service: the pair goes to `error` saying the disk
 * is full, nothing partial sits under a final name, and once there is room again the pair recovers
 * by itself (its retry), with nothing asked. The destination is a small tmpfs mounted for the
 * test (root only; CI runs as root).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertCliBuilt, runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { rsyncDiff, rsyncSkipReason } from '../helpers/oracle.js';
import { isRoot } from '../helpers/privilege.js';
import { hasTool, skipReasonOutsideCi } from '../helpers/requirements.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { findTempFiles } from '../helpers/tree-inspect.js';
import { writeTree } from '../helpers/tree-spec.js';
import { waitFor } from '../helpers/wait-for.js';

const skip =
  rsyncSkipReason() ??
  skipReasonOutsideCi(isRoot && hasTool('mount'), 'skipping the full-disk test: it mounts a tmpfs, which needs root');
let root: string;
let mnt: string;
let service: RunningCli | undefined;
beforeAll(() => assertCliBuilt());
beforeEach(() => {
  root = makeScratch('synctray-full-');
  mnt = path.join(root, 'small');
  fs.mkdirSync(mnt);
  if (skip) return;
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', mnt], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mount failed: ${r.stderr}`);
});
afterEach(async () => {
  service?.child.kill('SIGTERM');
  await service?.done;
  service = undefined;
  spawnSync('umount', [mnt]);
  removeScratch(root);
});

const at = (p: string) => path.join(root, p);
const cli = (...args: string[]) => runCli([...args, '--config-dir', at('config')]);
type Status = { running: boolean; pairs: { state: string; lastError?: string }[] };
const status = async () => JSON.parse((await cli('status', '--json')).stdout) as Status;

describe.skipIf(skip)('a full disk under the service', () => {
  it('puts the pair in error with the reason, keeps every file whole, ' +
    'and recovers by itself once there is room', async () => {
    const files = Object.fromEntries(
      Array.from({ length: 16 }, (_, i) => [`video-${i}.bin`, String(i % 10).repeat(60_000)]),
    );
    writeTree(at('src'), files);
    const dst = path.join(mnt, 'backup');
    expect((await cli('pair', 'add', at('src'), dst)).code).toBe(0);
    service = startCli(['run', '--config-dir', at('config')]);
    await waitFor(
      async () => {
        const s = await status();
        return s.running && s.pairs[0]?.state === 'error';
      },
      'the pair in error',
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    const pair = (await status()).pairs[0]!;
    expect(pair.lastError).toMatch(/no space left on the device/);
    expect(findTempFiles(dst)).toEqual([]);
    for (const name of fs.readdirSync(dst)) expect(fs.readFileSync(path.join(dst, name), 'utf8')).toBe(files[name]);

    // Room again: the pair's retry (5 s, then doubling) finds it without being asked.
    spawnSync('mount', ['-o', 'remount,size=4m', mnt]);
    await waitFor(async () => (await status()).pairs[0]?.state === 'idle', 'the pair recovered by itself', {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    expect(rsyncDiff(at('src'), dst)).toEqual([]);
    expect(findTempFiles(dst)).toEqual([]);
  }, 60_000);
});
