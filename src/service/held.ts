import { createHash } from 'node:crypto';
import { RefusedError } from '../core/errors.js';
import { formatCount, formatCountOf } from '../core/format.js';
import type { RelPath } from '../core/rel-path.js';
import { doomedFiles } from '../engine/plan.js';
import { sync, type SyncOptions } from '../engine/sync.js';
import type { Storage } from '../storage/storage.js';

/** What a pair's guard holds back now, for the user to judge. */
export interface HeldDeletions {
  /** Files (and links) a full step would delete from the destination. */
  count: number;
  /** The files in the destination now. */
  of: number;
  /** The first few of them, sorted. */
  sample: string[];
  /** Why the guard held them, as it said. */
  reason: string;
  /** Names exactly this set of files: the service deletes only what the user was shown. */
  token: string;
}

/** The held deletions are no longer the ones the user was shown: show them again. */
export class HeldChangedError extends RefusedError {}

/** How many of the held deletions the user is shown by name. */
const SAMPLE = 10;

/** A dry run of a full step: the files it would delete, nothing written. */
export async function previewHeld(
  src: Storage,
  dst: Storage,
  options: SyncOptions,
  reason: string,
): Promise<{ held: HeldDeletions; files: Set<RelPath> }> {
  const { plan, destinationFilesBefore } = await sync(src, dst, { ...options, dryRun: true });
  const files = doomedFiles(plan).sort();
  const token = createHash('sha256').update(files.join('\0')).digest('hex').slice(0, 12);
  return {
    held: { count: files.length, of: destinationFilesBefore, sample: files.slice(0, SAMPLE), reason, token },
    files: new Set(files),
  };
}

/** Dialogs do not wrap their text: lines are kept to this many characters. */
const WIDTH = 90;

/** The held deletions in words, for the tray's dialog and `synctray pair deletions`. */
export function heldSummary(destination: string, held: HeldDeletions): string {
  const files = formatCountOf(held.count, 'file');
  const unlisted = held.count - held.sample.length;
  const more = unlisted > 0 ? [`  … and ${formatCount(unlisted)} more`] : [];
  return [
    ...wrap(held.reason),
    ...wrap(
      'So many deletions at once can mean the source is not what it should be (a drive not mounted, a folder ' +
        'moved or emptied by mistake). Nothing is deleted until you answer.',
    ),
    '',
    `The ${files} that mirroring would delete from ${destination}${held.count > held.sample.length ? ' include' : ''}:`,
    ...held.sample.map((p) => `  ${p}`),
    ...more,
  ].join('\n');
}

/** Words to lines of at most WIDTH characters (a longer word, a path say, gets a line of its own). */
function wrap(text: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}
