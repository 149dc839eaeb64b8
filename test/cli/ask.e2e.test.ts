/**
 * The question before a first mirror takes files away (issue 17), through the real CLI on real
 * folders: refused without a terminal, --yes goes on, y/N answered on a pseudo-terminal, nothing
 * asked for an empty destination, and `sync -i`.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertCliBuilt, describeRun, runCli, runCliOnTerminal } from '../helpers/cli.js';
import { hasTool, skipReasonOutsideCi } from '../helpers/requirements.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { writeTree } from '../helpers/tree-spec.js';

let root: string;
beforeAll(() => assertCliBuilt());
beforeEach(() => {
  root = makeScratch('synctray-ask-');
  writeTree(at('photos'), { 'a.jpg': 'the new a', 'b.jpg': 'b' });
  writeTree(at('backup'), { 'a.jpg': 'old a', 'other.txt': 'kept by no one else' });
  fs.utimesSync(at('backup/a.jpg'), new Date('2020-01-01'), new Date('2020-01-01'));
});
afterEach(() => removeScratch(root));

const at = (p: string) => path.join(root, p);
const config: string[] = [];
beforeEach(() => {
  config.splice(0, config.length, '--config-dir', at('config'));
});
const pairs = async () => JSON.parse((await runCli(['pair', 'list', '--json', ...config])).stdout) as unknown[];
/** What rsync would still change to make the backup match the source: nothing once it does. */
const differences = () =>
  execFileSync('rsync', ['-anic', '--delete', '--exclude', '.synctray-pair', `${at('photos')}/`, `${at('backup')}/`], {
    encoding: 'utf8',
  });
const noScript = skipReasonOutsideCi(hasTool('script'), "skipping: a pseudo-terminal needs util-linux's script");
const noRsync = skipReasonOutsideCi(hasTool('rsync'), 'skipping: rsync checks the folders');

describe('pair add onto a destination it would change', () => {
  it('without a terminal exits 2 with the preview and adds no pair', async () => {
    const r = await runCli(['pair', 'add', at('photos'), at('backup'), ...config]);
    expect(r.code, describeRun(r)).toBe(2);
    expect(r.stderr).toContain('copy 2 files');
    expect(r.stderr).toContain('replace 1 existing file');
    expect(r.stderr).toMatch(/delete 1 file the source does not have:\n +other\.txt\n/);
    expect(r.stderr).toContain('add --yes');
    expect(await pairs()).toEqual([]);
  });

  it('with --yes or -y adds it without asking', async () => {
    const r = await runCli(['pair', 'add', at('photos'), at('backup'), '--yes', ...config]);
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stderr).toBe('');
    writeTree(at('docs'), { 'x.txt': 'x' });
    writeTree(at('docs-backup'), { 'y.txt': 'y' });
    expect((await runCli(['pair', 'add', at('docs'), at('docs-backup'), '-y', ...config])).code).toBe(0);
    expect(await pairs()).toHaveLength(2);
    // Nothing was shown, so nothing was agreed: the first sync is the guards' to judge.
    for (const p of await pairs()) expect(p).not.toHaveProperty('agreedFirstSync');
  });

  it('asks nothing for an empty destination, nor where update or missing would replace nothing', async () => {
    const empty = await runCli(['pair', 'add', at('photos'), at('new-backup'), ...config]);
    expect(empty.code, describeRun(empty)).toBe(0);
    expect(empty.stderr).toBe('');
    writeTree(at('music'), { 'song.mp3': 'new song' });
    writeTree(at('music-backup'), { 'song.mp3': 'old song', 'extra.mp3': 'x' });
    // missing replaces nothing and deletes nothing: no question, even without a terminal.
    const missing = await runCli(['pair', 'add', at('music'), at('music-backup'), '-m', 'missing', ...config]);
    expect(missing.code, describeRun(missing)).toBe(0);
    // update would replace the older file: asked about.
    const update = await runCli(['pair', 'add', at('photos'), at('backup'), '-m', 'update', ...config]);
    expect(update.code, describeRun(update)).toBe(2);
    expect(update.stderr).toContain('replace 1 existing file');
    expect(update.stderr).not.toContain('other.txt');
  });

  it.skipIf(noScript)('asks y/N on a terminal: no adds nothing (exit 1), y adds it', async () => {
    const no = await runCliOnTerminal(['pair', 'add', at('photos'), at('backup'), ...config], { typed: 'n\n' });
    expect(no.code, describeRun(no)).toBe(1);
    expect(no.stdout).toContain('Add the pair and sync it? [y/N]');
    expect(no.stdout).toContain('Not added');
    expect(await pairs()).toEqual([]);
    // Enter alone is the default: no.
    const enter = await runCliOnTerminal(['pair', 'add', at('photos'), at('backup'), ...config], { typed: '\n' });
    expect(enter.code, describeRun(enter)).toBe(1);
    const yes = await runCliOnTerminal(['pair', 'add', at('photos'), at('backup'), ...config], { typed: 'y\n' });
    expect(yes.code, describeRun(yes)).toBe(0);
    expect(yes.stdout).toContain('Added pair "photos"');
    // What was agreed is kept: a first sync that would take more is held (see the service's tests).
    expect(await pairs()).toEqual([expect.objectContaining({ agreedFirstSync: { replaced: 1, deleted: 1 } })]);
  });
});

describe('sync -i', () => {
  it.skipIf(noScript || noRsync)(
    'shows the preview and asks; n leaves the destination untouched, y syncs',
    async () => {
      const before = differences();
      expect(before).toContain('*deleting   other.txt');
      const args = ['sync', '-i', at('photos'), at('backup')];
      const no = await runCliOnTerminal(args, { typed: 'n\n' });
      expect(no.code, describeRun(no)).toBe(1);
      expect(no.stdout).toContain('delete 1 file the source does not have:');
      expect(no.stdout).toContain('Sync now? [y/N]');
      expect(differences()).toBe(before);
      const yes = await runCliOnTerminal(args, { typed: 'y\n' });
      expect(yes.code, describeRun(yes)).toBe(0);
      expect(differences()).toBe('');
    },
  );

  it.skipIf(noScript || noRsync)(
    'refuses, changing nothing, when the destination changed while the question was read',
    async () => {
      const before = differences();
      const r = await runCliOnTerminal(['sync', '-i', at('photos'), at('backup')], {
        typed: 'y\n',
        once: {
          shown: 'Sync now? [y/N]',
          meanwhile: () => writeTree(at('backup'), { 'new.txt': 'written meanwhile' }),
        },
      });
      expect(r.code, describeRun(r)).toBe(2);
      expect(r.stdout).toContain('where you agreed to 1 and 1');
      expect(r.stdout).toContain('Nothing was written');
      const after = differences();
      expect(after).toContain('*deleting   new.txt');
      for (const line of before.trim().split('\n')) expect(after).toContain(line);
      expect(fs.readFileSync(at('backup/a.jpg'), 'utf8')).toBe('old a');
    },
  );

  it('refuses without a terminal, changing nothing', async () => {
    const before = fs.readdirSync(at('backup')).sort();
    const r = await runCli(['sync', '-i', at('photos'), at('backup')]);
    expect(r.code, describeRun(r)).toBe(2);
    expect(r.stderr).toContain('Leave out -i');
    expect(fs.readdirSync(at('backup')).sort()).toEqual(before);
    expect(fs.readFileSync(at('backup/a.jpg'), 'utf8')).toBe('old a');
  });
});
