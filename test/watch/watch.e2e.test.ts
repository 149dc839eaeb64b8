/**
 * `synctray watch` on real folders, through the built CLI: every check waits for a condition (the
 * destination equal to the source as rsync sees it, an event on stdout), never a fixed time.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertCliBuilt, startCli } from '../helpers/cli.js';
import { Watching } from '../helpers/watching.js';
import { rsyncDiff, rsyncSkipReason } from '../helpers/oracle.js';
import { makeSyncScratch, removeScratch } from '../helpers/scratch.js';
import { findTempFiles } from '../helpers/tree-inspect.js';
import { writeTree } from '../helpers/tree-spec.js';
import { waitFor } from '../helpers/wait-for.js';
import { runStamp } from '../../src/storage/versions.js';

const noRsync = rsyncSkipReason();
let root: string;
let src: string;
let dst: string;
let watching: Watching | undefined;
beforeAll(() => assertCliBuilt());
beforeEach(() => {
  ({ root, src, dst } = makeSyncScratch('synctray-watch-'));
  fs.mkdirSync(src);
});
afterEach(async () => {
  if (watching) await watching.stop();
  watching = undefined;
  removeScratch(root);
});

const inSync = () => rsyncDiff(src, dst).length === 0;
const start = async (...options: string[]) => {
  watching = new Watching(src, dst, ...options);
  await watching.next('ready', (l) => l.event === 'ready');
  return watching;
};

describe.skipIf(noRsync)('synctray watch', () => {
  it(
    'mirrors adds, changes, deletions and folders as they happen, ' + 'then stops on SIGINT with no temp files',
    async () => {
      writeTree(src, { 'a/one': '1', keep: 'k' });
      const w = await start();
      expect(inSync()).toBe(true);
      writeTree(src, { 'a/two': '2', 'b/c/three': '3' });
      fs.writeFileSync(path.join(src, 'keep'), 'kept, and changed');
      fs.rmSync(path.join(src, 'a/one'));
      await waitFor(inSync, 'the destination to follow adds, a change and a delete');
      fs.rmSync(path.join(src, 'b'), { recursive: true });
      fs.mkdirSync(path.join(src, 'empty'));
      await waitFor(inSync, 'a folder removed and an empty one added');
      const r = await w.stop();
      watching = undefined;
      expect(r.code, r.stderr).toBe(0);
      const stopped = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
      expect(stopped).toMatchObject({ event: 'stopped', failed: 0 });
      expect(stopped.copied).toBeGreaterThanOrEqual(4);
      expect(stopped.deleted).toBeGreaterThanOrEqual(2);
      expect(findTempFiles(dst)).toEqual([]);
    },
  );

  it(
    'keeps up with a file appended to for 10 s: ' + 'complete in the destination within 1 s of the last write',
    async () => {
      await start();
      const file = path.join(src, 'growing.log');
      for (let i = 0; i < 100; i++) {
        fs.appendFileSync(file, `line ${i} ${'x'.repeat(1000)}\n`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const last = performance.now();
      await waitFor(inSync, 'the complete file in the destination', { timeoutMs: 5000 });
      expect(performance.now() - last).toBeLessThan(1000);
      expect(fs.readFileSync(path.join(dst, 'growing.log')).equals(fs.readFileSync(file))).toBe(true);
    },
  );

  it(
    'ends with the whole file when a save comes in several writes ' + 'and the first step copied it half written',
    async () => {
      await start();
      const file = path.join(src, 'note.txt');
      const fd = fs.openSync(file, 'w');
      try {
        fs.writeSync(fd, 'first half, ');
        await waitFor(() => fs.existsSync(path.join(dst, 'note.txt')), 'the file as it was at the first change');
        fs.writeSync(fd, 'second half');
      } finally {
        fs.closeSync(fd);
      }
      await waitFor(inSync, 'the rest of the save in the destination');
      expect(fs.readFileSync(path.join(dst, 'note.txt'), 'utf8')).toBe('first half, second half');
    },
  );

  it('moves a renamed folder of 1,000 files in the destination instead of copying it again', async () => {
    writeTree(
      src,
      Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`photos/2024/img${i}.jpg`, `picture ${i}`])),
    );
    const w = await start();
    const from = w.lines.length;
    fs.renameSync(path.join(src, 'photos/2024'), path.join(src, 'photos/2024 summer'));
    await w.next('the folder moved', (l) => l.event === 'batch' && Number(l.moved) > 0, from);
    await waitFor(inSync, 'the renamed folder in the destination');
    const batches = w.lines.slice(from).filter((l) => l.event === 'batch');
    expect(batches.reduce((n, l) => n + Number(l.moved), 0)).toBe(1);
    expect(batches.reduce((n, l) => n + Number(l.copied), 0)).toBe(0);
    expect(batches.reduce((n, l) => n + Number(l.deleted), 0)).toBe(0);
  });

  it('replicates a burst of 2,000 new files', async () => {
    await start();
    for (let d = 0; d < 20; d++) {
      fs.mkdirSync(path.join(src, `burst${d}`));
      for (let f = 0; f < 100; f++) fs.writeFileSync(path.join(src, `burst${d}`, `f${f}`), `${d}/${f}`);
    }
    await waitFor(inSync, '2,000 files in the destination', { timeoutMs: 30_000, intervalMs: 50 });
  });

  it('deletes nothing while the source is renamed away, waits, and catches up when it is back', async () => {
    writeTree(src, { 'a/x': 'x', 'a/y': 'y', z: 'z' });
    const w = await start();
    const away = `${src}-away`;
    const from = w.lines.length;
    fs.renameSync(src, away);
    await w.next('waiting-for-source', (l) => l.event === 'state' && l.state === 'waiting-for-source', from);
    expect(fs.readdirSync(dst).sort()).toEqual(['a', 'z']);
    // Changed while nobody watched: the rescan on return sees it.
    fs.writeFileSync(path.join(away, 'new'), 'made while away');
    fs.rmSync(path.join(away, 'z'));
    fs.renameSync(away, src);
    await w.next('the full rescan once the source is back', (l) => l.event === 'batch' && l.full === true, from);
    await waitFor(inSync, 'the destination to catch up');
  });

  it('does no work for excluded paths', async () => {
    const w = await start('--exclude', '*.tmp', '--exclude', 'cache/');
    const from = w.lines.length;
    fs.writeFileSync(path.join(src, 'draft.tmp'), 'scratch');
    fs.mkdirSync(path.join(src, 'cache'));
    fs.writeFileSync(path.join(src, 'cache/blob'), 'b');
    fs.writeFileSync(path.join(src, 'kept.txt'), 'k');
    await w.next('the file that is not excluded copied', (l) => l.event === 'batch' && Number(l.copied) > 0, from);
    const batches = w.lines.slice(from).filter((l) => l.event === 'batch');
    expect(batches.reduce((n, l) => n + Number(l.copied), 0)).toBe(1);
    expect(fs.readdirSync(dst)).toEqual(['kept.txt']);
  });

  it('keeps holding deletions in the steps after one was held, until a full comparison passes the guard', async () => {
    writeTree(src, { keep: 'k' });
    writeTree(dst, Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`extra${i}`, `${i}`])));
    const w = await start();
    await w.next('the first sync holding its deletions', (l) => l.event === 'held');
    const from = w.lines.length;
    fs.writeFileSync(path.join(src, 'b'), 'b');
    await w.next('the next step', (l) => l.event === 'batch', from);
    await waitFor(() => fs.existsSync(path.join(dst, 'b')), 'the new file');
    expect(fs.readdirSync(dst)).toHaveLength(102);
  });

  it('counts deletions made in many small steps together: a folder at a time still trips the guard', async () => {
    writeTree(src, Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`d${Math.floor(i / 5)}/f${i}`, `${i}`])));
    const w = await start();
    let from = w.lines.length;
    for (let d = 0; d < 20 && !w.lines.some((l) => l.event === 'held'); d++) {
      fs.rmSync(path.join(src, `d${d}`), { recursive: true });
      await w.next(`the step for d${d}`, (l) => l.event === 'batch', from);
      from = w.lines.length;
    }
    expect(w.lines.some((l) => l.event === 'held')).toBe(true);
    const left = fs.readdirSync(dst).reduce((n, d) => n + fs.readdirSync(path.join(dst, d)).length, 0);
    expect(left).toBeGreaterThanOrEqual(50);
  });

  it('holds deletions when another folder is put where the source was, and watches the new one', async () => {
    writeTree(src, Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f${i}`, `${i}`])));
    const w = await start();
    const from = w.lines.length;
    fs.renameSync(src, `${src}.old`);
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'a'), 'a');
    await w.next('held', (l) => l.event === 'held', from);
    fs.writeFileSync(path.join(`${src}.old`, 'f1'), 'edited in the old folder');
    fs.writeFileSync(path.join(src, 'b'), 'b');
    await waitFor(() => fs.existsSync(path.join(dst, 'b')), 'a file in the new folder');
    expect(fs.readdirSync(dst)).toHaveLength(32);
    expect(fs.readFileSync(path.join(dst, 'f1'), 'utf8')).toBe('1');
  });

  it('watches a folder deleted and made again under the same name', async () => {
    writeTree(src, { 'a/x/old': 'o' });
    const w = await start();
    fs.rmSync(path.join(src, 'a/x'), { recursive: true });
    fs.mkdirSync(path.join(src, 'a/x/deep'), { recursive: true });
    await waitFor(() => fs.existsSync(path.join(dst, 'a/x/deep')), 'the new folder');
    fs.writeFileSync(path.join(src, 'a/x/later'), 'l');
    fs.writeFileSync(path.join(src, 'a/x/deep/later2'), 'l2');
    await waitFor(inSync, 'files written later in the new folders');
    void w;
  });

  it('waits for a destination that is gone instead of making it again', async () => {
    writeTree(src, { f: 'f' });
    const w = await start();
    const from = w.lines.length;
    fs.rmSync(dst, { recursive: true });
    fs.writeFileSync(path.join(src, 'g'), 'g');
    await w.next('waiting-for-destination', (l) => l.event === 'state' && l.state === 'waiting-for-destination', from);
    expect(fs.existsSync(dst)).toBe(false);
    fs.mkdirSync(dst);
    await waitFor(inSync, 'the destination filled again once it is back');
  });

  it('applies a mass deletion with --force', async () => {
    writeTree(src, Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`d/f${i}`, `${i}`])));
    await start('--force');
    for (let i = 0; i < 14; i++) fs.rmSync(path.join(src, `d/f${i}`));
    await waitFor(inSync, 'the deletions applied');
  });

  it('holds back a mass deletion and reports it, copying what it has to', async () => {
    writeTree(src, Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`d/f${i}`, `${i}`])));
    const w = await start();
    const from = w.lines.length;
    for (let i = 0; i < 14; i++) fs.rmSync(path.join(src, `d/f${i}`));
    fs.writeFileSync(path.join(src, 'd/new'), 'n');
    const held = await w.next('held', (l) => l.event === 'held', from);
    expect(String(held.message)).toContain('14 of the 20 files');
    await waitFor(() => fs.existsSync(path.join(dst, 'd/new')), 'the new file copied all the same');
    expect(fs.readdirSync(path.join(dst, 'd'))).toHaveLength(21);
  });

  it('stops cleanly on SIGINT in the middle of a burst: exit 0, no temp file left', async () => {
    const w = await start();
    const big = Buffer.alloc(256 * 1024, 1);
    for (let d = 0; d < 10; d++) {
      fs.mkdirSync(path.join(src, `d${d}`));
      for (let f = 0; f < 100; f++) fs.writeFileSync(path.join(src, `d${d}`, `f${f}`), big);
    }
    await w.next('a step under way', (l) => l.event === 'state' && l.state === 'syncing');
    const r = await w.stop();
    watching = undefined;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').pop()).toContain('"event":"stopped"');
    expect(findTempFiles(dst)).toEqual([]);
  });

  it('with --keep-versions, removes the runs in --versions older than it after its steps; newer stay', async () => {
    const versions = path.join(root, 'versions');
    const day = 86_400_000;
    writeTree(path.join(versions, runStamp(new Date(Date.now() - 3 * day)), 'deleted'), { 'old.txt': 'old' });
    const recent = runStamp(new Date(Date.now() - 3_600_000));
    writeTree(path.join(versions, recent, 'replaced'), { 'recent.txt': 'recent' });
    writeTree(src, { 'a.txt': 'a' });
    await start('--versions', versions, '--keep-versions', '2d');
    await waitFor(() => fs.readdirSync(versions).length === 1, 'the old run removed');
    expect(fs.readdirSync(versions)).toEqual([recent]);
  });

  it('rescans everything at the interval asked for', async () => {
    const w = await start('--rescan-interval', '1s');
    const from = w.lines.length;
    await w.next('a full rescan', (l) => l.event === 'batch' && l.full === true, from, 5000);
  });

  it('refuses bad options before starting', async () => {
    for (const [args, text] of [
      [['--rescan-interval', 'soon'], '--rescan-interval takes a duration'],
      [['--rescan-interval', '10ms'], 'at least 1s'],
      [['--dry-run'], 'watch has no --dry-run'],
    ] as const) {
      const r = await startCli(['watch', src, dst, ...args]).done;
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(text);
    }
    expect(fs.existsSync(dst)).toBe(false);
  });
});
