/**
 * Regression: the scope property (scope.test.ts) failed once in CI with fast-check seed -156030335:
 * NOT_FOUND for `1~a/a/a`. Shrunk, the case is: the source holds `a/a/`; the folder `a` is renamed
 * (the test helper's freeName calls it `1~a`, since `a` is taken by itself), then a folder is made
 * two levels inside it, `1~a/a/a`.
 *
 * The sync finds the rename as a folder move (`a -> 1~a`: same mtime, since adding a grandchild
 * leaves the moved folder's own mtime alone, and the same item names) and plans the new folder
 * `1~a/a/a` as a mkdir, its parent `1~a/a` coming along with the move. execute.ts runs every mkdir
 * before every move, so the mkdir meets a parent that does not exist yet: ENOENT. Nothing about
 * scopes or the `~` in the name: a full sync fails the same way, and so do plain names.
 *
 * execute.ts now makes the new folders that lie inside a moved folder after the moves, the others
 * before them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FULL, type Scope } from '../../src/engine/scope.js';
import { sync } from '../../src/engine/sync.js';
import { isTempName } from '../../src/core/temp-name.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { coalesce, type WatchEvent } from '../../src/watch/coalesce.js';
import { rsyncDiff, rsyncSkipReason } from '../helpers/oracle.js';
import { makeSyncScratch, removeScratch } from '../helpers/scratch.js';
import { applyMutations, type Mutation } from '../helpers/tree-mutations.js';
import { fillDir, writeTree, type DirSpec } from '../helpers/tree-spec.js';

const noRsync = rsyncSkipReason();
let root: string;
let src: string;
let dst: string;
beforeEach(() => {
  ({ root, src, dst } = makeSyncScratch('synctray-scope-regression-'));
});
afterEach(() => removeScratch(root));

const scopeOf = (events: WatchEvent[]) => coalesce(events, { ignore: () => false })!;
const mirror = (scope: Scope) =>
  sync(new LocalStorage(src), new LocalStorage(dst), { mode: 'mirror', force: true, scope });

describe.skipIf(noRsync)('a folder made inside a folder the same run moves', () => {
  it('the CI counterexample (seed -156030335): a -> 1~a, then 1~a/a/a made; scoped and full', async () => {
    // The shrunk counterexample, as fast-check printed it.
    const tree: DirSpec = {
      type: 'dir',
      mode: 0o755,
      mtimeNs: 1700000000500000000n,
      children: [
        [
          'a',
          {
            type: 'dir',
            mode: 0o755,
            mtimeNs: 1700000000999999000n,
            children: [['a', { type: 'dir', mode: 0o755, mtimeNs: 1700000000500000000n, children: [] }]],
          },
        ],
      ],
    };
    const mutations: Mutation[] = [
      { op: 'rename', pick: 0, to: 0, name: 'a', kind: 'dir' },
      {
        op: 'add',
        to: 1806767672,
        name: 'a',
        item: { type: 'dir', mode: 0o755, mtimeNs: 1700000001999999000n, children: [] },
      },
      { op: 'chmod', pick: 0, modeIndex: 0 },
    ];
    // The events the property derived from the snapshots, and the scope they make.
    const events: WatchEvent[] = [
      { kind: 'unlinkDir', path: 'a' },
      { kind: 'unlinkDir', path: 'a/a' },
      { kind: 'addDir', path: '1~a' },
      { kind: 'addDir', path: '1~a/a' },
      { kind: 'addDir', path: '1~a/a/a' },
    ];
    for (const scope of [scopeOf(events), FULL]) {
      removeScratch(root);
      fs.mkdirSync(src, { recursive: true });
      fillDir(src, tree);
      await mirror(FULL);
      const story = applyMutations(src, mutations);
      expect(story).toEqual(['rename dir "a" -> "1~a"', 'add dir "1~a/a/a"', 'chmod dir ".": 755 -> 700']);
      // `1~a` is a user's name, not one of SyncTray's temp items.
      expect(isTempName('1~a')).toBe(false);
      const r = await mirror(scope);
      expect(r.moved, 'the rename is found as a move, which is what this case is about').toBe(1);
      expect(r.failed, JSON.stringify(r.errors)).toBe(0);
      expect(rsyncDiff(src, dst)).toEqual([]);
    }
  });

  it('plain names: a renamed folder with a new folder two levels inside it', async () => {
    writeTree(src, { 'photos/2024/x.jpg': 'x' });
    await mirror(FULL);
    fs.renameSync(path.join(src, 'photos'), path.join(src, 'pictures'));
    fs.mkdirSync(path.join(src, 'pictures/2024/new'));
    const scope = scopeOf([
      { kind: 'unlinkDir', path: 'photos' },
      { kind: 'addDir', path: 'pictures' },
      { kind: 'addDir', path: 'pictures/2024/new' },
    ]);
    const r = await mirror(scope);
    expect(r.moved).toBe(1);
    expect(r.failed, JSON.stringify(r.errors)).toBe(0);
    expect(rsyncDiff(src, dst)).toEqual([]);
  });

  it(
    'plain names: a folder moved to another folder ' + 'with new folders (and a file) deep inside it, full sync',
    async () => {
      writeTree(src, { 'inbox/album/cd1/t1': '1', 'archive/keep': 'k' });
      await mirror(FULL);
      fs.renameSync(path.join(src, 'inbox/album'), path.join(src, 'archive/album'));
      fs.mkdirSync(path.join(src, 'archive/album/cd1/bonus/live'), { recursive: true });
      fs.writeFileSync(path.join(src, 'archive/album/cd1/bonus/live/t2'), '2');
      const r = await mirror(FULL);
      expect(r.moved).toBe(1);
      expect(r.failed, JSON.stringify(r.errors)).toBe(0);
      expect(rsyncDiff(src, dst)).toEqual([]);
    },
  );
});
