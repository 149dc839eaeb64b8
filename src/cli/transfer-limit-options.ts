import type { LimitField, PairChange } from '../config/schema.js';
import { BANDWIDTH, MAX_LANES, type TransferLimits } from '../core/transfer-limits.js';
import { isRcloneLocation } from '../storage/rclone/endpoint.js';
import { UsageError } from './usage-error.js';

/** The options that limit what rclone does for a run or a pair: sync, watch, pair add and pair set take them. */
export const LIMIT_OPTIONS = {
  bwlimit: { type: 'string' },
  transfers: { type: 'string' },
  checkers: { type: 'string' },
} as const;

/** What `pair set` takes besides, to drop a pair's limit. */
export const NO_LIMIT_OPTIONS = {
  'no-bwlimit': { type: 'boolean' },
  'no-transfers': { type: 'boolean' },
  'no-checkers': { type: 'boolean' },
} as const;

export type LimitValues = { bwlimit?: string; transfers?: string; checkers?: string };

const NAMES = ['bwlimit', 'transfers', 'checkers'] as const;

/**
 * --bwlimit, --transfers and --checkers checked, as rclone would take them: a UsageError names the
 * option and what it takes. `--bwlimit off` is no limit (absent from the result).
 */
export function transferLimits(v: LimitValues): TransferLimits {
  const rate = v.bwlimit;
  if (rate !== undefined && rate.toLowerCase() !== 'off' && !BANDWIDTH.test(rate))
    throw new UsageError(`--bwlimit takes a rate as rclone writes one, e.g. 512K or 10M, or off (got "${rate}").`);
  return {
    ...(rate !== undefined && rate.toLowerCase() !== 'off' ? { bwlimit: rate } : {}),
    ...(v.transfers !== undefined ? { transfers: lanes(v.transfers, '--transfers') } : {}),
    ...(v.checkers !== undefined ? { checkers: lanes(v.checkers, '--checkers') } : {}),
  };
}

function lanes(text: string, option: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > MAX_LANES)
    throw new UsageError(`${option} takes a whole number from 1 to ${MAX_LANES} (got "${text}").`);
  return n;
}

/** The limit options given (`--bwlimit`), whatever their value. */
export function limitsGiven(v: LimitValues): string[] {
  return NAMES.filter((name) => v[name] !== undefined).map((name) => `--${name}`);
}

/**
 * Refuses limits for folders none of which is an rclone remote: they would limit nothing. `whose`
 * says which folders, in the message (`neither folder is one`).
 */
export function refuseLimitsWithoutRemote(v: LimitValues, locations: readonly string[], whose: string): void {
  const given = limitsGiven(v);
  if (given.length === 0 || locations.some(isRcloneLocation)) return;
  throw new UsageError(`${given.join(', ')} limit${given.length === 1 ? 's' : ''} what rclone does: ${whose}.`);
}

export type NoLimitValues = LimitValues & { 'no-bwlimit'?: boolean; 'no-transfers'?: boolean; 'no-checkers'?: boolean };

/**
 * What `pair set` changes in a pair's limits: a new value, or null to take one away (`--no-bwlimit`,
 * `--bwlimit off`). Checked as transferLimits checks them.
 */
export function limitChange(v: NoLimitValues): Pick<PairChange, LimitField> {
  for (const name of NAMES)
    if (v[name] !== undefined && v[`no-${name}`])
      throw new UsageError(`pair set takes --${name} or --no-${name}, not both.`);
  const limits = transferLimits(v);
  const asked = (name: LimitField) => v[name] !== undefined || v[`no-${name}`] === true;
  return {
    ...(asked('bwlimit') ? { bwlimit: limits.bwlimit ?? null } : {}),
    ...(asked('transfers') ? { transfers: limits.transfers ?? null } : {}),
    ...(asked('checkers') ? { checkers: limits.checkers ?? null } : {}),
  };
}
