import type { Pair } from '../config/schema.js';
import { RefusedError } from '../core/errors.js';
import { type ArgsOf, askService, type ControlCommand, type Pushed, type ResultOf } from '../service/control.js';
import { joinService, type Joining } from '../service/join.js';
import { statusBefore } from '../service/pair-state.js';
import type { PairStatus, ServiceEvent } from '../service/service.js';
import type { TrayService } from './tray-service.js';

/** How often a tray whose service stopped looks for it again. */
const LOOK_AGAIN_MS = 2000;

export interface JoinedDeps {
  /** Shows a notification the service passed on (this tray shows them while it is joined). */
  notify(n: { title: string; body: string; urgency: 'normal' | 'critical' }): void;
  /** Where the tray's own warnings go: the service's log belongs to the service. */
  warn(text: string): void;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(t: unknown): void;
}

/**
 * A service running in another process (`synctray run`, say), joined over its control socket: the
 * state it pushes is kept here for the menu, every action is a request to it, and its
 * notifications are shown by this tray. When it stops, the tray says so and looks for it again
 * every 2 s; a service started meanwhile is joined.
 */
export class JoinedService implements TrayService {
  /** Joined while the connection lasts. */
  get kind(): 'joined' | 'gone' {
    return this.joining ? 'joined' : 'gone';
  }
  /** The joined service's process. */
  pid = 0;
  private joining: Joining | undefined;
  private list: Pair[] = [];
  private readonly statuses = new Map<string, PairStatus>();
  private log = '';
  private readonly listeners: ((e: ServiceEvent | undefined) => void)[] = [];
  private timer: unknown;
  private closed = false;
  /** Pushed before the state on joining was taken in: applied after it, never under it. */
  private early: Pushed[] | undefined;

  constructor(
    private readonly configDir: string,
    private readonly deps: JoinedDeps,
  ) {}

  /**
   * Joins the running service; false when none runs. A refusal (another tray is shown) is thrown
   * as it came.
   */
  async join(): Promise<boolean> {
    const early: Pushed[] = [];
    this.early = early;
    let joining: Joining | undefined;
    try {
      joining = await joinService(this.configDir, { notifications: true }, (m) =>
        this.early ? this.early.push(m) : this.onPushed(m),
      );
    } finally {
      this.early = undefined;
    }
    if (!joining || this.closed) {
      joining?.close();
      return false;
    }
    this.joining = joining;
    this.pid = joining.joined.pid;
    this.list = joining.joined.pairs;
    this.log = joining.joined.logFile;
    this.statuses.clear();
    for (const s of joining.joined.status) this.statuses.set(s.id, s);
    void joining.ended.then(() => this.onEnded(joining));
    for (const m of early) this.onPushed(m);
    this.changed(undefined);
    return true;
  }

  /** Leaves the service (it runs on) and stops looking for it. */
  close(): void {
    this.closed = true;
    this.deps.clearTimeout(this.timer);
    this.joining?.close();
  }

  /** Asks the service to stop (Stop SyncTray…). */
  async stopService(): Promise<void> {
    await this.ask('stop', {});
  }

  status(): PairStatus[] {
    if (this.kind === 'gone') return [];
    return this.list.map((p) => this.statuses.get(p.id) ?? statusBefore(p, 'scanning'));
  }

  pairs(): Pair[] {
    return this.kind === 'gone' ? [] : this.list;
  }

  find(nameOrId: string): Pair | undefined {
    return this.list.find((p) => p.id === nameOrId) ?? this.list.find((p) => p.name === nameOrId);
  }

  onChange(fn: (event: ServiceEvent | undefined) => void): void {
    this.listeners.push(fn);
  }

  pause = (pair: string, untilMs?: number) =>
    this.ask('pause', { pair, ...(untilMs !== undefined ? { untilMs } : {}) });
  resume = (pair: string) => this.ask('resume', { pair });
  pauseAll = (untilMs?: number) => this.ask('pause', { all: true, ...(untilMs !== undefined ? { untilMs } : {}) });
  resumeAll = () => this.ask('resume', { all: true });
  resync = (pair: string) => this.ask('resync', { pair });
  remove = (pair: string) => this.ask('remove', { pair });
  heldDeletions = (pair: string) => this.ask('held', { pair });
  restore = (pair: string) => this.ask('restore', { pair });
  applyDeletions = (pair: string, token: string) => this.ask('apply-deletions', { pair, token });
  add = (add: Omit<Pair, 'id'>) => this.ask('add', { add });
  versions = (pair: string, prefix: string) => this.ask('versions', { pair, prefix });
  restoreVersions = (pair: string, request: ArgsOf<'restore-version'>) =>
    this.ask('restore-version', { ...request, pair });

  async setAutostart(on: boolean): Promise<void> {
    // The entry itself is written by the tray; the service's config only records it, when it runs.
    if (this.kind === 'gone') return;
    await this.ask('settings', { settings: { autostart: on } });
  }

  logFile(): string {
    return this.log;
  }

  warn(text: string): void {
    this.deps.warn(text);
  }

  private async ask<C extends ControlCommand>(command: C, args: ArgsOf<C>): Promise<ResultOf<C>> {
    const answer = await askService(this.configDir, command, args);
    if (!answer) throw new RefusedError('SyncTray is not running: start it from the menu (Start SyncTray).');
    return answer.result;
  }

  private onPushed(m: Pushed): void {
    if (m.type === 'notification') return this.deps.notify(m);
    if (m.type === 'pairs') {
      this.list = m.pairs;
      return this.changed(undefined);
    }
    const e = m.event;
    const status = e.type === 'status' ? e.status : e.pair;
    this.statuses.set(status.id, status);
    this.changed(e);
  }

  private onEnded(joining: Joining): void {
    if (this.joining !== joining) return;
    this.joining = undefined;
    if (this.closed) return;
    this.deps.warn('SyncTray stopped; the tray looks for it every 2 s.');
    this.changed(undefined);
    this.lookAgain();
  }

  private lookAgain(): void {
    if (this.closed) return;
    this.timer = this.deps.setTimeout(() => {
      this.join().then(
        (found) => found || this.lookAgain(),
        // Refused (another tray joined meanwhile) or not answering: looked for again later.
        () => this.lookAgain(),
      );
    }, LOOK_AGAIN_MS);
  }

  private changed(e: ServiceEvent | undefined): void {
    for (const fn of this.listeners) fn(e);
  }
}
