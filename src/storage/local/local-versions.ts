import path from 'node:path';
import type { Entry } from '../../core/entry.js';
import { ErrorCode, isStorageError } from '../../core/errors.js';
import { parentOf, type RelPath } from '../../core/rel-path.js';
import { stillAsListed, type VersionReason, type VersionStore } from '../versions.js';
import type { Storage } from '../storage.js';
import { LocalStorage } from './local-storage.js';

/**
 * Versions kept in a local folder, one sub-folder per run and reason (`<dir>/<stamp>/<reason>/<relative path>`).
 * A move when the destination is on the same file system, else a copy and a removal (special
 * files: only the removal); never over a version already kept.
 */
export class LocalVersions implements VersionStore {
  readonly description: string;
  private readonly store: LocalStorage;
  private readonly made = new Map<RelPath, Promise<void>>();
  /** What the versions folder's drive keeps, names above all: taken once, as measured for the destination. */
  private measured: Promise<unknown> | undefined;

  constructor(dir: string, stamp: string) {
    this.store = new LocalStorage(path.join(dir, stamp));
    this.description = this.store.description;
  }

  async keep(from: Storage, rel: RelPath, entry: Entry, reason: VersionReason): Promise<void> {
    // A versions folder on a drive that refuses some characters stores names as the destination does.
    await (this.measured ??= this.store.measure({ probe: false }));
    const kept = `${reason}/${rel}`;
    await this.ensureDir(parentOf(kept));
    // Never over a version already kept (the same path twice in a run, or two runs in one
    // second): the next free `~n` name is taken instead.
    for (let n = 0; ; n++) {
      const target = n === 0 ? kept : `${kept}~${n}`;
      try {
        await this.moveIn(from, rel, target, entry);
        return;
      } catch (err) {
        if (!isStorageError(err, ErrorCode.EXISTS)) throw err;
      }
    }
  }

  private async moveIn(from: Storage, rel: RelPath, target: RelPath, entry: Entry): Promise<void> {
    if (from instanceof LocalStorage) {
      try {
        // Only the item as listed (CHANGED: it stays), checked in the same call as the move.
        await from.moveTo(rel, this.store, target, entry);
        return;
      } catch (err) {
        if (!isStorageError(err, ErrorCode.UNSUPPORTED)) throw err; // another file system: copy below
      }
    }
    await stillAsListed(from, rel, entry);
    // A FIFO, socket or device holds no content to keep (and reading a FIFO would wait for a
    // writer): it is only removed. The copy is created exclusively (EXISTS if the name is taken).
    const times = { mtimeNs: entry.mtimeNs, atimeNs: entry.atimeNs };
    if (entry.type === 'symlink') await this.store.symlink(target, entry.target ?? '', times);
    else if (entry.type !== 'special') await this.store.write(target, from.read(rel), { ...times, mode: entry.mode });
    await from.remove(rel);
  }

  /**
   * Makes `rel` and its missing parents, each once: the many items of one folder set aside at once
   * wait on the same promise instead of each walking up the tree.
   */
  private ensureDir(rel: RelPath): Promise<void> {
    let made = this.made.get(rel);
    if (!made) {
      made = this.makeDir(rel).catch((err: unknown) => {
        this.made.delete(rel);
        throw err;
      });
      this.made.set(rel, made);
    }
    return made;
  }

  /** One folder, its parent made first; the run's own folder with any missing above it. */
  private async makeDir(rel: RelPath): Promise<void> {
    if (rel !== '') await this.ensureDir(parentOf(rel));
    try {
      await this.store.mkdir(rel, { mode: 0o700 });
    } catch (err) {
      if (!isStorageError(err, ErrorCode.EXISTS)) throw err;
    }
  }
}
