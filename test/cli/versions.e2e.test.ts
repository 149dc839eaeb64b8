import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runStamp } from '../../src/storage/versions.js';
import { assertCliBuilt, describeRun, runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { waitFor } from '../helpers/wait-for.js';
import { posixOnly } from '../helpers/requirements.js';

/**
 * `synctray versions` and `synctray restore`, run as a user runs them, on versions folders built
 * here in the layout the syncs keep them in (`<stamp>/<reason>/<path>`), offline and through a
 * running SyncTray.
 */
let root: string;
let configDir: string;
let service: RunningCli | undefined;
beforeAll(() => assertCliBuilt());
beforeEach(() => {
  root = makeScratch('synctray-versions-');
  configDir = path.join(root, 'config');
  fs.mkdirSync(at('src'));
});
afterEach(async () => {
  service?.child.kill('SIGINT');
  const stopped = await service?.done;
  service = undefined;
  removeScratch(root);
  if (stopped) expect(stopped.code, describeRun(stopped)).toBe(0);
});

const at = (p: string) => path.join(root, p);
// Local times in the table are UTC here, so that what the tests read does not depend on the machine.
const cli = (...args: string[]) => runCli([...args, '--config-dir', configDir], { env: { TZ: 'UTC' } });

const T1 = new Date('2026-12-01T09:00:00.000Z');
const T2 = new Date('2026-12-03T09:00:00.000Z');
const T3 = new Date('2026-12-05T09:00:00.000Z');
const MTIME_1 = new Date('2026-11-20T08:00:00.250Z');
const MTIME_2 = new Date('2026-11-25T08:00:00.500Z');
const MTIME_3 = new Date('2026-11-30T08:00:00.750Z');

/** Puts one version in `versionsRoot` as a sync sets it aside, with its bytes and mtime. */
function keep(versionsRoot: string, when: Date, reason: string, rel: string, content: string, mtime: Date): void {
  const file = path.join(versionsRoot, runStamp(when), reason, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  fs.utimesSync(file, mtime, mtime);
}

/** What a user checks of a restored file: its bytes and its modification time (to the millisecond). */
function contentAndTime(file: string): [string, string] {
  return [fs.readFileSync(file, 'utf8'), fs.statSync(file).mtime.toISOString()];
}

/** Every file under `dir`, relative, sorted. */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (
    fs
      .readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => !e.isDirectory())
      // Relative paths as SyncTray writes them, with `/` on every system.
      .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
      .sort()
  );
}

/**
 * The pair "docs" (at('src') -> `destination`) with versions in `versionsRoot`: `report.txt`
 * deleted at T1, replaced at T2 and T3 (three versions); `letters/a.txt` deleted at T2;
 * `letters/b.txt` replaced at T3; `photo.jpg` deleted at T1.
 */
async function pairWithVersions(destination: string, versionsRoot: string, ...addOptions: string[]): Promise<void> {
  const added = await cli('pair', 'add', at('src'), destination, '--name', 'docs', ...addOptions);
  expect(added.code, describeRun(added)).toBe(0);
  keep(versionsRoot, T1, 'deleted', 'report.txt', 'first draft', MTIME_1);
  keep(versionsRoot, T2, 'replaced', 'report.txt', 'second draft', MTIME_2);
  keep(versionsRoot, T3, 'replaced', 'report.txt', 'third draft', MTIME_3);
  keep(versionsRoot, T2, 'deleted', 'letters/a.txt', 'dear a', MTIME_1);
  keep(versionsRoot, T3, 'replaced', 'letters/b.txt', 'dear b', MTIME_2);
  keep(versionsRoot, T1, 'deleted', 'photo.jpg', 'jpeg', MTIME_3);
}

type Listed = { path: string; setAside: string; reason: string; size: number; mtime: string };
const listed = async (...args: string[]) => {
  const r = await cli('versions', 'docs', ...args, '--json');
  expect(r.code, describeRun(r)).toBe(0);
  return JSON.parse(r.stdout) as Listed[];
};

describe('synctray versions and restore, offline', () => {
  const versionsRoot = () => at('dst/.synctray-versions');
  beforeEach(() => pairWithVersions(at('dst'), versionsRoot()));

  it('lists every version newest first, a file or a folder by prefix, as text and as JSON', async () => {
    const all = await listed();
    expect(all.map((v) => [v.setAside, v.reason, v.path])).toEqual([
      [T3.toISOString(), 'replaced', 'letters/b.txt'],
      [T3.toISOString(), 'replaced', 'report.txt'],
      [T2.toISOString(), 'deleted', 'letters/a.txt'],
      [T2.toISOString(), 'replaced', 'report.txt'],
      [T1.toISOString(), 'deleted', 'photo.jpg'],
      [T1.toISOString(), 'deleted', 'report.txt'],
    ]);
    expect(all[0]).toEqual({
      path: 'letters/b.txt',
      setAside: T3.toISOString(),
      reason: 'replaced',
      size: 6,
      mtime: MTIME_2.toISOString(),
    });
    expect((await listed('letters')).map((v) => v.path)).toEqual(['letters/b.txt', 'letters/a.txt']);
    expect((await listed('letters/')).map((v) => v.path)).toEqual(['letters/b.txt', 'letters/a.txt']);
    expect((await listed('report.txt')).map((v) => v.size)).toEqual([11, 12, 11]);
    expect(await listed('lett')).toEqual([]);

    const text = await cli('versions', 'docs', 'letters');
    expect(text.code, describeRun(text)).toBe(0);
    expect(text.stdout).toBe(
      '2 versions of pair "docs" under letters, newest first (times local):\n' +
        'SET ASIDE            WHY       SIZE  MODIFIED             PATH\n' +
        '2026-12-05 09:00:00  replaced   6 B  2026-11-25 08:00:00  letters/b.txt\n' +
        '2026-12-03 09:00:00  deleted    6 B  2026-11-20 08:00:00  letters/a.txt\n',
    );
    const none = await cli('versions', 'docs', 'nothing/here');
    expect(none.stdout).toBe('Pair "docs" has no versions under nothing/here.\n');
  });

  it('refuses a pair it does not know with exit 2, naming it', async () => {
    for (const args of [
      ['versions', 'nope'],
      ['restore', 'nope', 'report.txt'],
    ]) {
      const r = await cli(...args);
      expect(r.code, describeRun(r)).toBe(2);
      expect(r.stderr).toBe('synctray: No pair is called "nope" (see \'synctray pair list\').\n');
    }
  });

  it('restores a deleted file and a replaced one into the source, with their bytes and times', async () => {
    const photo = await cli('restore', 'docs', 'photo.jpg');
    expect(photo.code, describeRun(photo)).toBe(0);
    expect(photo.stdout).toBe(
      `Restored 1 file into ${at('src')}:\n  photo.jpg  (deleted, set aside 2026-12-01 09:00:00)\n`,
    );
    expect(contentAndTime(at('src/photo.jpg'))).toEqual(['jpeg', MTIME_3.toISOString()]);

    const report = await cli('restore', 'docs', 'report.txt');
    expect(report.code, describeRun(report)).toBe(0);
    expect(contentAndTime(at('src/report.txt'))).toEqual(['third draft', MTIME_3.toISOString()]);
    // The versions stay where they were, and nothing else is left in the source (no temp files).
    expect((await listed()).length).toBe(6);
    expect(filesUnder(at('src'))).toEqual(['photo.jpg', 'report.txt']);
  });

  it('restores every file under a folder, each its newest version', async () => {
    const r = await cli('restore', 'docs', 'letters');
    expect(r.code, describeRun(r)).toBe(0);
    expect(contentAndTime(at('src/letters/a.txt'))).toEqual(['dear a', MTIME_1.toISOString()]);
    expect(contentAndTime(at('src/letters/b.txt'))).toEqual(['dear b', MTIME_2.toISOString()]);
    expect(filesUnder(at('src'))).toEqual(['letters/a.txt', 'letters/b.txt']);
  });

  it('with --at, takes the newest version set aside at or before that time', async () => {
    const cases: [string, string, Date][] = [
      ['2026-12-02T00:00Z', 'first draft', MTIME_1],
      [T2.toISOString(), 'second draft', MTIME_2],
      ['2026-12-04 12:00Z', 'second draft', MTIME_2],
      ['2026-12-05T09:00:00.000Z', 'third draft', MTIME_3],
    ];
    for (const [time, content, mtime] of cases) {
      const to = at(`out-${content.replace(' ', '-')}-${cases.findIndex((c) => c[0] === time)}`);
      const r = await cli('restore', 'docs', 'report.txt', '--at', time, '--to', to);
      expect(r.code, describeRun(r)).toBe(0);
      expect(contentAndTime(path.join(to, 'report.txt')), time).toEqual([content, mtime.toISOString()]);
    }
    const before = await cli('restore', 'docs', 'report.txt', '--at', '2026-11-30T00:00Z');
    expect(before.code, describeRun(before)).toBe(2);
    expect(before.stderr).toContain('There is no version of "report.txt" in pair "docs" set aside at or before');
    expect(filesUnder(at('src'))).toEqual([]);
  });

  it('takes relative times for --at, and says which forms it takes for a bad one', async () => {
    // Versions set aside 3 hours and 30 minutes ago.
    const now = Date.now();
    keep(versionsRoot(), new Date(now - 3 * 3_600_000), 'replaced', 'recent.txt', 'three hours', MTIME_1);
    keep(versionsRoot(), new Date(now - 30 * 60_000), 'replaced', 'recent.txt', 'half an hour', MTIME_2);
    const r = await cli('restore', 'docs', 'recent.txt', '--at', '2 hours ago', '--to', at('two-hours'));
    expect(r.code, describeRun(r)).toBe(0);
    expect(contentAndTime(at('two-hours/recent.txt'))).toEqual(['three hours', MTIME_1.toISOString()]);
    const y = await cli('restore', 'docs', 'recent.txt', '--at', 'yesterday');
    expect(y.code).toBe(2);
    expect(y.stderr).toContain('There is no version of "recent.txt"');
    const m = await cli('restore', 'docs', 'recent.txt', '--at', '10 min ago', '--to', at('ten-min'));
    expect(m.code, describeRun(m)).toBe(0);
    expect(contentAndTime(at('ten-min/recent.txt'))).toEqual(['half an hour', MTIME_2.toISOString()]);

    const bad = await cli('restore', 'docs', 'recent.txt', '--at', 'last tuesday');
    expect(bad.code, describeRun(bad)).toBe(2);
    expect(bad.stderr).toContain('--at takes an ISO time (2026-12-06T14:30');
    expect(bad.stderr).toContain('or a time ago (30 min ago, 2 hours ago');
    expect(bad.stderr).toContain('(got "last tuesday")');
    expect(filesUnder(at('src'))).toEqual([]);
  });

  it('refuses to restore onto an existing file, naming it, and restores nothing', async () => {
    fs.mkdirSync(at('src/letters'));
    fs.writeFileSync(at('src/letters/b.txt'), 'the new b');
    const r = await cli('restore', 'docs', 'letters');
    expect(r.code, describeRun(r)).toBe(2);
    expect(r.stderr).toBe(
      `synctray: A file is already in ${at('src')}: letters/b.txt. Nothing was restored: move or rename it ` +
        'first, or restore elsewhere with --to DIR.\n',
    );
    // a.txt, which was free, was not restored either; b.txt is as it was.
    expect(filesUnder(at('src'))).toEqual(['letters/b.txt']);
    expect(fs.readFileSync(at('src/letters/b.txt'), 'utf8')).toBe('the new b');
  });

  it('restores into --to DIR, making it, and refuses there too when a file is in the way', async () => {
    const r = await cli('restore', 'docs', at('src/letters'), '--to', at('elsewhere/new'));
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(`Restored 2 files into ${at('elsewhere/new')}:`);
    expect(filesUnder(at('elsewhere/new'))).toEqual(['letters/a.txt', 'letters/b.txt']);
    expect(contentAndTime(at('elsewhere/new/letters/b.txt'))).toEqual(['dear b', MTIME_2.toISOString()]);
    expect(filesUnder(at('src'))).toEqual([]);

    fs.writeFileSync(at('elsewhere/new/letters/a.txt'), 'edited since');
    fs.rmSync(at('elsewhere/new/letters/b.txt'));
    const again = await cli('restore', 'docs', 'letters', '--to', at('elsewhere/new'));
    expect(again.code, describeRun(again)).toBe(2);
    expect(again.stderr).toContain(`A file is already in ${at('elsewhere/new')}: letters/a.txt.`);
    expect(filesUnder(at('elsewhere/new'))).toEqual(['letters/a.txt']);
    expect(fs.readFileSync(at('elsewhere/new/letters/a.txt'), 'utf8')).toBe('edited since');
  });

  it('says so when there is no version of a path', async () => {
    const r = await cli('restore', 'docs', 'never/was.txt');
    expect(r.code, describeRun(r)).toBe(2);
    expect(r.stderr).toBe(
      'synctray: There is no version of "never/was.txt" in pair "docs" (see \'synctray versions docs\').\n',
    );
  });
});

describe('synctray versions and restore, through a running SyncTray', () => {
  it.skipIf(posixOnly('SIGINT sent to another process, which stops the service cleanly'))(
    'lists and restores through the service; the restored file syncs to the destination',
    async () => {
      // Versions outside the destination: a mirror of today's SyncTray would delete a folder of
      // versions inside it that it was not told to keep.
      await pairWithVersions(at('dst'), at('kept'), '--versions', at('kept'));
      service = startCli(['run', '--config-dir', configDir], { env: { TZ: 'UTC' } });
      await waitFor(
        async () => {
          const st = await cli('status', '--json');
          return st.code === 0 && (JSON.parse(st.stdout) as { running: boolean }).running;
        },
        'SyncTray running and the pair idle',
        { intervalMs: 50 },
      );

      expect((await listed('report.txt')).map((v) => v.setAside)).toEqual([T3, T2, T1].map((t) => t.toISOString()));
      const r = await cli('restore', 'docs', 'report.txt', '--at', '2026-12-04T00:00Z');
      expect(r.code, describeRun(r)).toBe(0);
      expect(r.stdout).toContain('(SyncTray is running: they sync now)');
      expect(contentAndTime(at('src/report.txt'))).toEqual(['second draft', MTIME_2.toISOString()]);
      await waitFor(() => fs.existsSync(at('dst/report.txt')), 'the restored file synced', { intervalMs: 20 });
      expect(contentAndTime(at('dst/report.txt'))).toEqual(['second draft', MTIME_2.toISOString()]);

      const refused = await cli('restore', 'docs', 'report.txt');
      expect(refused.code, describeRun(refused)).toBe(2);
      expect(refused.stderr).toContain(`A file is already in ${at('src')}: report.txt.`);
      expect(fs.readFileSync(at('src/report.txt'), 'utf8')).toBe('second draft');

      const to = await cli('restore', 'docs', 'letters', '--to', at('out'));
      expect(to.code, describeRun(to)).toBe(0);
      expect(filesUnder(at('out'))).toEqual(['letters/a.txt', 'letters/b.txt']);
      const unknown = await cli('versions', 'nope');
      expect(unknown.code).toBe(2);
    },
  );
});
