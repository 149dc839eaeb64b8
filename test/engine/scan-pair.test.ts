/**
 * scanPair compares folders whole by their summaries and leaves equal folders' items out of the
 * trees. Whatever the trees, the plan made from its trees must be the plan made from two full
 * scans: the same actions, the same counts. Runs on real folders through the native library.
 */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RelPath } from '../../src/core/rel-path.js';
import { plan, type Plan } from '../../src/engine/plan.js';
import { scan, scanPair, type Summarising } from '../../src/engine/scan.js';
import { sync } from '../../src/engine/sync.js';
import type { Tree } from '../../src/engine/tree.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { nativeFs, nativeFsProblem } from '../../src/storage/local/native.js';
import { skipReasonOutsideCi } from '../helpers/requirements.js';
import { makeSyncScratch, removeScratch } from '../helpers/scratch.js';
import { HOSTILE_NAMES, OVERLAPPING_NAMES, treeArbs } from '../helpers/tree-arbitraries.js';
import { applyMutations, arbMutations } from '../helpers/tree-mutations.js';
import { fillDir, writeTree } from '../helpers/tree-spec.js';

const notBuilt = skipReasonOutsideCi(nativeFs() !== undefined, `native listing not loaded (${nativeFsProblem()}): folder summaries not tested`);

let root: string;
let src: string;
let dst: string;
beforeEach(() => {
  ({ root, src, dst } = makeSyncScratch('synctray-pair-'));
});
afterEach(() => removeScratch(root));

const MS = 1_000_000n;

async function trees(compareWhole: boolean, hide: RelPath[] = []): Promise<[Tree, Tree]> {
  const s = new LocalStorage(src) as Summarising;
  const d = new LocalStorage(dst) as Summarising;
  const roots = { src: await s.stat(''), dst: await d.stat('') };
  if (compareWhole) return scanPair(s, d, roots, { compareWhole, hide });
  return [await scan(s, roots.src, { hide }), await scan(d, roots.dst, { hide })];
}

/** The plan's decisions in a comparable form (entries differ only by what was left out). */
function decisions(p: Plan) {
  const paths = (actions: { op: string; path: RelPath }[]) => actions.map((a) => `${a.op} ${a.path}`).sort();
  return {
    mkdirs: paths(p.mkdirs),
    transfers: paths(p.transfers),
    deletes: paths(p.deletes),
    dirMetas: paths(p.dirMetas),
    skipped: p.skipped.map((s) => `${s.reason} ${s.path}`).sort(),
    unchanged: p.unchanged,
    deletedFiles: p.deletedFiles,
    bytes: p.bytes,
  };
}

async function bothPlans(mode: 'mirror' | 'update' | 'missing' = 'mirror') {
  const options = { mode, srcPrecisionNs: MS, dstPrecisionNs: MS, compareModes: true, allowDeletes: true } as const;
  const [fs1, fd1] = await trees(false);
  const [fs2, fd2] = await trees(true);
  return { full: decisions(plan(fs1, fd1, options)), whole: decisions(plan(fs2, fd2, options)), trees: [fs2, fd2] as const };
}

describe.skipIf(notBuilt)('scanPair', () => {
  it('plans exactly as two full scans do, whatever changed on either side since the last mirror', async () => {
    const arbs = treeArbs({ names: [...HOSTILE_NAMES.slice(0, 12), ...OVERLAPPING_NAMES], maxChildren: 5, maxDepth: 3 });
    // Runs where some folder was found equal whole, and where the plan had work to do as well.
    let whole = 0;
    let both = 0;
    await fc.assert(
      fc.asyncProperty(arbs.root, arbMutations(arbs, { maxLength: 4 }), arbMutations(arbs, { maxLength: 2 }), fc.constantFrom('mirror', 'update', 'missing'), async (tree, onSrc, onDst, mode) => {
        removeScratch(root);
        fs.mkdirSync(root);
        fs.mkdirSync(src);
        fillDir(src, tree);
        await sync(new LocalStorage(src), new LocalStorage(dst), { mode: 'mirror', force: true });
        applyMutations(src, onSrc);
        applyMutations(dst, onDst);
        const { full, whole: fromPair, trees: [s] } = await bothPlans(mode as 'mirror');
        expect(fromPair).toEqual(full);
        if (s.equalItems > 0) whole++;
        if (s.equalItems > 0 && full.transfers.length + full.deletes.length > 0) both++;
      }),
      { numRuns: 150 },
    );
    // Without these the property would hold by never comparing anything whole.
    expect(whole).toBeGreaterThan(15);
    expect(both).toBeGreaterThan(5);
  }, 120_000);

  it('leaves out only the items of folders equal on both sides, and counts them', async () => {
    writeTree(src, { 'same/a': 'a', 'same/b': 'b', 'same/deeper/c': 'c', 'changed/x': 'x', 'changed/y': 'y' });
    await sync(new LocalStorage(src), new LocalStorage(dst), { mode: 'mirror' });
    fs.writeFileSync(path.join(src, 'changed/x'), 'xx');
    const { whole, trees: [s, d] } = await bothPlans();
    expect(whole.transfers).toEqual(['copy changed/x']);
    expect(whole.unchanged).toBe(4);
    expect([...s.entries.keys()].sort()).toEqual(['', 'changed', 'changed/x', 'changed/y', 'same', 'same/deeper']);
    expect([s.equalItems, d.equalItems]).toEqual([3, 3]);
  });

  it('still sees a leftover temp file in an otherwise equal folder, and a hidden path', async () => {
    writeTree(src, { 'f/a': 'a', 'g/b': 'b' });
    await sync(new LocalStorage(src), new LocalStorage(dst), { mode: 'mirror' });
    for (const side of [src, dst]) fs.writeFileSync(path.join(side, 'f/.~synctray-0123456789abcdef.part'), 'half');
    const [, d] = await trees(true, ['g/b']);
    expect(d.temps).toEqual(['f/.~synctray-0123456789abcdef.part']);
    expect(d.holdsExcluded.has('g')).toBe(true);
    expect(d.equalItems).toBe(0);
  });

  it('counts equal items in the mass-delete guard: deleting a few of many files is allowed', async () => {
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`keep/f${i}`, `${i}`]));
    writeTree(src, { ...many, 'drop/a': 'a', 'drop/b': 'b', 'drop/c': 'c' });
    await sync(new LocalStorage(src), new LocalStorage(dst), { mode: 'mirror' });
    fs.rmSync(path.join(src, 'drop'), { recursive: true });
    const r = await sync(new LocalStorage(src), new LocalStorage(dst), { mode: 'mirror' });
    expect(r).toMatchObject({ deleted: 4, unchanged: 40, failed: 0 });
  });
});
