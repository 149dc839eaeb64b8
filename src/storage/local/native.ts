import fs from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { EntryType } from '../../core/entry.js';
import { bundledFiles } from './bundled-files.js';

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
  /**
   * Copies files on the thread pool, one result per request: null, or the Error that stopped it
   * (shaped like Node's fs errors, `atTarget` when it is about the final name). Each request is
   * fs-worker.ts's copy() with the same checks and errors, the times kept to the nanosecond.
   */
  copy(requests: readonly NativeCopyRequest[]): Promise<(Error | null)[]>;
  /**
   * The other changes below a root (unlink, rmdir, mkdir, rename, utimes, chmod, symlink), each made
   * through the folder opened beneath the root refusing symlinks, and the flushes (fsync of an item,
   * syncfs of the root's file system); same errors as fs-worker.ts.
   * Absent from libraries built before it.
   */
  ops?(requests: readonly NativeOpRequest[]): Promise<(Error | null)[]>;
}

/**
 * An operation as NativeFs.ops takes it: its name, the real root, the path, the second path
 * (rename's target, symlink's text) or null, mode, atime and mtime in ns, whether a symlink gets
 * those times, and what a rename may replace (as in NativeCopyRequest).
 */
export type NativeOpRequest = [
  /** fsync: a file or folder (the root included); syncfs: the whole file system holding the root. */
  op: 'unlink' | 'rmdir' | 'mkdir' | 'rename' | 'utimes' | 'chmod' | 'symlink' | 'fsync' | 'syncfs',
  root: string,
  path: string,
  second: string | null,
  mode: number,
  atimeNs: bigint,
  mtimeNs: bigint,
  times: boolean,
  replacing: undefined | null | [kind: number, size: number, mtimeNs: bigint],
  /** A rename into another storage (the version store): the real root of that one. */
  toRoot: string | null,
  /** A rename: the item as listed that alone may be moved ([kind, size, mtimeNs], as `replacing`). */
  listedAs?: [kind: number, size: number, mtimeNs: bigint] | null,
];

export type NativeOps = NativeBatches<NativeOpRequest, null>;

/**
 * A copy as NativeFs.copy takes it: from, to (a new file), where to move the checked copy (or
 * null: leave it), mode (-1: the source's, -2: as the file system made it), fsync, the size the
 * source must still have (-1: no check; then nothing is moved), atime and mtime to set, the mtime
 * the source must still have, and what may stand at the final name: undefined (anything), null
 * (nothing) or [kind, size, mtime] as listed (Replacing in storage.ts; kind numbered as NATIVE_KINDS).
 */
export type NativeCopyRequest = [
  /** A path, or the bytes themselves (then `expectSize` is -1: the caller checked the source). */
  from: string | Buffer,
  to: string,
  renameTo: string | null,
  mode: number,
  fsync: boolean,
  expectSize: number,
  atimeNs: bigint,
  mtimeNs: bigint,
  expectMtimeNs: bigint,
  replacing: undefined | null | [kind: number, size: number, mtimeNs: bigint],
  /** The destination's root: every folder below it on the way to `to` is opened without following links. */
  root: string,
];

/**
 * One folder as NativeFs.list reports it: names, meta, times, symlink texts, and its summary
 * (FolderListing.summary; '' when there is none).
 */
export type NativeListing = [string, Float64Array, BigInt64Array, string, string];

/** The kinds in list()'s meta array, by number (fast-fs.c, KIND_*). */
export const NATIVE_KINDS: readonly EntryType[] = ['file', 'dir', 'symlink', 'special'];
export const META_PER_ITEM = 3;
export const TIMES_PER_ITEM = 2;

/**
 * Requests go to the thread pool in batches, at most `lanes` batches at a time, each on a thread of
 * its own. What arrives while every lane is busy waits and leaves together when one frees (a group
 * commit): a hand-off costs about as much as listing a folder of 20 items or copying a small file,
 * and when the pool is the bottleneck, waiting requests are many, so the hand-offs stay few. A lane
 * that is free takes a request at once, so a lone request is not delayed.
 */
export class NativeBatches<Req, Res> {
  private pending: { req: Req; resolve: (r: Res) => void; reject: (e: Error) => void }[] = [];
  private running = 0;
  private scheduled = false;

  constructor(
    private readonly run: (requests: Req[]) => Promise<(Res | Error)[]>,
    private readonly minBatch: number,
    private readonly lanes = 2,
  ) {}

  submit(req: Req): Promise<Res> {
    return new Promise((resolve, reject) => {
      this.pending.push({ req, resolve, reject });
      this.schedule();
    });
  }

  // After the current turn's promise callbacks, so the requests they make join this batch.
  private schedule(): void {
    if (this.scheduled || this.running >= this.lanes || this.pending.length === 0) return;
    this.scheduled = true;
    process.nextTick(this.flush);
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const free = this.lanes - this.running;
    const size = Math.max(this.minBatch, Math.ceil(this.pending.length / free));
    while (this.running < this.lanes && this.pending.length > 0) {
      const batch = this.pending.splice(0, size);
      this.running++;
      // A request the library refuses outright (a TypeError) fails its batch, not the process.
      Promise.resolve()
        .then(() => this.run(batch.map((p) => p.req)))
        .then(
          (results) => {
            for (const [k, r] of results.entries()) {
              if (r instanceof Error) batch[k]!.reject(r);
              else batch[k]!.resolve(r);
            }
          },
          (err: unknown) => {
            for (const p of batch) p.reject(err instanceof Error ? err : new Error(String(err)));
          },
        )
        .finally(() => {
          this.running--;
          this.schedule();
        });
    }
  };
}

export type NativeLister = NativeBatches<[path: string, follow: boolean], NativeListing>;
export type NativeCopier = NativeBatches<NativeCopyRequest, null>;

/**
 * Where build/build-native.mjs puts the library (dist/native/), seen from this code: bundled in
 * dist/cli/main.js or a chunk in dist/cli/chunks/, or run from src/storage/local/ by the tests.
 */
const PLACES = ['../native/fast-fs.node', '../../native/fast-fs.node', '../../../dist/native/fast-fs.node'].map((rel) =>
  fileURLToPath(new URL(rel, import.meta.url)),
);
export const NATIVE_LIBRARY = PLACES.find((p) => fs.existsSync(p)) ?? PLACES[0]!;

let loaded: { fs?: NativeFs; reason?: string } | undefined;
/** The batches of one thread; `flusher` runs the flushes among the ops (see NativeFs.ops). */
export interface NativeShared {
  lister: NativeLister;
  copier: NativeCopier;
  ops?: NativeOps;
  flusher?: NativeOps;
}

let shared: NativeShared | undefined;

/**
 * The native accelerator, or undefined (with the reason in nativeFsProblem()) where it was not
 * built or SYNCTRAY_NATIVE=0 turns it off. Loaded once per thread.
 */
export function nativeFs(): NativeFs | undefined {
  loaded ??= load();
  return loaded.fs;
}

/**
 * The batches every LocalStorage of this thread shares, so that both sides of a sync go together;
 * undefined without the library.
 */
export function sharedNativeBatches(): NativeShared | undefined {
  const native = nativeFs();
  if (native && !shared) {
    shared = {
      // A hand-off costs about as much as listing 20 items or copying one small file.
      lister: new NativeBatches(
        (reqs) =>
          native.list(
            reqs.map((r) => r[0]),
            reqs.map((r) => r[1]),
          ),
        16,
        4,
      ),
      copier: new NativeBatches((reqs) => native.copy(reqs), 4, 8),
      ...(native.ops
        ? {
            ops: new NativeBatches<NativeOpRequest, null>((reqs) => native.ops!(reqs), 4),
            // One flush per thread, four at once: a FUSE driver takes them in turn, the rest of the
            // thread pool stays free.
            flusher: new NativeBatches<NativeOpRequest, null>((reqs) => native.ops!(reqs), 1, 4),
          }
        : {}),
    };
  }
  return shared;
}

export function nativeFsProblem(): string | undefined {
  loaded ??= load();
  return loaded.reason;
}

function load(): { fs?: NativeFs; reason?: string } {
  if (process.env.SYNCTRAY_NATIVE === '0') return { reason: 'turned off by SYNCTRAY_NATIVE=0' };
  try {
    // A library carried elsewhere (the single binary's, extracted) is loaded from its path: require()
    // loads only built-ins there.
    const elsewhere = bundledFiles().nativeLibrary?.();
    if (elsewhere !== undefined) {
      const module = { exports: {} };
      process.dlopen(module, elsewhere);
      return { fs: module.exports as NativeFs };
    }
    return { fs: createRequire(import.meta.url)(NATIVE_LIBRARY) as NativeFs };
  } catch (err) {
    return { reason: err instanceof Error ? err.message : String(err) };
  }
}
