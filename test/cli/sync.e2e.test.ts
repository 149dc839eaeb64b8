import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { rsyncDiff, rsyncSkipReason } from '../helpers/oracle.js';
import { giveToNobody } from '../helpers/privilege.js';
import { makeSyncScratch, removeScratch } from '../helpers/scratch.js';
import { snapshotTree } from '../helpers/tree-inspect.js';
import { writeTree } from '../helpers/tree-spec.js';
import { SYMLINKS, UNREADABLE, posixOnly } from '../helpers/requirements.js';

const skipReason = rsyncSkipReason();
let root: string;
let src: string;
let dst: string;

beforeEach(() => {
  ({ root, src, dst } = makeSyncScratch());
  fs.mkdirSync(src);
});
afterEach(() => removeScratch(root));

const sync = (...args: string[]) => runCli(['sync', ...args]);
const setMtime = (p: string, sec: number) => fs.utimesSync(p, sec, sec);

describe.skipIf(skipReason !== undefined)('sync modes end to end', () => {
  it('mirror makes an exact replica, and a second run does nothing', async () => {
    writeTree(src, { 'a/b/c.txt': 'hello', 'top.bin': 'x'.repeat(100_000), 'e m p t y': '' });
    fs.mkdirSync(path.join(src, 'empty-dir'));
    fs.symlinkSync('a/b/c.txt', path.join(src, 'link'));
    fs.symlinkSync('/nowhere/at/all', path.join(src, 'dangling'));
    fs.chmodSync(path.join(src, 'top.bin'), 0o600);
    writeTree(dst, { extra: 'gone soon', 'a/old': 'old' });

    const first = await sync(src, dst, '--json');
    expect(first.code).toBe(0);
    expect(first.json).toMatchObject({ mode: 'mirror', deleted: 2, failed: 0 });
    expect(rsyncDiff(src, dst)).toEqual([]);

    const second = await sync(src, dst, '--json');
    expect(second.code).toBe(0);
    expect(second.json).toMatchObject({ copied: 0, updated: 0, deleted: 0, failed: 0 });
  });

  it('copies large files through the file worker when the native library is off', async () => {
    writeTree(src, { 'big.bin': 'b'.repeat(3 * 1024 * 1024), 'small.txt': 's' });
    const r = await runCli(['sync', src, dst, '--json'], { env: { SYNCTRAY_NATIVE: '0' } });
    expect(r.code, r.stderr).toBe(0);
    expect(rsyncDiff(src, dst)).toEqual([]);
  });

  it('update copies new and changed files and deletes nothing', async () => {
    writeTree(src, { same: 's', changed: 'new content', fresh: 'f' });
    writeTree(dst, { same: 's', changed: 'old', extra: 'keep me' });
    setMtime(path.join(dst, 'changed'), 1_000_000_000);
    for (const f of ['same']) setMtime(path.join(dst, f), fs.statSync(path.join(src, f)).mtimeMs / 1000);

    const r = await sync(src, dst, '--mode', 'update', '--json');
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ copied: 1, updated: 1, deleted: 0 });
    expect(fs.readFileSync(path.join(dst, 'changed'), 'utf8')).toBe('new content');
    expect(fs.readFileSync(path.join(dst, 'extra'), 'utf8')).toBe('keep me');
    expect((await sync(src, dst, '--mode', 'update', '--json')).json).toMatchObject({
      copied: 0,
      updated: 0,
      deleted: 0,
    });
  });

  it('update leaves a newer destination file alone and says so', async () => {
    writeTree(src, { doc: 'source' });
    writeTree(dst, { doc: 'edited on the backup' });
    setMtime(path.join(src, 'doc'), 1_000_000_000);
    const r = await sync(src, dst, '--mode', 'update');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('doc: the destination copy is newer');
    expect(fs.readFileSync(path.join(dst, 'doc'), 'utf8')).toBe('edited on the backup');
  });

  it('missing copies only what the destination lacks, never overwrites', async () => {
    writeTree(src, { have: 'source version', lack: 'new', 'dir/x': 'x' });
    writeTree(dst, { have: 'destination version', extra: 'e' });
    const before = fs.statSync(path.join(dst, 'have'), { bigint: true }).mtimeNs;
    const r = await sync(src, dst, '--mode', 'missing', '--json');
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ copied: 3, updated: 0, deleted: 0 });
    expect(fs.readFileSync(path.join(dst, 'have'), 'utf8')).toBe('destination version');
    expect(fs.statSync(path.join(dst, 'have'), { bigint: true }).mtimeNs).toBe(before);
    expect(fs.readFileSync(path.join(dst, 'dir/x'), 'utf8')).toBe('x');
    expect(fs.existsSync(path.join(dst, 'extra'))).toBe(true);
  });

  it('keeps sub-second mtimes to the microsecond and atimes', async () => {
    writeTree(src, { f: 'data' });
    fs.utimesSync(path.join(src, 'f'), 1_600_000_000.25, 1_700_000_000.123456);
    expect((await sync(src, dst)).code).toBe(0);
    const s = fs.statSync(path.join(src, 'f'), { bigint: true });
    const d = fs.statSync(path.join(dst, 'f'), { bigint: true });
    expect(d.mtimeNs / 1000n).toBe(s.mtimeNs / 1000n);
    // Reading the source moved its atime; the copy has the one the scan saw.
    expect(d.atimeNs / 1000n).toBe(1_600_000_000_250_000n);
  });

  it('--checksum finds a same-size, same-mtime change that the quick check misses', async () => {
    writeTree(src, { f: 'aaaa' });
    expect((await sync(src, dst)).code).toBe(0);
    const t = fs.statSync(path.join(src, 'f'));
    fs.writeFileSync(path.join(src, 'f'), 'bbbb');
    fs.utimesSync(path.join(src, 'f'), t.atime, t.mtime);
    expect((await sync(src, dst, '--json')).json).toMatchObject({ updated: 0 });
    const r = await sync(src, dst, '--checksum', '--json');
    expect(r.json).toMatchObject({ updated: 1 });
    expect(fs.readFileSync(path.join(dst, 'f'), 'utf8')).toBe('bbbb');
    expect(rsyncDiff(src, dst)).toEqual([]);
  });

  it('excluded paths are neither copied nor deleted', async () => {
    writeTree(src, { 'keep.txt': 'k', 'skip.tmp': 's', 'cache/big': 'b', 'sub/cache/deep': 'd' });
    writeTree(dst, { 'local.tmp': 'mine', 'cache/own': 'mine' });
    const r = await sync(src, dst, '--exclude', '*.tmp', '--exclude', 'cache/', '--json');
    expect(r.code).toBe(0);
    expect(fs.existsSync(path.join(dst, 'skip.tmp'))).toBe(false);
    expect(fs.existsSync(path.join(dst, 'sub/cache'))).toBe(false);
    expect(fs.readFileSync(path.join(dst, 'local.tmp'), 'utf8')).toBe('mine');
    expect(fs.readFileSync(path.join(dst, 'cache/own'), 'utf8')).toBe('mine');
    expect(fs.readFileSync(path.join(dst, 'keep.txt'), 'utf8')).toBe('k');
  });

  it('--exclude-from takes patterns from a file as rsync reads it, and a missing file is a usage error', async () => {
    writeTree(src, { 'keep.txt': 'k', 'a.o': 'o', 'b.swp': 's', 'cache/x': 'x' });
    const patterns = path.join(root, 'patterns');
    fs.writeFileSync(patterns, '# objects\n*.o\n\n; editors\n*.swp\ncache/\n');
    const r = await sync(src, dst, '--exclude-from', patterns, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readdirSync(dst).sort()).toEqual(['keep.txt']);
    const missing = await sync(src, dst, '--exclude-from', path.join(root, 'nope'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(
      `--exclude-from \`${path.join(root, 'nope')}\` cannot be read (it does not exist)`,
    );
  });

  it('--versions keeps what a run deletes or overwrites', async () => {
    writeTree(src, { 'a/changed': 'v2' });
    writeTree(dst, { 'a/changed': 'v1', 'a/removed': 'bye' });
    setMtime(path.join(dst, 'a/changed'), 1_000_000_000);
    const versions = path.join(root, 'versions');
    const r = await sync(src, dst, '--versions', versions, '--json');
    expect(r.code).toBe(0);
    const [run] = fs.readdirSync(versions);
    expect(run).toMatch(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/);
    expect(fs.readdirSync(path.join(versions, run!)).sort()).toEqual(['deleted', 'replaced']);
    expect(fs.readFileSync(path.join(versions, run!, 'replaced/a/changed'), 'utf8')).toBe('v1');
    expect(fs.statSync(path.join(versions, run!, 'replaced/a/changed')).mtimeMs).toBe(1_000_000_000_000);
    expect(fs.readFileSync(path.join(versions, run!, 'deleted/a/removed'), 'utf8')).toBe('bye');
    expect(rsyncDiff(src, dst)).toEqual([]);
  });

  it('--keep-versions removes the runs in --versions DIR older than it, oldest first; newer ones stay', async () => {
    const day = 86_400_000;
    const stampOf = (ms: number) => new Date(ms).toISOString().replace(/[:.]/g, '-');
    const versions = path.join(root, 'versions');
    const [old, older, young] = [
      stampOf(Date.now() - 31 * day),
      stampOf(Date.now() - 40 * day),
      stampOf(Date.now() - day),
    ];
    for (const s of [old, older, young]) writeTree(path.join(versions, s), { 'deleted/x.txt': s });
    writeTree(src, { f: 'new' });
    writeTree(dst, { f: 'old' });
    setMtime(path.join(dst, 'f'), 1_000_000_000);
    const logFile = path.join(root, 'sync.log');
    const r = await sync(src, dst, '--versions', versions, '--keep-versions', '30d', '--log-file', logFile);
    expect(r.code, r.stderr).toBe(0);
    const left = fs.readdirSync(versions).sort();
    expect(left).toHaveLength(2);
    expect(left[0]).toBe(young);
    expect(fs.readFileSync(path.join(versions, left[1]!, 'replaced/f'), 'utf8')).toBe('old');
    const removed = fs.readFileSync(logFile, 'utf8').match(/versions removed: \S+/g);
    expect(removed).toEqual([`versions removed: ${older}`, `versions removed: ${old}`]);
    const alone = await sync(src, dst, '--keep-versions', '30d');
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('give --versions too');
  });

  it("a pair's .synctray-versions in the destination is neither deleted nor filled by a mirror", async () => {
    writeTree(src, { f: 'f', '.synctray-versions/from-source': 'not copied' });
    writeTree(dst, { '.synctray-versions/2026-01-01T00-00-00-000Z/deleted/x': 'kept' });
    const r = await sync(src, dst, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ deleted: 0 });
    expect(fs.readdirSync(path.join(dst, '.synctray-versions'))).toEqual(['2026-01-01T00-00-00-000Z']);
    expect(fs.readFileSync(path.join(dst, 'f'), 'utf8')).toBe('f');
  });

  it('a versions folder made in the destination leaves its folder with the time of the source', async () => {
    writeTree(src, { 'sub/keep': 'k', 'sub/gone': 'g' });
    setMtime(src, 1_000_000_000);
    expect((await sync(src, dst)).code).toBe(0);
    // Deleted in a subfolder: the source's root keeps its time, and the destination's root only
    // changes by the versions folder the run makes in it.
    fs.rmSync(path.join(src, 'sub/gone'));
    const r = await sync(src, dst, '--versions', path.join(dst, '.synctray-versions'));
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readdirSync(path.join(dst, '.synctray-versions'))).toHaveLength(1);
    expect(rsyncDiff(src, dst)).toEqual([]);
  });

  it('a versions folder inside the destination is left out of the mirror', async () => {
    writeTree(src, { f: 'new' });
    writeTree(dst, { f: 'old' });
    setMtime(path.join(dst, 'f'), 1_000_000_000);
    expect((await sync(src, dst, '--versions', path.join(dst, '.versions'))).code).toBe(0);
    expect((await sync(src, dst, '--versions', path.join(dst, '.versions'), '--json')).json).toMatchObject({
      deleted: 0,
      copied: 0,
    });
    expect(fs.readdirSync(path.join(dst, '.versions')).length).toBe(1);
  });

  it('moves a renamed large file and a moved folder in the destination instead of copying them again', async () => {
    fs.writeFileSync(path.join(src, 'video.mp4'), Buffer.alloc(3 * 1024 * 1024, 7));
    writeTree(src, { 'album/a.jpg': 'a', 'album/b.jpg': 'b', 'elsewhere/keep': 'k' });
    expect((await sync(src, dst)).code).toBe(0);
    fs.renameSync(path.join(src, 'video.mp4'), path.join(src, 'holiday.mp4'));
    fs.renameSync(path.join(src, 'album'), path.join(src, 'elsewhere/album'));
    const r = await sync(src, dst, '--json');
    expect(r.json).toMatchObject({ moved: 2, copied: 0, deleted: 0, failed: 0 });
    expect(rsyncDiff(src, dst)).toEqual([]);
  });

  it('moves a renamed file with versions kept too: nothing is copied again, nothing set aside', async () => {
    fs.writeFileSync(path.join(src, 'video.mp4'), Buffer.alloc(3 * 1024 * 1024, 7));
    const versions = path.join(dst, '.synctray-versions');
    expect((await sync(src, dst, '--versions', versions)).code).toBe(0);
    fs.renameSync(path.join(src, 'video.mp4'), path.join(src, 'holiday.mp4'));
    const r = await sync(src, dst, '--versions', versions, '--json');
    expect(r.json).toMatchObject({ moved: 1, copied: 0, deleted: 0, failed: 0 });
    expect(rsyncDiff(src, dst)).toEqual([]);
    expect(fs.existsSync(versions) ? fs.readdirSync(versions) : []).toEqual([]);
  });

  it('copies again rather than moves two small files that only look alike', async () => {
    writeTree(src, { new: 'n' });
    writeTree(dst, { old: 'o' });
    const t = new Date('2024-01-01T00:00:00Z');
    for (const p of [path.join(src, 'new'), path.join(dst, 'old')]) fs.utimesSync(p, t, t);
    const r = await sync(src, dst, '--json');
    expect(r.json).toMatchObject({ moved: 0, copied: 1, deleted: 1 });
    expect(fs.readFileSync(path.join(dst, 'new'), 'utf8')).toBe('n');
  });

  it('--dry-run lists what would happen and changes nothing', async () => {
    writeTree(src, { new: 'n' });
    writeTree(dst, { old: 'o' });
    const before = snapshotTree(dst);
    const r = await sync(src, dst, '--dry-run');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('copy: new');
    expect(r.stdout).toContain('delete: old');
    expect(snapshotTree(dst)).toEqual(before);
  });

  it('--log-file gets a line per operation and a summary', async () => {
    writeTree(src, { a: 'a', b: 'b' });
    writeTree(dst, { c: 'c' });
    const log = path.join(root, 'sync.log');
    expect((await sync(src, dst, '--log-file', log, '--quiet')).code).toBe(0);
    const text = fs.readFileSync(log, 'utf8');
    expect(text).toMatch(/ copied "a"\n/);
    expect(text).toMatch(/ copied "b"\n/);
    expect(text).toMatch(/ deleted "c"\n/);
    expect(text).toMatch(/summary: 3 operations \(copied 2, updated 0, deleted 1, metadata 0\)/);
  });

  it('skips special files with a warning', async () => {
    writeTree(src, { f: 'f' });
    spawnSync('mkfifo', [path.join(src, 'pipe')]);
    const r = await sync(src, dst);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('skipped: pipe: not a regular file');
    expect(fs.existsSync(path.join(dst, 'pipe'))).toBe(false);
  });

  it('removes leftover temp files of an interrupted run', async () => {
    writeTree(src, { f: 'f' });
    writeTree(dst, { 'sub/.~synctray-0123456789abcdef.part': 'partial' });
    writeTree(src, { 'sub/g': 'g' });
    expect((await sync(src, dst)).code).toBe(0);
    expect(fs.existsSync(path.join(dst, 'sub/.~synctray-0123456789abcdef.part'))).toBe(false);
    expect(rsyncDiff(src, dst)).toEqual([]);
  });
});

describe('one bad file never aborts the run', () => {
  it.skipIf(posixOnly(UNREADABLE))('an unreadable source file is reported, the rest is synced, exit 1', async () => {
    writeTree(src, { ok1: '1', secret: 's', ok2: '2' });
    fs.chmodSync(path.join(src, 'secret'), 0);
    giveToNobody(root);
    const r = await runCli(['sync', src, dst, '--json'], { unprivileged: true });
    expect(r.code).toBe(1);
    expect(r.json?.errors?.[0]).toMatchObject({ path: 'secret', code: 'PERMISSION' });
    expect(r.json).toMatchObject({ copied: 2, failed: 1 });
    expect(fs.readFileSync(path.join(dst, 'ok2'), 'utf8')).toBe('2');
    expect(fs.readdirSync(dst).filter((n) => n.startsWith('.~synctray-'))).toEqual([]);
  });

  it.skipIf(posixOnly('names that are not valid UTF-8'))(
    'a name that is not valid UTF-8 is reported, never silently skipped',
    async () => {
      writeTree(src, { fine: 'ok', 'sub/other': 'o' });
      writeTree(dst, { stale: 'still here' });
      fs.writeFileSync(Buffer.concat([Buffer.from(`${src}/sub/caf`), Buffer.from([0xe9]), Buffer.from('.txt')]), 'x');
      const r = await sync(src, dst, '--json');
      expect(r.code).toBe(1);
      expect(r.json?.errors?.[0]).toMatchObject({ path: 'sub', code: 'UNSUPPORTED' });
      expect(r.stderr).toContain('sub: holds a name that is not valid UTF-8');
      expect(fs.readFileSync(path.join(dst, 'fine'), 'utf8')).toBe('ok');
      // The folder's contents are unknown, so the mirror deletes nothing this run.
      expect(fs.existsSync(path.join(dst, 'stale'))).toBe(true);
    },
  );

  it.skipIf(posixOnly(UNREADABLE))('an unlistable source folder is reported and mirror deletes nothing', async () => {
    writeTree(src, { 'locked/x': 'x', ok: 'ok', new: 'n' });
    writeTree(dst, { 'locked/x': 'x', ok: 'ok', stale: 'still here' });
    fs.chmodSync(path.join(src, 'locked'), 0);
    giveToNobody(root);
    const r = await runCli(['sync', src, dst, '--json'], { unprivileged: true });
    expect(r.code).toBe(1);
    expect(r.json?.errors?.[0]).toMatchObject({ path: 'locked', code: 'PERMISSION' });
    expect(fs.readFileSync(path.join(dst, 'new'), 'utf8')).toBe('n');
    expect(fs.existsSync(path.join(dst, 'stale'))).toBe(true);
    expect(fs.existsSync(path.join(dst, 'locked/x'))).toBe(true);
  });
});

describe('refusals: exit 2, a message naming the problem, nothing written', () => {
  const refused = async (args: string[], pattern: RegExp) => {
    const before = snapshotTree(dst);
    const r = await runCli(['sync', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(pattern);
    expect(snapshotTree(dst)).toEqual(before);
  };

  beforeEach(() => {
    writeTree(dst, Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`d/file${i}`, `content ${i}`])));
    fs.symlinkSync('d/file1', path.join(dst, 'link'));
  });

  it('source missing', () => refused([path.join(root, 'nope'), dst], /Source `.*nope` does not exist/));
  it('source is a file', () => {
    writeTree(root, { file: 'x' });
    return refused([path.join(root, 'file'), dst], /Source `.*file` is not a folder/);
  });
  it.skipIf(posixOnly(UNREADABLE))('source unreadable', async () => {
    fs.chmodSync(src, 0);
    giveToNobody(root);
    const before = snapshotTree(dst);
    const r = await runCli(['sync', src, dst], { unprivileged: true });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Source `.*src` cannot be read: permission denied/);
    expect(snapshotTree(dst)).toEqual(before);
  });
  it('destination is a file', async () => {
    writeTree(root, { file: 'x' });
    const r = await sync(src, path.join(root, 'file'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Destination `.*file` exists and is not a folder/);
    expect(fs.readFileSync(path.join(root, 'file'), 'utf8')).toBe('x');
  });
  it('same folder', () => refused([dst, `${dst}/`], /same folder/));
  it.skipIf(posixOnly(SYMLINKS))('same folder through a symlink', () => {
    fs.symlinkSync(dst, path.join(root, 'alias'));
    return refused([path.join(root, 'alias'), dst], /same folder/);
  });
  it('destination inside source', () => refused([dst, path.join(dst, 'd', 'backup')], /is inside source/));
  it('source inside destination', () => refused([path.join(dst, 'd'), dst], /is inside destination/));
  it('versions inside source', () => {
    writeTree(src, { a: 'a' });
    return refused([src, dst, '--versions', path.join(src, 'old')], /Versions folder .* is inside source/);
  });
  it('empty source over a full destination', () => refused([src, dst], /Source .* is empty/));
  // One of the 21 files counted is the destination's link.
  it.skipIf(posixOnly(SYMLINKS))('mirror deleting more than half', () => {
    writeTree(src, { 'd/file0': 'content 0' });
    return refused([src, dst], /would delete 20 of the 21 files/);
  });
  it('more than --max-delete', () => {
    writeTree(src, Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`d/file${i}`, `content ${i}`])));
    return refused([src, dst, '--max-delete', '2'], /more than --max-delete 2/);
  });
  it('bad usage', async () => {
    await refused([src], /takes a source and a destination/);
    await refused([src, dst, '--mode', 'sideways'], /--mode must be one of mirror, update, missing/);
    await refused([src, dst, '--max-delete', 'many'], /--max-delete takes a whole number/);
    await refused([src, dst, '--frobnicate'], /Unknown option '--frobnicate'/);
    await refused([src, dst, '--exclude', ' '], /An --exclude pattern is empty/);
  });
  it('the guards give way to --max-delete and --force', async () => {
    writeTree(src, { 'd/file0': 'content 0' });
    expect((await sync(src, dst, '--max-delete', '21', '--quiet')).code).toBe(0);
    expect(fs.readdirSync(path.join(dst, 'd'))).toEqual(['file0']);
  });
});

describe('cli basics', () => {
  it('--version and --help', async () => {
    const v = await runCli(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^synctray \d+\.\d+\.\d+/);
    const h = await runCli(['sync', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('--mode MODE');
  });
  it('unknown command', async () => {
    const r = await runCli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Unknown command "frobnicate"');
  });
});
