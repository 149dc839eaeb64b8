import { NS_PER_SEC } from '../../core/entry.js';

/**
 * A time as rclone lists it (RFC 3339 with up to nine fraction digits: `2026-12-06T15:43:38.193895586Z`
 * or with an offset) in ns since the epoch; undefined when it is not one.
 */
export function parseRcloneTime(text: string): bigint | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return (BigInt(ms) / 1000n) * NS_PER_SEC + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/** A time as `rclone touch --timestamp` takes it: UTC, with nine fraction digits. */
export function touchTimestamp(ns: bigint): string {
  let sec = ns / NS_PER_SEC;
  if (ns < 0n && sec * NS_PER_SEC !== ns) sec -= 1n;
  const frac = ns - sec * NS_PER_SEC;
  return `${new Date(Number(sec) * 1000).toISOString().slice(0, 19)}.${frac.toString().padStart(9, '0')}`;
}
