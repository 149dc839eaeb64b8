/**
 * A pair's versions through the built CLI: `pair add` and `pair set` with --versions,
 * --no-versions and --keep-versions, and `synctray run` keeping what a pair deletes and overwrites
 * in `<destination>/.synctray-versions/<stamp>/deleted|replaced/` by default.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertCliBuilt, runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { rsyncDiff, rsyncSkipReason } from '../helpers/oracle.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { writeTree } from '../helpers/tree-spec.js';
import { waitFor } from '../helpers/wait-for.js';

const noRsync = rsyncSkipReason();
let root: string;
let configDir: string;
let service: RunningCli | undefined;
beforeAll(() => assertCliBuilt());
beforeEach(() => {
  root = makeScratch('synctray-pair-versions-');
  configDir = path.join(root, 'config');
});
afterEach(async () => {
  service?.child.kill('SIGINT');
  await service?.done;
  service = undefined;
  removeScratch(root);
});

const at = (p: string) => path.join(root, p);
const cli = (...args: string[]) => runCli([...args, '--config-dir', configDir]);
type Listed = { name: string; versions?: string | false; keepVersionsMs: number };
const listed = async () => JSON.parse((await cli('pair', 'list', '--json')).stdout) as Listed[];
const STAMP = /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/;

describe('pair add and pair set', () => {
  it('keep versions by default for 30 days, and take --versions, --no-versions and --keep-versions', async () => {
    writeTree(at('docs'), { 'a.txt': 'a' });
    writeTree(at('music'), { 'b.mp3': 'b' });
    expect((await cli('pair', 'add', at('docs'), at('backup/docs'))).code).toBe(0);
    const own = await cli(
      'pair',
      'add',
      at('music'),
      at('backup/music'),
      '--versions',
      at('old'),
      '--keep-versions',
      '2h',
    );
    expect(own.code, own.stderr).toBe(0);
    expect(await listed()).toMatchObject([
      { name: 'docs', keepVersionsMs: 30 * 86_400_000 },
      { name: 'music', versions: at('old'), keepVersionsMs: 7_200_000 },
    ]);
    expect((await listed())[0]!.versions).toBeUndefined();

    const set = await cli('pair', 'set', 'docs', '--no-versions');
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('no versions');
    const back = await cli('pair', 'set', 'docs', '--versions', at('kept'), '--keep-versions', '7d');
    expect(back.code, back.stderr).toBe(0);
    expect((await listed())[0]).toMatchObject({ versions: at('kept'), keepVersionsMs: 7 * 86_400_000 });

    const both = await cli('pair', 'set', 'docs', '--versions', at('x'), '--no-versions');
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--versions and --no-versions');
    const bad = await cli('pair', 'set', 'docs', '--keep-versions', 'a month');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--keep-versions takes a duration');
    const inside = await cli('pair', 'set', 'docs', '--versions', at('docs/v'));
    expect(inside.code).toBe(2);
    expect((await listed())[0]).toMatchObject({ versions: at('kept') });
  });
});

describe.skipIf(noRsync)('synctray run with a pair', () => {
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
