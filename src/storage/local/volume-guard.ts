/**
 * Keeps a sync that is under way from writing onto another disk when its destination drive goes
 * away. A drive unmounted lazily (as the desktop does when a drive is pulled out) leaves its mount
 * point folder behind, empty, on the system disk; paths that the sync looks up afresh then lead
 * there. Measured before this guard: 2,472 of 3,000 files of a sync into an exFAT drive landed in
 * the empty mount point folder after `fusermount -uz` part way, and the run reported success.
 *
 * The guard notes the device of the destination (or of its nearest existing ancestor) when the
 * pair has checked its drive, and before and after every change below it looks again: once the
 * device differs, changes are refused with DEVICE_GONE (which ends the run), and what a change
 * already under way left on the other device is removed again (it is a copy SyncTray just made;
 * the source still has it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, StorageError } from '../../core/errors.js';
import type { RelPath } from '../../core/rel-path.js';
import type { Storage, WriteOptions } from '../storage.js';
import type { LocalStorage } from './local-storage.js';

/** The paths a change may create, by method; the other changes only touch what is there. */
const CREATES: Record<string, (args: unknown[]) => (RelPath | undefined)[]> = {
  write: (a) => [a[0] as RelPath, (a[2] as WriteOptions | undefined)?.renameTo],
  symlink: (a) => [a[0] as RelPath],
  mkdir: (a) => [a[0] as RelPath],
  rename: (a) => [a[1] as RelPath],
  setModTime: () => [],
  setMode: () => [],
  remove: () => [],
  rmdir: () => [],
  moveTo: () => [],
};

/** Where the destination was when the pair checked it: the folder looked at and its device. */
export interface Armed {
  anchor: string;
  dev: bigint;
}

export class VolumeGuard {
  private armed: Armed | undefined;
  /** Items found on the wrong device after a change: removed deepest first, as soon as they can be. */
  private readonly misplaced = new Set<string>();
  /** Where a relative path lies on disk: as the wrapped storage stores it (names it encodes, encoded). */
  private place = (rel: RelPath) => path.join(this.root, ...rel.split('/'));

  /**
   * @param root the destination folder as the pair names it
   * @param drive how to name the drive in the error ("backup drive BACKUP")
   * @param isTemp whether a name is one of SyncTray's temp names: such an item left on the other
   *   device by a change that failed is removed too (a final name only after a change that succeeded,
   *   which proves the item is the change's own)
   */
  constructor(
    private readonly root: string,
    private readonly drive: () => string,
    private readonly isTemp: (name: string) => boolean = () => false,
  ) {}

  /**
   * The destination's device now (of its nearest existing folder): take this before checking the
   * drive, and arm with it after, so that a drive that went in between is not taken for the disk
   * below it.
   */
  sight(): Armed | undefined {
    for (let dir = path.resolve(this.root); ; dir = path.dirname(dir)) {
      const st = statOrUndefined(dir);
      if (st?.isDirectory()) return { anchor: dir, dev: st.dev };
      if (path.dirname(dir) === dir) return undefined;
    }
  }

  /**
   * The drive was found in place: changes are allowed while the device stays the one `seen` before
   * the check. False (and nothing allowed) when it is another by now.
   */
  arm(seen: Armed | undefined): boolean {
    const now = this.sight();
    if (seen === undefined || now === undefined || now.anchor !== seen.anchor || now.dev !== seen.dev) {
      this.armed = now === undefined ? undefined : { anchor: now.anchor, dev: -1n };
      return false;
    }
    this.armed = now;
    return true;
  }

  /** Whether the destination is where it was when armed (true when not armed: nothing to compare). */
  inPlace(): boolean {
    const armed = this.armed;
    if (!armed) return true;
    return statOrUndefined(armed.anchor)?.dev === armed.dev;
  }

  /** `storage` with every change checked; other methods (listing, reading, measuring) pass through. */
  wrap(storage: Storage): Storage {
    const absolute = (storage as Partial<Pick<LocalStorage, 'absolute'>>).absolute;
    if (typeof absolute === 'function') this.place = (rel) => absolute.call(storage, rel);
    return new Proxy(storage, {
      get: (target, prop, receiver) => {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        const creates = typeof prop === 'string' ? CREATES[prop] : undefined;
        if (prop === 'measure')
          return (...args: unknown[]) =>
            this.inPlace() ? (value as (...a: unknown[]) => unknown).apply(target, args) : Promise.resolve();
        if (!creates) return (value as (...a: unknown[]) => unknown).bind(target);
        return (...args: unknown[]) =>
          this.change(() => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args), creates(args));
      },
    });
  }

  private async change<T>(run: () => Promise<T>, creates: (RelPath | undefined)[]): Promise<T> {
    if (!this.inPlace()) {
      this.removeMisplaced();
      throw this.gone();
    }
    let result: T;
    try {
      result = await run();
    } catch (err) {
      // An error from a drive that went away meanwhile (ENOENT for a folder no longer there,
      // EIO, ENOTCONN) is the drive's absence, not this item's fault: it ends the run.
      if (!this.inPlace()) {
        this.noteMisplaced(
          creates.filter((rel) => rel !== undefined && this.isTemp(rel.slice(rel.lastIndexOf('/') + 1))),
        );
        throw this.gone();
      }
      throw err;
    }
    if (!this.inPlace()) {
      this.noteMisplaced(creates);
      throw this.gone();
    }
    return result;
  }

  private noteMisplaced(creates: (RelPath | undefined)[]): void {
    for (const rel of creates) if (rel !== undefined && rel !== '') this.misplaced.add(this.place(rel));
    this.removeMisplaced();
  }

  /** Removes what changes under way left on the other device; folders once what they hold is gone. */
  removeMisplaced(): void {
    const armed = this.armed;
    if (!armed) return;
    for (const p of [...this.misplaced].sort((a, b) => b.length - a.length)) {
      const st = statOrUndefined(p, false);
      if (!st) {
        this.misplaced.delete(p);
        continue;
      }
      // Only what lies on another device than the drive's: a copy that reached the drive stays.
      if (st.dev === armed.dev) {
        this.misplaced.delete(p);
        continue;
      }
      try {
        if (st.isDirectory()) fs.rmdirSync(p);
        else fs.unlinkSync(p);
        this.misplaced.delete(p);
      } catch {
        // a folder still holding a file another change put there: tried again after that one
      }
    }
  }

  private gone(): StorageError {
    return new StorageError(
      ErrorCode.DEVICE_GONE,
      `${this.drive()} was disconnected during the sync; nothing more is written until it is back`,
    );
  }
}

function statOrUndefined(p: string, follow = true): fs.BigIntStats | undefined {
  try {
    return (follow ? fs.statSync : fs.lstatSync)(p, { bigint: true, throwIfNoEntry: false }) ?? undefined;
  } catch {
    // ENOTCONN, EIO: a drive that stopped answering is not in place either
    return undefined;
  }
}
