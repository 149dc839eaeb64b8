import type { Pair } from '../config/schema.js';
import type { HeldDeletions } from '../service/held.js';
import type { ServiceHost } from '../service/host.js';
import type { ListedVersion, RestoreRequest, RestoreResult } from '../service/pair-versions.js';
import type { PairStatus, ServiceEvent } from '../service/service.js';

/**
 * What the tray shows and does, whoever runs the service: this process (ownService) or another one
 * it joined over the control socket (JoinedService). Every action goes through here.
 */
export interface TrayService {
  /** `own`: the service runs in this process; `joined`: in another; `gone`: the joined one stopped. */
  readonly kind: 'own' | 'joined' | 'gone';
  status(): PairStatus[];
  pairs(): Pair[];
  find(nameOrId: string): Pair | undefined;
  /** Called on every service event, and with undefined when the service comes or goes. */
  onChange(fn: (event: ServiceEvent | undefined) => void): void;
  /** Pauses a pair, until `untilMs` (epoch ms) when given. */
  pause(pairId: string, untilMs?: number): Promise<unknown>;
  resume(pairId: string): Promise<unknown>;
  /** Pauses every pair, until `untilMs` when given; a longer pause is kept (see Service.pauseAll). */
  pauseAll(untilMs?: number): Promise<unknown>;
  /** Resumes every pair, ending timed pauses too. */
  resumeAll(): Promise<unknown>;
  resync(pairId: string): Promise<unknown>;
  remove(pairId: string): Promise<unknown>;
  heldDeletions(pairId: string): Promise<HeldDeletions>;
  restore(pairId: string): Promise<{ restored: number; failed: number; errors: string[] }>;
  applyDeletions(pairId: string, token: string): Promise<unknown>;
  add(pair: Omit<Pair, 'id'>): Promise<unknown>;
  versions(pairId: string, prefix: string): Promise<ListedVersion[]>;
  restoreVersions(pairId: string, request: RestoreRequest): Promise<RestoreResult>;
  /** Records the start-at-login setting in the service's config. */
  setAutostart(on: boolean): Promise<void>;
  /** The service's log file. */
  logFile(): string;
  /** Something the tray should have in the log (the helper died, say). */
  warn(text: string): void;
}

/** The service of this process, as the tray uses it. */
export function ownService(host: ServiceHost): TrayService {
  const { service, store } = host;
  return {
    kind: 'own',
    status: () => service.status(),
    pairs: () => store.pairs(),
    find: (nameOrId) => store.find(nameOrId),
    onChange: (fn) => void service.on('event', fn),
    pause: (id, untilMs) => service.pause(id, untilMs),
    resume: (id) => service.resume(id),
    pauseAll: (untilMs) => service.pauseAll(untilMs),
    resumeAll: () => Promise.all(store.pairs().map((p) => service.resume(p.id))),
    resync: (id) => service.resync(id),
    remove: (id) => service.remove(id),
    heldDeletions: (id) => service.heldDeletions(id),
    restore: (id) => service.restore(id),
    applyDeletions: (id, token) => service.applyDeletions(id, token),
    add: (pair) => service.add(pair),
    versions: (id, prefix) => service.versions(id, prefix),
    restoreVersions: (id, request) => service.restoreVersions(id, request),
    setAutostart: async (on) => void host.updateSettings({ autostart: on }),
    logFile: () => host.log.file,
    warn: (text) => host.log.write('warn', text),
  };
}
