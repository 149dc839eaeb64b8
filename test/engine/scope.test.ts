/**
 * A scoped sync looks again only at the folders a watcher reported. Whatever changed in the
 * source, a scoped sync over the folders of the changed paths must leave the destination equal to
 * the source, as rsync sees it, exactly as a full sync would.
 */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addFolder, FULL, mergeScopes, MAX_SCOPE_FOLDERS, type Scope } from '../../src/engine/scope.js';
import { sync } from '../../src/engine/sync.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { coalesce, type WatchEvent } from '../../src/watch/coalesce.js';
import { rsyncDiff, rsyncSkipReason } from '../helpers/oracle.js';
import { makeSyncScratch, removeScratch } from '../helpers/scratch.js';
import { HOSTILE_NAMES, OVERLAPPING_NAMES, treeArbs } from '../helpers/tree-arbitraries.js';
import { snapshotTree, type Snap } from '../helpers/tree-inspect.js';
import { applyMutations, arbMutations } from '../helpers/tree-mutations.js';
import { fillDir, writeTree } from '../helpers/tree-spec.js';

const noRsync = rsyncSkipReason();
let root: string;
let src: string;
let dst: string;
beforeEach(() => {
  ({ root, src, dst } = makeSyncScratch('synctray-scope-'));
});
afterEach(() => removeScratch(root));

/** The events a watcher would report for the difference between two snapshots of the source. */
function eventsBetween(before: Map<string, Snap>, after: Map<string, Snap>): WatchEvent[] {
  const events: WatchEvent[] = [];
  const gone = (p: string, s: Snap) => events.push({ kind: s.type === 'dir' ? 'unlinkDir' : 'unlink', path: p });
  const came = (p: string, s: Snap) => events.push({ kind: s.type === 'dir' ? 'addDir' : 'add', path: p });
  for (const [p, s] of before) if (p !== '' && !after.has(p)) gone(p, s);
  for (const [p, s] of after) {
    if (p === '') continue;
    const was = before.get(p);
    if (!was) came(p, s);
    else if (was.type !== s.type) {
      gone(p, was);
      came(p, s);
    } else if (
      JSON.stringify([was.mode, was.size, String(was.mtimeNs), was.target, was.sha256]) !==
      JSON.stringify([s.mode, s.size, String(s.mtimeNs), s.target, s.sha256])
    ) {
      events.push({ kind: 'change', path: p });
    }
  }
  return events;
}

const scopeOf = (events: WatchEvent[]) => coalesce(events, { ignore: () => false });

describe.skipIf(noRsync)('a scoped sync', () => {
  // Same-size edits that keep the mtime are left out: only --checksum sees them, and the watcher
  // reports them like any change, so nothing here depends on it.
  it('leaves the destination equal to the source whatever changed, looking only where events point', async () => {
    const arbs = treeArbs({
      names: [...HOSTILE_NAMES.slice(0, 12), ...OVERLAPPING_NAMES],
      maxChildren: 5,
      maxDepth: 3,
    });
    let scopedRuns = 0;
    await fc.assert(
      fc.asyncProperty(
        arbs.root,
        arbMutations(arbs, { maxLength: 5, without: ['edit-same-size'] }),
        async (tree, mutations) => {
          removeScratch(root);
          fs.mkdirSync(src, { recursive: true });
          fillDir(src, tree);
          await sync(new LocalStorage(src), new LocalStorage(dst), { mode: 'mirror', force: true });
          const before = snapshotTree(src);
          const story = applyMutations(src, mutations);
          const scope = scopeOf(eventsBetween(before, snapshotTree(src)));
          if (scope === undefined) return;
          if (!scope.full) scopedRuns++;
          const r = await sync(new LocalStorage(src), new LocalStorage(dst), { mode: 'mirror', force: true, scope });
          expect(r.failed, JSON.stringify(r.errors)).toBe(0);
          expect(rsyncDiff(src, dst), story.join('\n')).toEqual([]);
        },
      ),
      { numRuns: 100 },
    );
    expect(scopedRuns).toBeGreaterThan(50);
  }, 120_000);

  it('lists nothing outside the scope: a change elsewhere waits for its own event', async () => {
    writeTree(src, { 'a/f': '1', 'b/g': '2' });
    await sync(new LocalStorage(src), new LocalStorage(dst), { mode: 'mirror' });
    fs.writeFileSync(path.join(src, 'a/f'), 'one');
    fs.writeFileSync(path.join(src, 'b/g'), 'two');
    const r = await sync(new LocalStorage(src), new LocalStorage(dst), {
      mode: 'mirror',
      scope: scopeOf([{ kind: 'change', path: 'a/f' }]),
    });
    expect(r.updated).toBe(1);
    expect(fs.readFileSync(path.join(dst, 'a/f'), 'utf8')).toBe('one');
    expect(fs.readFileSync(path.join(dst, 'b/g'), 'utf8')).toBe('2');
  });

  it('reaches up to a folder present on both sides when the changed one is new or gone', async () => {
    writeTree(src, { 'keep/x': 'x' });
    await sync(new LocalStorage(src), new LocalStorage(dst), { mode: 'mirror' });
    writeTree(src, { 'new/deeper/y': 'y' });
    const r = await sync(new LocalStorage(src), new LocalStorage(dst), {
      mode: 'mirror',
      scope: scopeOf([{ kind: 'add', path: 'new/deeper/y' }]),
    });
    expect(r.failed).toBe(0);
    expect(fs.readFileSync(path.join(dst, 'new/deeper/y'), 'utf8')).toBe('y');
  });

  it('holds a mass deletion instead of refusing the run when asked to, counting the whole destination', async () => {
    writeTree(src, Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`d/f${i}`, `${i}`])));
    await sync(new LocalStorage(src), new LocalStorage(dst), { mode: 'mirror' });
    for (let i = 0; i < 25; i++) fs.rmSync(path.join(src, `d/f${i}`));
    fs.writeFileSync(path.join(src, 'd/new'), 'n');
    const scope = scopeOf([{ kind: 'add', path: 'd/new' }]);
    const r = await sync(new LocalStorage(src), new LocalStorage(dst), {
      mode: 'mirror',
      scope,
      destinationFiles: 30,
      guardTripped: 'hold',
    });
    expect(r.deletionsHeld).toContain('25 of the 30 files');
    expect(r).toMatchObject({ copied: 1, deleted: 0, deletesHeld: 25 });
    expect(fs.readdirSync(path.join(dst, 'd'))).toHaveLength(31);
  });
});

describe('scopes', () => {
  const folders = (s: Scope | undefined) => (s && !s.full ? Object.fromEntries(s.folders) : s);

  it('put a file event on its folder and a folder event on the folder (deep) and its parent', () => {
    expect(folders(scopeOf([{ kind: 'change', path: 'a/b/f' }]))).toEqual({ 'a/b': 'shallow' });
    expect(folders(scopeOf([{ kind: 'addDir', path: 'a/b' }]))).toEqual({ 'a/b': 'deep', a: 'shallow' });
    expect(folders(scopeOf([{ kind: 'add', path: 'top' }]))).toEqual({ '': 'shallow' });
  });

  it('let a deep folder absorb what lies below it, in either order', () => {
    const a = scopeOf([
      { kind: 'change', path: 'x/y/f' },
      { kind: 'unlinkDir', path: 'x' },
    ]);
    const b = scopeOf([
      { kind: 'unlinkDir', path: 'x' },
      { kind: 'change', path: 'x/y/f' },
    ]);
    expect(folders(a)).toEqual({ x: 'deep', '': 'shallow' });
    expect(folders(b)).toEqual(folders(a));
  });

  it('drop ignored paths, and become a full rescan for the root itself, a rescan event or a flood', () => {
    expect(
      coalesce([{ kind: 'add', path: 'a/.~synctray-0123456789abcdef.part' }], {
        ignore: (p) => p.includes('.~synctray-'),
      }),
    ).toBeUndefined();
    expect(scopeOf([{ kind: 'unlinkDir', path: '' }])).toBe(FULL);
    expect(scopeOf([{ kind: 'rescan' }])).toBe(FULL);
    const flood: WatchEvent[] = Array.from({ length: MAX_SCOPE_FOLDERS + 1 }, (_, i) => ({
      kind: 'add',
      path: `d${i}/f`,
    }));
    expect(scopeOf(flood)).toBe(FULL);
  });

  it('merge, keeping a deep folder over a shallow one', () => {
    const m = new Map<string, 'shallow' | 'deep'>();
    addFolder(m, 'a', 'shallow');
    const merged = mergeScopes({ full: false, folders: m }, scopeOf([{ kind: 'addDir', path: 'a' }])!);
    expect(folders(merged)).toEqual({ a: 'deep', '': 'shallow' });
    expect(mergeScopes(merged, FULL)).toBe(FULL);
  });
});
