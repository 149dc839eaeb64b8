import fs from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { EntryType } from '../../core/entry.js';

/** What native/fast-fs.c exports (see there for why it exists). */
export interface NativeFs {
  /**
   * Lists folders on the thread pool, one result per path (an Error where that folder failed).
   * A folder's result: its items' names; per item kind, size and permission bits; per item mtime and
   * atime in ns; the text of each symlink in listing order. Names and texts come as one string each,
   * every part ended by NUL (a name never holds one). `follow` lets the folder itself be a symlink.
   * A failure is an Error shaped like Node's fs errors, with `item` (a name) when it is about one item.
   */
  list(paths: readonly string[], follow: readonly boolean[]): Promise<(NativeListing | Error)[]>;
  copy: NativeCopy;
  /**
   * Gives `from` the new name `to` (a hard link, then unlink), never replacing what stands at `to`
   * (EAPPEARED); false where the file system has no hard links. Synchronous, like copy.
   */
  moveNew(from: string, to: string): boolean;
}

/** What FsPool's threads use of the library. */
export type NativeFileOps = Pick<NativeFs, 'copy' | 'moveNew'>;

/**
 * Copies `from` to the new file `to` with mode (-1: the source's), times and fsync, checking the
 * source before and after when expectSize is not -1: fs-worker.ts's copy without its placing, the
 * same errors, the times to the nanosecond. Synchronous: it runs in FsPool's threads.
 */
export type NativeCopy = (
  from: string,
  to: string,
  mode: number,
  atimeNs: bigint,
  mtimeNs: bigint,
  fsync: boolean,
  expectSize: number,
  expectMtimeNs: bigint | undefined,
) => void;

/** One folder as NativeFs.list reports it: names, meta, times, symlink texts. */
export type NativeListing = [string, Float64Array, BigInt64Array, string];

/** The kinds in list()'s meta array, by number (fast-fs.c, KIND_*). */
export const NATIVE_KINDS: readonly EntryType[] = ['file', 'dir', 'symlink', 'special'];
export const META_PER_ITEM = 3;
export const TIMES_PER_ITEM = 2;

/** Handing work to the thread pool costs about as much as listing a folder of 20 items. */
const MIN_BATCH = 16;

/**
 * Lists folders through NativeFs, sending every folder asked for in one turn of the event loop
 * (both sides of a sync, all the folders a scan has open) as a few batches, one per lane, so the
 * lanes run on separate threads and the hand-offs stay few.
 */
export class NativeLister {
  private pending: { path: string; follow: boolean; resolve: (l: NativeListing) => void; reject: (e: Error) => void }[] = [];

  constructor(
    private readonly native: NativeFs,
    private readonly lanes = 2,
  ) {}

  list(path: string, follow: boolean): Promise<NativeListing> {
    return new Promise((resolve, reject) => {
      // After the current turn's promise callbacks, so a scan's next folders join this batch.
      if (this.pending.push({ path, follow, resolve, reject }) === 1) process.nextTick(this.flush);
    });
  }

  private readonly flush = (): void => {
    const all = this.pending;
    this.pending = [];
    const size = Math.max(MIN_BATCH, Math.ceil(all.length / this.lanes));
    for (let i = 0; i < all.length; i += size) {
      const batch = all.slice(i, i + size);
      this.native.list(batch.map((r) => r.path), batch.map((r) => r.follow)).then(
        (results) => results.forEach((r, k) => (r instanceof Error ? batch[k]!.reject(r) : batch[k]!.resolve(r))),
        (err: unknown) => batch.forEach((r) => r.reject(err instanceof Error ? err : new Error(String(err)))),
      );
    }
  };
}

/**
 * Where build/build-native.mjs puts the library (dist/native/), seen from this code: bundled in
 * dist/cli/main.js, or run from src/storage/local/ by the tests.
 */
const PLACES = ['../native/fast-fs.node', '../../../dist/native/fast-fs.node'].map((rel) => fileURLToPath(new URL(rel, import.meta.url)));
export const NATIVE_LIBRARY = PLACES.find((p) => fs.existsSync(p)) ?? PLACES[0]!;

let loaded: { fs?: NativeFs; reason?: string } | undefined;
let lister: NativeLister | undefined;

/**
 * The native accelerator, or undefined (with the reason in nativeFsProblem()) where it was not
 * built or SYNCTRAY_NATIVE=0 turns it off. Loaded once per thread.
 */
export function nativeFs(): NativeFs | undefined {
  loaded ??= load();
  return loaded.fs;
}

/** The lister every LocalStorage of this thread shares, so both sides of a sync batch together. */
export function sharedNativeLister(): NativeLister | undefined {
  const native = nativeFs();
  if (native) lister ??= new NativeLister(native);
  return lister;
}

export function nativeFsProblem(): string | undefined {
  loaded ??= load();
  return loaded.reason;
}

function load(): { fs?: NativeFs; reason?: string } {
  if (process.env.SYNCTRAY_NATIVE === '0') return { reason: 'turned off by SYNCTRAY_NATIVE=0' };
  try {
    return { fs: createRequire(import.meta.url)(NATIVE_LIBRARY) as NativeFs };
  } catch (err) {
    return { reason: err instanceof Error ? err.message : String(err) };
  }
}
