import { ErrorCode, isStorageError } from '../core/errors.js';
import { FULL, mergeScopes, type Scope } from '../engine/scope.js';
import { sync, type SyncOptions, type SyncResult } from '../engine/sync.js';
import type { Storage } from '../storage/storage.js';
import { Aggregator } from './aggregate.js';
import type { WatchEvent } from './coalesce.js';

/** Where a watched pair is; the service (and the tray) will show these. */
export type PairState = 'scanning' | 'watching' | 'syncing' | 'waiting-for-source' | 'error';

export type WatchReport =
  /** The first sync is done and changes are being watched. */
  | { type: 'ready'; result: SyncResult }
  /** One step: the changes since the last one, or a full rescan. */
  | { type: 'batch'; result: SyncResult; full: boolean }
  | { type: 'state'; state: PairState; reason?: string }
  | { type: 'error'; message: string }
  /** A step's deletions were held back by a guard (see SyncResult.deletionsHeld). */
  | { type: 'held'; message: string };

export interface FolderWatcher {
  close(): Promise<void>;
}

/** Starts watching the source; resolves once events flow. Errors after that go to `onError`. */
export type WatchFolder = (onEvent: (event: WatchEvent) => void, onError: (err: Error) => void) => Promise<FolderWatcher>;

/** The side effects a watched pair uses, passed in so that tests can drive time. */
export interface WatchDeps {
  watchFolder: WatchFolder;
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
}

export interface PairWatchOptions {
  /** What every step passes to sync() (mode, exclusions, versions, …). */
  sync: Omit<SyncOptions, 'scope' | 'signal' | 'destinationFiles' | 'guardTripped'>;
  /** Paths whose events produce no work: our temp files, excluded paths. */
  ignore: (path: string, isDir: boolean) => boolean;
  /** A full rescan this often (0: never) catches what the watcher missed. */
  rescanIntervalMs: number;
  /** A step is due this long after the first event not yet taken. */
  settleMs?: number;
  /** Without a working watcher (its limits reached), a full rescan this often. */
  fallbackRescanMs?: number;
  /** While the source is gone, how often to look for it. */
  sourcePollMs?: number;
}

export interface WatchTotals {
  steps: number;
  copied: number;
  moved: number;
  updated: number;
  deleted: number;
  metadata: number;
  failed: number;
}

const INOTIFY_LIMIT_CODES = new Set(['ENOSPC', 'EMFILE']);

/**
 * One pair, synced once and then kept in sync from the watcher's events: one step at a time,
 * events arriving meanwhile merged into the next step. A source that disappears deletes nothing:
 * the pair waits for it to come back, then rescans everything. Deletions a guard objects to are
 * held back and reported, never applied (unless the sync options force them).
 */
export class PairWatcher {
  readonly totals: WatchTotals = { steps: 0, copied: 0, moved: 0, updated: 0, deleted: 0, metadata: 0, failed: 0 };
  private state: PairState = 'scanning';
  private readonly aggregator: Aggregator;
  private pending: Scope | undefined;
  private running: Promise<void> | undefined;
  private watcher: FolderWatcher | undefined;
  private dueTimer: unknown;
  private rescanTimer: unknown;
  private pollTimer: unknown;
  private stopped = false;
  private readonly abort = new AbortController();
  private destinationFiles = 0;
  /** The watcher hit the system's limit: changes are only seen by the fallback rescans. */
  private blind = false;

  constructor(
    private readonly src: Storage,
    private readonly dst: Storage,
    private readonly options: PairWatchOptions,
    private readonly deps: WatchDeps,
    private readonly report: (r: WatchReport) => void,
  ) {
    this.aggregator = new Aggregator(options.settleMs ?? 20, { ignore: options.ignore });
  }

  /** Watches first (so nothing done during the first sync is missed), then syncs everything. */
  async start(): Promise<void> {
    await this.startWatching();
    await this.runStep(FULL, true);
    this.scheduleRescan(this.rescanEvery());
  }

  /** How often everything is compared: as asked, and at least every fallback period when blind. */
  private rescanEvery(): number {
    const asked = this.options.rescanIntervalMs;
    if (!this.blind) return asked;
    const fallback = this.options.fallbackRescanMs ?? 60_000;
    return asked > 0 ? Math.min(asked, fallback) : fallback;
  }

  /** Stops taking events, lets the step under way end cleanly, and returns the totals. */
  async stop(): Promise<WatchTotals> {
    this.stopped = true;
    for (const t of [this.dueTimer, this.rescanTimer, this.pollTimer]) if (t !== undefined) this.deps.clearTimeout(t);
    this.abort.abort();
    await this.watcher?.close();
    this.watcher = undefined;
    await this.running;
    return this.totals;
  }

  get currentState(): PairState {
    return this.state;
  }

  /** Compares everything again as the next step (now, if no step runs). */
  resync(): void {
    if (!this.stopped) this.enqueue(FULL);
  }

  private async startWatching(): Promise<void> {
    try {
      this.watcher = await this.deps.watchFolder(
        (event) => this.onEvent(event),
        (err) => this.onWatcherError(err),
      );
    } catch (err) {
      this.onWatcherError(err as Error);
    }
  }

  private onEvent(event: WatchEvent): void {
    if (this.stopped) return;
    this.aggregator.add(event, this.deps.now());
    this.scheduleDue();
  }

  private onWatcherError(err: Error): void {
    if (this.stopped) return;
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (!INOTIFY_LIMIT_CODES.has(code)) {
      // One folder that could not be watched (unreadable, gone meanwhile): the rescans cover it.
      this.report({ type: 'error', message: `watching: ${err.message}` });
      return;
    }
    this.blind = true;
    const every = this.rescanEvery();
    this.report({
      type: 'error',
      message:
        `The system's limit on watched folders is reached (${code}), so changes are no longer seen as they happen; ` +
        `the source is rescanned every ${Math.round(every / 1000)} s instead. To watch again, raise the limit, e.g. ` +
        '`sudo sysctl fs.inotify.max_user_watches=524288` (add it to /etc/sysctl.d/ to keep it), then restart.',
    });
    void this.watcher?.close();
    this.watcher = undefined;
    this.scheduleRescan(every);
  }

  private scheduleRescan(every: number): void {
    if (this.rescanTimer !== undefined) this.deps.clearTimeout(this.rescanTimer);
    this.rescanTimer = undefined;
    if (every <= 0 || this.stopped) return;
    this.rescanTimer = this.deps.setTimeout(() => {
      this.rescanTimer = undefined;
      this.enqueue(FULL);
      this.scheduleRescan(every);
    }, every);
  }

  private scheduleDue(): void {
    if (this.dueTimer !== undefined || this.running || this.state === 'waiting-for-source') return;
    const due = this.aggregator.dueAt();
    if (due === undefined) return;
    this.dueTimer = this.deps.setTimeout(() => {
      this.dueTimer = undefined;
      const scope = this.aggregator.take(this.deps.now());
      if (scope === undefined) return this.scheduleDue();
      this.enqueue(scope);
    }, Math.max(0, due - this.deps.now()));
  }

  private enqueue(scope: Scope): void {
    this.pending = mergeScopes(this.pending, scope);
    if (!this.running && this.state !== 'waiting-for-source') void this.runStep(undefined, false);
  }

  /** Runs steps while there is work: `scope`, then whatever gathered meanwhile. */
  private runStep(scope: Scope | undefined, first: boolean): Promise<void> {
    if (scope) this.pending = mergeScopes(this.pending, scope);
    const loop = async () => {
      while (this.pending && !this.stopped && this.state !== 'waiting-for-source') {
        const next = this.pending;
        this.pending = undefined;
        await this.step(next, first);
        first = false;
      }
    };
    this.running = loop().finally(() => {
      this.running = undefined;
      this.scheduleDue();
    });
    return this.running;
  }

  private async step(scope: Scope, first: boolean): Promise<void> {
    this.setState(first ? 'scanning' : 'syncing');
    let result: SyncResult;
    try {
      result = await sync(this.src, this.dst, {
        ...this.options.sync,
        scope,
        destinationFiles: this.destinationFiles,
        guardTripped: 'hold',
        signal: this.abort.signal,
      });
    } catch (err) {
      if (this.stopped) return;
      if (await this.sourceGone()) return this.waitForSource();
      this.report({ type: 'error', message: err instanceof Error ? err.message : String(err) });
      this.setState('error', err instanceof Error ? err.message : String(err));
      return;
    }
    this.count(result, scope);
    this.report(first ? { type: 'ready', result } : { type: 'batch', result, full: scope.full });
    if (result.deletionsHeld) this.report({ type: 'held', message: result.deletionsHeld });
    if (this.stopped) return;
    // A step whose source vanished under it (a scoped one sees only part): nothing was deleted
    // there, as the guard and the root check see to; now wait for the source.
    if (await this.sourceGone()) return this.waitForSource();
    this.setState(result.fatal ? 'error' : 'watching', result.fatal?.message);
  }

  private count(r: SyncResult, scope: Scope): void {
    const t = this.totals;
    t.steps++;
    t.copied += r.copied;
    t.moved += r.moved;
    t.updated += r.updated;
    t.deleted += r.deleted;
    t.metadata += r.metadata;
    t.failed += r.failed;
    // What the mass-delete guard of a scoped step counts against: after a full mirror the destination
    // holds what the source does; a scoped step moves that by what it added and removed.
    this.destinationFiles = scope.full ? r.sourceFiles : Math.max(0, this.destinationFiles + r.copied - r.deleted);
  }

  private async sourceGone(): Promise<boolean> {
    try {
      return (await this.src.stat('')).type !== 'dir';
    } catch (err) {
      return isStorageError(err, ErrorCode.NOT_FOUND) || isStorageError(err, ErrorCode.NOT_DIR);
    }
  }

  /** Closes the watcher (it watches what is gone) and looks for the source until it is back. */
  private async waitForSource(): Promise<void> {
    this.setState('waiting-for-source', `${this.src.description} is gone (drive unplugged, folder renamed or deleted?); nothing is deleted until it is back`);
    await this.watcher?.close();
    this.watcher = undefined;
    const look = async () => {
      this.pollTimer = undefined;
      if (this.stopped) return;
      if (await this.sourceGone()) {
        this.pollTimer = this.deps.setTimeout(() => void look(), this.options.sourcePollMs ?? 1000);
        return;
      }
      this.setState('scanning', 'the source is back');
      await this.startWatching();
      this.pending = FULL;
      void this.runStep(undefined, false);
    };
    this.pollTimer = this.deps.setTimeout(() => void look(), this.options.sourcePollMs ?? 1000);
  }

  private setState(state: PairState, reason?: string): void {
    if (state === this.state) return;
    this.state = state;
    this.report(reason === undefined ? { type: 'state', state } : { type: 'state', state, reason });
  }
}
