import type { Pair } from '../config/schema.js';
import { transferLimitsOf, type TransferLimits } from '../core/transfer-limits.js';
import type { PairState } from '../watch/watch-pair.js';

/**
 * A pair's state as the user sees it (the tray and `status`). `stopped` is said by `status` alone,
 * of a pair that is not paused while SyncTray is not running.
 */
export type PairStateName =
  | 'idle'
  | 'scanning'
  | 'syncing'
  | 'paused'
  | 'stopped'
  | 'waiting-for-source'
  | 'waiting-for-destination'
  | 'waiting-for-phone'
  | 'error';

/**
 * What the user is shown for the state a pair's watcher reports. Every step scans first (the pair
 * is `syncing` once its plan has work, which the service sees in the sync's events), and a pair
 * watching after a step that left items unsynced is in `error` until a step goes clean.
 */
export function shownState(reported: PairState, lastError: string | undefined): PairStateName {
  if (reported === 'watching') return lastError ? 'error' : 'idle';
  if (reported === 'syncing') return 'scanning';
  return reported;
}

/**
 * The reason of a pair that waits, shown as paused, while the computer runs on battery (settings
 * pause-on-battery); it is not paused in the config, and goes on by itself on mains power.
 */
export const ON_BATTERY = 'paused: on battery';

/** What needsUser looks at. */
export interface StateSeen {
  state: PairStateName;
  held?: string;
  phone?: { connection: string };
  destinationProblem?: string;
}

/**
 * What only the user can mend: an error, a missing source, held deletions, a locked phone, adb
 * not installed, a backup folder without its marker. A backup drive or a phone that is simply not
 * plugged in is not one: the pair goes on by itself when it is.
 */
export function needsUser(p: StateSeen): boolean {
  return (
    p.state === 'error' ||
    p.state === 'waiting-for-source' ||
    p.held !== undefined ||
    (p.state === 'waiting-for-phone' && p.phone?.connection !== 'not-connected') ||
    (p.state === 'waiting-for-destination' && p.destinationProblem !== 'not-connected')
  );
}

/** What a pair's status says before anything is known of its syncs (a PairStatus, without what only syncs tell). */
export interface StatusBefore extends TransferLimits {
  id: string;
  name: string;
  source: string;
  destination: string;
  mode: string;
  state: PairStateName;
  pausedUntil?: string;
  files: number;
  bytes: number;
}

/** A pair's status before anything is known of its syncs: paused, or `unpaused` (the state said otherwise). */
export function statusBefore(p: Pair, unpaused: PairStateName): StatusBefore {
  return {
    id: p.id,
    name: p.name,
    source: p.source,
    destination: p.destination,
    mode: p.mode,
    state: p.paused ? 'paused' : unpaused,
    ...(p.paused && p.pausedUntil !== undefined ? { pausedUntil: p.pausedUntil } : {}),
    files: 0,
    bytes: 0,
    ...transferLimitsOf(p),
  };
}

/**
 * Whether pausing every pair until `untilMs` (until resumed when undefined) leaves this pair's own
 * pause as it is, because that lasts at least as long: "pause all for 1 hour" means nothing syncs
 * for an hour, not that a pair paused until tomorrow, or until resumed, starts again after it.
 */
export function pausedLonger(pair: Pick<Pair, 'paused' | 'pausedUntil'>, untilMs: number | undefined): boolean {
  if (!pair.paused) return false;
  if (pair.pausedUntil === undefined) return true;
  return untilMs !== undefined && Date.parse(pair.pausedUntil) >= untilMs;
}
