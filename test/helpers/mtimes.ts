/**
 * Modification times as exact integer nanoseconds: setting them on disk as closely as Node
 * allows, and printing them for messages.
 */
import fs from 'node:fs';

export const NS_PER_SEC = 1_000_000_000n;

/** `1700000000.000000001` style, exact, for messages. Negative times as `-1.500000000`. */
export function formatNs(ns: bigint): string {
  const sign = ns < 0n ? '-' : '';
  const abs = ns < 0n ? -ns : ns;
  return `${sign}${abs / NS_PER_SEC}.${(abs % NS_PER_SEC).toString().padStart(9, '0')}`;
}

/**
 * Sets the mtime (and atime) of the item itself, never a symlink's target, and returns the mtime
 * the file system now reports.
 *
 * Node takes seconds as a double (about 240 ns steps near 2023), so the result is within a
 * fraction of a microsecond of `ns`, but always in the same whole second: a naive double of
 * X.999999999 would round up to X+1. Node turns any negative number into "now", so times before
 * 1970 go through a Date, which carries whole milliseconds exactly.
 */
export function setMtime(abs: string, ns: bigint, atimeNs: bigint = ns): bigint {
  fs.lutimesSync(abs, utimeArg(atimeNs), utimeArg(ns));
  return fs.lstatSync(abs, { bigint: true }).mtimeNs;
}

function utimeArg(ns: bigint): number | Date {
  if (ns < 0n) {
    // Rounded to the nearest millisecond, so a time read back from a Date-set item sets it again.
    return new Date(Math.round(Number(ns) / 1e6));
  }
  const sec = ns / NS_PER_SEC;
  let d = Number(sec) + Number(ns % NS_PER_SEC) / 1e9;
  while (Math.floor(d) > Number(sec)) d -= 2 ** (Math.floor(Math.log2(d)) - 52);
  return d;
}
