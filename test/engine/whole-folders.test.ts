import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/core/entry.js';
import type { Action } from '../../src/engine/plan.js';
import { chooseWholeFolders, type WholeFolderLimits } from '../../src/engine/whole-folders.js';

const T0 = 1_700_000_000_000_000_000n;
const LIMITS: WholeFolderLimits = { files: 4, bytes: 1000, fileBytes: 100 };

function entry(type: 'file' | 'dir', size = 0): Entry {
  return { name: 'x', type, size, mtimeNs: T0, atimeNs: T0, mode: 0o644 };
}

const mkdir = (path: string, replace = false): Action => ({
  op: 'mkdir',
  path,
  src: entry('dir'),
  replace: replace ? [{ path, entry: entry('file', 1) }] : [],
});
const copy = (path: string, size = 10, replace = false): Action => ({
  op: 'copy',
  path,
  src: entry('file', size),
  replace: replace ? [{ path, entry: entry('file', 1) }] : [],
});

function choose(mkdirs: Action[], copies: Action[], takes = (_: Action) => true) {
  const out = chooseWholeFolders(mkdirs, copies, takes, LIMITS);
  return {
    groups: out.groups.map((g) => ({
      parent: g.parent,
      tops: g.tops.map((a) => a.path),
      inner: g.inner.map((a) => a.path),
      copies: g.copies.map((a) => a.path).sort(),
    })),
    mkdirs: out.mkdirs.map((a) => a.path),
    copies: out.copies.map((a) => a.path),
  };
}

describe('chooseWholeFolders', () => {
  it('puts each outermost new folder whole, with the folders and files inside it', () => {
    const out = choose([mkdir('a'), mkdir('a/b'), mkdir('a/b/c')], [copy('a/1'), copy('a/b/2'), copy('top')]);
    expect(out.groups).toEqual([{ parent: '', tops: ['a'], inner: ['a/b', 'a/b/c'], copies: ['a/1', 'a/b/2'] }]);
    // What stands beside it goes the usual way.
    expect(out).toMatchObject({ mkdirs: [], copies: ['top'] });
  });

  it('leaves out what a whole new folder cannot carry: large files, files the destination does not take', () => {
    const out = choose(
      [mkdir('a')],
      [copy('a/small'), copy('a/large', 101), copy('a/link')],
      (a) => a.path !== 'a/link',
    );
    expect(out.groups[0]!.copies).toEqual(['a/small']);
    expect(out.copies).toEqual(['a/large', 'a/link']);
  });

  it('makes a folder with no file to carry the usual way', () => {
    const out = choose([mkdir('empty'), mkdir('empty/inner'), mkdir('big')], [copy('big/f', 500)]);
    expect(out.groups).toEqual([]);
    expect(out.mkdirs).toEqual(['empty', 'empty/inner', 'big']);
  });

  it('never takes a folder that replaces a file, nor a copy replacing something', () => {
    const out = choose([mkdir('was-a-file', true), mkdir('was-a-file/in')], [copy('was-a-file/in/f')]);
    // The folder inside the replacing one is new, and goes whole once its parent is made.
    expect(out.groups).toEqual([
      { parent: 'was-a-file', tops: ['was-a-file/in'], inner: [], copies: ['was-a-file/in/f'] },
    ]);
    expect(out.mkdirs).toEqual(['was-a-file']);
    const updating = choose([mkdir('n')], [copy('n/f', 10, true)]);
    expect(updating.groups).toEqual([]);
  });

  it('splits a folder over the limits into its own making and the folders inside it', () => {
    const files = ['big/1', 'big/2', 'big/s1/1', 'big/s1/2', 'big/s2/1'].map((p) => copy(p));
    const out = choose([mkdir('big'), mkdir('big/s1'), mkdir('big/s2')], files);
    expect(out.mkdirs).toEqual(['big']);
    expect(out.groups).toEqual([
      { parent: 'big', tops: ['big/s1', 'big/s2'], inner: [], copies: ['big/s1/1', 'big/s1/2', 'big/s2/1'] },
    ]);
    expect(out.copies).toEqual(['big/1', 'big/2']);
  });

  it('groups folders of one parent up to the limits, files and bytes', () => {
    const dirs = ['a', 'b', 'c'].map((d) => mkdir(d));
    const byFiles = choose(
      dirs,
      ['a/1', 'a/2', 'b/1', 'b/2', 'c/1'].map((p) => copy(p)),
    );
    expect(byFiles.groups.map((g) => g.tops)).toEqual([['a', 'b'], ['c']]);
    const byBytes = choose(dirs, [copy('a/1', 100), copy('b/1', 100), copy('c/1', 90)], () => true);
    expect(byBytes.groups.map((g) => g.tops)).toEqual([['a', 'b', 'c']]);
    const over = chooseWholeFolders(dirs, [copy('a/1', 100), copy('b/1', 100)], () => true, { ...LIMITS, bytes: 150 });
    expect(over.groups.map((g) => g.tops.map((a) => a.path))).toEqual([['a'], ['b']]);
  });

  it('groups by parent', () => {
    const out = choose(
      [mkdir('p'), mkdir('q')],
      ['p/1', 'p/2', 'p/3', 'q/1', 'q/2'].map((p) => copy(p)),
    );
    expect(out.groups.map((g) => [g.parent, g.tops])).toEqual([
      ['', ['p']],
      ['', ['q']],
    ]);
    const split = choose(
      [mkdir('x'), mkdir('x/a'), mkdir('x/b'), mkdir('y')],
      ['x/1', 'x/2', 'x/3', 'x/a/1', 'x/b/1', 'y/1'].map((p) => copy(p)),
    );
    expect(split.groups.map((g) => [g.parent, g.tops])).toEqual([
      ['x', ['x/a', 'x/b']],
      ['', ['y']],
    ]);
  });

  it('groups new files of a folder that is there where there are 16 or more, not under a moved folder', () => {
    const wide = { files: 100, bytes: 1e9, fileBytes: 100 };
    const files = (dir: string, n: number) => Array.from({ length: n }, (_, i) => copy(`${dir}/f${i}`));
    const out = chooseWholeFolders(
      [],
      [...files('many', 16), ...files('few', 15), ...files('moved', 20)],
      () => true,
      wide,
      (d) => d.startsWith('moved'),
    );
    expect(out.groups.map((g) => [g.parent, g.tops.length, g.copies.length])).toEqual([['many', 0, 16]]);
    expect(out.copies).toHaveLength(35);
    // A new folder too big to go whole is made on its own, and its own files go in a group.
    const big = chooseWholeFolders([mkdir('big')], files('big', 30), () => true, { ...wide, files: 20 });
    expect(big.mkdirs.map((a) => a.path)).toEqual(['big']);
    expect(big.groups.map((g) => [g.parent, g.copies.length])).toEqual([
      ['big', 20],
      ['big', 10],
    ]);
  });
});
