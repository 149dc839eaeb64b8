import fs from 'node:fs';
import path from 'node:path';
import { NS_PER_MS, NS_PER_SEC } from '../../core/entry.js';

// statfs(2) magic numbers of file systems whose clocks are coarser than a millisecond.
const COARSE: ReadonlyMap<number, bigint> = new Map([
  [0x4d44, 2n * NS_PER_SEC], // FAT12/16/32 (vfat, msdos): two-second modification times
  [0x2011bab0, 10n * NS_PER_MS], // exFAT: ten milliseconds
]);

/** The comparison window for a file system type: a millisecond unless its clock is coarser. */
export function precisionOfType(type: number): bigint {
  return COARSE.get(type) ?? NS_PER_MS;
}

/**
 * The mtime precision of the file system holding `dir` (or, while it does not exist yet, its
 * nearest existing parent), so that a FAT stick's two-second times do not make every file look
 * changed on every run. Unknown on systems without statfs: a millisecond.
 */
export function fileSystemPrecision(dir: string): bigint {
  for (let p = path.resolve(dir); ; p = path.dirname(p)) {
    try {
      return precisionOfType(Number(fs.statfsSync(p).type));
    } catch {
      if (path.dirname(p) === p) return NS_PER_MS;
    }
  }
}
