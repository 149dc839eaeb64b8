import fs from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { monotonicMs } from '../clock.js';
import { bundledFiles } from './bundled-files.js';
import { runOne, WORKER_MARK, type FsRequest, type FsResponse } from './fs-worker.js';

/** Calls sent to a worker in one message at most; measured best between 8 and 32. */
const BATCH = 16;
const MiB = 1024 * 1024;

/**
 * How much runs on this thread before the workers are up. Starting two costs about 40 ms, more
 * than a few hundred small copies take here, so small jobs never start them; but a call here holds
 * up everything else on this thread (a Ctrl+C included), so each one must be cheap, and a turn of
 * the event loop runs only a few before yielding.
 */
export interface InlineLimits {
  /** Calls run here before the workers are started (calls go on running here while they start). */
  calls: number;
  /** Bytes copied here before the workers are started. */
  bytes: number;
  /** A copy larger than this (or of unknown size) never runs here: it waits for the workers. */
  copyBytes: number;
  /** What one turn of the event loop may spend here before it yields (at least one call runs). */
  turnBytes: number;
  turnMs: number;
}

// 16,384 calls: with the native library copying, what comes here is folders made, times and modes
// set, files removed, a few microseconds each; a first copy of 20,000 files makes about 3,000 such
// calls, and starting two workers for them cost more CPU (about 60 ms) than running them here.
const INLINE: InlineLimits = { calls: 16_384, bytes: 8 * MiB, copyBytes: 1 * MiB, turnBytes: 2 * MiB, turnMs: 8 };

type Pending = { resolve: (v: unknown) => void; reject: (e: unknown) => void };
export type FsCall = FsRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** An error from a worker, shaped like Node's so mapFsError reads it the same way. */
class WorkerFsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** About the `renameTo` of a copy rather than its own path. */
    readonly atTarget = false,
    /** The path the call failed on, as Node's errors carry it. */
    readonly path?: string,
  ) {
    super(message);
  }
}

/** True when a failed call's error is about the copy's `renameTo`, not its temp path. */
export function isAtTarget(err: unknown): boolean {
  return err instanceof WorkerFsError && err.atTarget;
}

/** Bytes a call copies: what it expects the source to hold, or unknown (Infinity) without that. */
function bytesOf(r: FsRequest): number {
  return r.op === 'copy' ? (r.expect?.size ?? Infinity) : 0;
}

/**
 * File system calls run synchronously in batches: the calls made during one turn of the event
 * loop travel together, one message per worker thread, so a small file's copy costs this thread a
 * queue push instead of a thread-pool round trip per system call (measured: half the time of the
 * callback API for a 20,000-file first copy). Small jobs never pay for threads: the first calls,
 * and small ones made while the workers start, run right here, within InlineLimits. Workers are
 * referenced (keep the process alive) only while calls are outstanding. A worker that dies fails
 * every outstanding and later call (DEVICE_GONE) and stops the others.
 */
export class FsPool {
  private readonly workers: Worker[] = [];
  private readonly queues: FsRequest[][] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly inline: InlineLimits;
  private online = 0;
  private inlineCalls = 0;
  private inlineBytes = 0;
  private nextId = 1;
  private turn = 0;
  private flushScheduled = false;
  private failure: WorkerFsError | undefined;
  private whenOnline: (() => void)[] = [];

  constructor(
    private readonly size: number,
    inline: Partial<InlineLimits> = {},
  ) {
    for (let i = 0; i < size; i++) this.queues.push([]);
    this.inline = { ...INLINE, ...inline };
  }

  /**
   * Queues one call. `key` (a folder path) sends calls about one folder to the same worker: two
   * threads creating and renaming files in one folder wait on its lock in the kernel. Calls in one
   * queue run in the order they were made.
   */
  call<T>(request: FsCall, key?: string): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const promise = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
    if (this.pending.size === 1) for (const w of this.workers) w.ref();
    const slot = key === undefined ? (this.turn = (this.turn + 1) % this.size) : hash(key) % this.size;
    const q = this.queues[slot]!;
    q.push({ ...request, id } as FsRequest);
    // A full batch goes at once, so a worker starts on it while this thread queues more.
    if (q.length >= BATCH && this.ready) this.send(slot);
    this.scheduleFlush();
    return promise;
  }

  /** Starts the workers now; resolves once all are online (rejects if one fails to start). */
  startWorkers(): Promise<void> {
    this.start();
    return new Promise((resolve, reject) => {
      if (this.failure) reject(this.failure);
      else if (this.ready) resolve();
      else this.whenOnline.push(() => (this.failure ? reject(this.failure) : resolve()));
    });
  }

  /** The worker threads once started; tests stop one to see the pool fail safely. */
  get threads(): readonly Worker[] {
    return this.workers;
  }

  private get ready(): boolean {
    return this.online === this.size;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flush);
  }

  private readonly flush = () => {
    this.flushScheduled = false;
    if (this.ready) for (let i = 0; i < this.size; i++) this.send(i);
    else this.runHere();
  };

  private send(i: number): void {
    const q = this.queues[i]!;
    if (q.length === 0) return;
    this.queues[i] = [];
    this.workers[i]!.postMessage(q);
  }

  /**
   * Runs queued calls on this thread until this turn's budget is spent, then yields to the event
   * loop (signals, timers, the replies' continuations) and carries on in the next turn. Past the
   * totals the workers are started; a call too large for this thread starts them too, and its
   * queue waits for them.
   */
  private runHere(): void {
    const { calls, bytes, copyBytes, turnBytes, turnMs } = this.inline;
    const deadline = monotonicMs() + turnMs;
    let spent = 0;
    let ran = 0;
    for (let k = 0; k < this.size; k++) {
      // Each turn starts at another queue, so one long queue cannot starve the rest.
      const i = (this.turn + k) % this.size;
      const q = this.queues[i]!;
      let n = 0;
      for (; n < q.length; n++) {
        const cost = bytesOf(q[n]!);
        if (cost > copyBytes) {
          this.start();
          if (this.failure) return;
          break;
        }
        if (ran > 0 && (spent + cost > turnBytes || monotonicMs() > deadline)) {
          this.queues[i] = q.slice(n);
          this.runHereLater();
          return;
        }
        const reply = runOne(q[n]!);
        ran++;
        spent += cost;
        this.inlineBytes += cost;
        if (++this.inlineCalls >= calls || this.inlineBytes > bytes) this.start();
        this.settle(reply);
        if (this.failure) return;
      }
      this.queues[i] = q.slice(n);
    }
    this.turn++;
  }

  private runHereLater(): void {
    this.turn++;
    this.scheduleFlush();
  }

  private start(): void {
    if (this.workers.length > 0 || this.failure) return;
    let url: URL;
    try {
      url = workerScript();
    } catch (err) {
      return this.fail(err instanceof Error ? err.message : String(err));
    }
    for (let i = 0; i < this.size; i++) {
      let worker: Worker;
      try {
        worker = new Worker(url, { argv: [WORKER_MARK] });
      } catch (err) {
        return this.fail(err instanceof Error ? err.message : String(err));
      }
      if (this.pending.size === 0) worker.unref();
      worker.once('online', () => {
        if (++this.online === this.size) this.onReady();
      });
      worker.on('message', (replies: FsResponse[]) => {
        for (const r of replies) this.settle(r);
      });
      worker.on('error', (err) => this.fail(err.message));
      worker.on('messageerror', (err) => this.fail(err.message));
      worker.on('exit', (code) => this.fail(`it exited (code ${code})`));
      this.workers.push(worker);
    }
  }

  private onReady(): void {
    if (this.failure) return;
    // Calls left waiting here (too large, or past the totals) go now.
    this.scheduleFlush();
    for (const f of this.whenOnline.splice(0)) f();
  }

  private settle(r: FsResponse): void {
    const p = this.pending.get(r.id);
    if (!p) return;
    this.pending.delete(r.id);
    if (r.error) p.reject(new WorkerFsError(r.error.code, r.error.message, r.error.atTarget, r.error.path));
    else p.resolve(r.value);
    if (this.pending.size === 0) for (const w of this.workers) w.unref();
  }

  /**
   * A worker stopped (it crashed, ran out of memory, or was terminated). What it was doing is
   * unknown, so every outstanding call fails, and nothing queued runs later: the engine may already
   * have acted on those failures. The other workers are stopped so the process can exit.
   */
  private fail(cause: string): void {
    if (this.failure) return;
    this.failure = new WorkerFsError('EWORKER', `internal file worker stopped: ${cause}; this run cannot go on`);
    for (let i = 0; i < this.size; i++) this.queues[i] = [];
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const w of this.workers) {
      w.unref();
      void w.terminate();
    }
    for (const p of pending) p.reject(this.failure);
    for (const f of this.whenOnline.splice(0)) f();
  }
}

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
  return h >>> 0;
}

let shared: FsPool | undefined;

/** The process-wide pool: a worker per core, at most four. */
export function sharedFsPool(): FsPool {
  shared ??= new FsPool(Math.max(1, Math.min(4, os.availableParallelism())));
  return shared;
}

/**
 * The worker's script: fs-worker.ts beside this file in the tests; dist/cli/fs-worker.js once
 * built, seen from dist/cli or from a chunk in dist/cli/chunks; or where bundled-files.ts was told.
 */
function workerScript(): URL {
  const elsewhere = bundledFiles().fsWorker?.();
  if (elsewhere !== undefined) return elsewhere;
  if (import.meta.url.endsWith('.ts')) return new URL('./fs-worker.ts', import.meta.url);
  const beside = new URL('./fs-worker.js', import.meta.url);
  return fs.existsSync(beside) ? beside : new URL('../fs-worker.js', import.meta.url);
}
