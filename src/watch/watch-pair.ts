import { ErrorCode, isStorageError } from '../core/errors.js';
import { FULL, mergeScopes, type Scope } from '../engine/scope.js';
import type { RelPath } from '../core/rel-path.js';
import { sync, type SyncOptions, type SyncResult } from '../engine/sync.js';
import type { VersionStore } from '../storage/versions.js';
import type { Storage } from '../storage/storage.js';
import { Aggregator } from './aggregate.js';
import type { WatchEvent } from './coalesce.js';

/** Where a watched pair is; the service (and the tray) will show these. */
export type PairState =
  | 'scanning'
  | 'watching'
  | 'syncing'
  | 'waiting-for-source'
  | 'waiting-for-destination'
  | 'error';

export type WatchReport =
  /** The first sync is done and changes are being watched. */
  | { type: 'ready'; result: SyncResult }
  /** One step: the changes since the last one, or a full rescan. */
  | { type: 'batch'; result: SyncResult; full: boolean }
  | { type: 'state'; state: PairState; reason?: string }
  | { type: 'error'; message: string }
  /** A step's deletions were held back by a guard (see SyncResult.deletionsHeld). */
  | { type: 'held'; message: string; because: string }
  /**
   * The destination's gate found it at another path (a drive mounted elsewhere): the pair waits,
   * writing nothing, until whoever runs it starts it again there. Reported once per new path.
   */
  | { type: 'moved'; to: string; reason: string };

export interface FolderWatcher {
  close(): Promise<void>;
}

/** Starts watching the source; resolves once events flow. Errors after that go to `onError`. */
export type WatchFolder = (
  onEvent: (event: WatchEvent) => void,
  onError: (err: Error) => void,
) => Promise<FolderWatcher>;

/** Whether a step may write into the destination now, as the destination's gate judges it. */
/**
 * The window for a destination reached over a network (an rclone remote): at most one step every
 * 2 s, so that many small saves do not cost many round trips each.
 */
export const REMOTE_SETTLE_MS = 2000;

export type DestinationReadiness = { ready: true } | { ready: false; reason: string; movedTo?: string };

/**
 * A check of the destination beyond "it is a folder" (the service's: the right drive, with the
 * pair's marker), so that the loop stays unaware of volumes. Asked before every step, after a
 * step that failed, and while waiting; must not reject.
 */
export interface DestinationGate {
  ready(): Promise<DestinationReadiness>;
  /** A step went through without failures; runs before the next step may start. */
  synced?(): Promise<void>;
}

/** The side effects a watched pair uses, passed in so that tests can drive time. */
export interface WatchDeps {
  watchFolder: WatchFolder;
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
  /** Absent: a destination that is a folder is written to. */
  destination?: DestinationGate;
}

export interface PairWatchOptions {
  /** What every step passes to sync() (mode, exclusions, versions, …). */
  sync: Omit<
    SyncOptions,
    'scope' | 'signal' | 'destinationFiles' | 'deletedBefore' | 'holdDeletions' | 'guardTripped' | 'approvedDeletes'
  >;
  /**
   * The version store of a step starting now, asked for once per step (its versions go under that
   * step's own stamp); absent: `sync.versions`, if any, for every step.
   */
  versionsFor?: () => VersionStore;
  /** Paths whose events produce no work: our temp files, excluded paths. */
  ignore: (path: string, isDir: boolean) => boolean;
  /** A full rescan this often (0: never) catches what the watcher missed. */
  rescanIntervalMs: number;
  /**
   * The window that coalesces events into steps (see Aggregator): a change after this long without
   * any is stepped on at once; later ones at most once per window.
   */
  settleMs?: number;
  /** Without a working watcher (its limits reached), a full rescan this often. */
  fallbackRescanMs?: number;
  /** While the source (or the destination) is gone, how often to look for it. */
  sourcePollMs?: number;
  /** After a step that failed, the first wait before its changes are tried again (doubling to 5 min). */
  retryMs?: number;
}

/** The operations of every step so far, by kind, as each step's result counts them. */
export type WatchTotals = { steps: number } & Pick<
  SyncResult,
  'copied' | 'moved' | 'updated' | 'deleted' | 'metadata' | 'failed'
>;

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
  /**
   * The mass-delete guard across steps: the destination's files at the last full step, the files
   * scoped steps deleted since, and whether a tripped guard holds deletions until a full step
   * passes it. Without this a deletion held once would go through in the next small step, and a
   * mass deletion made in many small steps would never trip it.
   */
  private baseline = 0;
  private deletedSince = 0;
  private holding = false;
  /** Held deletions the user allowed, for the next full step (see applyHeld). */
  private approved: ReadonlySet<RelPath> | undefined;
  /** The first step is done, or the user approved held deletions: `sync.agreed` no longer applies. */
  private agreementServed = false;
  private retryDelay = 0;
  private retryTimer: unknown;
  private synced = false;
  /** The watcher hit the system's limit: changes are only seen by the fallback rescans. */
  private blind = false;
  /** Why the pair is in its state, as last reported. */
  private reason: string | undefined;
  /** While waiting for the destination: a look now, for lookAgain(). */
  private lookNow: (() => Promise<void>) | undefined;
  /** Where the destination was last reported to have moved. */
  private movedTo: string | undefined;
  /** Work started outside a step and not awaited by anyone (see settled()). */
  private readonly underWay = new Set<Promise<unknown>>();

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
  start(): Promise<void> {
    return this.track(this.begin());
  }

  private async begin(): Promise<void> {
    await this.startWatching();
    if (this.stopped) {
      // Stopped while the watcher was starting: it is this call's to close.
      await this.watcher?.close();
      this.watcher = undefined;
      return;
    }
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
    for (const t of [this.dueTimer, this.rescanTimer, this.pollTimer, this.retryTimer])
      if (t !== undefined) this.deps.clearTimeout(t);
    this.abort.abort();
    await this.watcher?.close();
    this.watcher = undefined;
    await this.running;
    return this.totals;
  }

  /**
   * Resolves once nothing is under way: no step runs, and no start, watcher restart or look for a
   * missing side is in progress. What comes next waits for a timer (the events' window, a retry, a
   * rescan, the next look) or an event; a test says "nothing happened" only after this. Events the
   * system has queued already (for changes made before the call) are taken in first.
   */
  async settled(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    while (this.running || this.underWay.size > 0) await Promise.allSettled([this.running, ...this.underWay]);
  }

  /** A step runs or is due (its events wait for their window to end, see settleMs), or other work is under way. */
  get busy(): boolean {
    return this.running !== undefined || this.underWay.size > 0 || this.dueTimer !== undefined;
  }

  get currentState(): PairState {
    return this.state;
  }

  /** Changes of a step that failed wait to be tried again: a clean step meanwhile did not cover them. */
  get retryPending(): boolean {
    return this.retryTimer !== undefined;
  }

  /** Compares everything again as the next step (now, if no step runs). */
  resync(): void {
    if (!this.stopped) this.enqueue(FULL);
  }

  /**
   * Something the destination's gate depends on changed (the mount table): a pair waiting for its
   * destination looks now rather than at its next poll, and an idle one makes sure its
   * destination is still in place, so that its state says so before the next change comes.
   */
  lookAgain(): void {
    if (this.stopped || !this.deps.destination) return;
    if (this.state === 'waiting-for-destination') {
      if (this.pollTimer !== undefined && this.lookNow) {
        this.deps.clearTimeout(this.pollTimer);
        this.pollTimer = undefined;
        this.track(this.lookNow());
      }
      return;
    }
    if (this.running || this.waiting()) return;
    const check = async () => {
      const ready = await this.destinationReady();
      if (!this.stopped && !this.waiting() && !ready.ready) await this.waitFor('destination', ready);
    };
    this.running = check()
      .catch(() => undefined)
      .finally(() => {
        this.running = undefined;
        if (this.pending && !this.waiting() && !this.stopped) void this.runStep(undefined, false);
        else this.scheduleDue();
      });
  }

  /**
   * The user has seen the files a guard held back and wants them deleted: the next full step may
   * delete those, and holds again if it would delete any other. Dropped if the pair has to wait
   * for a side that is gone: what comes back is judged afresh.
   */
  applyHeld(files: ReadonlySet<RelPath>): void {
    if (this.stopped || this.waiting()) return;
    this.approved = files;
    // What the user approves now supersedes what they agreed to before the first sync.
    this.agreementServed = true;
    this.enqueue(FULL);
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
    // Another folder now stands at the source's path: the watches follow the old one. Watch anew.
    if (event.kind === 'rootChanged') this.track(this.restartWatching());
    this.aggregator.add(event, this.deps.now());
    this.scheduleDue();
  }

  private async restartWatching(): Promise<void> {
    const old = this.watcher;
    this.watcher = undefined;
    await old?.close();
    if (!this.stopped && this.state !== 'waiting-for-source') await this.startWatching();
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
    if (this.watcher) this.track(this.watcher.close());
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
    if (this.dueTimer !== undefined || this.running || this.waiting()) return;
    const due = this.aggregator.dueAt();
    if (due === undefined) return;
    this.dueTimer = this.deps.setTimeout(
      () => {
        this.dueTimer = undefined;
        const scope = this.aggregator.take(this.deps.now());
        if (scope === undefined) return this.scheduleDue();
        this.enqueue(scope);
      },
      Math.max(0, due - this.deps.now()),
    );
  }

  private enqueue(scope: Scope): void {
    this.pending = mergeScopes(this.pending, scope);
    if (!this.running && !this.waiting()) void this.runStep(undefined, false);
  }

  /** Runs steps while there is work: `scope`, then whatever gathered meanwhile. */
  private runStep(scope: Scope | undefined, first: boolean): Promise<void> {
    if (scope) this.pending = mergeScopes(this.pending, scope);
    const loop = async () => {
      while (this.pending && !this.stopped && !this.waiting()) {
        const next = this.pending;
        this.pending = undefined;
        await this.step(next, first);
        first = false;
      }
    };
    this.running = loop()
      .catch((err: unknown) => {
        // A fault in a step must not end the process: it is reported, and the changes tried again.
        const message = err instanceof Error ? err.message : String(err);
        this.report({ type: 'error', message });
        this.retryLater(FULL);
      })
      .finally(() => {
        this.running = undefined;
        // Work enqueued after the loop last looked (between its end and here) has no step coming otherwise.
        if (this.pending && !this.stopped && !this.waiting()) void this.runStep(undefined, false);
        else this.scheduleDue();
      });
    return this.running;
  }

  /** Keeps `work` in underWay until it ends; returns it. */
  private track(work: Promise<void>): Promise<void> {
    this.underWay.add(work);
    void work.finally(() => this.underWay.delete(work)).catch(() => undefined);
    return work;
  }

  private waiting(): boolean {
    return this.state === 'waiting-for-source' || this.state === 'waiting-for-destination';
  }

  private async step(scope: Scope, first: boolean): Promise<void> {
    // Once synced, a destination that is gone is waited for, never made again (it may be a drive
    // that is not mounted: a new empty folder there would be on another disk).
    if (this.synced && (await this.gone(this.dst))) {
      // The gate may say more than "gone" (which drive is not connected).
      const why = await this.destinationReady();
      return this.waitFor('destination', why.ready ? undefined : why);
    }
    if (this.stopped) return;
    const ready = await this.destinationReady();
    if (this.stopped) return;
    if (!ready.ready) return this.waitFor('destination', ready);
    this.setState(first ? 'scanning' : 'syncing');
    // The approval this step was given; one made while it runs is for the next full step.
    const approval = scope.full ? this.approved : undefined;
    let result: SyncResult;
    try {
      result = await sync(this.src, this.dst, {
        ...this.options.sync,
        ...(this.options.versionsFor ? { versions: this.options.versionsFor() } : {}),
        scope,
        destinationFiles: this.baseline,
        deletedBefore: this.deletedSince,
        holdDeletions: this.holding && !scope.full,
        guardTripped: 'hold',
        approvedDeletes: approval,
        ...(this.agreementServed ? { agreed: undefined } : {}),
        signal: this.abort.signal,
      });
    } catch (err) {
      if (this.stopped) return;
      if (await this.gone(this.src)) return this.waitFor('source');
      if (this.stopped) return;
      const after = await this.destinationReady();
      if (this.stopped) return;
      if (!after.ready) return this.waitFor('destination', after);
      const message = err instanceof Error ? err.message : String(err);
      this.report({ type: 'error', message });
      this.setState('error', message);
      return this.retryLater(scope);
    }
    // A step cut short by stop() is not a sync that happened: nothing is reported of it.
    if (this.stopped) return;
    // An approval is good for one full step: later deletions are the guard's to judge again.
    if (approval && this.approved === approval) this.approved = undefined;
    this.synced = true;
    this.agreementServed = true;
    this.count(result, scope);
    this.report(first ? { type: 'ready', result } : { type: 'batch', result, full: scope.full });
    if (result.deletionsHeld)
      this.report({ type: 'held', message: result.deletionsHeld, because: result.heldBecause ?? result.deletionsHeld });
    if (this.stopped) return;
    // A step whose source vanished under it (a scoped one sees only part): nothing was deleted
    // there, as the guard and the root check see to; now wait for the source.
    if (await this.gone(this.src)) return this.waitFor('source');
    if (this.stopped) return;
    if (result.fatal || result.failed > 0) {
      // Failures from a drive that went away during the step: wait for it rather than retry.
      const after = await this.destinationReady();
      if (this.stopped) return;
      if (!after.ready) return this.waitFor('destination', after);
      this.setState(result.fatal ? 'error' : 'watching', result.fatal?.message);
      return this.retryLater(scope);
    }
    this.retryDelay = 0;
    await this.deps.destination?.synced?.();
    if (this.stopped) return;
    this.setState('watching');
  }

  private async destinationReady(): Promise<DestinationReadiness> {
    const gate = this.deps.destination;
    if (!gate) return { ready: true };
    try {
      return await gate.ready();
    } catch (err) {
      // A gate that cannot tell is not a yes: nothing is written on a guess.
      return {
        ready: false,
        reason: `the destination could not be checked: ${err instanceof Error ? err.message : String(err)}`,
      };
    }
  }

  /** The changes of a step that failed are tried again later, waiting longer each time (to 5 min). */
  private retryLater(scope: Scope): void {
    this.retryDelay = Math.min(300_000, this.retryDelay === 0 ? (this.options.retryMs ?? 5000) : this.retryDelay * 2);
    if (this.retryTimer !== undefined) this.deps.clearTimeout(this.retryTimer);
    this.retryTimer = this.deps.setTimeout(() => {
      this.retryTimer = undefined;
      this.enqueue(scope);
    }, this.retryDelay);
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
    if (r.deletionsHeld) this.holding = true;
    if (scope.full) {
      // A full step passed the guard (or tripped it): the count starts again from what it saw.
      if (!r.deletionsHeld) this.holding = false;
      this.baseline = r.destinationFilesAfter;
      this.deletedSince = 0;
    } else {
      this.deletedSince += r.filesDeleted;
    }
  }

  private async gone(storage: Storage): Promise<boolean> {
    try {
      return (await storage.stat('')).type !== 'dir';
    } catch (err) {
      return isStorageError(err, ErrorCode.NOT_FOUND) || isStorageError(err, ErrorCode.NOT_DIR);
    }
  }

  /**
   * Closes the watcher (it may watch what is gone) and looks for the missing side until it is back,
   * then compares everything. The step that found it gone is not lost: the full step covers it.
   */
  private async waitFor(
    which: 'source' | 'destination',
    gate?: DestinationReadiness & { ready: false },
  ): Promise<void> {
    const storage = which === 'source' ? this.src : this.dst;
    this.approved = undefined;
    const goneReason =
      `${storage.description} is gone (drive unplugged, folder renamed or deleted?); nothing is ` +
      `${which === 'source' ? 'deleted' : 'written'} until it is back`;
    this.setState(which === 'source' ? 'waiting-for-source' : 'waiting-for-destination', gate?.reason ?? goneReason);
    this.reportMove(gate);
    const old = this.watcher;
    this.watcher = undefined;
    await old?.close();
    const look = async () => {
      this.pollTimer = undefined;
      if (this.stopped) return;
      // A destination that was never synced into is the first sync's to make: only the gate can hold it back.
      let stillGone = which === 'source' || this.synced ? await this.gone(storage) : false;
      if (which === 'destination' && this.deps.destination && !this.stopped) {
        const ready = await this.destinationReady();
        if (!ready.ready && !this.stopped) {
          stillGone = true;
          // The same state for another reason (the drive back without its marker, say) is said anew.
          this.setState('waiting-for-destination', ready.reason);
          this.reportMove(ready);
        }
      }
      if (this.stopped) return;
      if (stillGone) {
        this.pollTimer = this.deps.setTimeout(() => void this.track(look()), this.options.sourcePollMs ?? 1000);
        return;
      }
      this.lookNow = undefined;
      this.movedTo = undefined;
      this.setState('scanning', `the ${which} is back`);
      await this.startWatching();
      if (this.stopped) {
        await this.watcher?.close();
        this.watcher = undefined;
        return;
      }
      this.pending = FULL;
      void this.runStep(undefined, false);
    };
    if (which === 'destination') this.lookNow = look;
    if (!this.stopped)
      this.pollTimer = this.deps.setTimeout(() => void this.track(look()), this.options.sourcePollMs ?? 1000);
  }

  /** Tells once where the gate found the destination now (see the `moved` report). */
  private reportMove(gate: DestinationReadiness | undefined): void {
    if (!gate || gate.ready || gate.movedTo === undefined || gate.movedTo === this.movedTo) return;
    this.movedTo = gate.movedTo;
    this.report({ type: 'moved', to: gate.movedTo, reason: gate.reason });
  }

  /** Reports a new state, or the same waiting state for a new reason. */
  private setState(state: PairState, reason?: string): void {
    if (state === this.state && (reason === undefined || reason === this.reason || !this.waiting())) return;
    this.state = state;
    this.reason = reason;
    this.report(reason === undefined ? { type: 'state', state } : { type: 'state', state, reason });
  }
}
