/** `synctray run` with pairs, driven from other processes as a user would, through the built CLI. */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertCliBuilt, runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { rsyncDiff, rsyncSkipReason } from '../helpers/oracle.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { writeTree } from '../helpers/tree-spec.js';
import { waitFor } from '../helpers/wait-for.js';

const noRsync = rsyncSkipReason();
const STAMP = /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/;
let root: string;
let configDir: string;
let service: RunningCli | undefined;
beforeAll(() => assertCliBuilt());
beforeEach(() => {
  root = makeScratch('synctray-run-');
  configDir = path.join(root, 'config');
  writeTree(path.join(root, 'photos'), { 'a.jpg': 'a', 'trip/b.jpg': 'b' });
  writeTree(path.join(root, 'docs'), { 'cv.txt': 'cv' });
  writeTree(path.join(root, 'music'), { 'song.mp3': 's' });
});
afterEach(async () => {
  service?.child.kill('SIGINT');
  await service?.done;
  service = undefined;
  removeScratch(root);
});

const at = (p: string) => path.join(root, p);
const cli = (...args: string[]) => runCli([...args, '--config-dir', configDir]);
type Status = { running: boolean; pairs: { name: string; state: string; lastSyncAt?: string }[] };
const status = async () => JSON.parse((await cli('status', '--json')).stdout) as Status;
/**
 * A pair's state in the running service; undefined while none runs (offline, status calls every
 * pair stopped or paused).
 */
const stateOf = async (name: string) => {
  const now = await status();
  return now.running ? now.pairs.find((p) => p.name === name)?.state : undefined;
};

describe.skipIf(noRsync)('synctray run', () => {
  it(
    'syncs and watches every unpaused pair, ' + 'and takes pause, resume and add from other processes at once',
    async () => {
      expect((await cli('pair', 'add', at('photos'), at('backup/photos'))).code).toBe(0);
      expect((await cli('pair', 'add', at('docs'), at('backup/docs'), '--paused')).code).toBe(0);
      service = startCli(['run', '--config-dir', configDir]);
      await waitFor(
        async () => (await status()).running && (await stateOf('photos')) === 'idle',
        'photos synced and watched',
        { intervalMs: 50 },
      );
      expect(rsyncDiff(at('photos'), at('backup/photos'))).toEqual([]);
      expect(await stateOf('docs')).toBe('paused');
      expect(fs.existsSync(at('backup/docs'))).toBe(false);

      // Watched: a change goes through without anything asked.
      fs.writeFileSync(at('photos/new.jpg'), 'new');
      await waitFor(() => rsyncDiff(at('photos'), at('backup/photos')).length === 0, 'the new photo backed up', {
        intervalMs: 20,
      });

      expect((await cli('pair', 'resume', 'docs')).code).toBe(0);
      await waitFor(() => fs.existsSync(at('backup/docs/cv.txt')), 'docs synced once resumed', { intervalMs: 20 });
      expect((await cli('pair', 'pause', 'photos')).code).toBe(0);
      expect(await stateOf('photos')).toBe('paused');
      fs.writeFileSync(at('photos/while-paused.jpg'), 'p');

      const added = await cli('pair', 'add', at('music'), at('backup/music'));
      expect(added.code, added.stderr).toBe(0);
      expect(added.stdout).toContain('SyncTray is running');
      await waitFor(() => fs.existsSync(at('backup/music/song.mp3')), 'the added pair synced at once', {
        intervalMs: 20,
      });
      expect(fs.existsSync(at('backup/photos/while-paused.jpg'))).toBe(false);

      const listed = JSON.parse((await cli('pair', 'list', '--json')).stdout) as { name: string; paused: boolean }[];
      expect(listed.map((p) => [p.name, p.paused])).toEqual([
        ['photos', true],
        ['docs', false],
        ['music', false],
      ]);
    },
  );

  it('takes pair set at once: the pair starts again with its new excludes', async () => {
    expect((await cli('pair', 'add', at('photos'), at('backup/photos'))).code).toBe(0);
    service = startCli(['run', '--config-dir', configDir]);
    await waitFor(async () => (await stateOf('photos')) === 'idle', 'photos synced', { intervalMs: 50 });
    fs.writeFileSync(at('patterns'), '# raw files stay on the computer\n*.raw\n');
    const set = await cli('pair', 'set', 'photos', '--exclude-from', at('patterns'), '--mode', 'update');
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toBe(
      'Changed pair "photos": mode update; exclude *.raw. SyncTray is running: it compares the pair whole again now.\n',
    );
    const listed = JSON.parse((await cli('pair', 'list', '--json')).stdout) as { exclude: string[]; mode: string }[];
    expect(listed.map((p) => [p.mode, p.exclude])).toEqual([['update', ['*.raw']]]);
    fs.writeFileSync(at('photos/big.raw'), 'raw');
    fs.writeFileSync(at('photos/small.jpg'), 'jpg');
    await waitFor(() => fs.existsSync(at('backup/photos/small.jpg')), 'the new photo backed up', { intervalMs: 20 });
    await waitFor(async () => (await stateOf('photos')) === 'idle', 'photos idle again', { intervalMs: 50 });
    expect(fs.existsSync(at('backup/photos/big.raw'))).toBe(false);
    // Checked on the command line before the service is asked: nothing changes.
    const bad = await cli('pair', 'set', 'photos', '--mode', 'sideways');
    expect(bad.code).toBe(2);
    expect(JSON.parse((await cli('pair', 'list', '--json')).stdout)).toEqual(listed);
  });

  it('resumes an interrupted first sync after a crash without copying finished files again', async () => {
    const big = Buffer.alloc(256 * 1024, 7);
    for (let d = 0; d < 20; d++) {
      fs.mkdirSync(at(`large/d${d}`), { recursive: true });
      for (let f = 0; f < 50; f++) fs.writeFileSync(at(`large/d${d}/f${f}`), big);
    }
    expect((await cli('pair', 'add', at('large'), at('backup/large'))).code).toBe(0);
    const count = () =>
      fs.existsSync(at('backup/large'))
        ? fs.readdirSync(at('backup/large'), { recursive: true }).filter((n) => String(n).includes('/f')).length
        : 0;
    service = startCli(['run', '--config-dir', configDir]);
    await waitFor(() => count() >= 200, 'some files copied', { intervalMs: 2 });
    service.child.kill('SIGKILL');
    await service.done;
    const before = count();
    expect(before).toBeLessThan(1000);
    service = startCli(['run', '--config-dir', configDir]);
    await waitFor(
      async () => (await status()).running && (await stateOf('large')) === 'idle',
      'the first sync finished',
      { intervalMs: 50 },
    );
    expect(rsyncDiff(at('large'), at('backup/large'))).toEqual([]);
    const copied = (await status()).pairs.find((p) => p.name === 'large') as unknown as { files: number };
    // Files already in place are not copied again (the few under way when it was killed are).
    expect(copied.files).toBeLessThanOrEqual(1000 - before + 64);
  });

  it('stops cleanly on one SIGTERM in the middle of a first sync: exit 0, lock released, no temp files', async () => {
    const big = Buffer.alloc(256 * 1024, 3);
    for (let d = 0; d < 10; d++) {
      fs.mkdirSync(at(`large/d${d}`), { recursive: true });
      for (let f = 0; f < 50; f++) fs.writeFileSync(at(`large/d${d}/f${f}`), big);
    }
    expect((await cli('pair', 'add', at('large'), at('backup/large'))).code).toBe(0);
    service = startCli(['run', '--config-dir', configDir]);
    await waitFor(() => fs.existsSync(at('backup/large/d0')), 'the first sync under way', { intervalMs: 2 });
    service.child.kill('SIGTERM');
    const r = await service.done;
    service = undefined;
    expect(r.code, r.stderr).toBe(0);
    expect(fs.existsSync(path.join(configDir, 'synctray.lock'))).toBe(false);
    const temps = fs.readdirSync(at('backup'), { recursive: true }).filter((n) => String(n).includes('.~synctray-'));
    expect(temps).toEqual([]);
  });

  it('starts on a damaged config, keeping it aside and saying so', async () => {
    fs.mkdirSync(configDir, { recursive: true });
    fs.writeFileSync(path.join(configDir, 'config.json'), '{ "pairs": [');
    service = startCli(['run', '--json', '--config-dir', configDir]);
    let out = '';
    service.child.stdout.on('data', (d: string) => (out += d));
    await waitFor(() => out.includes('"event":"running"'), 'the service running');
    const problem = JSON.parse(out.split('\n').find((l) => l.includes('"event":"problem"'))!) as {
      message: string;
      keptAt: string;
    };
    expect(problem.message).toContain('could not be read (not valid JSON');
    expect(fs.readFileSync(problem.keptAt, 'utf8')).toBe('{ "pairs": [');
  });

  it('lets one instance run per config: a second one exits 2 naming the first', async () => {
    service = startCli(['run', '--config-dir', configDir]);
    await waitFor(async () => (await status()).running, 'the first instance', { intervalMs: 50 });
    const second = await cli('run');
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/already running \(pid \d+\)/);
    service.child.kill('SIGINT');
    const r = await service.done;
    service = undefined;
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readdirSync(path.join(configDir, 'state'))).toEqual([]);
    expect((await status()).running).toBe(false);
    const log = (await cli('log')).stdout.trim();
    expect(log).toBe(path.join(configDir, 'logs', 'synctray.log'));
    expect(fs.readFileSync(log, 'utf8')).toMatch(/^\S+ info SyncTray is running \(pid \d+\)/);
  });

  it('changes settings in the config, and at once in a running service', async () => {
    const offline = await cli('settings', 'notifications', 'errors');
    expect(offline.code, offline.stderr).toBe(0);
    expect(offline.stdout).toContain('Saved; SyncTray uses it when it starts.');
    service = startCli(['run', '--config-dir', configDir]);
    await waitFor(async () => (await status()).running, 'the service running', { intervalMs: 50 });
    const live = await cli('settings', 'log-level', 'debug');
    expect(live.code, live.stderr).toBe(0);
    expect(live.stdout).toBe(
      'notifications errors\nlog-level debug\npause-on-battery off\nSyncTray is running: the change applies now.\n',
    );
    expect(JSON.parse((await cli('settings', '--json')).stdout)).toEqual({
      notifications: 'errors',
      logLevel: 'debug',
      pauseOnBattery: false,
    });
    const saved = JSON.parse(fs.readFileSync(path.join(configDir, 'config.json'), 'utf8')) as {
      settings: Record<string, unknown>;
    };
    expect(saved.settings).toMatchObject({ notifications: 'errors', logLevel: 'debug' });

    const wrong = await cli('settings', 'notifications', 'loud');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('The setting notifications must be one of all, errors, none (got "loud").');
    const unknown = await cli('settings', 'colour', 'blue');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(
      'There is no setting "colour" (settings: notifications, log-level, pause-on-battery).',
    );
    expect(JSON.parse((await cli('settings', '--json')).stdout)).toEqual({
      notifications: 'errors',
      logLevel: 'debug',
      pauseOnBattery: false,
    });
  });

  it('shows held deletions and applies them or restores them when asked through pair deletions', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 12; i++) files[`f${i}.txt`] = `${i}`;
    writeTree(at('notes'), files);
    expect((await cli('pair', 'add', at('notes'), at('backup/notes'))).code).toBe(0);
    const offline = await cli('pair', 'deletions', 'notes');
    expect(offline.code).toBe(2);
    expect(offline.stderr).toContain('SyncTray is not running, so no deletions are held back');

    service = startCli(['run', '--config-dir', configDir]);
    await waitFor(async () => (await stateOf('notes')) === 'idle', 'notes synced', { intervalMs: 50 });
    const none = await cli('pair', 'deletions', 'notes');
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Pair "notes" holds no deletions back.');

    for (let i = 0; i < 8; i++) fs.rmSync(at(`notes/f${i}.txt`));
    const heldReason = async () =>
      (await status()).pairs.find((p) => p.name === 'notes') as { held?: string } | undefined;
    await waitFor(async () => (await heldReason())?.held !== undefined, 'the deletions held', { intervalMs: 50 });
    const shown = await cli('pair', 'deletions', 'notes');
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(
      `The 8 files that mirroring would delete from ${at('backup/notes')}:\n  f0.txt\n  f1.txt\n`,
    );
    expect(shown.stdout).not.toContain('--max-delete'); // the guard's advice for 'synctray sync' does not apply here
    const token = /--apply (\w+)/.exec(shown.stdout)?.[1];
    expect(token).toMatch(/^[0-9a-f]{12}$/);
    const wrong = await cli('pair', 'deletions', 'notes', '--apply', '000000000000');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('have changed since they were shown (now 8 files): look at them again.');

    const restored = await cli('pair', 'deletions', 'notes', '--restore');
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain(`Restored 8 files into ${at('notes')} from ${at('backup/notes')}.`);
    await waitFor(
      async () => (await stateOf('notes')) === 'idle' && (await heldReason())?.held === undefined,
      'clear again',
      { intervalMs: 50 },
    );
    expect(rsyncDiff(at('notes'), at('backup/notes'))).toEqual([]);
    expect(fs.readdirSync(at('notes'))).toHaveLength(12);

    for (let i = 0; i < 8; i++) fs.rmSync(at(`notes/f${i}.txt`));
    await waitFor(async () => (await heldReason())?.held !== undefined, 'held again', { intervalMs: 50 });
    const again = /--apply (\w+)/.exec((await cli('pair', 'deletions', 'notes')).stdout)?.[1];
    const applied = await cli('pair', 'deletions', 'notes', '--apply', again!);
    expect(applied.code, applied.stderr).toBe(0);
    // Four files, besides the pair's marker and its versions, where the deleted files went.
    const own = ['.synctray-pair', '.synctray-versions'];
    await waitFor(
      () => fs.readdirSync(at('backup/notes')).filter((n) => !own.includes(n)).length === 4,
      'the deletions made',
      { intervalMs: 50 },
    );
    expect(rsyncDiff(at('notes'), at('backup/notes'))).toEqual([]);
    const [stamp] = fs.readdirSync(at('backup/notes/.synctray-versions'));
    expect(fs.readdirSync(at(`backup/notes/.synctray-versions/${stamp}/deleted`))).toHaveLength(8);
  });

  it('moves what the pair deletes or overwrites into .synctray-versions/<stamp>/deleted|replaced', async () => {
    writeTree(at('docs'), { 'keep.txt': 'k', 'old/gone.txt': 'gone', 'note.txt': 'v1', 'a.txt': 'a', 'b.txt': 'b' });
    expect((await cli('pair', 'add', at('docs'), at('backup/docs'))).code).toBe(0);
    service = startCli(['run', '--config-dir', configDir]);
    await waitFor(() => rsyncDiff(at('docs'), at('backup/docs')).length === 0, 'the first sync', { intervalMs: 50 });
    const noteTime = fs.statSync(at('backup/docs/note.txt')).mtimeMs;
    const goneTime = fs.statSync(at('backup/docs/old/gone.txt')).mtimeMs;

    fs.rmSync(at('docs/old'), { recursive: true });
    fs.writeFileSync(at('docs/note.txt'), 'v2, longer');
    const versions = at('backup/docs/.synctray-versions');
    await waitFor(
      () =>
        rsyncDiff(at('docs'), at('backup/docs')).length === 0 &&
        fs.readdirSync(versions).some((s) => fs.existsSync(path.join(versions, s, 'deleted/old/gone.txt'))) &&
        fs.readdirSync(versions).some((s) => fs.existsSync(path.join(versions, s, 'replaced/note.txt'))),
      'the deletion and the update synced, both kept',
      { intervalMs: 50 },
    );
    const stamps = fs.readdirSync(versions);
    for (const s of stamps) expect(s).toMatch(STAMP);
    const kept = (rel: string) =>
      path.join(versions, stamps.find((s) => fs.existsSync(path.join(versions, s, rel)))!, rel);
    expect(fs.readFileSync(kept('deleted/old/gone.txt'), 'utf8')).toBe('gone');
    expect(fs.statSync(kept('deleted/old/gone.txt')).mtimeMs).toBe(goneTime);
    expect(fs.readFileSync(kept('replaced/note.txt'), 'utf8')).toBe('v1');
    expect(fs.statSync(kept('replaced/note.txt')).mtimeMs).toBe(noteTime);
    expect(fs.readFileSync(at('backup/docs/note.txt'), 'utf8')).toBe('v2, longer');
    expect(fs.existsSync(at('backup/docs/old'))).toBe(false);
    // Never synced back into the source.
    expect(fs.existsSync(at('docs/.synctray-versions'))).toBe(false);
  });
});
