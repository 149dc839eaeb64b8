import { SyncEvents } from '../core/events.js';
import { parentOf, type RelPath } from '../core/rel-path.js';
import { Execution, replacesFolder, type ExecuteContext, type ExecuteResult } from './execution.js';
import type { Action, Plan } from './plan.js';
import { chooseWholeFolders, type WholeFolderGroup } from './whole-folders.js';

export type { ExecuteContext, ExecuteResult } from './execution.js';

/** A plan cut into the parts its stages carry out. */
export interface Phases {
  /** New folders made before the moves: a move may go into one. */
  mkdirs: Action[];
  /** New folders inside a moved one: its parent comes with the move. */
  mkdirsInMoved: Action[];
  /** New folders put whole with what goes in them, where the destination offers it. */
  whole: WholeFolderGroup[];
  /** Every copy but those replacing a folder or put with a whole folder. */
  copies: Action[];
  folderReplacements: Action[];
}

/**
 * Splits a plan by stage. No move goes inside another move's destination (moves.ts keeps the
 * outermost), so one round of folders before the moves and one after is enough. With `takes`, new
 * folders are put whole with the copies it takes (whole-folders.ts).
 */
export function phasesOf(plan: Plan, takes?: (copy: Extract<Action, { op: 'copy' }>) => boolean): Phases {
  const movedTo = new Set(plan.moves.map((m) => m.to));
  const movedIn = (dir: RelPath) => {
    for (let p = dir; p !== ''; p = parentOf(p)) if (movedTo.has(p)) return true;
    return false;
  };
  const insideMoved = (a: Action) => movedIn(parentOf(a.path));
  const mkdirsInMoved = movedTo.size === 0 ? [] : plan.mkdirs.filter(insideMoved);
  const mkdirs = mkdirsInMoved.length === 0 ? plan.mkdirs : plan.mkdirs.filter((a) => !insideMoved(a));
  const copies = plan.transfers.filter((a) => !replacesFolder(a));
  const whole = takes ? chooseWholeFolders(mkdirs, copies, takes, undefined, movedIn) : { groups: [], mkdirs, copies };
  return {
    mkdirs: whole.mkdirs,
    mkdirsInMoved,
    whole: whole.groups,
    copies: whole.copies,
    folderReplacements: plan.transfers.filter(replacesFolder),
  };
}

interface Stage {
  name: string;
  /** Whether it runs; depth-ordered stages also stop between depths once the run is stopped. */
  when: (x: Execution) => boolean;
  run: (x: Execution, plan: Plan, phases: Phases) => Promise<void>;
  /** What is recorded when it does not run. */
  skipped?: (x: Execution, plan: Plan, phases: Phases) => void;
}

const always = () => true;
const unlessStopped = (x: Execution) => !x.stopped();
/** What deletes may run only once every copy of the run succeeded and is durable. */
const unlessHeld = (x: Execution) => !x.holdsDeletes() && !x.stopped();

/** The stages of a run, in order. */
export const STAGES: readonly Stage[] = [
  { name: 'new folders', when: always, run: (x, _, p) => x.inDepthOrder(p.mkdirs) },
  // What cannot go whole joins the copies, made one by one.
  { name: 'whole new folders', when: unlessStopped, run: (x, _, p) => x.putWhole(p.whole, p.copies) },
  // After the folders they go into exist, before anything is copied into them. One that fails
  // counts as failed, which holds back every deletion of the run.
  { name: 'moves', when: unlessStopped, run: (x, plan) => x.all(plan.moves, x.move) },
  { name: 'new folders inside moved ones', when: always, run: (x, _, p) => x.inDepthOrder(p.mkdirsInMoved) },
  { name: 'copies', when: unlessStopped, run: (x, _, p) => x.all(p.copies, x.run) },
  // Copies already made are placed even when the run stops (an abort drops them instead).
  { name: 'place staged copies', when: always, run: (x) => x.placeStaged() },
  { name: 'flush before deleting', when: always, run: (x) => x.flushTouched() },
  {
    name: 'copies replacing folders',
    when: unlessHeld,
    run: async (x, _, p) => {
      await x.all(p.folderReplacements, x.run);
      await x.flushTouched();
    },
    skipped: (x, _, p) => {
      if (x.holdsDeletes())
        for (const a of p.folderReplacements) if (a.op === 'copy') x.result.deletesHeld += a.replace.length;
    },
  },
  {
    // While held, only SyncTray's own leftover temp files are removed.
    name: 'deletions',
    when: always,
    run: async (x, plan) => {
      const deletes = x.holdsDeletes() ? plan.deletes.filter((a) => a.op === 'delete' && a.temp) : plan.deletes;
      x.result.deletesHeld += plan.deletes.length - deletes.length;
      await x.inDepthOrder(deletes);
    },
  },
  { name: 'folder metadata', when: always, run: (x, plan) => x.inDepthOrder(plan.dirMetas) },
];

/**
 * Carries out a plan stage by stage (STAGES): folders, moves, copies (placed a flushed batch at a
 * time where the destination offers `flush`), a flush of the folders changed, then deletions
 * (deepest first), then folder metadata (deepest first). See Execution for failures and aborts.
 */
export async function execute(plan: Plan, ctx: ExecuteContext): Promise<ExecuteResult> {
  ctx.onEvent?.({
    type: SyncEvents.Planned,
    files: plan.transfers.filter((a) => a.op === 'copy').length,
    bytes: plan.bytes,
    deletes: plan.deletes.length,
  });
  const x = new Execution(ctx);
  const phases = phasesOf(plan, x.takesWhole());
  for (const stage of STAGES) {
    if (stage.when(x)) await stage.run(x, plan, phases);
    else stage.skipped?.(x, plan, phases);
  }
  return x.result;
}
