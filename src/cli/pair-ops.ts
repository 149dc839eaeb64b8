import { RefusedError } from '../core/errors.js';
import { places } from '../config/places.js';
import type { Pair, PairChange } from '../config/schema.js';
import { ConfigStore } from '../config/store.js';
import { askService, type ArgsOf, type ControlCommand, type PairsChosen, type ResultOf } from '../service/control.js';
import type { HeldDeletions } from '../service/held.js';
import {
  listPairVersions,
  restorePairVersions,
  type ListedVersion,
  type RestoreRequest,
  type RestoreResult,
} from '../service/pair-versions.js';
import { markNewPair } from '../service/pair-destination.js';
import { pausedLonger } from '../service/pair-state.js';
import type { PairStatus } from '../service/service.js';
import { checkNew } from '../config/pairs.js';
import { app } from '../app.js';
import type { Io } from './io.js';

/**
 * What the pair commands do, whether SyncTray runs or not. While it runs it owns the config:
 * changes go through it and take effect at once. Pairs are named by id.
 */
export interface PairOps {
  /** Whether a running SyncTray carries the changes out now (else they wait for its start). */
  readonly live: boolean;
  /** The pairs, as they were when this was opened. */
  readonly pairs: readonly Pair[];
  add(pair: Omit<Pair, 'id'>): Promise<Pair>;
  set(id: string, change: PairChange): Promise<Pair>;
  remove(id: string): Promise<Pair>;
  /** Until resumed, or with `untilMs` (wall-clock ms) until then, when the pair resumes by itself. */
  pause(chosen: PairsChosen, untilMs?: number): Promise<void>;
  resume(chosen: PairsChosen): Promise<void>;
  /** What each pair does now that it was asked to compare everything; undefined when none runs to ask. */
  resync(chosen: PairsChosen): Promise<PairStatus[] | undefined>;
  held(id: string): Promise<HeldDeletions>;
  applyDeletions(id: string, token: string): Promise<void>;
  restore(id: string): Promise<{ restored: number; failed: number; errors: string[] }>;
  /** The pair's versions under `prefix` ('' for all), newest first. */
  versions(id: string, prefix: string): Promise<ListedVersion[]>;
  /** Brings versions back, overwriting nothing (see service/pair-versions.ts). */
  restoreVersions(id: string, request: RestoreRequest): Promise<RestoreResult>;
}

/** The pair operations for the config in `configDir`: through the running SyncTray, else on the config itself. */
export async function openPairOps(configDir: string | undefined, io: Io): Promise<PairOps> {
  const where = places(configDir);
  const running = await askService(where.config, 'list', {});
  if (running) return serviceOps(where.config, running.result);
  const { store, problems } = ConfigStore.open(where.config);
  for (const p of problems) io.stderr.write(`synctray: ${p.message}${p.keptAt ? ` It is kept as ${p.keptAt}.` : ''}\n`);
  return configOps(store);
}

/** What a command on one pair takes besides its options. */
export const ONE_PAIR = { min: 1, max: 1, what: 'one pair, by name or id' };

/** The pair a name or id means, or a refusal naming it. */
export function findPair(ops: PairOps, nameOrId: string): Pair {
  const pair = ops.pairs.find((p) => p.id === nameOrId) ?? ops.pairs.find((p) => p.name === nameOrId);
  if (!pair) throw new RefusedError(`No pair is called "${nameOrId}" (see 'synctray pair list').`);
  return pair;
}

const NOT_RUNNING_HOLDS_NOTHING =
  'SyncTray is not running, so no deletions are held back: a guard holds them only in a running SyncTray. ' +
  "Start it ('synctray run' or the tray); a one-off 'synctray sync' shows what it would delete with --dry-run.";

function configOps(store: ConfigStore): PairOps {
  const pairs = store.pairs();
  const ids = (chosen: PairsChosen) => ('all' in chosen ? store.pairs().map((p) => p.id) : [chosen.pair]);
  // The service that starts next resumes a pair whose time has come (see Service.start).
  const setPaused = (chosen: PairsChosen, paused: boolean, untilMs?: number) => {
    const pausedUntil = untilMs === undefined ? undefined : new Date(untilMs).toISOString();
    for (const id of ids(chosen)) {
      const pair = store.find(id);
      if (paused && 'all' in chosen && pair && pausedLonger(pair, untilMs)) continue;
      store.update(id, { paused, pausedUntil });
    }
    return Promise.resolve();
  };
  const holdsNothing = () => Promise.reject(new RefusedError(NOT_RUNNING_HOLDS_NOTHING));
  const byId = (id: string) => {
    const pair = store.find(id);
    if (!pair) throw new RefusedError(`No pair has the id "${id}" (see 'synctray pair list').`);
    return pair;
  };
  return {
    live: false,
    pairs,
    // Checked again against the pairs as they are when it is written: another add may have come first.
    add: (pair) =>
      markNewPair(
        app.destinations(),
        store,
        store.add(pair, (now) => checkNew(now, pair)),
      ),
    set: (id, change) => Promise.resolve(store.update(id, change)),
    remove: (id) => Promise.resolve(store.remove(id)),
    pause: (chosen, untilMs) => setPaused(chosen, true, untilMs),
    resume: (chosen) => setPaused(chosen, false),
    resync: () => Promise.resolve(undefined),
    held: holdsNothing,
    applyDeletions: holdsNothing,
    restore: holdsNothing,
    versions: (id, prefix) => listPairVersions(app.openStorage, byId(id), prefix),
    restoreVersions: (id, request) => restorePairVersions(app.openStorage, byId(id), request),
  };
}

function serviceOps(configDir: string, pairs: Pair[]): PairOps {
  const ask = async <C extends ControlCommand>(command: C, args: ArgsOf<C>): Promise<ResultOf<C>> => {
    const answer = await askService(configDir, command, args);
    if (!answer) throw new RefusedError('SyncTray stopped while this was being asked; run the command again.');
    return answer.result;
  };
  return {
    live: true,
    pairs,
    add: async (pair) => {
      const added = await ask('add', { add: pair });
      return { ...pair, id: added.id };
    },
    set: (id, change) => ask('set', { pair: id, change }),
    remove: (id) => ask('remove', { pair: id }),
    pause: async (chosen, untilMs) =>
      void (await ask('pause', { ...chosen, ...(untilMs !== undefined ? { untilMs } : {}) })),
    resume: async (chosen) => void (await ask('resume', chosen)),
    resync: (chosen) => ask('resync', chosen),
    held: (id) => ask('held', { pair: id }),
    applyDeletions: async (id, token) => void (await ask('apply-deletions', { pair: id, token })),
    restore: (id) => ask('restore', { pair: id }),
    versions: (id, prefix) => ask('versions', { pair: id, prefix }),
    restoreVersions: (id, request) => ask('restore-version', { pair: id, ...request }),
  };
}
