/**
 * The preview asked about before a sync takes files away (issue 17): counted from a real dry run
 * on real folders, in each mode.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { previewOf, previewText, losesNothing } from '../../src/engine/preview.js';
import { sync } from '../../src/engine/sync.js';
import type { SyncMode } from '../../src/core/modes.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { makeSyncScratch, removeScratch } from '../helpers/scratch.js';
import { writeTree } from '../helpers/tree-spec.js';

let root: string;
let src: string;
let dst: string;
beforeEach(() => {
  ({ root, src, dst } = makeSyncScratch('synctray-preview-'));
  writeTree(src, { 'new.txt': 'new', 'same.txt': 'same', 'changed.txt': 'the new version' });
  writeTree(dst, { 'same.txt': 'same', 'changed.txt': 'old' });
  // The destination's copy is older, so update mode replaces it too.
  fs.utimesSync(path.join(dst, 'changed.txt'), new Date('2020-01-01'), new Date('2020-01-01'));
  fs.utimesSync(path.join(dst, 'same.txt'), new Date('2021-01-01'), new Date('2021-01-01'));
  fs.utimesSync(path.join(src, 'same.txt'), new Date('2021-01-01'), new Date('2021-01-01'));
  for (let i = 1; i <= 12; i++) writeTree(dst, { [`extra/${String(i).padStart(2, '0')}.txt`]: `${i}` });
});
afterEach(() => removeScratch(root));

const previewIn = async (mode: SyncMode) => {
  const r = await sync(new LocalStorage(src), new LocalStorage(dst), { mode, dryRun: true });
  return previewOf(r.plan);
};

describe('previewOf', () => {
  it('counts what a mirror copies, replaces and deletes, with the first ten names in order', async () => {
    const p = await previewIn('mirror');
    expect(p).toEqual({
      copied: 2,
      bytes: 'new'.length + 'the new version'.length,
      replaced: 1,
      replacedNames: ['changed.txt'],
      deleted: 12,
      deletedNames: Array.from({ length: 10 }, (_, i) => `extra/${String(i + 1).padStart(2, '0')}.txt`),
    });
    const text = previewText(p, '/backup/.synctray-versions');
    expect(text).toContain('copy 2 files (18 B)');
    expect(text).toContain('replace 1 existing file with');
    expect(text).toContain('delete 12 files the source');
    expect(text).toContain('… and 2 more');
    expect(text).not.toContain('extra/11.txt');
    expect(text).toContain('moved to the versions folder /backup/.synctray-versions');
    expect(previewText(p, undefined)).toContain('is lost: no versions are kept');
  });

  it('update only replaces older files, and missing takes nothing away', async () => {
    const update = await previewIn('update');
    expect(update).toMatchObject({ replaced: 1, replacedNames: ['changed.txt'], deleted: 0 });
    expect(previewText(update, undefined)).not.toMatch(/^ +delete/m);
    const missing = await previewIn('missing');
    expect(missing).toMatchObject({ copied: 1, replaced: 0, deleted: 0 });
    expect(losesNothing(missing)).toBe(true);
  });

  it('an empty destination loses nothing', async () => {
    fs.rmSync(dst, { recursive: true });
    const p = await previewIn('mirror');
    expect(p).toMatchObject({ copied: 3, replaced: 0, deleted: 0 });
    expect(losesNothing(p)).toBe(true);
  });
});
