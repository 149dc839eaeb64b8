import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { giveToNobody } from '../helpers/privilege.js';
import { makeSyncScratch, removeScratch } from '../helpers/scratch.js';
import { findTempFiles } from '../helpers/tree-inspect.js';
import { writeTree } from '../helpers/tree-spec.js';
import { SYMLINKS, UNREADABLE, posixOnly } from '../helpers/requirements.js';

// Cases where a sync must hold back rather than lose or hide something.

let root: string;
let src: string;
let dst: string;
beforeEach(() => {
  ({ root, src, dst } = makeSyncScratch());
  fs.mkdirSync(src);
});
afterEach(() => removeScratch(root));

const sync = (...args: string[]) => runCli(['sync', ...args]);
const files = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, `content ${i}`]));

describe('a mirror deletes nothing while copies fail', () => {
  it.skipIf(posixOnly(UNREADABLE))('a renamed file that cannot be read keeps its old copy in the backup', async () => {
    writeTree(src, { ...files(12), 'thesis.doc': 'years of work' });
    expect((await sync(src, dst, '--quiet')).code).toBe(0);
    fs.renameSync(path.join(src, 'thesis.doc'), path.join(src, 'final.doc'));
    fs.chmodSync(path.join(src, 'final.doc'), 0);
    giveToNobody(root);
    const r = await runCli(['sync', src, dst, '--json'], { unprivileged: true });
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ failed: 1, deleted: 0, deletesHeld: 1 });
    expect(r.stderr).toContain('Not deleting 1 item from the destination');
    expect(fs.readFileSync(path.join(dst, 'thesis.doc'), 'utf8')).toBe('years of work');
  });
});

describe('a destination folder that cannot be listed', () => {
  it.skipIf(posixOnly(UNREADABLE))('gets nothing written into it and is reported, in every mode', async () => {
    writeTree(src, { 'sub/f': 'old source version', other: 'o' });
    writeTree(dst, { 'sub/f': 'newer, only in the backup' });
    fs.chmodSync(path.join(dst, 'sub'), 0o300);
    giveToNobody(root);
    for (const mode of ['missing', 'update', 'mirror']) {
      const r = await runCli(['sync', src, dst, '--mode', mode, '--json'], { unprivileged: true });
      expect(r.code).toBe(1);
      expect(r.json?.errors?.[0]).toMatchObject({ path: 'sub', code: 'PERMISSION' });
      expect(r.stderr).toContain('sub: permission denied');
    }
    fs.chmodSync(path.join(dst, 'sub'), 0o700);
    expect(fs.readFileSync(path.join(dst, 'sub/f'), 'utf8')).toBe('newer, only in the backup');
    expect(fs.readFileSync(path.join(dst, 'other'), 'utf8')).toBe('o');
  });
});

describe('type conflicts outside mirror mode', () => {
  it.skipIf(posixOnly(SYMLINKS))(
    'update keeps a destination file where the source has a folder or a link, and says so',
    async () => {
      writeTree(src, { 'report/page': 'p' });
      fs.symlinkSync('elsewhere', path.join(src, 'notes'));
      writeTree(dst, { report: 'my report', notes: 'my notes' });
      const r = await sync(src, dst, '--mode', 'update', '--json');
      expect(r.code).toBe(1);
      expect(r.json?.errors?.map((e) => [e.path, e.code]).sort()).toEqual([
        ['notes', 'CONFLICT'],
        ['report', 'CONFLICT'],
      ]);
      expect(fs.readFileSync(path.join(dst, 'report'), 'utf8')).toBe('my report');
      expect(fs.readFileSync(path.join(dst, 'notes'), 'utf8')).toBe('my notes');
    },
  );

  it('a mirror does not replace a folder holding excluded items, and fails the item', async () => {
    writeTree(src, { x: 'a file now' });
    writeTree(dst, { 'x/a.log': 'excluded', 'x/doc.txt': 'doc' });
    const r = await sync(src, dst, '--exclude', '*.log', '--json');
    expect(r.code).toBe(1);
    expect(r.json?.errors?.[0]).toMatchObject({ path: 'x', code: 'CONFLICT' });
    expect(fs.readFileSync(path.join(dst, 'x/a.log'), 'utf8')).toBe('excluded');
  });
});

describe('dry runs show everything a real run would delete', () => {
  it('including what a type change replaces', async () => {
    writeTree(src, { x: 'file' });
    writeTree(dst, { 'x/1': '1', 'x/2': '2', 'x/3': '3' });
    const r = await sync(src, dst, '--dry-run', '--force', '--json');
    expect(r.json).toMatchObject({ deleted: 3, updated: 1 });
    const listed = await sync(src, dst, '--dry-run', '--force');
    expect(listed.stdout).toContain('delete: x/1\n');
    expect(listed.stdout).toContain('update: x\n');
    const real = await sync(src, dst, '--force', '--json');
    expect(real.json).toMatchObject({ deleted: 3, updated: 1 });
  });
});

describe('a versions folder inside the destination', () => {
  it(
    'works when its parent is not in the source, ' + 'and a source folder of the same path is not copied into it',
    async () => {
      writeTree(src, { f: 'v2', 'old/.v/intruder': 'must not land among the versions' });
      writeTree(dst, { f: 'v1' });
      fs.utimesSync(path.join(dst, 'f'), 1_000_000_000, 1_000_000_000);
      const versions = path.join(dst, 'old', '.v');
      const first = await sync(src, dst, '--versions', versions, '--json');
      expect(first.code).toBe(0);
      const second = await sync(src, dst, '--versions', versions, '--json');
      expect(second.code).toBe(0);
      expect(second.json).toMatchObject({ deleted: 0, failed: 0 });
      const runs = fs.readdirSync(versions);
      expect(runs).toHaveLength(1);
      expect(fs.readdirSync(path.join(versions, runs[0]!, 'replaced'))).toEqual(['f']);
    },
  );
});

describe('leftovers of an interrupted run', () => {
  it('temp symlinks are removed too, in every mode', async () => {
    writeTree(src, { f: 'f' });
    fs.mkdirSync(dst);
    fs.symlinkSync('somewhere', path.join(dst, '.~synctray-0123456789abcdef.part'));
    const r = await sync(src, dst, '--mode', 'update', '--json');
    expect(r.code).toBe(0);
    expect(findTempFiles(dst)).toEqual([]);
  });
});

describe('a file too large for the destination', () => {
  it.skipIf(posixOnly('sh and its ulimit'))('fails that file only, with the reason', async () => {
    writeTree(src, { small: 's', big: 'x'.repeat(3 * 1024 * 1024) });
    // A file size limit stands in for FAT32's 4 GiB cap: EFBIG, not a full disk.
    const r = spawnSync(
      'sh',
      ['-c', `ulimit -f 1024; exec "${process.execPath}" dist/cli/main.js sync "${src}" "${dst}" --json`],
      {
        encoding: 'utf8',
        cwd: path.resolve(import.meta.dirname, '../..'),
      },
    );
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(r.status).toBe(1);
    expect(summary.fatal).toBeUndefined();
    expect(summary.errors).toEqual([expect.objectContaining({ path: 'big', code: 'TOO_LARGE' })]);
    expect(fs.readFileSync(path.join(dst, 'small'), 'utf8')).toBe('s');
    expect(findTempFiles(dst)).toEqual([]);
  });
});

describe('deletions wait for what a run could not see', () => {
  it.skipIf(posixOnly(UNREADABLE))(
    'a file moved into an unlistable destination folder keeps its old copy',
    async () => {
      writeTree(src, { 'a/photo': 'only copy', ...files(12) });
      expect((await sync(src, dst, '--quiet')).code).toBe(0);
      fs.mkdirSync(path.join(src, 'b'));
      fs.renameSync(path.join(src, 'a/photo'), path.join(src, 'b/photo'));
      fs.mkdirSync(path.join(dst, 'b'));
      fs.chmodSync(path.join(dst, 'b'), 0o300);
      giveToNobody(root);
      const r = await runCli(['sync', src, dst, '--json'], { unprivileged: true });
      expect(r.code).toBe(1);
      expect(r.json).toMatchObject({ deleted: 0, deletesHeld: 1 });
      expect(fs.readFileSync(path.join(dst, 'a/photo'), 'utf8')).toBe('only copy');
    },
  );
});
