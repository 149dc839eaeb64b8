import { NS_PER_SEC } from '../../core/entry.js';

/**
 * Nanoseconds to the seconds value Node's utimes family takes, as a string.
 * A double near 1.7e9 s only holds about a quarter of a microsecond, and older libuv truncates to
 * whole microseconds, so aim at the middle of the wanted microsecond: either way the file gets
 * floor(ns / 1000) µs and never spills into the next second. A string, because Node turns a
 * negative number (a time before 1970) into "now" but takes a numeric string as it is.
 */
export function nsToUtimeSeconds(ns: bigint): string {
  let sec = ns / NS_PER_SEC;
  let rest = ns % NS_PER_SEC;
  if (rest < 0n) {
    rest += NS_PER_SEC;
    sec -= 1n;
  }
  return String(Number(sec) + (Number(rest / 1000n) + 0.5) / 1e6);
}
