import { joinRel, parentOf, type RelPath } from '../core/rel-path.js';

// Short and fixed-length so a temp file fits next to a 255-byte name; the dot hides it from
// casual listings and the exact shape keeps us from ever touching a user's file.
const TEMP_NAME = /^\.~synctray-[0-9a-f]{16}\.part$/;
/** How every temp name starts. */
export const TEMP_PREFIX = '.~synctray-';

/**
 * Ours too: what a probe of the destination left when it was cut short (killed, or the drive pulled
 * out), `.~synctray-probe-…` and the reserved-name item `aux.~synctray-probe-…` (storage/local/probe.ts).
 * A run removes them as it removes its temp files.
 */
const PROBE_LEFTOVER = /^(?:aux)?\.~synctray-probe-/;

export function isTempName(name: string): boolean {
  return (name.length === 32 && TEMP_NAME.test(name)) || PROBE_LEFTOVER.test(name);
}

// Random per process, then counted: unique across concurrent runs without a random draw per file.
// Math.random is seeded from the system's entropy and is enough here (creation is exclusive anyway);
// node:crypto would cost every start a few milliseconds.
const PROCESS_PART = Math.floor(Math.random() * 2 ** 32)
  .toString(16)
  .padStart(8, '0');
let counter = 0;

/** A fresh temp path in the same folder as `target`, so the final rename stays on one file system. */
export function tempPathFor(target: RelPath): RelPath {
  counter = (counter + 1) >>> 0;
  return joinRel(parentOf(target), `${TEMP_PREFIX}${PROCESS_PART}${counter.toString(16).padStart(8, '0')}.part`);
}
