import { formatBytes } from '../core/format.js';
import type { Capabilities } from '../storage/storage.js';
import { UNSTORABLE, type Skipped } from './plan.js';

/** A skipped item for a person: what it is and why it was left out, in one line. */
export function describeSkip(s: Skipped, dst: Pick<Capabilities, 'kind' | 'maxFileBytes' | 'maxName'>): string {
  const drive = dst.kind ? `this drive (${dst.kind})` : 'the destination';
  switch (s.reason) {
    case 'special-file':
      return `${s.path}: not a regular file, folder or symlink`;
    case 'destination-newer':
      return `${s.path}: the destination copy is newer (update mode keeps it)`;
    case 'type-conflict':
    case 'holds-excluded':
      return `${s.path}: the destination holds something else here`;
    case 'no-symlinks':
      return `${s.path}: a symlink, and ${drive} cannot hold symlinks (--links copy copies what it points to instead)`;
    case 'case-clash':
      return (
        `${[s.path, ...(s.with ?? [])].join(' and ')}: one name on ${drive}, which does not tell upper from lower ` +
        'case; rename one to back up both'
      );
    case 'too-large':
      return `${s.path}: larger than ${drive} can hold (${formatBytes(dst.maxFileBytes ?? 0)} at most)`;
    case 'link-outside':
      return `${s.path}: a symlink that leads out of the source; --links copy only follows links within it`;
    case 'link-dangling':
      return `${s.path}: a symlink that leads nowhere`;
    case 'link-loop':
      return `${s.path}: a symlink that leads into a folder holding it, or round in a circle`;
    case 'name-reserved':
      return (
        `${s.path}: a name Windows reserves (CON, PRN, AUX, NUL, COM1-9, LPT1-9): ${drive} refuses it, or Windows ` +
        'programs could not open or delete the copy; rename it to back it up here'
      );
    case 'name-too-long': {
      const limit = dst.maxName
        ? ` (${dst.maxName.length} ${dst.maxName.unit === 'byte' ? 'bytes' : 'characters'})`
        : '';
      return `${s.path}: its name is longer than ${drive} allows${limit}`;
    }
  }
}

/** The skips that are the destination's limits, counted as items (a case clash counts each name). */
export function unstorableCount(skipped: readonly Skipped[]): number {
  let n = 0;
  for (const s of skipped) if (UNSTORABLE.has(s.reason)) n += 1 + (s.with?.length ?? 0);
  return n;
}
