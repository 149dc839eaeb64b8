import type { Entry } from '../core/entry.js';
import { ErrorCode, isStorageError } from '../core/errors.js';
import { parentOf, type RelPath } from '../core/rel-path.js';
import type { Storage } from './storage.js';
import type { VersionReason, VersionStore } from './versions.js';

/**
 * Versions kept inside the storage they are taken from, under `root` (a folder of it the sync
 * leaves out): `<root>/<stamp>/<reason>/<relative path>`. Each one is a rename within that storage
 * (through its own mkdir and rename, so a phone keeps its versions on the phone), never a copy,
 * and never over a version already kept.
 */
export class StorageVersions implements VersionStore {
  readonly description: string;
  private readonly made = new Map<RelPath, Promise<void>>();
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
    const base = `${this.root}/${this.stamp}/${reason}/${rel}`;
    await this.ensureDir(from, parentOf(base));
    // Only the item as listed is moved (CHANGED: it stays), in the same call as the move. Never
    // over a version already there (the same path twice in a run): the next free `~n` name is taken.
    for (let n = 0; ; n++) {
      try {
        await from.rename(rel, n === 0 ? base : `${base}~${n}`, { replacing: null, listedAs: entry });
        return;
      } catch (err) {
        if (!isStorageError(err, ErrorCode.EXISTS)) throw err;
      }
    }
  }

  /**
   * Makes `dir` and its missing parents, the versions root first (hidden once made), each once: the
   * many items of one folder set aside at once wait on the same promise.
   */
  private ensureDir(storage: Storage, dir: RelPath): Promise<void> {
    let made = this.made.get(dir);
    if (!made) {
      made = this.makeDir(storage, dir).catch((err: unknown) => {
        this.made.delete(dir);
        throw err;
      });
      this.made.set(dir, made);
    }
    return made;
  }

  private async makeDir(storage: Storage, dir: RelPath): Promise<void> {
    if (dir !== this.root) await this.ensureDir(storage, parentOf(dir));
    try {
      await storage.mkdir(dir);
    } catch (err) {
      if (!isStorageError(err, ErrorCode.EXISTS)) throw err;
    }
    if (dir === this.root && this.hide) await (this.hidden ??= this.hide(dir).catch(() => undefined));
  }
}
