import type { NotifyLevel } from '../config/schema.js';
import type { Happening } from '../service/notifications.js';

/**
 * Good news: told at the level `all`, except a phone sync and a backup drive back, which the
 * `errors` level tells too.
 */
const GOOD: ReadonlySet<Happening['kind']> = new Set(['synced', 'phone-synced', 'drive-connected']);

export interface Notification {
  title: string;
  body: string;
  urgency: 'normal' | 'critical';
}

const MINUTE = 60_000;
/** At most this many notifications in any minute, whatever the number of pairs (one unplugged drive may hold many). */
const MAX_PER_MINUTE = 3;
/** A problem that goes on is told again this long after it was first seen (then after the next). */
const ESCALATE_AFTER = [10 * MINUTE, 60 * MINUTE];

interface PairMemory {
  lastShownAt?: number;
  /** Problems waiting for the pair's minute to pass, grouped into one notification then. */
  waiting: Happening[];
  /** Problems told already (kind and text): when first seen and how many times told. */
  told: Map<string, { since: number; times: number }>;
}

/**
 * Decides which happenings become desktop notifications, so that there are never storms. Pure:
 * the time is passed in.
 * - The level (the app's, and each pair's own): none, errors only, or all (completed first syncs too).
 * - At most one notification per pair per minute; what happens meanwhile waits and is told together.
 * - A problem already told is not told again while it goes on, except after 10 minutes and an hour
 *   (it escalates); a pair that syncs cleanly forgets its problems.
 */
export class NotifyPolicy {
  private readonly pairs = new Map<string, PairMemory>();
  /** When the notifications of the last minute were shown, for the limit across pairs. */
  private shown: number[] = [];

  constructor(
    private readonly level: () => NotifyLevel,
    private readonly pairLevel: (pairId: string) => NotifyLevel,
  ) {}

  /** What to show now for this happening (possibly nothing: filtered, grouped for later, or told already). */
  add(h: Happening, now: number): Notification | undefined {
    const n = this.accept(h, now);
    return n && this.room(now) ? this.count(n, now) : this.hold(n, h);
  }

  private accept(h: Happening, now: number): Notification | undefined {
    const key = h.pairId ?? '';
    const memory = this.memory(key);
    if (!this.wanted(h)) return undefined;
    if (!GOOD.has(h.kind)) {
      // The same problem is its kind and its text, numbers aside (a count of failed items moves).
      const problem = `${h.kind}:${h.message.replace(/\d+/g, '#')}`;
      const seen = memory.told.get(problem);
      if (seen) {
        const due = ESCALATE_AFTER[seen.times - 1];
        if (due === undefined || now - seen.since < due) return undefined;
        seen.times++;
        h = { ...h, message: `still: ${h.message}` };
      } else {
        memory.told.set(problem, { since: now, times: 1 });
      }
    }
    memory.waiting.push(h);
    return this.due(key, now);
  }

  /** A pair synced without trouble: its problems are forgotten, and told again if they come back. */
  ok(pairId: string): void {
    this.pairs.get(pairId)?.told.clear();
  }

  /**
   * Whatever waited and may be shown at `now`: each pair's own, within the limit across pairs; past
   * it, all that is due is told in one.
   */
  flush(now: number): Notification[] {
    if (!this.room(now)) return [];
    const due: Notification[] = [];
    for (const key of this.pairs.keys()) {
      const n = this.due(key, now);
      if (n) due.push(n);
    }
    const room = MAX_PER_MINUTE - this.shown.length;
    const out = due.length <= room ? due : [...due.slice(0, room - 1), merged(due.slice(room - 1))];
    for (const n of out) this.count(n, now);
    return out;
  }

  /** Whether the limit across pairs leaves room for one more now. */
  private room(now: number): boolean {
    this.shown = this.shown.filter((t) => now - t < MINUTE);
    return this.shown.length < MAX_PER_MINUTE;
  }

  private count(n: Notification, now: number): Notification {
    this.shown.push(now);
    return n;
  }

  /** A notification the limit across pairs held back waits with its pair for the next flush. */
  private hold(n: Notification | undefined, h: Happening): undefined {
    if (n) {
      const m = this.memory(h.pairId ?? '');
      m.waiting.push({ ...h, message: n.body });
      m.lastShownAt = undefined;
    }
    return undefined;
  }

  /** When flush() next has something to show (undefined: nothing waits). */
  nextFlushAt(): number | undefined {
    let next: number | undefined;
    for (const m of this.pairs.values()) {
      if (m.waiting.length === 0) continue;
      const at = m.lastShownAt === undefined ? 0 : m.lastShownAt + MINUTE;
      next = next === undefined ? at : Math.min(next, at);
    }
    // Not before the limit across pairs leaves room again.
    if (next !== undefined && this.shown.length >= MAX_PER_MINUTE) next = Math.max(next, this.shown[0]! + MINUTE);
    return next;
  }

  private due(key: string, now: number): Notification | undefined {
    const m = this.memory(key);
    if (m.waiting.length === 0) return undefined;
    if (m.lastShownAt !== undefined && now - m.lastShownAt < MINUTE) return undefined;
    const items = m.waiting;
    m.waiting = [];
    m.lastShownAt = now;
    return render(items);
  }

  private wanted(h: Happening): boolean {
    const rank = (l: NotifyLevel) => (l === 'none' ? 0 : l === 'errors' ? 1 : 2);
    const allowed = Math.min(rank(this.level()), h.pairId ? rank(this.pairLevel(h.pairId)) : 2);
    return allowed >= (h.kind === 'synced' ? 2 : 1);
  }

  private memory(key: string): PairMemory {
    let m = this.pairs.get(key);
    if (!m) {
      m = { waiting: [], told: new Map() };
      this.pairs.set(key, m);
    }
    return m;
  }
}

const TITLES: Record<Happening['kind'], string> = {
  failed: 'could not sync some items',
  stopped: 'stopped',
  'source-missing': 'source folder is gone',
  'destination-missing': 'backup folder is gone',
  held: 'deletions held back',
  unstorable: 'some items cannot be stored on the drive',
  config: 'settings were damaged',
  synced: 'synced',
  'phone-synced': 'phone synced',
  'drive-connected': 'backup drive connected',
};

/** Several pairs' notifications told as one. */
function merged(all: Notification[]): Notification {
  return {
    title: `SyncTray: ${all.length} folder pairs need attention`,
    body: all.map((n) => `• ${n.title.replace(/^SyncTray: /, '')}: ${n.body.split('\n')[0]}`).join('\n'),
    urgency: all.some((n) => n.urgency === 'critical') ? 'critical' : 'normal',
  };
}

function render(items: Happening[]): Notification {
  const first = items[0]!;
  const who = first.pairName ? `SyncTray: ${first.pairName}` : 'SyncTray';
  const urgency = items.some((h) => !GOOD.has(h.kind)) ? 'critical' : 'normal';
  if (items.length === 1) return { title: `${who}: ${TITLES[first.kind]}`, body: first.message, urgency };
  const problems = items.filter((h) => !GOOD.has(h.kind));
  if (problems.length === 0)
    return { title: `${who}: ${TITLES[items.at(-1)!.kind]}`, body: items.map((h) => h.message).join('\n'), urgency };
  return {
    title: `${who}: ${problems.length} problems`,
    body: problems.map((h) => `• ${h.message}`).join('\n'),
    urgency,
  };
}
