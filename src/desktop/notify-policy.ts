import type { NotifyLevel } from '../config/schema.js';

/** Something the user may need to hear about. */
export interface Happening {
  /** The pair it is about; absent for the app itself (a config set aside). */
  pairId?: string;
  pairName?: string;
  kind: 'failed' | 'stopped' | 'source-missing' | 'destination-missing' | 'held' | 'config' | 'synced';
  message: string;
}

export interface Notification {
  title: string;
  body: string;
  urgency: 'normal' | 'critical';
}

const MINUTE = 60_000;
/** A problem that goes on is told again this long after it was first seen (then after the next). */
const ESCALATE_AFTER = [10 * MINUTE, 60 * MINUTE];

interface PairMemory {
  lastShownAt?: number;
  /** Problems waiting for the pair's minute to pass, grouped into one notification then. */
  waiting: Happening[];
  /** Problems told already, by kind: when first seen and how many times told. */
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

  constructor(
    private readonly level: () => NotifyLevel,
    private readonly pairLevel: (pairId: string) => NotifyLevel,
  ) {}

  /** What to show now for this happening (possibly nothing: filtered, grouped for later, or told already). */
  add(h: Happening, now: number): Notification | undefined {
    const key = h.pairId ?? '';
    const memory = this.memory(key);
    if (!this.wanted(h)) return undefined;
    if (h.kind !== 'synced') {
      const seen = memory.told.get(h.kind);
      if (seen) {
        const due = ESCALATE_AFTER[seen.times - 1];
        if (due === undefined || now - seen.since < due) return undefined;
        seen.times++;
        h = { ...h, message: `still: ${h.message}` };
      } else {
        memory.told.set(h.kind, { since: now, times: 1 });
      }
    }
    memory.waiting.push(h);
    return this.due(key, now);
  }

  /** A pair synced without trouble: its problems are forgotten, and told again if they come back. */
  ok(pairId: string): void {
    this.pairs.get(pairId)?.told.clear();
  }

  /** Whatever waited for its pair's minute and may be shown at `now`. */
  flush(now: number): Notification[] {
    const out: Notification[] = [];
    for (const key of this.pairs.keys()) {
      const n = this.due(key, now);
      if (n) out.push(n);
    }
    return out;
  }

  /** When flush() next has something to show (undefined: nothing waits). */
  nextFlushAt(): number | undefined {
    let next: number | undefined;
    for (const m of this.pairs.values()) {
      if (m.waiting.length === 0 || m.lastShownAt === undefined) continue;
      const at = m.lastShownAt + MINUTE;
      next = next === undefined ? at : Math.min(next, at);
    }
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
  config: 'settings were damaged',
  synced: 'synced',
};

function render(items: Happening[]): Notification {
  const first = items[0]!;
  const who = first.pairName ? `SyncTray: ${first.pairName}` : 'SyncTray';
  const urgency = items.some((h) => h.kind !== 'synced') ? 'critical' : 'normal';
  if (items.length === 1) return { title: `${who}: ${TITLES[first.kind]}`, body: first.message, urgency };
  const problems = items.filter((h) => h.kind !== 'synced');
  return {
    title: `${who}: ${problems.length} problems`,
    body: problems.map((h) => `• ${h.message}`).join('\n'),
    urgency,
  };
}
