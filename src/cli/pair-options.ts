import path from 'node:path';
import { isSyncMode, SYNC_MODES, type SyncMode } from '../core/modes.js';
import { excludeMatcher } from '../engine/exclude.js';
import { checkNew, freeName } from '../config/pairs.js';
import {
  DEFAULT_PHONE_RESCAN_MS,
  DEFAULT_RESCAN_MS,
  NOTIFY_LEVELS,
  type NotifyLevel,
  type Pair,
  type PairChange,
} from '../config/schema.js';
import { isPhonePair } from '../service/phones.js';
import { checkPaths } from './check-paths.js';
import { CONFIG_DIR_OPTION } from './command.js';
import { parseDuration } from './duration.js';
import { excludesFrom } from './exclude-from.js';
import { UsageError } from './usage-error.js';

/** The options `pair add` and `pair set` share: what a pair syncs and how. */
const PAIR_OPTIONS = {
  ...CONFIG_DIR_OPTION,
  mode: { type: 'string', short: 'm' },
  exclude: { type: 'string', multiple: true },
  'exclude-from': { type: 'string', multiple: true },
  checksum: { type: 'boolean', short: 'c' },
  'rescan-interval': { type: 'string' },
  notify: { type: 'string' },
} as const;

export const ADD_OPTIONS = {
  ...PAIR_OPTIONS,
  name: { type: 'string' },
  links: { type: 'string' },
  versions: { type: 'string' },
  paused: { type: 'boolean' },
} as const;

export const SET_OPTIONS = {
  ...PAIR_OPTIONS,
  'no-exclude': { type: 'boolean' },
  'no-checksum': { type: 'boolean' },
} as const;

type Values = {
  mode?: string;
  notify?: string;
  exclude?: string[];
  'exclude-from'?: string[];
  'rescan-interval'?: string;
};

function mode(text: string): SyncMode {
  if (!isSyncMode(text)) throw new UsageError(`--mode must be one of ${SYNC_MODES.join(', ')} (got "${text}").`);
  return text;
}

function notify(text: string): NotifyLevel {
  const level = NOTIFY_LEVELS.find((l) => l === text);
  if (!level) throw new UsageError(`--notify must be one of ${NOTIFY_LEVELS.join(', ')} (got "${text}").`);
  return level;
}

/** --exclude and --exclude-from together, each pattern checked. */
function excludes(v: Values): string[] {
  const patterns = [...(v.exclude ?? []), ...excludesFrom(v['exclude-from'])];
  excludeMatcher(patterns);
  return patterns;
}

/** A new pair from the command line, checked as sync checks its folders and against the other pairs. */
export function preparePair(
  pairs: readonly Pair[],
  [source, destination]: string[],
  v: Values & { name?: string; links?: string; versions?: string; checksum?: boolean; paused?: boolean },
): Omit<Pair, 'id'> {
  const chosenMode = mode(v.mode ?? 'mirror');
  const level = notify(v.notify ?? 'all');
  const links = v.links ?? 'keep';
  if (links !== 'keep' && links !== 'copy') throw new UsageError(`--links must be keep or copy (got "${links}").`);
  const exclude = excludes(v);
  const rescan = v['rescan-interval'] !== undefined ? parseDuration(v['rescan-interval']) : undefined;
  const paths = checkPaths(source!, destination!, v.versions);
  const name = v.name ?? freeName(pairs, path.basename(paths.source) || 'pair');
  if (name.trim() === '') throw new UsageError('--name is empty: give the pair a name, or leave --name out.');
  const pair: Omit<Pair, 'id'> = {
    name,
    source: paths.source,
    destination: paths.destination,
    mode: chosenMode,
    checksum: v.checksum === true,
    exclude,
    ...(links === 'copy' ? { links } : {}),
    ...(paths.versions ? { versions: paths.versions } : {}),
    rescanIntervalMs: rescan ?? (isPhonePair(paths) ? DEFAULT_PHONE_RESCAN_MS : DEFAULT_RESCAN_MS),
    paused: v.paused === true,
    notify: level,
  };
  checkNew(pairs, pair);
  return pair;
}

/**
 * What `pair set` changes in a pair, checked before any pair is looked at. --exclude and
 * --exclude-from add patterns to the pair's; --no-exclude drops the pair's own first (so
 * `--no-exclude --exclude X` leaves X alone), as git's `--no-` options reset a list.
 */
export function pairChange(
  v: Values & { checksum?: boolean; 'no-checksum'?: boolean; 'no-exclude'?: boolean },
): (pair: Pair) => PairChange {
  if (v.checksum && v['no-checksum']) throw new UsageError('pair set takes --checksum or --no-checksum, not both.');
  const change: PairChange = {};
  if (v.mode !== undefined) change.mode = mode(v.mode);
  if (v.notify !== undefined) change.notify = notify(v.notify);
  if (v['rescan-interval'] !== undefined) change.rescanIntervalMs = parseDuration(v['rescan-interval']);
  if (v.checksum || v['no-checksum']) change.checksum = v.checksum === true;
  const added = excludes(v);
  if (Object.keys(change).length === 0 && added.length === 0 && !v['no-exclude']) {
    throw new UsageError(
      'pair set needs something to change: --mode, --exclude, --exclude-from, --no-exclude, --rescan-interval, ' +
        '--notify, --checksum or --no-checksum.',
    );
  }
  return (pair) => {
    if (added.length === 0 && !v['no-exclude']) return change;
    const kept = v['no-exclude'] ? [] : pair.exclude;
    return { ...change, exclude: [...kept, ...added.filter((p, i) => !kept.includes(p) && added.indexOf(p) === i)] };
  };
}

/** What a change does, for people: `mode update; exclude *.tmp, cache/`. */
export function changeText(change: PairChange): string {
  const parts: string[] = [];
  if (change.mode !== undefined) parts.push(`mode ${change.mode}`);
  if (change.exclude !== undefined)
    parts.push(change.exclude.length > 0 ? `exclude ${change.exclude.join(', ')}` : 'nothing excluded');
  if (change.rescanIntervalMs !== undefined)
    parts.push(
      change.rescanIntervalMs === 0 ? 'no periodic rescan' : `rescan every ${rescanText(change.rescanIntervalMs)}`,
    );
  if (change.notify !== undefined) parts.push(`notify ${change.notify}`);
  if (change.checksum !== undefined) parts.push(change.checksum ? 'checksum' : 'no checksum');
  return parts.join('; ');
}

function rescanText(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const)
    if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms / 1000}s`;
}
