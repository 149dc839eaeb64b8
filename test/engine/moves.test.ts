import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/core/entry.js';
import { afterMoves, findMoves, MIN_RENAMED_SIZE } from '../../src/engine/moves.js';
import { plan } from '../../src/engine/plan.js';
import type { Tree } from '../../src/engine/tree.js';

const T0 = 1_700_000_000_000_000_000n;
const MS = 1_000_000n;

/** Items by path: a number is a file of that size; 'dir' a folder. Each may carry its own mtime. */
function tree(items: Record<string, number | 'dir' | [number | 'dir', bigint]>): Tree {
  const entries = new Map<string, Entry>([
    ['', { name: '', type: 'dir', size: 0, mtimeNs: T0, atimeNs: T0, mode: 0o755 }],
  ]);
  for (const [path, spec] of Object.entries(items)) {
    const [what, mtimeNs] = Array.isArray(spec) ? spec : [spec, T0];
    const name = path.slice(path.lastIndexOf('/') + 1);
    entries.set(
      path,
      what === 'dir'
        ? { name, type: 'dir', size: 0, mtimeNs, atimeNs: mtimeNs, mode: 0o755 }
        : { name, type: 'file', size: what, mtimeNs, atimeNs: mtimeNs, mode: 0o644 },
    );
  }
  return { entries, errors: [], temps: [], holdsExcluded: new Set(), equalItems: 0 };
}

function moves(src: Tree, dst: Tree) {
  const p = plan(src, dst, {
    mode: 'mirror',
    srcPrecisionNs: MS,
    dstPrecisionNs: MS,
    compareModes: true,
    allowDeletes: true,
  });
  return findMoves(p, { src, dst }, MS).map((m) => `${m.from} -> ${m.to}`);
}

const BIG = MIN_RENAMED_SIZE;

describe('moves', () => {
  it('finds a renamed large file, a file moved to another folder, and a renamed or moved folder', () => {
    expect(moves(tree({ 'new name.mp4': BIG }), tree({ 'video.mp4': BIG }))).toEqual(['video.mp4 -> new name.mp4']);
    expect(moves(tree({ b: 'dir', 'b/note.txt': 5 }), tree({ a: 'dir', 'a/note.txt': 5, b: 'dir' }))).toEqual([
      'a/note.txt -> b/note.txt',
    ]);
    expect(moves(tree({ 'summer 2024': 'dir', 'summer 2024/x': 1 }), tree({ '2024': 'dir', '2024/x': 1 }))).toEqual([
      '2024 -> summer 2024',
    ]);
    expect(
      moves(tree({ y: 'dir', 'y/album': 'dir', 'y/album/x': 1 }), tree({ y: 'dir', album: 'dir', 'album/x': 1 })),
    ).toEqual(['album -> y/album']);
  });

  it('leaves small renamed files, different times and ambiguous matches to be copied', () => {
    expect(moves(tree({ new: 1 }), tree({ old: 1 }))).toEqual([]);
    expect(moves(tree({ b: BIG }), tree({ a: [BIG, T0 + 1n] }))).toEqual([]);
    expect(moves(tree({ c: BIG }), tree({ a: BIG, b: BIG }))).toEqual([]);
    expect(moves(tree({ c: BIG, d: BIG }), tree({ a: BIG }))).toEqual([]);
  });

  it('moves only the outermost of nested folders, and nothing that a moved folder carries', () => {
    const src = tree({ renamed: 'dir', 'renamed/inner': ['dir', T0 + 5n * MS], 'renamed/inner/f': 3 });
    const dst = tree({ old: 'dir', 'old/inner': ['dir', T0 + 5n * MS], 'old/inner/f': 3 });
    expect(moves(src, dst)).toEqual(['old -> renamed']);
  });

  it('re-keys what a move carries, so the next plan copies and deletes none of it', () => {
    const src = tree({ renamed: 'dir', 'renamed/f': 3 });
    const dst = tree({ old: 'dir', 'old/f': 3 });
    const found = findMoves(
      plan(src, dst, {
        mode: 'mirror',
        srcPrecisionNs: MS,
        dstPrecisionNs: MS,
        compareModes: true,
        allowDeletes: true,
      }),
      { src, dst },
      MS,
    );
    const after = afterMoves(dst, found);
    expect([...after.entries.keys()].sort()).toEqual(['', 'renamed', 'renamed/f']);
    const again = plan(src, after, {
      mode: 'mirror',
      srcPrecisionNs: MS,
      dstPrecisionNs: MS,
      compareModes: true,
      allowDeletes: true,
      moves: found,
    });
    expect([again.transfers.length, again.deletes.length, again.mkdirs.length, again.moves.length]).toEqual([
      0, 0, 0, 1,
    ]);
  });
});
