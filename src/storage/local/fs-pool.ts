import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { FsRequest, FsResponse } from './fs-worker.js';

/** Calls sent to a worker in one message at most; measured best between 8 and 32. */
const BATCH = 16;

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
 * A few worker threads doing file system calls synchronously. The calls made during one turn of
 * the event loop travel together, one message per worker, so a small file's copy costs the main
 * thread a queue push instead of a thread-pool round trip per system call (measured: half the
 * time of the callback API for a 20,000-file first copy). Workers start on the first call and keep
 * the process alive only while calls are outstanding.
 */
export class FsPool {
  private readonly workers: Worker[] = [];
  private readonly queues: FsRequest[][] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private turn = 0;
  private flushScheduled = false;
  private failure: Error | undefined;

  constructor(private readonly size: number) {}

  get started(): boolean {
    return this.workers.length > 0;
  }

  call<T>(request: FsCall): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.workers.length === 0) this.start();
    const id = this.nextId++;
    const promise = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
    if (this.pending.size === 1) for (const w of this.workers) w.ref();
    const q = this.queues[this.turn]!;
    q.push({ ...request, id } as FsRequest);
    // A full batch goes at once, so a worker starts while this thread is still queueing more.
    if (q.length >= BATCH) this.send(this.turn);
    this.turn = (this.turn + 1) % this.size;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
    return promise;
  }

  private readonly flush = () => {
    this.flushScheduled = false;
    for (let i = 0; i < this.size; i++) this.send(i);
  };

  private send(i: number): void {
    const q = this.queues[i]!;
    if (q.length === 0) return;
    this.queues[i] = [];
    this.workers[i]!.postMessage(q);
  }

  private start(): void {
    const url = new URL(import.meta.url.endsWith('.ts') ? './fs-worker.ts' : './fs-worker.js', import.meta.url);
    for (let i = 0; i < this.size; i++) {
      const worker = new Worker(url);
      worker.unref();
      worker.on('message', (replies: FsResponse[]) => this.settle(replies));
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => {
        if (this.pending.size > 0) this.fail(new Error(`file system worker exited (code ${code})`));
      });
      this.workers.push(worker);
      this.queues.push([]);
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

let shared: FsPool | undefined;

/** The process-wide pool: a worker per core, at most four. */
export function sharedFsPool(): FsPool {
  shared ??= new FsPool(Math.max(1, Math.min(4, os.availableParallelism())));
  return shared;
}
