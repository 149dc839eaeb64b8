/** `synctray pair …` on the config directly (no service running), through the built CLI. */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertCliBuilt, runCli } from '../helpers/cli.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { writeTree } from '../helpers/tree-spec.js';
import { onWindows } from '../helpers/requirements.js';

let root: string;
let configDir: string;
beforeAll(() => assertCliBuilt());
beforeEach(() => {
  root = makeScratch('synctray-pair-cli-');
  configDir = path.join(root, 'config');
  for (const d of ['photos', 'docs', 'backup']) fs.mkdirSync(path.join(root, d));
});
afterEach(() => removeScratch(root));

const pair = (...args: string[]) => runCli(['pair', ...args, '--config-dir', configDir]);
const at = (p: string) => path.join(root, p);
const pairs = async () =>
  JSON.parse((await pair('list', '--json')).stdout) as {
    name: string;
    paused: boolean;
    mode: string;
    exclude: string[];
  }[];

describe('synctray pair', () => {
  it('adds, lists, pauses, resumes and removes pairs in the config', async () => {
    expect((await pair('add', at('photos'), at('backup/photos'))).code).toBe(0);
    expect(
      (
        await pair(
          'add',
          at('docs'),
          at('backup/docs'),
          '--mode',
          'update',
          '--name',
          'Documents',
          '--exclude',
          '*.tmp',
        )
      ).code,
    ).toBe(0);
    expect((await pairs()).map((p) => [p.name, p.mode, p.exclude, p.paused])).toEqual([
      ['photos', 'mirror', [], false],
      ['Documents', 'update', ['*.tmp'], false],
    ]);
    expect((await pair('pause', '--all')).code).toBe(0);
    expect((await pairs()).every((p) => p.paused)).toBe(true);
    expect((await pair('resume', 'photos')).code).toBe(0);
    expect((await pairs()).map((p) => p.paused)).toEqual([false, true]);
    const r = await pair('remove', 'Documents');
    expect(r.stdout).toContain('its folders are left as they are');
    expect((await pairs()).map((p) => p.name)).toEqual(['photos']);
    expect(fs.existsSync(at('docs'))).toBe(true);
    // Windows keeps no mode bits.
    if (!onWindows) expect(fs.statSync(path.join(configDir, 'config.json')).mode & 0o777).toBe(0o600);
  });

  it('refuses pairs that would feed each other or share a destination, and what sync refuses', async () => {
    expect((await pair('add', at('photos'), at('backup/photos'))).code).toBe(0);
    const before = fs.readFileSync(path.join(configDir, 'config.json'), 'utf8');
    for (const [args, text] of [
      [[at('backup'), at('elsewhere')], 'overlaps the destination of pair "photos"'],
      [[at('docs'), at('photos/copy')], 'overlaps the source of pair "photos"'],
      [[at('docs'), at('backup/photos/docs')], 'overlaps the destination of pair "photos"'],
      [[at('photos'), at('backup/photos')], 'This pair exists already'],
      [[at('missing'), at('x')], 'does not exist'],
      [[at('docs'), at('docs/inner')], 'is inside source'],
      [[at('docs'), at('d2'), '--name', 'photos'], 'already called "photos"'],
      [[at('docs'), at('d2'), '--exclude', ' '], 'pattern is empty'],
    ] as const) {
      const r = await pair('add', ...args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(text);
    }
    expect(fs.readFileSync(path.join(configDir, 'config.json'), 'utf8')).toBe(before);
  });

  it('loses no pair when many are added at once from separate processes', async () => {
    for (let i = 0; i < 12; i++) fs.mkdirSync(at(`many/s${i}`), { recursive: true });
    const runs = await Promise.all(
      Array.from({ length: 12 }, (_, i) => pair('add', at(`many/s${i}`), at(`many-backup/s${i}`))),
    );
    expect(runs.map((r) => r.code)).toEqual(Array(12).fill(0));
    expect((await pairs()).map((p) => p.name).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `s${i}`).sort());
  });

  it('status changes nothing in a damaged config, and says it is damaged', async () => {
    fs.mkdirSync(configDir, { recursive: true });
    fs.writeFileSync(path.join(configDir, 'config.json'), '{ "pairs": [');
    const r = await runCli(['status', '--config-dir', configDir]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('could not be read');
    expect(fs.readdirSync(configDir)).toEqual(['config.json']);
  });

  it('pair set changes a pair in place, and refuses a bad change writing nothing', async () => {
    expect((await pair('add', at('docs'), at('backup/docs'), '--exclude', '*.tmp')).code).toBe(0);
    const full = () =>
      JSON.parse(fs.readFileSync(path.join(configDir, 'config.json'), 'utf8')) as { pairs: Record<string, unknown>[] };
    const before = full().pairs[0]!;

    const set = await pair(
      'set',
      'docs',
      '--mode',
      'update',
      '--exclude',
      'cache/',
      '--rescan-interval',
      '1d',
      '--notify',
      'errors',
      '--checksum',
    );
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toBe(
      'Changed pair "docs": mode update; exclude *.tmp, cache/; rescan every 1d; notify errors; checksum. ' +
        'SyncTray uses it when it starts.\n',
    );
    expect(full().pairs[0]).toEqual({
      ...before,
      mode: 'update',
      exclude: ['*.tmp', 'cache/'],
      rescanIntervalMs: 86_400_000,
      notify: 'errors',
      checksum: true,
    });

    expect((await pair('set', 'docs', '--no-exclude', '--exclude', 'build/', '--no-checksum')).code).toBe(0);
    expect(full().pairs[0]).toMatchObject({ exclude: ['build/'], checksum: false });
    expect((await pair('set', 'docs', '--no-exclude')).code).toBe(0);
    expect(full().pairs[0]).toMatchObject({ exclude: [] });

    const written = fs.readFileSync(path.join(configDir, 'config.json'), 'utf8');
    for (const [args, code, text] of [
      [['--mode', 'sideways'], 2, '--mode must be one of mirror, update, missing (got "sideways")'],
      [
        ['--exclude', 'a/', '--rescan-interval', '5x'],
        2,
        '--rescan-interval takes a duration such as 90s, 30m, 1h or 1d (a bare number is seconds)',
      ],
      [['--checksum', '--no-checksum'], 2, 'takes --checksum or --no-checksum, not both'],
      [
        ['--exclude-from', at('missing.txt')],
        2,
        `--exclude-from \`${at('missing.txt')}\` cannot be read (it does not exist)`,
      ],
      [['--notify', 'loud'], 2, '--notify must be one of all, errors, none'],
    ] as const) {
      const r = await pair('set', 'docs', ...args);
      expect(r.code, r.stderr).toBe(code);
      expect(r.stderr).toContain(text);
    }
    const unknown = await pair('set', 'nope', '--mode', 'update');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('No pair is called "nope"');
    expect(fs.readFileSync(path.join(configDir, 'config.json'), 'utf8')).toBe(written);
  });

  it('takes patterns from --exclude-from files as rsync reads them', async () => {
    fs.writeFileSync(at('patterns'), '# build output\n*.o\n\n; editors\n*.swp\r\n   \ncache/\n');
    expect(
      (await pair('add', at('docs'), at('backup/docs'), '--exclude', '*.tmp', '--exclude-from', at('patterns'))).code,
    ).toBe(0);
    expect((await pairs())[0]!.exclude).toEqual(['*.tmp', '*.o', '*.swp', 'cache/']);
    fs.writeFileSync(at('more'), 'logs/\n');
    expect((await pair('set', 'docs', '--exclude-from', at('more'))).code).toBe(0);
    expect((await pairs())[0]!.exclude).toEqual(['*.tmp', '*.o', '*.swp', 'cache/', 'logs/']);
    const folder = await pair('add', at('photos'), at('backup/photos'), '--exclude-from', at('docs'));
    expect(folder.code).toBe(2);
    expect(folder.stderr).toContain(`--exclude-from \`${at('docs')}\` cannot be read (EISDIR`);
    expect((await pairs()).map((p) => p.name)).toEqual(['docs']);
  });

  it('names an unknown pair in its refusal, and exits 2', async () => {
    const r = await pair('pause', 'nope');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('No pair is called "nope"');
  });
});

describe('a pair whose symlinks are copied as what they lead to', () => {
  it('keeps --links copy, says so in the list, and refuses any other word', async () => {
    expect((await pair('add', at('photos'), at('backup/photos'), '--links', 'copy')).code).toBe(0);
    expect((await pair('add', at('docs'), at('backup/docs'), '--links', 'keep')).code).toBe(0);
    const listed = JSON.parse((await pair('list', '--json')).stdout) as { name: string; links?: string }[];
    expect(listed.map((p) => [p.name, p.links])).toEqual([
      ['photos', 'copy'],
      ['docs', undefined],
    ]);
    expect((await pair('list')).stdout).toContain('(mirror, links copied)');
    const bad = await pair('add', at('docs'), at('backup/other'), '--links', 'follow');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--links must be keep or copy (got "follow")');
  });
});

type Listed = { name: string; versions?: string | false; keepVersionsMs: number };
const listedVersions = async () => JSON.parse((await pair('list', '--json')).stdout) as Listed[];

describe('the versions a pair keeps', () => {
  it('keep versions by default for 30 days, and take --versions, --no-versions and --keep-versions', async () => {
    writeTree(at('docs'), { 'a.txt': 'a' });
    writeTree(at('music'), { 'b.mp3': 'b' });
    expect((await pair('add', at('docs'), at('backup/docs'))).code).toBe(0);
    const own = await pair('add', at('music'), at('backup/music'), '--versions', at('old'), '--keep-versions', '2h');
    expect(own.code, own.stderr).toBe(0);
    expect(await listedVersions()).toMatchObject([
      { name: 'docs', keepVersionsMs: 30 * 86_400_000 },
      { name: 'music', versions: at('old'), keepVersionsMs: 7_200_000 },
    ]);
    expect((await listedVersions())[0]!.versions).toBeUndefined();

    const set = await pair('set', 'docs', '--no-versions');
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('no versions');
    const back = await pair('set', 'docs', '--versions', at('kept'), '--keep-versions', '7d');
    expect(back.code, back.stderr).toBe(0);
    expect((await listedVersions())[0]).toMatchObject({ versions: at('kept'), keepVersionsMs: 7 * 86_400_000 });

    const both = await pair('set', 'docs', '--versions', at('x'), '--no-versions');
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--versions and --no-versions');
    const bad = await pair('set', 'docs', '--keep-versions', 'a month');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--keep-versions takes a duration');
    const inside = await pair('set', 'docs', '--versions', at('docs/v'));
    expect(inside.code).toBe(2);
    expect((await listedVersions())[0]).toMatchObject({ versions: at('kept') });
  });
});
