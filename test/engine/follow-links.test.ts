/** `--links copy` on real folders: symlinks within the source become what they lead to, nothing outside is reached. */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sync } from '../../src/engine/sync.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { makeSyncScratch, removeScratch } from '../helpers/scratch.js';
import { writeTree } from '../helpers/tree-spec.js';
import { SYMLINKS, posixOnly } from '../helpers/requirements.js';

let root: string;
let src: string;
let dst: string;
beforeEach(() => {
  ({ root, src, dst } = makeSyncScratch());
  fs.mkdirSync(src);
});
afterEach(() => removeScratch(root));

const copyLinks = () => sync(new LocalStorage(src), new LocalStorage(dst), { mode: 'mirror', links: 'copy' });
const read = (rel: string) => fs.readFileSync(path.join(dst, rel), 'utf8');
const link = (target: string, rel: string) => fs.symlinkSync(target, path.join(src, rel));

describe.skipIf(posixOnly(SYMLINKS))('--links copy', () => {
  it('copies the file or folder a link leads to under the link name, and a second run does nothing', async () => {
    writeTree(src, { 'docs/a.txt': 'A', 'docs/sub/b.txt': 'B', 'notes.txt': 'N' });
    link('notes.txt', 'notes-link');
    link('docs', 'docs-link');
    link(path.join(src, 'docs/a.txt'), 'absolute-inside');
    const r = await copyLinks();
    expect(r.failed).toBe(0);
    expect(r.skipped).toEqual([]);
    expect(fs.lstatSync(path.join(dst, 'notes-link')).isFile()).toBe(true);
    expect(read('notes-link')).toBe('N');
    expect(read('docs-link/sub/b.txt')).toBe('B');
    expect(read('absolute-inside')).toBe('A');
    expect(fs.statSync(path.join(dst, 'notes-link')).mtimeMs).toBe(fs.statSync(path.join(src, 'notes.txt')).mtimeMs);
    expect(await copyLinks()).toMatchObject({ copied: 0, updated: 0, metadata: 0, deleted: 0, failed: 0 });
  });

  it('copies again what a link leads to once that changes', async () => {
    writeTree(src, { 'notes.txt': 'one' });
    link('notes.txt', 'notes-link');
    await copyLinks();
    fs.writeFileSync(path.join(src, 'notes.txt'), 'two, longer');
    expect(await copyLinks()).toMatchObject({ updated: 2, failed: 0 });
    expect(read('notes-link')).toBe('two, longer');
  });

  it('follows a chain of links, and links met inside a followed folder', async () => {
    writeTree(src, { 'real/x.txt': 'X' });
    link('x.txt', 'real/x-link');
    link('real', 'step1');
    link('step1', 'step2');
    const r = await copyLinks();
    expect(r.failed).toBe(0);
    expect(read('step2/x.txt')).toBe('X');
    expect(read('step2/x-link')).toBe('X');
  });

  it(
    'never leaves the source: links out of it, to nothing or round in a circle are skipped with why, ' +
      'and nothing is deleted at their path',
    async () => {
      const outside = path.join(root, 'outside');
      writeTree(outside, { secret: 'not to be copied' });
      writeTree(src, { 'a/keep': 'k' });
      link('../outside/secret', 'relative-out');
      link(path.join(outside, 'secret'), 'absolute-out');
      link('a/../../outside', 'sneaky-out');
      link('nothing-here', 'dangling');
      link('..', 'a/up');
      link('loop2', 'loop1');
      link('loop1', 'loop2');
      writeTree(dst, { dangling: 'an old copy' });
      const r = await copyLinks();
      expect(r.failed).toBe(0);
      expect(Object.fromEntries(r.skipped.map((s) => [s.path, s.reason]))).toEqual({
        'relative-out': 'link-outside',
        'absolute-out': 'link-outside',
        'sneaky-out': 'link-outside',
        dangling: 'link-dangling',
        'a/up': 'link-loop',
        loop1: 'link-loop',
        loop2: 'link-loop',
      });
      expect(fs.readdirSync(dst).sort()).toEqual(['a', 'dangling']);
      expect(read('dangling')).toBe('an old copy');
      expect(fs.readdirSync(path.join(dst, 'a'))).toEqual(['keep']);
    },
  );

  it('keeps links as links by default', async () => {
    writeTree(src, { 'notes.txt': 'N' });
    link('notes.txt', 'notes-link');
    await sync(new LocalStorage(src), new LocalStorage(dst), { mode: 'mirror' });
    expect(fs.readlinkSync(path.join(dst, 'notes-link'))).toBe('notes.txt');
  });
});
