import type { RelPath } from '../core/rel-path.js';
import { bounded, FULL, MAX_WRITTEN, type Scope } from '../engine/scope.js';
import { addEvent, type CoalesceOptions, type WatchEvent } from './coalesce.js';

/**
 * Collects events between sync steps, coalesced as they come (so memory stays bounded however many
 * arrive), and says when the next step is due. Pure: the time is passed in. A step is due
 * `settleMs` after the first event not yet taken, never later, so a file written without pause is
 * still copied at that pace, and a burst of events within the window makes one step. Events
 * arriving while a step runs wait for the next one.
 */
export class Aggregator {
  private folders = new Map<RelPath, 'shallow' | 'deep'>();
  /** Files seen written (see Scope.written). */
  private written = new Set<RelPath>();
  private full = false;
  private since: number | undefined;

  constructor(
    private readonly settleMs: number,
    private readonly options: CoalesceOptions,
  ) {}

  add(event: WatchEvent, now: number): void {
    if (this.full) return;
    if (addEvent(this.folders, event, this.options) === 'full') {
      this.full = true;
      this.folders = new Map();
      this.written = new Set();
      return void (this.since ??= now);
    }
    if ((event.kind === 'add' || event.kind === 'change') && this.written.size < MAX_WRITTEN && !this.options.ignore(event.path, false)) {
      this.written.add(event.path);
    }
    if (this.full || this.folders.size > 0) this.since ??= now;
  }

  /** When the pending work is due (undefined when there is none). */
  dueAt(): number | undefined {
    return this.since === undefined ? undefined : this.since + this.settleMs;
  }

  /** The pending scope if it is due at `now`; it is then taken. */
  take(now: number): Scope | undefined {
    const due = this.dueAt();
    if (due === undefined || now < due) return undefined;
    const scope: Scope = this.full ? FULL : bounded(this.folders, this.written);
    this.folders = new Map();
    this.written = new Set();
    this.full = false;
    this.since = undefined;
    return scope;
  }
}
