import { EventEmitter } from 'node:events';
import { SyncEvents, type SyncEvent } from '../core/events.js';
import { BytesUnderWay } from '../core/bytes-under-way.js';
import { RefusedError } from '../core/errors.js';
import type { RelPath } from '../core/rel-path.js';
import { sync, type SyncOptions } from '../engine/sync.js';
import { HeldChangedError, previewHeld, type HeldDeletions } from './held.js';
import {
  listPairVersions,
  restorePairVersions,
  versionPath,
  type ListedVersion,
  type RestoreRequest,
  type RestoreResult,
} from './pair-versions.js';
import { isPhonePair, phoneOf, type PhoneInfo, type PhoneTracker } from './phones.js';
import type { VersionStore } from '../storage/versions.js';
import type { VersionsSpace } from '../storage/version-space.js';
import { UNSTORABLE, type Skipped } from '../engine/plan.js';
import { describeSkip } from '../engine/skips.js';
import { formatCountOf, formatSpan } from '../core/format.js';
import type { Capabilities, Storage } from '../storage/storage.js';
import type { ConfigStore } from '../config/store.js';
import path from 'node:path';
import { checkNew, hiddenVersions, isInside, refuseOverlaps } from '../config/pairs.js';
import type { Pair, PairChange } from '../config/schema.js';
import { pairSyncOptions } from './pair-preview.js';
import { isRemoteLocation } from '../storage/location.js';
import { isRcloneLocation } from '../storage/rclone/endpoint.js';
import { transferLimitsOf, type TransferLimits } from '../core/transfer-limits.js';
import { remoteDestination } from './remote-destination.js';
import { watchIgnore } from '../watch/ignore.js';
import type { MountWatch } from '../watch/mounts.js';
import { PairWatcher, REMOTE_SETTLE_MS, type WatchFolder, type WatchReport } from '../watch/watch-pair.js';
import type { DestinationProbe, WaitWhy } from './destination-check.js';
import { pairVersions, PRUNE_EVERY_MS, type PairVersions } from './pair-versions.js';
import { PairDestination, driveConnectedText, markNewPair } from './pair-destination.js';
import { ON_BATTERY, pausedLonger, shownState, statusBefore, type PairStateName } from './pair-state.js';

export type { PairStateName } from './pair-state.js';

/** A pair's limits on what rclone does for it are shown where set (TransferLimits' fields). */
export interface PairStatus extends TransferLimits {
  id: string;
  name: string;
  source: string;
  destination: string;
  mode: string;
  state: PairStateName;
  /** When the last step ended (ISO time). */
  lastSyncAt?: string;
  /** Files and bytes copied (or updated) since the service started. */
  files: number;
  bytes: number;
  /** While a step copies: how far it is. */
  progress?: {
    files: number;
    totalFiles: number;
    /** Copied so far, what large files under way sent included. */
    bytes: number;
    totalBytes: number;
    etaMs?: number;
    /** The step's rate so far, once it has run a second. */
    bytesPerSec?: number;
  };
  lastError?: string;
  /** Deletions held back by a guard, and why. */
  held?: string;
  /** Phone pairs: the phone, and how it is connected. */
  phone?: PhoneInfo;
  /** While paused for a time: when it resumes by itself (ISO time; see Pair.pausedUntil). */
  pausedUntil?: string;
  /** Why the pair waits (waiting-for-phone: not connected, locked, adb missing; waiting-for-destination: the drive). */
  reason?: string;
  /**
   * While waiting-for-destination: what is wrong with it. `not-connected` needs nothing but the
   * drive; the others need the user (see destination-check.ts). Absent: the folder is gone.
   */
  destinationProblem?: WaitWhy;
  /**
   * Items the destination cannot hold (symlinks on exFAT, a case clash, a file over FAT32's limit):
   * skipped at every step, which the pair does not count as failing. A standing note, not an error.
   */
  unstorable?: { count: number; note: string; items: string[]; more: boolean };
  /**
   * What the pair's versions take on their drive, and how long they are kept (`keepMs`, 0 for ever);
   * absent until measured (after the first step) and for a pair that keeps none.
   */
  versions?: VersionsSpace & { keepMs: number };
}

export type ProblemKind = 'failed' | 'stopped' | 'source-missing' | 'destination-missing' | 'held' | 'unstorable';

export type ServiceEvent =
  | { type: 'status'; status: PairStatus }
  /** Something the user should know about a pair (failures, a held deletion, its source gone). */
  | { type: 'problem'; pair: PairStatus; kind: ProblemKind; message: string }
  /**
   * A step ended; `clean` when nothing failed in it. `connected`: the first step after the pair's
   * destination came back, said as "Backup drive BACKUP connected: 34 files backed up".
   */
  | {
      type: 'synced';
      pair: PairStatus;
      first: boolean;
      clean: boolean;
      durationMs: number;
      copied: number;
      bytes: number;
      connected?: string;
    }
  /** A run's versions (`stamp`, its start) were removed: older than the pair keeps them. */
  | { type: 'versions-removed'; pair: PairStatus; stamp: string; message: string }
  /** The pair's drive was found mounted at another place, and the pair now backs up there. */
  | { type: 'followed'; pair: PairStatus; from: string; to: string; message: string };

/** What the service needs from outside, passed in (app.ts gives the real ones). */
export interface ServiceDeps {
  /** A pair's storage; a remote's transfers held to the pair's `limits`. */
  openStorage(location: string, limits?: TransferLimits): Storage;
  openVersions(dir: string, started: Date): VersionStore;
  /** Hides a pair's versions folder where the platform has such an attribute (see pair-versions.ts). */
  hideFolder?(location: string): Promise<void>;
  /** Whether two local folders are on one drive (a full destination frees room from versions there). */
  sameDrive?(a: string, b: string): Promise<boolean>;
  watchFolder(root: string, ignore: (path: string, isDir: boolean) => boolean): WatchFolder;
  now(): number;
  /** The wall clock, in ms since 1970 (versions' stamps and their age); absent: Date.now. */
  wallClock?(): number;
  /** Follows the phones the adb server sees; asked for only once there is a phone pair. */
  phones?(): PhoneTracker;
  /**
   * Reads destination volumes and markers. Absent: destinations are not checked beyond being
   * folders (as before issue 14), and nothing is marked.
   */
  destinations?: DestinationProbe;
  /** Calls back on every change of the mount table, until closed; absent: waiting pairs look every second only. */
  watchMounts?(onChange: () => void): MountWatch;
  /** How often old versions are removed besides after each step; absent: PRUNE_EVERY_MS. */
  pruneEveryMs?: number;
}

interface Running {
  pair: Pair;
  status: PairStatus;
  watcher?: PairWatcher;
  storages?: Storage[];
  /** Local destinations when the service checks them: the gate, the guard and the marking. */
  destination?: PairDestination;
  /** The destination was waited for: the next step's count is told as the drive connecting. */
  reconnecting?: boolean;
  stepStarted?: number;
  progressPublished?: number;
  /** The step's large files under way, and how much of them is sent (SyncEvents.ItemProgress). */
  underWay?: BytesUnderWay;
  /** The bytes of the step's files done. */
  copiedBytes?: number;
  /** The items the destination cannot hold, by path, each with what is said of it (see PairStatus.unstorable). */
  unstorable?: Map<RelPath, string>;
  /** Those already told in a notification: each is told once, not at every step. */
  toldUnstorable?: Set<RelPath>;
  /** Where the pair keeps versions while it runs; absent: none kept. */
  versions?: PairVersions;
  /** A measure of the versions' space was asked for while a removal was under way. */
  measureAgain?: boolean;
  /** A removal of old versions under way (one at a time). */
  pruning?: Promise<void>;
}

/** At most this many unstorable items are listed in a pair's status (the count has them all). */
const UNSTORABLE_LISTED = 50;

const PROGRESS_EVERY_MS = 250;

/**
 * A timed pause looks at the wall clock at least this often, not only when its time should have
 * come: timers stand still while the computer sleeps, and the clock may be set meanwhile.
 */
const PAUSE_CHECK_MS = 60_000;

/**
 * The long-running service: every unpaused pair synced once, then watched; commands (pause,
 * resume, resync, add, remove) take effect at once and are kept in the config. Each pair's state
 * is published as `status` events; what needs the user as `problem` events.
 */
export class Service extends EventEmitter<{ event: [ServiceEvent] }> {
  private readonly pairs = new Map<string, Running>();
  /** Commands on one pair run one after another (a remove and a resume sent together, say). */
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Aborted by stop(): a command under way (a restore) ends, and nothing starts again. */
  private readonly stopping = new AbortController();
  private tracker: PhoneTracker | undefined;
  private mounts: MountWatch | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  /** Pairs not paused by the user wait while this holds (see onBattery). */
  private batteryPause = false;
  /** The timers of pairs paused for a time, by pair id (see armResume). */
  private readonly resumeTimers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly store: ConfigStore,
    private readonly deps: ServiceDeps,
  ) {
    super();
  }

  /** Starts every pair; their first syncs go on in the background. */
  start(): void {
    // Before the pairs: a drive mounted while they start is seen.
    if (this.deps.destinations && this.deps.watchMounts) this.mounts = this.deps.watchMounts(() => this.onMounts());
    for (const p of this.store.pairs()) {
      // A timed pause that ran out while SyncTray was not running is over.
      const over = p.paused && p.pausedUntil !== undefined && Date.parse(p.pausedUntil) <= this.wallNow();
      this.startPair(over ? this.store.update(p.id, { paused: false, pausedUntil: undefined }) : p);
    }
    // Besides after every step: a pair whose folders do not change still drops its old versions.
    this.pruneTimer = setInterval(() => {
      for (const r of this.pairs.values()) if (r.watcher) void this.pruneVersions(r);
    }, this.deps.pruneEveryMs ?? PRUNE_EVERY_MS).unref();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    clearInterval(this.pruneTimer);
    for (const t of this.resumeTimers.values()) clearTimeout(t);
    this.resumeTimers.clear();
    this.mounts?.close();
    this.mounts = undefined;
    await Promise.all([...this.queues.values()].map((q) => q.catch(() => undefined)));
    this.tracker?.stop();
    await Promise.all([...this.pairs.values()].map((r) => this.stopPair(r)));
  }

  /**
   * Resolves once the service is quiet: no command runs or waits on any pair, and no pair's loop is
   * busy (a step running or due, see PairWatcher.busy). A test says "nothing happened" only after this.
   * Events the system has queued already (for changes made before the call) are taken in first.
   */
  async settled(): Promise<void> {
    const watchers = () => [...this.pairs.values()].flatMap((r) => (r.watcher ? [r.watcher] : []));
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      const commands = [...this.queues.values()];
      const pruning = () => [...this.pairs.values()].flatMap((r) => (r.pruning ? [r.pruning] : []));
      await Promise.allSettled([...commands, ...watchers().map((w) => w.settled()), ...pruning()]);
      const now = [...this.queues.values()];
      const noNewCommand = now.length === commands.length && now.every((q, i) => q === commands[i]);
      if (noNewCommand && watchers().every((w) => !w.busy) && pruning().length === 0) return;
      // A step due waits for its events' window (tens of ms) on a real timer: look again once it may have begun.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  status(): PairStatus[] {
    return this.store.pairs().map((p) => this.pairs.get(p.id)?.status ?? this.initialStatus(p));
  }

  /**
   * Pauses a pair until it is resumed or, with `untilMs` (wall-clock ms), until then: it then
   * resumes by itself, in this run or, the time being kept in the config, in a later one.
   */
  pause(nameOrId: string, untilMs?: number): Promise<PairStatus> {
    return this.serial(nameOrId, async (r) => {
      const pausedUntil = untilMs === undefined ? undefined : new Date(untilMs).toISOString();
      r.pair = this.store.update(r.pair.id, { paused: true, pausedUntil });
      await this.stopPair(r);
      // Paused by the user now, whatever else made it wait.
      const battery = r.status.reason === ON_BATTERY ? { reason: undefined } : {};
      this.set(r, { state: 'paused', progress: undefined, pausedUntil, ...battery });
      this.armResume(r);
      return r.status;
    });
  }

  /**
   * Pauses every pair until `untilMs` (wall-clock ms), or until resumed; a pair paused for longer
   * already keeps its pause (see pausedLonger).
   */
  async pauseAll(untilMs?: number): Promise<PairStatus[]> {
    const out: PairStatus[] = [];
    for (const pair of this.store.pairs()) {
      if (!pausedLonger(pair, untilMs)) out.push(await this.pause(pair.id, untilMs));
      else out.push(this.pairs.get(pair.id)?.status ?? this.initialStatus(pair));
    }
    return out;
  }

  /**
   * The computer runs on battery (`true`) with pause on battery on, or no longer: every pair not
   * paused by the user stops and waits, shown as paused with the reason ON_BATTERY, or goes on.
   */
  onBattery(on: boolean): void {
    if (on === this.batteryPause) return;
    this.batteryPause = on;
    for (const pair of this.store.pairs()) {
      if (pair.paused) continue;
      void this.serial(pair.id, async (r) => {
        if (r.pair.paused || this.batteryPause !== on) return;
        if (!on) return this.startPair(r.pair);
        await this.stopPair(r);
        this.set(r, { state: 'paused', reason: ON_BATTERY, progress: undefined });
      }).catch(() => undefined);
    }
  }

  /** Resumes a paused pair; a timed pause ends early. */
  resume(nameOrId: string): Promise<PairStatus> {
    return this.serial(nameOrId, async (r) => this.resumed(r));
  }

  private resumed(r: Running): PairStatus {
    if (!r.pair.paused && r.watcher) return r.status;
    r.pair = this.store.update(r.pair.id, { paused: false, pausedUntil: undefined });
    this.startPair(r.pair);
    return this.pairs.get(r.pair.id)!.status;
  }

  /**
   * Resumes a pair paused for a time once its time has come, by the wall clock (looked at every
   * PAUSE_CHECK_MS at least). A pair not paused for a time has no timer.
   */
  private armResume(r: Running): void {
    const id = r.pair.id;
    clearTimeout(this.resumeTimers.get(id));
    this.resumeTimers.delete(id);
    const until = r.pair.paused ? r.pair.pausedUntil : undefined;
    if (until === undefined || this.stopping.signal.aborted) return;
    const left = Date.parse(until) - this.wallNow();
    const timer = setTimeout(
      () => {
        this.resumeTimers.delete(id);
        void this.serial(id, async (now) => {
          // Resumed, or paused again otherwise, meanwhile: that stands.
          if (!now.pair.paused || now.pair.pausedUntil !== until) return;
          if (Date.parse(until) > this.wallNow()) return this.armResume(now);
          this.resumed(now);
        }).catch(() => undefined);
      },
      Math.max(0, Math.min(left, PAUSE_CHECK_MS)),
    );
    timer.unref();
    this.resumeTimers.set(id, timer);
  }

  /**
   * Compares everything again. A pair waiting for a destination that only the user can vouch for
   * (its marker missing on its own drive, its backup found on a new drive, a folder another pair
   * had marked) takes the resync as that word: the destination is marked as the pair's and the
   * pair goes on. A drive that is not connected is never taken for the destination.
   */
  resync(nameOrId: string): Promise<PairStatus> {
    return this.serial(nameOrId, async (r) => {
      if (!r.watcher && this.batteryPause && !r.pair.paused)
        throw new RefusedError(
          `Pair "${r.pair.name}" waits while the computer runs on battery: plug it in, or turn ` +
            "'synctray settings pause-on-battery' off.",
        );
      if (!r.watcher) throw new RefusedError(`Pair "${r.pair.name}" is paused: resume it to sync it.`);
      const verdict = r.destination?.last;
      if (r.watcher.currentState === 'waiting-for-destination' && verdict?.kind === 'wait' && verdict.confirmable) {
        await r.destination!.mark();
        r.pair = this.store.find(r.pair.id) ?? r.pair;
        r.watcher.lookAgain();
      }
      r.watcher.resync();
      return r.status;
    });
  }

  /** What the pair's held deletions are now: a dry run of a full step, nothing written. */
  heldDeletions(nameOrId: string): Promise<HeldDeletions> {
    return this.serial(nameOrId, async (r) => (await this.preview(r)).held);
  }

  /**
   * Deletes the files a guard held back, as the user asked after seeing them (`token` names that
   * set, from heldDeletions): the next full step may delete those and no others. Refused when the
   * set has changed since, so nothing the user has not seen goes.
   */
  applyDeletions(nameOrId: string, token: string): Promise<PairStatus> {
    return this.serial(nameOrId, async (r) => {
      if (!r.watcher) throw new RefusedError(`Pair "${r.pair.name}" is paused: resume it first.`);
      const state = r.watcher.currentState;
      if (state === 'waiting-for-source' || state === 'waiting-for-destination') {
        throw new RefusedError(
          `Pair "${r.pair.name}" is waiting for its ${state === 'waiting-for-source' ? 'source' : 'destination'}; ` +
            'once it is back, what it would delete is judged again.',
        );
      }
      const now = await this.preview(r);
      if (now.held.token !== token) {
        throw new HeldChangedError(
          `The deletions held back in "${r.pair.name}" have changed since they were shown (now ${now.held.count} ` +
            'files): look at them again.',
        );
      }
      r.watcher.applyHeld(now.files);
      return r.status;
    });
  }

  /**
   * Undoes what made a guard hold: copies back into the source what the destination has and the
   * source lacks (nothing in the source is overwritten), then syncs as usual. The pair is not
   * watched meanwhile, so the copies are not taken for new changes.
   */
  restore(nameOrId: string): Promise<{ restored: number; failed: number; errors: string[] }> {
    return this.serial(nameOrId, async (r) => {
      if (r.status.held === undefined)
        throw new RefusedError(`Pair "${r.pair.name}" holds no deletions back: there is nothing to restore.`);
      const src = this.open(r.pair, r.pair.source);
      const dst = this.open(r.pair, r.pair.destination);
      let stopped = false;
      try {
        if ((await dst.stat('').catch(() => undefined))?.type !== 'dir')
          throw new RefusedError(
            `The destination ${r.pair.destination} is not there: nothing can be restored from it.`,
          );
        if ((await src.stat('').catch(() => undefined))?.type !== 'dir')
          throw new RefusedError(`The source ${r.pair.source} is not there: nothing can be restored into it.`);
        await this.stopPair(r);
        stopped = true;
        this.set(r, { state: 'syncing', progress: undefined });
        const { copied, failed, errors } = await sync(dst, src, {
          ...this.syncOptions(r.pair),
          mode: 'missing',
          signal: this.stopping.signal,
        });
        this.set(r, { held: undefined, progress: undefined });
        return { restored: copied, failed, errors: errors.map((e) => `${e.path}: ${e.message}`) };
      } finally {
        await Promise.all([src.close(), dst.close()]);
        // A service that is stopping starts nothing again.
        if (stopped && !this.stopping.signal.aborted) {
          if (r.pair.paused) this.set(r, { state: 'paused', progress: undefined });
          else this.startPair(r.pair);
        }
      }
    });
  }

  /** The pair's versions under `prefix` ('' for all), newest first (see pair-versions.ts). */
  versions(nameOrId: string, prefix: string): Promise<ListedVersion[]> {
    return this.serial(nameOrId, (r) => listPairVersions((l) => this.open(r.pair, l), r.pair, versionPath(prefix)));
  }

  /**
   * Brings versions back into the pair's source (the watcher then syncs them as any new file) or
   * into `request.to`, overwriting nothing (see pair-versions.ts).
   */
  restoreVersions(nameOrId: string, request: RestoreRequest): Promise<RestoreResult> {
    return this.serial(nameOrId, (r) =>
      restorePairVersions((l) => this.open(r.pair, l), r.pair, { ...request, path: versionPath(request.path) }),
    );
  }

  private async preview(r: Running): Promise<{ held: HeldDeletions; files: Set<RelPath> }> {
    const reason = r.status.held;
    if (reason === undefined) throw new RefusedError(`Pair "${r.pair.name}" holds no deletions back.`);
    const [src, dst] = [this.open(r.pair, r.pair.source), this.open(r.pair, r.pair.destination)];
    try {
      return await previewHeld(src, dst, this.syncOptions(r.pair), reason);
    } finally {
      await Promise.all([src.close(), dst.close()]);
    }
  }

  /** A storage of the pair's: a remote's transfers held to the pair's limits (see rclone/servers.ts). */
  private open(pair: Pair, location: string): Storage {
    return this.deps.openStorage(location, transferLimitsOf(pair));
  }

  /** Runs `command` on the pair once the commands before it on that pair are done. */
  private serial<T>(nameOrId: string, command: (r: Running) => Promise<T>): Promise<T> {
    let r: Running;
    try {
      r = this.running(nameOrId);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const before = this.queues.get(r.pair.id) ?? Promise.resolve();
    const next = before
      .catch(() => undefined)
      .then(() => {
        if (this.stopping.signal.aborted) throw new RefusedError('SyncTray is stopping.');
        if (!this.pairs.has(r.pair.id)) throw new RefusedError(`Pair "${r.pair.name}" was removed.`);
        return command(r);
      });
    this.queues.set(r.pair.id, next);
    return next;
  }

  /** Adds a checked pair (see pair-command); the overlap check is made again against the pairs as they are now. */
  async add(pair: Omit<Pair, 'id'>): Promise<PairStatus> {
    if (this.stopping.signal.aborted) throw new RefusedError('SyncTray is stopping.');
    let added = this.store.add(pair, (pairs) => checkNew(pairs, pair));
    if (this.deps.destinations) added = await markNewPair(this.deps.destinations, this.store, added);
    this.startPair(added);
    return this.pairs.get(added.id)!.status;
  }

  /**
   * Changes a pair's options (`pair set`) in the config; a pair that was being watched starts
   * again with them, comparing everything once, as after a resync. New limits on what rclone does
   * hold from there: the pair's storages are opened again, on the rcd for those limits.
   */
  update(nameOrId: string, change: PairChange): Promise<Pair> {
    return this.serial(nameOrId, async (r) => {
      if (r.watcher) await this.stopPair(r);
      r.pair = this.store.update(r.pair.id, change);
      const { bwlimit, transfers, checkers } = r.pair;
      this.set(r, { bwlimit, transfers, checkers });
      if (!r.pair.paused) this.startPair(r.pair);
      return r.pair;
    });
  }

  remove(nameOrId: string): Promise<Pair> {
    return this.serial(nameOrId, async (r) => {
      await this.stopPair(r);
      clearTimeout(this.resumeTimers.get(r.pair.id));
      this.resumeTimers.delete(r.pair.id);
      this.pairs.delete(r.pair.id);
      this.queues.delete(r.pair.id);
      const removed = this.store.remove(r.pair.id);
      // No phone pair left: nothing to follow phones for (and no adb server to keep running).
      if (this.tracker && !this.store.pairs().some(isPhonePair)) {
        this.tracker.stop();
        this.tracker = undefined;
      }
      return removed;
    });
  }

  private running(nameOrId: string): Running {
    const pair = this.store.find(nameOrId);
    if (!pair) throw new RefusedError(`No pair is called "${nameOrId}" (see 'synctray pair list').`);
    let r = this.pairs.get(pair.id);
    if (!r) {
      r = { pair, status: this.initialStatus(pair) };
      this.pairs.set(pair.id, r);
    }
    return r;
  }

  private initialStatus(p: Pair): PairStatus {
    return statusBefore(p, 'idle');
  }

  /** Starts watching a pair; its first sync goes on in the background, reported as it goes. */
  private startPair(pair: Pair): void {
    const r: Running = this.pairs.get(pair.id) ?? { pair, status: this.initialStatus(pair) };
    r.pair = pair;
    this.pairs.set(pair.id, r);
    this.armResume(r);
    const { pausedUntil: _shown, ...status } = r.status;
    r.status = pair.paused && pair.pausedUntil !== undefined ? { ...status, pausedUntil: pair.pausedUntil } : status;
    if (pair.paused || r.watcher) return this.set(r, {});
    if (this.batteryPause) return this.set(r, { state: 'paused', reason: ON_BATTERY, progress: undefined });
    if (r.status.reason === ON_BATTERY) this.set(r, { reason: undefined });
    if (isPhonePair(pair)) {
      const { phone, reason } = phoneOf(pair, this.phones().current);
      if (phone.connection !== 'connected')
        return this.set(r, { state: 'waiting-for-phone', phone, reason, progress: undefined });
      this.set(r, { phone, reason: undefined });
    }
    const src = this.open(pair, pair.source);
    const probe = this.deps.destinations;
    // Local destinations only: a phone backed up to a drive has its drive checked too.
    r.destination = probe && !isRemoteLocation(pair.destination) ? this.destinationOf(r, probe) : undefined;
    const opened = this.open(pair, pair.destination);
    const dst = r.destination ? r.destination.guarded(opened) : opened;
    r.versions = pairVersions(pair, dst, this.deps);
    if (!r.versions && r.status.versions) this.set(r, { versions: undefined });
    r.storages = [src, opened, ...(r.versions?.storages ?? [])];
    const ignore = watchIgnore(pair.exclude, hiddenVersions(pair));
    const versions = r.versions;
    r.watcher = new PairWatcher(
      src,
      dst,
      {
        sync: {
          ...this.syncOptions(pair),
          onEvent: (e) => this.onSyncEvent(r, e),
          // A full destination takes the oldest versions first (older than a day), before the step fails.
          ...(versions
            ? {
                // After any removal under way, which may be taking the same run.
                makeRoom: async () => {
                  await r.pruning;
                  return versions.makeRoom(this.wallNow(), (stamp) =>
                    this.versionsRemoved(r, stamp, 'to make room: the destination is full'),
                  );
                },
              }
            : {}),
        },
        // Each step keeps its versions under its own start time.
        ...(versions ? { versionsFor: () => versions.open(new Date(this.wallNow())) } : {}),
        ignore,
        rescanIntervalMs: pair.rescanIntervalMs,
        ...(isRcloneLocation(pair.destination) ? { settleMs: REMOTE_SETTLE_MS } : {}),
      },
      {
        // Phones are not watched: their pairs sync when the phone connects and every rescan interval.
        watchFolder: isPhonePair(pair) ? unwatched : this.deps.watchFolder(pair.source, ignore),
        now: this.deps.now,
        setTimeout,
        clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
        ...(r.destination
          ? { destination: r.destination }
          : isRcloneLocation(pair.destination)
            ? { destination: remoteDestination(opened) }
            : {}),
      },
      (report) => this.onReport(r, report),
    );
    this.set(r, { state: 'scanning', lastError: undefined });
    r.watcher
      .start()
      .catch((err: unknown) => this.problem(r, 'failed', err instanceof Error ? err.message : String(err)));
  }

  private destinationOf(r: Running, probe: DestinationProbe): PairDestination {
    return new PairDestination(r.pair, {
      probe,
      remember: (volume) => {
        r.pair = this.store.update(r.pair.id, { destinationVolume: volume });
        return r.pair;
      },
      onMarkFailed: (message) => this.problem(r, 'failed', message),
    });
  }

  /** The mount table changed: pairs look at their destinations again now. */
  private onMounts(): void {
    for (const r of this.pairs.values()) r.watcher?.lookAgain();
  }

  /**
   * The pair's drive is mounted at another place with the pair's marker there: the pair's
   * destination becomes that place (a versions folder inside it moves along), unless the new
   * place overlaps another pair, which would make the two copy each other's copies.
   */
  private follow(r: Running, to: string, reason: string): void {
    void this.serial(r.pair.id, async (r) => {
      const from = r.pair.destination;
      if (!r.watcher || from === to) return;
      try {
        refuseOverlaps(
          this.store.pairs().filter((p) => p.id !== r.pair.id),
          r.pair.source,
          to,
        );
      } catch (err) {
        this.set(r, { reason: `${reason} But ${(err as Error).message}` });
        return;
      }
      const inside =
        r.pair.versions && isInside(r.pair.versions, from) ? path.relative(from, r.pair.versions) : undefined;
      const moved = this.store.update(r.pair.id, {
        destination: to,
        ...(inside !== undefined ? { versions: path.join(to, inside) } : {}),
      });
      await this.stopPair(r);
      r.pair = moved;
      this.set(r, { destination: to });
      this.publish({ type: 'followed', pair: r.status, from, to, message: reason });
      // Told as connected once its first step there is done.
      r.reconnecting = true;
      if (!this.stopping.signal.aborted) this.startPair(moved);
    }).catch(() => undefined);
  }

  /** The phone tracker, started with the first phone pair. */
  private phones(): PhoneTracker {
    if (!this.tracker) {
      if (!this.deps.phones) throw new RefusedError('Phone pairs are not available here.');
      const tracker = this.deps.phones();
      this.tracker = tracker;
      tracker.on('state', () => this.onPhones());
      tracker.start();
    }
    return this.tracker;
  }

  /** Phones came or went: their pairs start syncing, or stop and wait. */
  private onPhones(): void {
    for (const pair of this.store.pairs()) {
      if (!isPhonePair(pair) || pair.paused) continue;
      const { phone, reason } = phoneOf(pair, this.tracker?.current);
      void this.serial(pair.id, async (r) => {
        // On battery the pair waits as it is; startPair looks at its phone when power is back.
        if (r.pair.paused || this.batteryPause) return;
        if (phone.connection === 'connected') {
          if (!r.watcher) this.startPair(r.pair);
          else this.set(r, { phone });
          return;
        }
        if (r.watcher) await this.stopPair(r);
        this.set(r, { state: 'waiting-for-phone', phone, reason, progress: undefined });
      }).catch(() => undefined);
    }
  }

  private syncOptions(pair: Pair): SyncOptions {
    // Until the first sync is done, it may not take more than the user agreed to (see Pair).
    return { ...pairSyncOptions(pair), ...(pair.agreedFirstSync ? { agreed: pair.agreedFirstSync } : {}) };
  }

  /**
   * Removes the pair's versions older than its keep-versions (at the service's clock), oldest
   * first, each removal told as an event (and so logged). One run at a time per pair; after every
   * step, and every PRUNE_EVERY_MS while the pair runs. Then, when `measure` asks or anything was
   * removed, what the versions take is measured again (PairStatus.versions).
   */
  private pruneVersions(r: Running, measure = false): Promise<void> {
    const versions = r.versions;
    if (!versions) return Promise.resolve();
    if (r.pruning) {
      // A measure asked for while pruning runs is made once it is done.
      if (measure) r.measureAgain = true;
      return r.pruning;
    }
    const why = `older than ${formatSpan(r.pair.keepVersionsMs)}`;
    if (measure) r.measureAgain = true;
    const pruning = (async () => {
      try {
        await versions.prune(this.wallNow(), (stamp) => this.versionsRemoved(r, stamp, why));
      } catch (err) {
        this.problem(r, 'failed', `Old versions could not be removed: ${err instanceof Error ? err.message : err}`);
      }
      // Asked again while measuring (a step set more aside): measured again.
      while (r.measureAgain && r.versions === versions) {
        r.measureAgain = false;
        try {
          const space = await versions.space();
          if (r.versions === versions) this.set(r, { versions: { ...space, keepMs: r.pair.keepVersionsMs } });
        } catch {
          // The figure stays as it was until the next step measures again.
        }
      }
    })().finally(() => {
      if (r.pruning === pruning) r.pruning = undefined;
    });
    r.pruning = pruning;
    return pruning;
  }

  private versionsRemoved(r: Running, stamp: string, why: string): void {
    r.measureAgain = true;
    this.publish({
      type: 'versions-removed',
      pair: r.status,
      stamp,
      message: `Versions set aside at ${stamp} removed: ${why}.`,
    });
  }

  private wallNow(): number {
    return this.deps.wallClock ? this.deps.wallClock() : Date.now();
  }

  private async stopPair(r: Running): Promise<void> {
    const watcher = r.watcher;
    const storages = r.storages ?? [];
    r.watcher = undefined;
    r.storages = undefined;
    r.versions = undefined;
    await watcher?.stop();
    await r.pruning;
    await Promise.all(storages.map((s) => s.close()));
  }

  private onSyncEvent(r: Running, e: SyncEvent): void {
    if (e.type === SyncEvents.Planned) {
      r.stepStarted = this.deps.now();
      // Scanning is over; a step with work to do is syncing until it ends.
      const work = e.files > 0 || e.deletes > 0;
      if (work)
        this.set(r, {
          state: 'syncing',
          ...(e.files > 0 ? { progress: { files: 0, totalFiles: e.files, bytes: 0, totalBytes: e.bytes } } : {}),
        });
      r.underWay = new BytesUnderWay();
      r.copiedBytes = 0;
    } else if (r.status.progress && (r.underWay?.take(e) || copiedOrUpdated(e))) {
      const now = this.deps.now();
      const p = r.status.progress;
      const one = copiedOrUpdated(e) ? { files: 1, bytes: e.bytes } : { files: 0, bytes: 0 };
      r.copiedBytes = (r.copiedBytes ?? 0) + one.bytes;
      // Bytes of large files under way count too, so that a long copy shows it moves, and at what rate.
      const bytes = Math.min(p.totalBytes, r.copiedBytes + (r.underWay?.bytes ?? 0));
      const done: NonNullable<PairStatus['progress']> = { ...p, files: p.files + one.files, bytes };
      const elapsed = now - (r.stepStarted ?? now);
      const share = done.totalBytes > 0 ? done.bytes / done.totalBytes : done.files / Math.max(1, done.totalFiles);
      if (share > 0 && elapsed > 500) done.etaMs = Math.round((elapsed / share) * (1 - share));
      if (elapsed > 1000) done.bytesPerSec = Math.round((done.bytes / elapsed) * 1000);
      const change = { progress: done, files: r.status.files + one.files, bytes: r.status.bytes + one.bytes };
      // Progress is published a few times a second at most (a 20,000-file sync would be 20,000 events).
      if (now - (r.progressPublished ?? -Infinity) >= PROGRESS_EVERY_MS || done.files === done.totalFiles) {
        r.progressPublished = now;
        this.set(r, change);
      } else {
        r.status = { ...r.status, ...change };
      }
    }
  }

  /**
   * Keeps the pair's standing note of what its destination cannot hold: a full step says all of
   * it, a step over a few folders adds what it met. What is new is told once.
   */
  private noteUnstorable(r: Running, skipped: readonly Skipped[], full: boolean): void {
    const dst: Pick<Capabilities, 'kind' | 'maxFileBytes' | 'maxName'> = r.storages?.[1]?.capabilities ?? {};
    const now = full ? new Map<RelPath, string>() : new Map(r.unstorable);
    for (const s of skipped) {
      if (!UNSTORABLE.has(s.reason)) continue;
      const text = describeSkip(s, dst);
      for (const p of [s.path, ...(s.with ?? [])]) now.set(p, text);
    }
    r.unstorable = now;
    if (now.size === 0) {
      if (r.status.unstorable) this.set(r, { unstorable: undefined });
      return;
    }
    const drive = dst.kind ? `this drive (${dst.kind})` : 'the destination';
    const note = `${formatCountOf(now.size, 'item')} can't be stored on ${drive}`;
    const texts = [...new Set(now.values())].sort();
    this.set(r, {
      unstorable: {
        count: now.size,
        note,
        items: texts.slice(0, UNSTORABLE_LISTED),
        more: texts.length > UNSTORABLE_LISTED,
      },
    });
    const told = (r.toldUnstorable ??= new Set());
    const fresh = [...now.keys()].filter((p) => !told.has(p));
    if (fresh.length === 0) return;
    for (const p of fresh) told.add(p);
    const first = now.get(fresh[0]!)!;
    this.problem(
      r,
      'unstorable',
      `${note}; they are skipped: ` +
        `${first}${fresh.length > 1 ? ` (and ${fresh.length - 1} more: synctray status)` : ''}`,
    );
  }

  private onReport(r: Running, report: WatchReport): void {
    switch (report.type) {
      case 'ready':
      case 'batch': {
        // The first sync is done (or held, and the guards' question takes over): the agreement served.
        if (report.type === 'ready' && r.pair.agreedFirstSync) r.pair = this.store.firstSyncDone(r.pair.id);
        const failed = report.result.errors;
        // A clean step while failed changes wait for their retry has not mended them: the error stays.
        const mended = !r.watcher?.retryPending;
        this.set(r, {
          lastSyncAt: new Date().toISOString(),
          progress: undefined,
          lastError:
            failed.length > 0
              ? failed[0]!.message
              : (report.result.fatal?.message ?? (mended ? undefined : r.status.lastError)),
        });
        if (failed.length > 0)
          this.problem(
            r,
            'failed',
            `${failed.length} item${failed.length === 1 ? '' : 's'} could not be synced: ${failed[0]!.message}`,
          );
        if (report.result.fatal) this.problem(r, 'stopped', report.result.fatal.message);
        if (report.result.fatal && isPhonePair(r.pair)) void this.tracker?.refresh();
        // A full step that held nothing back: whatever was held is settled (applied, or no longer asked for).
        if ((report.type === 'ready' || report.full) && !report.result.deletionsHeld && r.status.held !== undefined)
          this.set(r, { held: undefined });
        this.noteUnstorable(r, report.result.skipped, report.type === 'ready' || report.full);
        const clean = failed.length === 0 && !report.result.fatal && mended;
        const { copied, updated, bytes, durationMs } = report.result;
        const connected = r.reconnecting ? driveConnectedText(r.pair, copied + updated) : undefined;
        r.reconnecting = false;
        // What the versions take is measured again when the step may have set something aside.
        const { deleted, updated: replaced } = report.result;
        void this.pruneVersions(r, r.status.versions === undefined || deleted + replaced > 0);
        this.publish({
          type: 'synced',
          pair: r.status,
          first: report.type === 'ready',
          clean: clean && !report.result.deletionsHeld,
          durationMs,
          copied: copied + updated,
          bytes,
          ...(connected !== undefined ? { connected } : {}),
        });
        return;
      }
      case 'moved':
        this.follow(r, report.to, report.reason);
        return;
      case 'state': {
        const state = shownState(report.state, r.status.lastError);
        if (state === 'waiting-for-destination') {
          // Waiting says why (which drive, what to do); nothing is written meanwhile.
          const verdict = r.destination?.last;
          r.reconnecting = true;
          this.set(r, {
            state,
            reason: report.reason,
            destinationProblem: verdict?.kind === 'wait' ? verdict.why : undefined,
            progress: undefined,
          });
        } else {
          this.set(r, {
            state,
            ...(state === 'error' && report.reason !== undefined ? { lastError: report.reason } : {}),
            ...(r.status.destinationProblem !== undefined || r.status.state === 'waiting-for-destination'
              ? { reason: undefined, destinationProblem: undefined }
              : {}),
          });
        }
        // A backup drive simply not plugged in, or found at another place (followed at once), is
        // no problem to notify (the tray and status say it, as for a phone); a source gone, or a
        // backup folder that needs the user, is.
        const unplugged =
          report.state === 'waiting-for-destination' &&
          (r.status.destinationProblem === 'not-connected' || r.destination?.last?.kind === 'moved');
        if ((report.state === 'waiting-for-source' || report.state === 'waiting-for-destination') && !unplugged) {
          const which = report.state === 'waiting-for-source' ? 'source' : 'destination';
          this.problem(r, `${which}-missing`, report.reason ?? `its ${which} folder is gone`);
        }
        return;
      }
      case 'held':
        // The guard's own advice is for the command line; here the pair waits for the user's answer.
        this.set(r, { held: report.because });
        this.problem(
          r,
          'held',
          `${report.because} Nothing is deleted until you answer: ` +
            `in the tray menu, or with 'synctray pair deletions ${r.pair.name}'.`,
        );
        return;
      case 'error':
        // A phone pair that failed: perhaps its phone went away, which the tracker may not have heard.
        if (isPhonePair(r.pair)) void this.tracker?.refresh();
        this.set(r, { lastError: report.message });
        this.problem(r, 'failed', report.message);
        return;
    }
  }

  private set(r: Running, change: Partial<PairStatus>): void {
    r.status = { ...r.status, ...change };
    for (const [k, v] of Object.entries(change))
      if (v === undefined) delete (r.status as unknown as Record<string, unknown>)[k];
    this.publish({ type: 'status', status: r.status });
  }

  private problem(r: Running, kind: ProblemKind, message: string): void {
    this.publish({ type: 'problem', pair: r.status, kind, message });
  }

  /** A listener's fault (a log that cannot be written, say) must not reach the pair's loop. */
  private publish(event: ServiceEvent): void {
    try {
      this.emit('event', event);
    } catch {
      // the listener's own to report; the pairs go on
    }
  }
}

/** A watcher that sees nothing: a phone pair's changes are found by its rescans. */
const unwatched: WatchFolder = async () => ({ close: async () => undefined });

function copiedOrUpdated(e: SyncEvent): e is Extract<SyncEvent, { type: typeof SyncEvents.ItemDone }> {
  return e.type === SyncEvents.ItemDone && (e.outcome === 'copied' || e.outcome === 'updated');
}
