import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { runBatch, type FsRequest, type FsResponse } from './fs-worker.js';

/** Calls sent to a worker in one message at most; measured best between 8 and 32. */
const BATCH = 16;
/**
 * Calls run on this thread before the workers are worth starting: starting two costs about 40 ms,
 * more than a few hundred small copies take here.
 */
const START_AFTER = 512;

type Pending = { resolve: (v: unknown) => void; reject: (e: unknown) => void };
export type FsCall = FsRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** An error from a worker, shaped like Node's so mapFsError reads it the same way. */
class WorkerFsError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * File system calls run synchronously in batches: the calls made during one turn of the event
 * loop travel together, one message per worker thread, so a small file's copy costs this thread a
 * queue push instead of a thread-pool round trip per system call (measured: half the time of the
 * callback API for a 20,000-file first copy). Small jobs never pay for threads: the first calls,
 * and any made while the workers start, run right here. Workers keep the process alive only while
 * calls are outstanding.
 */
export class FsPool {
  private readonly workers: Worker[] = [];
  private readonly queues: FsRequest[][] = [];
  private readonly pending = new Map<number, Pending>();
  private online = 0;
  private calls = 0;
  private nextId = 1;
  private turn = 0;
  private flushScheduled = false;
  private failure: Error | undefined;

  constructor(private readonly size: number) {
    for (let i = 0; i < size; i++) this.queues.push([]);
  }

  /**
   * Queues one call. `key` (a folder path) sends calls about one folder to the same worker: two
   * threads creating and renaming files in one folder wait on its lock in the kernel.
   */
  call<T>(request: FsCall, key?: string): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    if (++this.calls === START_AFTER) this.start();
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
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
    return promise;
  }

  private get ready(): boolean {
    return this.online === this.size;
  }

  private readonly flush = () => {
    this.flushScheduled = false;
    for (let i = 0; i < this.size; i++) this.send(i);
  };

  private send(i: number): void {
    const q = this.queues[i]!;
    if (q.length === 0) return;
    this.queues[i] = [];
    if (this.ready) this.workers[i]!.postMessage(q);
    else this.settle(runBatch(q));
  }

  private start(): void {
    const url = new URL(import.meta.url.endsWith('.ts') ? './fs-worker.ts' : './fs-worker.js', import.meta.url);
    for (let i = 0; i < this.size; i++) {
      const worker = new Worker(url);
      if (this.pending.size === 0) worker.unref();
      worker.once('online', () => this.online++);
      worker.on('message', (replies: FsResponse[]) => this.settle(replies));
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => {
        if (this.pending.size > 0) this.fail(new Error(`file system worker exited (code ${code})`));
      });
      this.workers.push(worker);
    }
  }

  private settle(replies: FsResponse[]): void {
    for (const r of replies) {
      const p = this.pending.get(r.id);
      if (!p) continue;
      this.pending.delete(r.id);
      if (r.error) p.reject(new WorkerFsError(r.error.code, r.error.message));
      else p.resolve(r.value);
    }
    if (this.pending.size === 0) for (const w of this.workers) w.unref();
  }

  private fail(err: Error): void {
    this.failure = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
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
