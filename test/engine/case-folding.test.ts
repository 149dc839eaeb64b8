import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Entry } from '../../src/core/entry.js';
import { ErrorCode, StorageError } from '../../src/core/errors.js';
import { sync } from '../../src/engine/sync.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { makeSyncScratch, removeScratch } from '../helpers/scratch.js';
import { writeTree } from '../helpers/tree-spec.js';
import { posixOnly } from '../helpers/requirements.js';

/**
 * A local folder that answers lookups case-insensitively, as a FAT or exFAT stick, a network
 * share or a casefold folder does, while its backend still reports itself case-sensitive.
 */
class CaseFoldingStorage extends LocalStorage {
  override async stat(rel: string): Promise<Entry> {
    try {
      return await super.stat(rel);
    } catch (err) {
      const dir = path.posix.dirname(rel) === '.' ? '' : path.posix.dirname(rel);
      const twin = (await this.list(dir)).find((e) => e.name.toLowerCase() === path.posix.basename(rel).toLowerCase());
      if (twin === undefined) throw err;
      return twin;
    }
  }
}

/** The same, where the first lookup of a name in another case fails for another reason than its absence. */
class FirstLookupFails extends CaseFoldingStorage {
  private failed = false;

  override async stat(rel: string): Promise<Entry> {
    if (this.failed || fs.existsSync(path.join(dst, rel))) return super.stat(rel);
    this.failed = true;
    throw new StorageError(ErrorCode.PERMISSION, `${rel}: permission denied`, rel);
  }
}

let root: string;
let src: string;
let dst: string;
beforeEach(() => {
  ({ root, src, dst } = makeSyncScratch());
  writeTree(src, { foo: 'renamed from Foo, edited', other: 'o' });
  writeTree(dst, { Foo: 'the old Foo', other: 'o' });
  fs.utimesSync(
    path.join(dst, 'other'),
    fs.statSync(path.join(src, 'other')).atime,
    fs.statSync(path.join(src, 'other')).mtime,
  );
});
afterEach(() => removeScratch(root));

describe('a destination that folds case', () => {
  it('is found out by looking a listed name up in the other case, and a case-only rename deletes nothing', async () => {
    const r = await sync(new LocalStorage(src), new CaseFoldingStorage(dst), { mode: 'mirror', dryRun: true });
    expect(r).toMatchObject({ deleted: 0, updated: 1, copied: 0 });
  });

  it('is found out even when a lookup fails for another reason: that one says nothing about case', async () => {
    const r = await sync(new LocalStorage(src), new FirstLookupFails(dst), { mode: 'mirror', dryRun: true });
    expect(r).toMatchObject({ deleted: 0, updated: 1, copied: 0 });
  });

  it.skipIf(posixOnly('folders that tell upper from lower case'))(
    'a destination that tells the cases apart gets the new name and loses the old one',
    async () => {
      const r = await sync(new LocalStorage(src), new LocalStorage(dst), { mode: 'mirror', dryRun: true });
      expect(r).toMatchObject({ deleted: 1, updated: 0, copied: 1 });
    },
  );
});
