/** `synctray pair pause --for`: a pause that ends by itself, through the real service and the built CLI. */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertCliBuilt, runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { writeTree } from '../helpers/tree-spec.js';
import { waitFor } from '../helpers/wait-for.js';

let root: string;
let configDir: string;
let service: RunningCli | undefined;
beforeAll(() => assertCliBuilt());
beforeEach(() => {
  root = makeScratch('synctray-timed-pause-');
  configDir = path.join(root, 'config');
  writeTree(path.join(root, 'photos'), { 'a.jpg': 'a' });
});
afterEach(async () => {
  await stopService();
  removeScratch(root);
});

const at = (p: string) => path.join(root, p);
const cli = (...args: string[]) => runCli([...args, '--config-dir', configDir]);
type Status = { running: boolean; pairs: { name: string; state: string; pausedUntil?: string }[] };
const status = async () => JSON.parse((await cli('status', '--json')).stdout) as Status;
const photos = async () => (await status()).pairs.find((p) => p.name === 'photos');
const listed = async () =>
  (JSON.parse((await cli('pair', 'list', '--json')).stdout) as { paused: boolean; pausedUntil?: string }[])[0]!;

/**
 * Seconds a test's pause lasts: long enough for the `calls` commands that look at it before it
 * ends, each as slow as the `pair add` the test began with took (`cliMs`), and at least `least`.
 * Under Wine on a loaded machine a command takes seconds to start; a fixed pause ran out first.
 */
function lasting(least: number, calls: number, cliMs: number): number {
  return Math.max(least, Math.ceil((calls * cliMs) / 1000));
}

/** Adds the photos pair; how long the command took, in ms. */
async function addPhotos(...options: string[]): Promise<number> {
  const t0 = Date.now();
  const added = await cli('pair', 'add', at('photos'), at('backup/photos'), ...options);
  expect(added.code, added.stderr).toBe(0);
  return Date.now() - t0;
}

async function startService(): Promise<void> {
  service = startCli(['run', '--config-dir', configDir]);
  await waitFor(async () => (await status()).running, 'the service running', { intervalMs: 50 });
}

async function stopService(): Promise<void> {
  service?.child.kill('SIGINT');
  await service?.done;
  service = undefined;
}

describe('a pair paused for a time', () => {
  it('resumes by itself, and a change made during the pause lands after it', async () => {
    const seconds = lasting(3, 5, await addPhotos());
    await startService();
    await waitFor(async () => (await photos())?.state === 'idle', 'photos synced', { intervalMs: 50 });

    const asked = Date.now();
    const paused = await cli('pair', 'pause', 'photos', '--for', `${seconds}s`);
    const answered = Date.now();
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toMatch(/^Paused until (tomorrow )?\d\d:\d\d: photos \(SyncTray is running: done now\)\.\n$/);
    const now = await photos();
    expect(now?.state).toBe('paused');
    // From when the service took the command: between asking and the answer.
    const until = Date.parse(now?.pausedUntil ?? '');
    expect(until).toBeGreaterThanOrEqual(asked + seconds * 1000);
    expect(until).toBeLessThanOrEqual(answered + seconds * 1000);
    expect((await cli('status')).stdout).toContain(`photos: paused until ${now!.pausedUntil}`);
    expect(await listed()).toMatchObject({ paused: true, pausedUntil: now!.pausedUntil });

    fs.writeFileSync(at('photos/during.jpg'), 'taken during the pause');
    await waitFor(async () => (await photos())?.state !== 'paused', 'the pause over', {
      timeoutMs: until - Date.now() + 15_000,
      intervalMs: 50,
    });
    expect(Date.now()).toBeGreaterThanOrEqual(until);
    await waitFor(() => fs.existsSync(at('backup/photos/during.jpg')), 'the change made during the pause backed up', {
      intervalMs: 50,
    });
    expect(fs.readFileSync(at('backup/photos/during.jpg'), 'utf8')).toBe('taken during the pause');
    const after = await listed();
    expect(after.paused).toBe(false);
    expect(after.pausedUntil).toBeUndefined();
  }, 180_000);

  it('holds across a restart of the service, and resume ends it early', async () => {
    // Seen through a stop and a start of the service before it ends.
    const seconds = lasting(5, 8, await addPhotos());
    await startService();
    await waitFor(async () => (await photos())?.state === 'idle', 'photos synced', { intervalMs: 50 });
    expect((await cli('pair', 'pause', '--all', '--for', `${seconds}s`)).code).toBe(0);
    const until = (await photos())!.pausedUntil!;
    fs.writeFileSync(at('photos/during.jpg'), 'd');
    await stopService();

    // Stopped: the config keeps it, and status says it.
    expect(await photos()).toMatchObject({ state: 'paused', pausedUntil: until });
    await startService();
    expect(await photos()).toMatchObject({ state: 'paused', pausedUntil: until });
    expect(fs.existsSync(at('backup/photos/during.jpg'))).toBe(false);
    await waitFor(() => fs.existsSync(at('backup/photos/during.jpg')), 'the change backed up once the pause ended', {
      timeoutMs: Date.parse(until) - Date.now() + 15_000,
      intervalMs: 50,
    });
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(until));

    // A long pause, ended by resume: nothing of it is left.
    expect((await cli('pair', 'pause', 'photos', '--for', '2h')).code).toBe(0);
    expect((await photos())?.pausedUntil).toBeDefined();
    expect((await cli('pair', 'resume', 'photos')).code).toBe(0);
    expect((await photos())?.pausedUntil).toBeUndefined();
    expect((await listed()).pausedUntil).toBeUndefined();
  }, 180_000);

  it('is kept in the config with no service running, and ends when one starts after its time', async () => {
    const seconds = lasting(1, 4, await addPhotos('--yes'));
    const paused = await cli('pair', 'pause', 'photos', '--for', `${seconds}s`);
    expect(paused.code, paused.stderr).toBe(0);
    const until = Date.parse((await listed()).pausedUntil ?? '');
    expect(await photos()).toMatchObject({ state: 'paused' });
    await waitFor(() => Date.now() > until, 'the pause to run out', { timeoutMs: until - Date.now() + 5_000 });
    // Over while nothing ran: stopped, and synced as soon as the service starts.
    expect(await photos()).toMatchObject({ state: 'stopped' });
    await startService();
    await waitFor(() => fs.existsSync(at('backup/photos/a.jpg')), 'the pair synced', { intervalMs: 50 });
    expect((await listed()).paused).toBe(false);
  }, 180_000);

  it('pauses all for a time without shortening a longer pause, running or not', async () => {
    writeTree(at('docs'), { 'cv.txt': 'cv' });
    writeTree(at('music'), { 'song.mp3': 's' });
    for (const name of ['photos', 'docs', 'music'])
      expect((await cli('pair', 'add', at(name), at(`backup/${name}`), '--yes')).code).toBe(0);
    const pairs = async () =>
      Object.fromEntries(
        (JSON.parse((await cli('pair', 'list', '--json')).stdout) as { name: string; pausedUntil?: string }[]).map(
          (p) => [p.name, p.pausedUntil ?? 'until resumed'],
        ),
      );
    // With no service running: the config alone.
    expect((await cli('pair', 'pause', 'docs')).code).toBe(0);
    expect((await cli('pair', 'pause', 'music', '--for', '5h')).code).toBe(0);
    const musicUntil = (await pairs()).music;
    const offline = await cli('pair', 'pause', '--all', '--for', '2h');
    expect(offline.stdout).toMatch(
      /^Paused until (tomorrow )?\d\d:\d\d: photos; docs, music kept their longer pause\.\n$/,
    );
    const twoHours = (await pairs()).photos;
    expect(Date.parse(twoHours!) - Date.now()).toBeGreaterThan(7_100_000);
    expect(await pairs()).toEqual({ photos: twoHours, docs: 'until resumed', music: musicUntil });

    // Through the running service: a shorter pause is lengthened, a longer one kept.
    expect((await cli('pair', 'resume', 'photos')).code).toBe(0);
    expect((await cli('pair', 'pause', 'photos', '--for', '10m')).code).toBe(0);
    await startService();
    const live = await cli('pair', 'pause', '--all', '--for', '3h');
    expect(live.stdout).toMatch(
      /^Paused until (tomorrow )?\d\d:\d\d: photos; docs, music kept their longer pause \(SyncTray/,
    );
    const now = await pairs();
    expect(Date.parse(now.photos!) - Date.now()).toBeGreaterThan(3 * 3_600_000 - 60_000);
    expect((await status()).pairs.map((p) => [p.name, p.state, p.pausedUntil ?? 'until resumed'])).toEqual([
      ['photos', 'paused', now.photos],
      ['docs', 'paused', 'until resumed'],
      ['music', 'paused', musicUntil],
    ]);
    // Resume all ends every pause, timed or not.
    expect((await cli('pair', 'resume', '--all')).code).toBe(0);
    const resumed = JSON.parse((await cli('pair', 'list', '--json')).stdout) as {
      paused: boolean;
      pausedUntil?: string;
    }[];
    expect(resumed.map((p) => [p.paused, p.pausedUntil])).toEqual([
      [false, undefined],
      [false, undefined],
      [false, undefined],
    ]);
  });

  it('refuses a duration it cannot read, or none, and changes nothing', async () => {
    expect((await cli('pair', 'add', at('photos'), at('backup/photos'), '--yes')).code).toBe(0);
    const bad = await cli('pair', 'pause', 'photos', '--for', 'soon');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--for takes a duration such as 90s, 30m, 1h or 1d');
    const zero = await cli('pair', 'pause', 'photos', '--for', '0');
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('--for takes a duration of at least 1s; to pause until resumed, leave it out.');
    const resume = await cli('pair', 'resume', 'photos', '--for', '1h');
    expect(resume.code).toBe(2);
    expect(await listed()).toMatchObject({ paused: false });
  });
});
