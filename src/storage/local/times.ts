import { NS_PER_SEC } from '../../core/entry.js';

/**
 * Nanoseconds to the seconds value Node's utimes family takes.
 * libuv truncates what it is given to whole microseconds, and a double near 1.7e9 s only holds about
 * a quarter of a microsecond, so aim at the middle of the wanted microsecond: the truncation then
 * lands exactly on floor(ns / 1000) and never spills into the next second.
 */
export function nsToUtimeSeconds(ns: bigint): number {
  let sec = ns / NS_PER_SEC;
  let rest = ns % NS_PER_SEC;
  if (rest < 0n) {
    rest += NS_PER_SEC;
    sec -= 1n;
  }
  return Number(sec) + (Number(rest / 1000n) + 0.5) / 1e6;
}
