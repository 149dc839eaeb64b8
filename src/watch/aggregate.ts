import type { WatchEvent } from './coalesce.js';

/**
 * Collects events between sync steps and says when the next step is due. Pure: the time is passed
 * in. A step is due `settleMs` after the first event not yet taken, never later, so a file written
 * without pause is still copied at that pace, and a burst of events within the window makes one
 * step. Events arriving while a step runs wait for the next one.
 */
export class Aggregator {
  private pending: WatchEvent[] = [];
  private since: number | undefined;

  constructor(
    private readonly settleMs: number,
    /** Past this many events the rest only count: a full rescan is what the step will do anyway. */
    private readonly maxEvents = 10_000,
  ) {}

  add(event: WatchEvent, now: number): void {
    this.since ??= now;
    if (this.pending.length < this.maxEvents) this.pending.push(event);
    else if (this.pending.length === this.maxEvents) this.pending.push({ kind: 'rescan' });
  }

  /** When the pending events are due (undefined when there are none). */
  dueAt(): number | undefined {
    return this.since === undefined ? undefined : this.since + this.settleMs;
  }

  /** The pending events if they are due at `now`; they are then taken. */
  take(now: number): WatchEvent[] | undefined {
    const due = this.dueAt();
    if (due === undefined || now < due) return undefined;
    const events = this.pending;
    this.pending = [];
    this.since = undefined;
    return events;
  }
}
