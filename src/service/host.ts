import { RefusedError } from '../core/errors.js';
import type { Places } from '../config/places.js';
import { LOG_LEVELS, NOTIFY_LEVELS, type LogLevel, type NotifyLevel, type Settings } from '../config/schema.js';
import { ConfigStore } from '../config/store.js';
import type { MountWatch } from '../watch/mounts.js';
import { announce, serveControl, type ControlHandlers, type Joined, type PairsChosen, type Peer } from './control.js';
import { checkArgs } from './control-args.js';
import { InstanceLock } from './instance-lock.js';
import { RotatingLog } from './log.js';
import type { Notifications, OpenNotifications } from './notifications.js';
import { Service, type PairStatus, type ServiceDeps, type ServiceEvent } from './service.js';
import { phoneSyncedText } from './phones.js';
import { BatteryPause } from './power/battery-pause.js';
import type { PowerSource, PowerWatch } from './power/watch-power.js';

/** A line of what the host does: `line` for `--json`, `text` for people (empty: nothing to say). */
export type HostOutput = (line: Record<string, unknown>, text: string, level: LogLevel) => void;

/** The real parts a host runs on, built by the composition root (app.ts). */
export interface HostParts extends Omit<ServiceDeps, 'watchMounts'> {
  /** As ServiceDeps.watchMounts; `onFallback` says why the mount table is read at intervals instead. */
  watchMounts?(onChange: () => void, onFallback: (why: string) => void): MountWatch;
  notifications: OpenNotifications;
  /** Follows the power source, for pause on battery; absent: pairs never wait for power. */
  watchPower?(onChange: (source: PowerSource) => void): PowerWatch;
}

/** How a refused join begins: the one refusal a second tray takes as its answer, not as a failure. */
export const TRAY_SHOWN = 'A tray is already shown for this SyncTray';

/** A first sync that took longer than this gets a notification when it is done. */
const LONG_SYNC_MS = 30_000;

/**
 * Everything around the service that `run` and the tray share: the instance lock, the config, the
 * log, notifications and the control socket. One per process.
 */
export class ServiceHost {
  /** The tray shown: by this process itself, or one that joined over the control socket. */
  private tray: 'here' | Peer | undefined;
  /** A joined tray that shows the notifications instead of this process. */
  private notifyTo: Peer | undefined;
  private readonly stopAsked: (() => void)[] = [];

  private constructor(
    readonly service: Service,
    readonly store: ConfigStore,
    readonly log: RotatingLog,
    private current: Settings,
    private readonly battery: BatteryPause,
    private readonly closing: () => Promise<void>,
  ) {}

  /** Takes the lock (refused when another instance runs), opens the config and starts every pair. */
  static async start(where: Places, output: HostOutput, parts: HostParts): Promise<ServiceHost> {
    // The lock lives with the config it guards, whatever the environment says about run-time folders.
    const lock = InstanceLock.acquire(where.config);
    const released = () => {
      announce(where.config, undefined);
      lock.release();
    };
    // However the process ends, nothing is left claiming it runs.
    process.once('exit', released);
    let control: Awaited<ReturnType<typeof serveControl>> | undefined;
    let battery: BatteryPause | undefined;
    const giveUp = () => {
      released();
      process.removeListener('exit', released);
    };
    try {
      const { store, problems } = ConfigStore.open(where.config);
      // Settings are read from the file once and then only changed through the host: a config
      // edited by hand while running must not break logging.
      let host: ServiceHost | undefined;
      const initial = store.settings();
      const log = new RotatingLog(where.logs, () => host?.current.logLevel ?? initial.logLevel);
      const say: HostOutput = (line, text, level) => {
        if (text) log.write(level, text);
        output(line, text, level);
      };
      for (const p of problems) say({ event: 'problem', message: p.message, keptAt: p.keptAt }, keptText(p), 'warn');
      const { watchMounts, notifications, watchPower, ...deps } = parts;
      const service = new Service(store, {
        ...deps,
        ...(watchMounts && {
          watchMounts: (onChange) =>
            watchMounts(onChange, (why) =>
              say(
                { event: 'mounts', message: why },
                `Mounted drives: ${why}; the mount table is read every 3 s instead.`,
                'info',
              ),
            ),
        }),
      });
      const notify = notifications(
        () => host?.current.notifications ?? initial.notifications,
        (pairId) => pairNotifyLevel(store, pairId),
        (why) => say({ event: 'problem', message: why }, why, 'warn'),
        (n) => host?.notifyTo?.push({ type: 'notification', ...n }) === true,
      );
      for (const p of problems) notify.add({ kind: 'config', message: keptText(p) });
      const shown = new Map<string, string>();
      service.on('event', (e) => report(e, say, notify, shown));
      let onBattery = false;
      battery = new BatteryPause(watchPower, (now) => {
        if (now === onBattery) return;
        onBattery = now;
        say(
          { event: 'power', source: now ? 'battery' : 'mains' },
          now
            ? 'On battery: the pairs wait until the computer is plugged in (pause-on-battery is on).'
            : 'On mains power, or pause-on-battery off: the pairs go on.',
          'info',
        );
        service.onBattery(now);
      });
      // Before the pairs start: on battery, they wait from the first.
      if (initial.pauseOnBattery) await battery.set(true);
      control = await serveControl(
        where.state,
        handlers(() => host!),
        checkArgs,
      );
      const served = control;
      const power = battery;
      host = new ServiceHost(service, store, log, initial, power, async () => {
        power.close();
        // The pairs stop first (a request under way still gets its answer), then the socket closes.
        await service.stop();
        await served.close();
        notify.stop();
        giveUp();
      });
      announce(where.config, control.socket);
      say(
        { event: 'running', pid: process.pid, pairs: store.pairs().length },
        `SyncTray is running (pid ${process.pid}) with ${store.pairs().length} pairs.`,
        'info',
      );
      service.start();
      return host;
    } catch (err) {
      // Started this far: nothing may be left listening, or the process would never end.
      battery?.close();
      await control?.close();
      giveUp();
      throw err;
    }
  }

  settings(): Settings {
    return { ...this.current };
  }

  /** This process shows the tray itself: a tray that would join is told one is shown. */
  showsTray(): void {
    this.tray = 'here';
  }

  /** Calls `fn` when a stop is asked for over the control socket (`synctray`'s Stop SyncTray). */
  onStopAsked(fn: () => void): void {
    this.stopAsked.push(fn);
  }

  /**
   * A tray joins: it is told the state now, then every service event and every change of the
   * pairs, and, with `notifications`, shows the notifications instead of this process, until its
   * connection closes. One tray at a time.
   */
  join(notifications: boolean, peer: Peer): Joined {
    if (this.tray !== undefined) throw new RefusedError(`${TRAY_SHOWN} (pid ${process.pid}).`);
    this.tray = peer;
    if (notifications) this.notifyTo = peer;
    const listener = (event: ServiceEvent) => peer.push({ type: 'event', event });
    this.service.on('event', listener);
    // Told when written, not looked for at every event: a read of the config is a read of its file.
    const unwatch = this.store.onPairsChanged((pairs) => peer.push({ type: 'pairs', pairs }));
    peer.onClose(() => {
      this.service.off('event', listener);
      unwatch();
      if (this.tray === peer) this.tray = undefined;
      if (this.notifyTo === peer) this.notifyTo = undefined;
      this.log.write('info', 'The tray left; notifications are shown by the service again.');
    });
    this.log.write('info', `A tray joined${notifications ? '; it shows the notifications' : ''}.`);
    return {
      pid: process.pid,
      status: this.service.status(),
      pairs: this.store.pairs(),
      settings: this.settings(),
      logFile: this.log.file,
    };
  }

  /** A stop asked for over the control socket: answered first, then carried out by whoever started the host. */
  askStop(): { pid: number } {
    if (this.stopAsked.length === 0)
      throw new RefusedError('This SyncTray cannot be stopped from outside; stop it where it was started.');
    setImmediate(() => {
      for (const fn of this.stopAsked) fn();
    });
    return { pid: process.pid };
  }

  /** Changes settings in the config and at once in the running process. */
  updateSettings(change: Partial<Settings>): Settings {
    checkSettings(change);
    this.current = this.store.updateSettings(change);
    if (change.pauseOnBattery !== undefined) void this.battery.set(change.pauseOnBattery);
    return this.settings();
  }

  stop(): Promise<void> {
    return this.closing();
  }
}

/** Refuses a setting that is not one, naming it and what it may be. */
export function checkSettings(change: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(change)) {
    const allowed: readonly unknown[] | undefined =
      key === 'notifications'
        ? NOTIFY_LEVELS
        : key === 'logLevel'
          ? LOG_LEVELS
          : key === 'autostart' || key === 'pauseOnBattery'
            ? [true, false]
            : undefined;
    if (!allowed)
      throw new RefusedError(
        `There is no setting "${key}" (settings: notifications, logLevel, autostart, pauseOnBattery).`,
      );
    if (!allowed.includes(value))
      throw new RefusedError(`The setting ${key} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)}).`);
  }
}

function keptText(p: { message: string; keptAt?: string }): string {
  return `${p.message}${p.keptAt ? ` It is kept as ${p.keptAt}.` : ''}`;
}

/** The log and output lines, and the notifications, for one service event. */
function report(e: ServiceEvent, say: HostOutput, notify: Notifications, lastShown: Map<string, string>): void {
  if (e.type === 'synced') {
    if (e.clean) notify.ok(e.pair.id);
    // A phone sync that brought something is worth telling: the phone may be unplugged any moment.
    if (e.pair.phone && e.copied > 0) {
      const text = phoneSyncedText(e.pair, e.pair.phone, e.copied, e.bytes);
      notify.add({ pairId: e.pair.id, pairName: e.pair.name, kind: 'phone-synced', message: text });
      say(
        { event: 'phone-synced', pair: e.pair.name, files: e.copied, bytes: e.bytes },
        `${e.pair.name}: ${text}`,
        'info',
      );
    }
    // A backup drive plugged back in: what it got is worth telling, as for a phone.
    if (e.connected !== undefined) {
      notify.add({ pairId: e.pair.id, pairName: e.pair.name, kind: 'drive-connected', message: e.connected });
      say(
        { event: 'drive-connected', pair: e.pair.name, files: e.copied, bytes: e.bytes, message: e.connected },
        `${e.pair.name}: ${e.connected}`,
        'info',
      );
    }
    // A long first sync is worth saying when it is over.
    if (e.first && e.clean && e.durationMs > LONG_SYNC_MS)
      notify.add({
        pairId: e.pair.id,
        pairName: e.pair.name,
        kind: 'synced',
        message: `The first sync of ${e.pair.name} is complete.`,
      });
    return;
  }
  if (e.type === 'problem') {
    notify.add({ pairId: e.pair.id, pairName: e.pair.name, kind: e.kind, message: e.message });
    return say(
      { event: 'problem', pair: e.pair.name, kind: e.kind, message: e.message },
      `${e.pair.name}: ${e.message}`,
      'warn',
    );
  }
  if (e.type === 'versions-removed') {
    return say(
      { event: 'versions-removed', pair: e.pair.name, stamp: e.stamp, message: e.message },
      `${e.pair.name}: ${e.message}`,
      'info',
    );
  }
  if (e.type === 'followed') {
    return say(
      { event: 'followed', pair: e.pair.name, from: e.from, to: e.to, message: e.message },
      `${e.pair.name}: ${e.message}`,
      'info',
    );
  }
  const changed = lastShown.get(e.status.id) !== e.status.state;
  lastShown.set(e.status.id, e.status.state);
  // Every status change goes to --json (progress included); people and the log get state changes.
  const why =
    e.status.state === 'error'
      ? e.status.lastError
      : e.status.state === 'waiting-for-destination'
        ? e.status.reason
        : undefined;
  say(
    { event: 'status', ...e.status },
    changed ? `${e.status.name}: ${e.status.state}${why ? ` (${why})` : ''}` : '',
    'info',
  );
}

/** A pair's own notification level, read from the config each time. */
function pairNotifyLevel(store: ConfigStore, pairId: string): NotifyLevel {
  try {
    return store.find(pairId)?.notify ?? 'all';
  } catch {
    return 'all'; // a config edited by hand while running: say too much rather than too little
  }
}

/** What the service does for `synctray pair …`, `status` and `settings` in another process. */
function handlers(current: () => ServiceHost): ControlHandlers {
  const each = async (chosen: PairsChosen, act: (nameOrId: string) => Promise<PairStatus>) => {
    const names =
      'all' in chosen
        ? current()
            .store.pairs()
            .map((p) => p.id)
        : [chosen.pair];
    const out = [];
    for (const n of names) out.push(await act(n));
    return out;
  };
  const service = () => current().service;
  return {
    status: () => service().status(),
    list: () => current().store.pairs(),
    add: ({ add }) => service().add(add),
    set: ({ pair, change }) => service().update(pair, change),
    remove: ({ pair }) => service().remove(pair),
    pause: ({ untilMs, ...chosen }) =>
      'all' in chosen ? service().pauseAll(untilMs) : each(chosen, (n) => service().pause(n, untilMs)),
    resume: (chosen) => each(chosen, (n) => service().resume(n)),
    resync: (chosen) => each(chosen, (n) => service().resync(n)),
    held: ({ pair }) => service().heldDeletions(pair),
    'apply-deletions': ({ pair, token }) => service().applyDeletions(pair, token),
    restore: ({ pair }) => service().restore(pair),
    settings: ({ settings }) => (settings ? current().updateSettings(settings) : current().settings()),
    versions: ({ pair, prefix }) => service().versions(pair, prefix),
    'restore-version': ({ pair, ...request }) => service().restoreVersions(pair, request),
    subscribe: ({ notifications }, peer) => current().join(notifications, peer),
    stop: () => current().askStop(),
  };
}
