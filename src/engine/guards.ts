import { RefusedError } from '../core/errors.js';
import type { SyncMode } from '../core/modes.js';
import type { RelPath } from '../core/rel-path.js';
import { doomedFiles, type Plan } from './plan.js';
import { countNonFolders, type Tree } from './tree.js';

export interface GuardOptions {
  mode: SyncMode;
  maxDelete?: number;
  force?: boolean;
  /**
   * The files the user was shown held back and allowed to go: a plan that deletes only files among
   * them passes every guard. One that would delete any other is judged as usual: the user has not
   * seen that one.
   */
  approvedDeletes?: ReadonlySet<RelPath>;
}

/** A guard that tripped: what it saw (`fact`) and, in the message, what the command line can do about it. */
export class GuardError extends RefusedError {
  constructor(
    readonly fact: string,
    advice: string,
  ) {
    super(`${fact} ${advice}`);
  }
}

/** Below this many destination files the "more than half" rule would trip on ordinary edits. */
const SMALL_DESTINATION = 10;

/**
 * The checks that stop a mirror from turning a mistake (an empty or wrong source folder, an
 * unmounted drive) into an emptied backup. Throws RefusedError naming what tripped and how to go on.
 */
export function checkGuards(
  plan: Plan,
  src: Tree,
  dst: Tree,
  options: GuardOptions,
  srcName: string,
  dstName: string,
  /**
   * The trees hold only part of each side (a scoped run): the destination's files are counted by
   * the caller, and the files earlier scoped runs deleted count with this one's.
   */
  partial?: { destinationFiles?: number; deletedBefore?: number },
): void {
  if (options.mode !== 'mirror' || options.force) return;

  const deletes = plan.deletedFiles + (plan.deletedFiles > 0 ? (partial?.deletedBefore ?? 0) : 0);
  const approved = options.approvedDeletes;
  if (approved && doomedFiles(plan).every((p) => approved.has(p))) return;
  const dstFiles = partial ? (partial.destinationFiles ?? countNonFolders(dst)) : countNonFolders(dst);
  if (!partial && src.entries.size <= 1 && src.equalItems === 0 && dst.entries.size > 1) {
    const what = src.holdsExcluded.has('') ? 'holds only excluded items' : 'is empty';
    throw new GuardError(
      `Source \`${srcName}\` ${what} but destination \`${dstName}\` is not: mirroring would delete everything in it.`,
      'Check that the source is the right folder and its drive is mounted; use --force if emptying the destination ' +
        'is really wanted.',
    );
  }
  if (options.maxDelete !== undefined) {
    if (deletes > options.maxDelete) {
      throw new GuardError(
        `This mirror would delete ${deletes} files from \`${dstName}\`, ` +
          `more than --max-delete ${options.maxDelete} allows.`,
        'Look at the list with --dry-run, then raise --max-delete or use --force.',
      );
    }
    return;
  }
  if (dstFiles > SMALL_DESTINATION && deletes * 2 > dstFiles) {
    throw new GuardError(
      `This mirror would delete ${deletes} of the ${dstFiles} files in \`${dstName}\` (more than half).`,
      'Check the source folder is the right one; look at the list with --dry-run, then allow it with --max-delete N ' +
        'or --force.',
    );
  }
}
