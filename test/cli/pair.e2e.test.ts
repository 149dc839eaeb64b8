/** `synctray pair …` on the config directly (no service running), through the built CLI. */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertCliBuilt, runCli } from '../helpers/cli.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';

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
const pairs = async () => JSON.parse((await pair('list', '--json')).stdout) as { name: string; paused: boolean; mode: string; exclude: string[] }[];

describe('synctray pair', () => {
  it('adds, lists, pauses, resumes and removes pairs in the config', async () => {
    expect((await pair('add', at('photos'), at('backup/photos'))).code).toBe(0);
    expect((await pair('add', at('docs'), at('backup/docs'), '--mode', 'update', '--name', 'Documents', '--exclude', '*.tmp')).code).toBe(0);
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
    expect(fs.statSync(path.join(configDir, 'config.json')).mode & 0o777).toBe(0o600);
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
    const runs = await Promise.all(Array.from({ length: 12 }, (_, i) => pair('add', at(`many/s${i}`), at(`many-backup/s${i}`))));
    expect(runs.map((r) => r.code)).toEqual(Array(12).fill(0));
    expect((await pairs()).map((p) => p.name).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `s${i}`).sort());
  });

  it('status changes nothing in a damaged config, and says it is damaged', async () => {
    fs.mkdirSync(configDir, { recursive: true });
    fs.writeFileSync(path.join(configDir, 'config.json'), '{ "pairs": [');
    const r = await runCli(['status', '--config-dir', configDir]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('could not be read');
    expect(fs.readdirSync(configDir)).toEqual(['config.json']);
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
