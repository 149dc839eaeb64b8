import path from 'node:path';
import { formatSpan } from '../core/format.js';
import { isSyncMode, SYNC_MODES, type SyncMode } from '../core/modes.js';
import { excludeMatcher } from '../engine/exclude.js';
import { checkNew, freeName } from '../config/pairs.js';
import {
  DEFAULT_KEEP_VERSIONS_MS,
  DEFAULT_PHONE_RESCAN_MS,
  DEFAULT_RESCAN_MS,
  NOTIFY_LEVELS,
  type NotifyLevel,
  type Pair,
  type PairChange,
} from '../config/schema.js';
import { isPhonePair } from '../service/phones.js';
import { checkPaths, refuseRemoteSource } from './check-paths.js';
import { CONFIG_DIR_OPTION } from './command.js';
import { parseDuration } from './duration.js';
import { excludesFrom } from './exclude-from.js';
import { UsageError } from './usage-error.js';
import {
  LIMIT_OPTIONS,
  limitChange,
  NO_LIMIT_OPTIONS,
  refuseLimitsWithoutRemote,
  transferLimits,
  type NoLimitValues,
} from './transfer-limit-options.js';
import { transferLimitsOf, transferLimitsText } from '../core/transfer-limits.js';

/** The options `pair add` and `pair set` share: what a pair syncs and how. */
const PAIR_OPTIONS = {
  ...CONFIG_DIR_OPTION,
  mode: { type: 'string', short: 'm' },
  exclude: { type: 'string', multiple: true },
  'exclude-from': { type: 'string', multiple: true },
  checksum: { type: 'boolean', short: 'c' },
  'rescan-interval': { type: 'string' },
  notify: { type: 'string' },
  versions: { type: 'string' },
  'no-versions': { type: 'boolean' },
  'keep-versions': { type: 'string' },
  ...LIMIT_OPTIONS,
} as const;

export const ADD_OPTIONS = {
  ...PAIR_OPTIONS,
  name: { type: 'string' },
  links: { type: 'string' },
  paused: { type: 'boolean' },
} as const;

export const SET_OPTIONS = {
  ...PAIR_OPTIONS,
  'no-exclude': { type: 'boolean' },
  'no-checksum': { type: 'boolean' },
  ...NO_LIMIT_OPTIONS,
} as const;

type Values = NoLimitValues & {
  mode?: string;
  notify?: string;
  exclude?: string[];
  'exclude-from'?: string[];
  'rescan-interval'?: string;
  versions?: string;
  'no-versions'?: boolean;
  'keep-versions'?: string;
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

/** --keep-versions in milliseconds (0: forever), checked against --versions and --no-versions. */
function keepVersions(v: Values): number | undefined {
  if (v.versions !== undefined && v['no-versions'])
    throw new UsageError('--versions and --no-versions go one at a time: keep versions in DIR, or none.');
  const keep = v['keep-versions'];
  if (keep === undefined) return undefined;
  if (v['no-versions'])
    throw new UsageError('--keep-versions says how long versions are kept: not with --no-versions.');
  return parseDuration(keep, '--keep-versions');
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
  v: Values & { name?: string; links?: string; checksum?: boolean; paused?: boolean },
): Omit<Pair, 'id'> {
  const chosenMode = mode(v.mode ?? 'mirror');
  const level = notify(v.notify ?? 'all');
  const links = v.links ?? 'keep';
  if (links !== 'keep' && links !== 'copy') throw new UsageError(`--links must be keep or copy (got "${links}").`);
  const exclude = excludes(v);
  const rescan = v['rescan-interval'] !== undefined ? parseDuration(v['rescan-interval']) : undefined;
  const keep = keepVersions(v);
  const limits = transferLimits(v);
  refuseRemoteSource(source!);
  const paths = checkPaths(source!, destination!, v.versions);
  refuseLimitsWithoutRemote(
    v,
    [paths.destination],
    `the destination ${paths.destination} is not an rclone remote (rclone:REMOTE:PATH)`,
  );
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
    ...(paths.versions ? { versions: paths.versions } : v['no-versions'] ? { versions: false as const } : {}),
    keepVersionsMs: keep ?? DEFAULT_KEEP_VERSIONS_MS,
    rescanIntervalMs: rescan ?? (isPhonePair(paths) ? DEFAULT_PHONE_RESCAN_MS : DEFAULT_RESCAN_MS),
    paused: v.paused === true,
    notify: level,
    ...limits,
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
  const keep = keepVersions(v);
  if (keep !== undefined) change.keepVersionsMs = keep;
  if (v['no-versions']) change.versions = false;
  Object.assign(change, limitChange(v));
  const added = excludes(v);
  if (Object.keys(change).length === 0 && added.length === 0 && !v['no-exclude'] && v.versions === undefined) {
    throw new UsageError(
      'pair set needs something to change: --mode, --exclude, --exclude-from, --no-exclude, --rescan-interval, ' +
        '--notify, --checksum, --no-checksum, --versions, --no-versions, --keep-versions, --bwlimit, ' +
        '--transfers, --checkers or their --no- forms.',
    );
  }
  return (pair) => {
    refuseLimitsWithoutRemote(
      v,
      [pair.destination],
      `pair "${pair.name}" backs up to ${pair.destination}, not to an rclone remote`,
    );
    // A versions folder is checked against the pair's own folders, as pair add checks it.
    const versions =
      v.versions !== undefined ? { versions: checkPaths(pair.source, pair.destination, v.versions).versions! } : {};
    if (added.length === 0 && !v['no-exclude']) return { ...change, ...versions };
    const kept = v['no-exclude'] ? [] : pair.exclude;
    return {
      ...change,
      ...versions,
      exclude: [...kept, ...added.filter((p, i) => !kept.includes(p) && added.indexOf(p) === i)],
    };
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
      change.rescanIntervalMs === 0 ? 'no periodic rescan' : `rescan every ${formatSpan(change.rescanIntervalMs)}`,
    );
  if (change.notify !== undefined) parts.push(`notify ${change.notify}`);
  if (change.checksum !== undefined) parts.push(change.checksum ? 'checksum' : 'no checksum');
  if (change.versions !== undefined)
    parts.push(change.versions === false ? 'no versions' : `versions in ${change.versions}`);
  if (change.keepVersionsMs !== undefined)
    parts.push(
      change.keepVersionsMs === 0 ? 'versions kept forever' : `versions kept ${formatSpan(change.keepVersionsMs)}`,
    );
  if (change.bwlimit === null) parts.push('no bandwidth limit');
  if (change.transfers === null) parts.push('default transfers');
  if (change.checkers === null) parts.push('default checkers');
  const limits = transferLimitsText(transferLimitsOf(change));
  if (limits !== '') parts.push(limits);
  return parts.join('; ');
}
