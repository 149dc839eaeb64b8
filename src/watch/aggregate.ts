import type { RelPath } from '../core/rel-path.js';
import { bounded, FULL, MAX_WRITTEN, type Scope } from '../engine/scope.js';
import { addEvent, type CoalesceOptions, type WatchEvent } from './coalesce.js';

/**
 * Collects events between sync steps, coalesced as they come (so memory stays bounded however many
 * arrive), and says when the next step is due. Pure: the time is passed in.
 *
 * Leading edge, then trailing: the first event after `settleMs` without any is due at once, since
 * waiting would only add latency to a lone save. Events that follow closer than that are due
 * `settleMs` after the last step was taken, so a burst makes a step per window rather than one per
 * event, and a file written without pause is still copied at that pace (never later than
 * `settleMs` after the first event not yet taken). A step taken at the leading edge may catch a
 * file half written; the events of the rest of its writing make the trailing step that copies it
 * whole. Events arriving while a step runs wait for the next one.
 *
 * A removal is never a leading edge: nothing is gained by deleting sooner, and a save that removes
 * the file and writes it anew (or a folder moved out and back) would otherwise leave the
 * destination without it between two steps, or trip the deletion guard on a passing state.
 */
export class Aggregator {
  private folders = new Map<RelPath, 'shallow' | 'deep'>();
  /** Files seen written (see Scope.written). */
  private written = new Set<RelPath>();
  private full = false;
  /** When the step for the events not yet taken is due, fixed by the first of them. */
  private due: number | undefined;
  /** When the last event that made work came, taken or not. */
  private lastEvent = -Infinity;
  private lastTaken = -Infinity;

  constructor(
    private readonly settleMs: number,
    private readonly options: CoalesceOptions,
  ) {}

  add(event: WatchEvent, now: number): void {
    if (this.full) return this.seen(now, false);
    const added = addEvent(this.folders, event, this.options);
    if (added === 'ignored') return;
    if (added === 'full') {
      this.full = true;
      this.folders = new Map();
      this.written = new Set();
    } else if ((event.kind === 'add' || event.kind === 'change') && this.written.size < MAX_WRITTEN) {
      this.written.add(event.path);
    }
    this.seen(now, event.kind === 'unlink' || event.kind === 'unlinkDir');
  }

  private seen(now: number, removal: boolean): void {
    if (this.due === undefined) {
      const quiet = now - this.lastEvent >= this.settleMs;
      // Not quiet: an event came within the window before this one and was taken since, so the
      // last step is less than a window old; this one is due when it is.
      this.due = removal ? now + this.settleMs : quiet ? now : Math.max(now, this.lastTaken + this.settleMs);
    }
    this.lastEvent = now;
  }

  /** When the pending work is due (undefined when there is none). */
  dueAt(): number | undefined {
    return this.due;
  }

  /** The pending scope if it is due at `now`; it is then taken. */
  take(now: number): Scope | undefined {
    const due = this.dueAt();
    if (due === undefined || now < due) return undefined;
    const scope: Scope = this.full ? FULL : bounded(this.folders, this.written);
    this.folders = new Map();
    this.written = new Set();
    this.full = false;
    this.due = undefined;
    this.lastTaken = now;
    return scope;
  }
}
