/**
 * A destination that fills up while it holds old versions: the oldest runs of versions (older than
 * a day) are removed first, one at a time, until the sync fits; only when none older than a day is
 * left does the sync stop with the disk full. The destination is a 1 MiB tmpfs mounted for the test
 * (root only; CI runs as root), so "full" is the kernel's ENOSPC, not a simulation.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runStamp } from '../../src/storage/versions.js';
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
const DAY = 86_400_000;
const KB = 1024;
let root: string;
let mnt: string;
let service: RunningCli | undefined;
beforeAll(() => assertCliBuilt());
beforeEach(() => {
  root = makeScratch('synctray-room-');
  mnt = path.join(root, 'small');
  fs.mkdirSync(mnt);
  if (skip) return;
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { encoding: 'utf8' });
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
const bytes = (n: number, fill: string) => fill.repeat(n);

/** Runs of versions in `dir`: 5 days old (400 KiB), 3 days old (200 KiB), 2 hours old (100 KiB). */
function oldVersions(dir: string): { oldest: string; older: string; recent: string } {
  const stamps = {
    oldest: runStamp(new Date(Date.now() - 5 * DAY)),
    older: runStamp(new Date(Date.now() - 3 * DAY)),
    recent: runStamp(new Date(Date.now() - 2 * 3_600_000)),
  };
  writeTree(path.join(dir, stamps.oldest, 'deleted'), { 'a.bin': bytes(400 * KB, 'a') });
  writeTree(path.join(dir, stamps.older, 'replaced'), { 'b.bin': bytes(200 * KB, 'b') });
  writeTree(path.join(dir, stamps.recent, 'deleted'), { 'c.bin': bytes(100 * KB, 'c') });
  return stamps;
}

/** `count` files of 100 KiB each. */
const sourceOf = (count: number) =>
  Object.fromEntries(Array.from({ length: count }, (_, i) => [`photo-${i}.jpg`, bytes(100 * KB, String(i % 10))]));

describe.skipIf(skip)('a full destination holding old versions', () => {
  it('under the service: the oldest run goes first, only as many as the sync needs, and it completes', async () => {
    writeTree(at('src'), sourceOf(4));
    const dst = path.join(mnt, 'backup');
    const stamps = oldVersions(path.join(dst, '.synctray-versions'));
    expect((await cli('pair', 'add', at('src'), dst)).code).toBe(0);
    service = startCli(['run', '--config-dir', at('config')]);
    await waitFor(
      async () => {
        const s = await status();
        return s.running && s.pairs[0]?.state === 'idle';
      },
      'the first sync done',
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    expect(rsyncDiff(at('src'), dst)).toEqual([]);
    expect(fs.readdirSync(path.join(dst, '.synctray-versions')).sort()).toEqual([stamps.older, stamps.recent]);
    expect(findTempFiles(dst)).toEqual([]);
    const log = fs.readFileSync(at('config/logs/synctray.log'), 'utf8');
    expect(log).toContain(`Versions set aside at ${stamps.oldest} removed: to make room: the destination is full.`);
    expect(log).not.toContain(stamps.older);
  }, 40_000);

  it('under the service: keeps every version newer than a day and stops with the disk full', async () => {
    writeTree(at('src'), sourceOf(10));
    const dst = path.join(mnt, 'backup');
    const stamps = oldVersions(path.join(dst, '.synctray-versions'));
    expect((await cli('pair', 'add', at('src'), dst)).code).toBe(0);
    service = startCli(['run', '--config-dir', at('config')]);
    await waitFor(
      async () => {
        const s = await status();
        return s.running && s.pairs[0]?.state === 'error';
      },
      'the pair in error',
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    expect((await status()).pairs[0]!.lastError).toMatch(/no space left on the device/);
    expect(fs.readdirSync(path.join(dst, '.synctray-versions'))).toEqual([stamps.recent]);
    expect(fs.readFileSync(path.join(dst, '.synctray-versions', stamps.recent, 'deleted', 'c.bin'), 'utf8')).toBe(
      bytes(100 * KB, 'c'),
    );
    expect(findTempFiles(dst)).toEqual([]);
    for (const name of fs.readdirSync(dst).filter((n) => n.startsWith('photo-')))
      expect(fs.statSync(path.join(dst, name)).size).toBe(100 * KB);
    const log = fs.readFileSync(at('config/logs/synctray.log'), 'utf8');
    const removed = (stamp: string) => log.indexOf(`Versions set aside at ${stamp} removed: to make room`);
    expect(removed(stamps.oldest)).toBeGreaterThan(-1);
    expect(removed(stamps.older)).toBeGreaterThan(removed(stamps.oldest));
  }, 40_000);

  it('sync --keep-versions with --versions on the same drive: makes room the same way, and says so', async () => {
    writeTree(at('src'), sourceOf(4));
    const versions = path.join(mnt, 'versions');
    const stamps = oldVersions(versions);
    const dst = path.join(mnt, 'backup');
    const r = await cli('sync', at('src'), dst, '--versions', versions, '--keep-versions', '30d');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Removed the versions of ${stamps.oldest} to make room: the destination is full.`);
    expect(rsyncDiff(at('src'), dst)).toEqual([]);
    expect(fs.readdirSync(versions).sort()).toEqual([stamps.older, stamps.recent]);
  }, 40_000);

  it('sync without --keep-versions removes no version: the disk full ends it, exit 1', async () => {
    writeTree(at('src'), sourceOf(4));
    const versions = path.join(mnt, 'versions');
    const stamps = oldVersions(versions);
    const r = await cli('sync', at('src'), path.join(mnt, 'backup'), '--versions', versions);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no space left/i);
    expect(fs.readdirSync(versions).sort()).toEqual(Object.values(stamps).sort());
  }, 40_000);
});
