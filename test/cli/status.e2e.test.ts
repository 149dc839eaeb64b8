/**
 * `synctray status` as systemctl users read it: not running is told apart from idle, in words and
 * in --json, and the exit status says whether all is well (0), a pair needs the user (1), or
 * SyncTray is not running (3).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertCliBuilt, describeRun, runCli, runCliOnTerminal, startCli, type RunningCli } from '../helpers/cli.js';
import { watchedFoldersKept } from '../helpers/like-ntfs.js';
import { hasTool, skipReasonOutsideCi } from '../helpers/requirements.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { writeTree } from '../helpers/tree-spec.js';
import { waitFor } from '../helpers/wait-for.js';

let root: string;
let service: RunningCli | undefined;
beforeAll(() => assertCliBuilt());
beforeEach(() => {
  root = makeScratch('synctray-status-');
  writeTree(at('photos'), { 'a.jpg': 'a' });
  writeTree(at('docs'), { 'cv.txt': 'cv' });
});
afterEach(async () => {
  service?.child.kill('SIGTERM');
  await service?.done;
  service = undefined;
  removeScratch(root);
});

const at = (p: string) => path.join(root, p);
const cli = (...args: string[]) => runCli([...args, '--config-dir', at('config')]);
type Status = { running: boolean; pairs: { name: string; state: string; lastSyncAt?: string }[] };
const json = async () => {
  const r = await cli('status', '--json');
  return { code: r.code, ...(JSON.parse(r.stdout) as Status) };
};
const noScript = skipReasonOutsideCi(
  hasTool('script'),
  "skipping status on a terminal: it needs util-linux's script for a pseudo-terminal",
);

async function startService(): Promise<void> {
  service = startCli(['run', '--config-dir', at('config')]);
  await waitFor(
    async () => (await json()).pairs.every((p) => p.state === 'idle' || p.state === 'paused') && (await json()).running,
    'the pairs synced',
    { intervalMs: 50 },
  );
}

describe('synctray status', () => {
  it('says SyncTray is not running, calls no pair idle, and exits 3', async () => {
    expect((await cli('pair', 'add', at('photos'), at('backup/photos'))).code).toBe(0);
    expect((await cli('pair', 'add', at('docs'), at('backup/docs'), '--paused')).code).toBe(0);
    const text = await cli('status');
    expect(text.code, describeRun(text)).toBe(3);
    expect(text.stdout).toBe("SyncTray is not running ('synctray run' starts it).\nphotos: stopped\ndocs: paused\n");
    expect(await json()).toMatchObject({
      code: 3,
      running: false,
      pairs: [
        { name: 'photos', state: 'stopped' },
        { name: 'docs', state: 'paused' },
      ],
    });
    // No config at all: not running either.
    expect((await runCli(['status', '--config-dir', at('nowhere')])).code).toBe(3);
  });

  it('exits 0 while it runs and every pair is fine, and 1 once a pair needs the user', async ({ skip }) => {
    expect((await cli('pair', 'add', at('photos'), at('backup/photos'))).code).toBe(0);
    expect((await cli('pair', 'add', at('docs'), at('backup/docs'), '--paused')).code).toBe(0);
    await startService();
    const fine = await json();
    expect(fine).toMatchObject({
      code: 0,
      running: true,
      pairs: [
        { name: 'photos', state: 'idle' },
        { name: 'docs', state: 'paused' },
      ],
    });
    // In --json and off a terminal, the time itself.
    expect(fine.pairs[0]!.lastSyncAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const piped = await cli('status');
    expect(piped.code).toBe(0);
    expect(piped.stdout).toContain(`photos: idle; last synced ${fine.pairs[0]!.lastSyncAt}`);

    // The source folder gone: the pair waits for it, which needs the user.
    const kept = watchedFoldersKept();
    skip(kept !== undefined, kept);
    fs.rmSync(at('photos'), { recursive: true });
    await waitFor(
      async () => (await json()).pairs[0]!.state === 'waiting-for-source',
      'the pair waiting for its source',
      { intervalMs: 50 },
    );
    expect((await json()).code).toBe(1);
    expect((await cli('status')).code).toBe(1);
  });

  it.skipIf(noScript)('says how long ago a pair synced on a terminal', async () => {
    expect((await cli('pair', 'add', at('photos'), at('backup/photos'))).code).toBe(0);
    await startService();
    const r = await runCliOnTerminal(['status', '--config-dir', at('config')]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toBe(
      'SyncTray is running.\nphotos: idle; last synced just now; 1 file (1 B) copied since start\n' +
        '  versions: none kept yet, kept 30d\n',
    );
  });

  it('tells what the versions take, running or not; a pair keeping none tells nothing', async () => {
    writeTree(at('photos'), { 'b.jpg': 'bb', 'c.jpg': 'ccc', 'd.jpg': 'dddd' });
    expect((await cli('pair', 'add', at('photos'), at('backup/photos'), '--keep-versions', '7d')).code).toBe(0);
    expect((await cli('pair', 'add', at('docs'), at('backup/docs'), '--no-versions')).code).toBe(0);
    await startService();
    fs.rmSync(at('photos/b.jpg'));
    fs.writeFileSync(at('photos/c.jpg'), 'changed');
    type WithVersions = { versions?: { files: number; bytes: number; keepMs: number; oldest?: string } };
    const versionsOf = async () => ((await json()).pairs as WithVersions[]).map((p) => p.versions);
    await waitFor(async () => (await versionsOf())[0]?.files === 2, 'the two versions measured', {
      intervalMs: 50,
    });
    const [photos, docs] = await versionsOf();
    expect(photos).toMatchObject({ files: 2, bytes: 5, keepMs: 7 * 86_400_000 });
    expect(Date.now() - Date.parse(photos!.oldest!)).toBeLessThan(60_000);
    expect(docs).toBeUndefined();
    expect((await cli('status')).stdout).toContain('photos: idle; last synced');
    expect((await cli('status')).stdout).toContain('\n  versions: 5 B in 2 files, kept 7d\n');

    // Stopped: measured from the folder itself.
    service!.child.kill('SIGTERM');
    await service!.done;
    service = undefined;
    const offline = await cli('status');
    expect(offline.code).toBe(3);
    expect(offline.stdout).toBe(
      "SyncTray is not running ('synctray run' starts it).\nphotos: stopped\n  versions: 5 B in 2 files, kept 7d\n" +
        'docs: stopped\n',
    );
    expect(await versionsOf()).toEqual([photos, undefined]);
  });
});
