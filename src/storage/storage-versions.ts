import type { Entry } from '../core/entry.js';
import { ErrorCode, isStorageError } from '../core/errors.js';
import { parentOf, type RelPath } from '../core/rel-path.js';
import type { Storage } from './storage.js';
import { stillAsListed, type VersionReason, type VersionStore } from './versions.js';

/**
 * Versions kept inside the storage they are taken from, under `root` (a folder of it the sync
 * leaves out): `<root>/<stamp>/<reason>/<relative path>`. Each one is a rename within that storage
 * (through its own mkdir and rename, so a phone keeps its versions on the phone), never a copy,
 * and never over a version already kept.
 */
export class StorageVersions implements VersionStore {
  readonly description: string;
  private readonly made = new Set<RelPath>();
  private hidden: Promise<void> | undefined;

  /**
   * `hide` is called once the root exists (before anything is moved into it), to hide it where the
   * platform can; its failure is not the sync's.
   */
  constructor(
    private readonly root: RelPath,
    private readonly stamp: string,
    private readonly hide?: (root: RelPath) => Promise<void>,
  ) {
    this.description = `${root}/${stamp}`;
  }

  async keep(from: Storage, rel: RelPath, entry: Entry, reason: VersionReason): Promise<void> {
    await stillAsListed(from, rel, entry);
    const base = `${this.root}/${this.stamp}/${reason}/${rel}`;
    await this.ensureDir(from, parentOf(base));
    // rename() replaces a file at its target: a version already there (the same path twice in a
    // run) is left alone and the next free `~n` name taken instead.
    for (let n = 0; ; n++) {
      const target = n === 0 ? base : `${base}~${n}`;
      if (await exists(from, target)) continue;
      await from.rename(rel, target);
      return;
    }
  }

  /** Makes `dir` and its missing parents, the versions root first (hidden once made). */
  private async ensureDir(storage: Storage, dir: RelPath): Promise<void> {
    if (this.made.has(dir)) return;
    if (dir !== this.root) await this.ensureDir(storage, parentOf(dir));
    try {
      await storage.mkdir(dir);
    } catch (err) {
      if (!isStorageError(err, ErrorCode.EXISTS)) throw err;
    }
    if (dir === this.root && this.hide) await (this.hidden ??= this.hide(dir).catch(() => undefined));
    this.made.add(dir);
  }
}

async function exists(storage: Storage, rel: RelPath): Promise<boolean> {
  try {
    await storage.stat(rel);
    return true;
  } catch (err) {
    if (isStorageError(err, ErrorCode.NOT_FOUND)) return false;
    throw err;
  }
}
