import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Entry } from '../../core/entry.js';
import { ErrorCode, isStorageError } from '../../core/errors.js';
import { parentOf, type RelPath } from '../../core/rel-path.js';
import type { VersionStore } from '../../engine/versions.js';
import type { Storage } from '../storage.js';
import * as call from './fs-calls.js';
import { LocalStorage } from './local-storage.js';
import { mapFsError } from './map-error.js';

/**
 * Versions kept in a local folder, one sub-folder per run (`<dir>/<stamp>/<relative path>`).
 * A rename when the destination is on the same file system, else a copy and a removal (special
 * files: only the removal).
 */
export class LocalVersions implements VersionStore {
  readonly description: string;
  private readonly store: LocalStorage;
  private readonly made = new Set<RelPath>();

  constructor(dir: string, stamp: string) {
    this.store = new LocalStorage(path.join(dir, stamp));
    this.description = this.store.description;
  }

  async keep(from: Storage, rel: RelPath, entry: Entry): Promise<void> {
    await this.ensureDir(parentOf(rel));
    const target = await this.freeName(rel);
    if (from instanceof LocalStorage) {
      try {
        await call.rename(from.absolute(rel), this.store.absolute(target));
        return;
      } catch (err) {
        const e = mapFsError(err, rel);
        if (e.code !== ErrorCode.UNSUPPORTED) throw e; // EXDEV: another file system, copy below
      }
    }
    // A FIFO, socket or device holds no content to keep (and reading a FIFO would wait for a
    // writer): it is only removed. A file that became one since it was listed fails CHANGED.
    const times = { mtimeNs: entry.mtimeNs, atimeNs: entry.atimeNs };
    if (entry.type === 'symlink') await this.store.symlink(target, entry.target ?? '', times);
    else if (entry.type !== 'special') await this.store.write(target, from.read(rel), { ...times, mode: entry.mode });
    await from.remove(rel);
  }

  /** The same path kept twice in one run (replaced, then deleted) gets `~1`, `~2`, … appended. */
  private async freeName(rel: RelPath): Promise<RelPath> {
    for (let n = 0; ; n++) {
      const candidate = n === 0 ? rel : `${rel}~${n}`;
      try {
        await this.store.stat(candidate);
      } catch (err) {
        if (isStorageError(err, ErrorCode.NOT_FOUND)) return candidate;
        throw err;
      }
    }
  }

  private async ensureDir(rel: RelPath): Promise<void> {
    if (this.made.has(rel)) return;
    try {
      await mkdir(this.store.absolute(rel), { recursive: true, mode: 0o700 });
    } catch (err) {
      throw mapFsError(err, rel);
    }
    this.made.add(rel);
  }
}
