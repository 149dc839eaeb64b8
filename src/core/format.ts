const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

/** Decimal units, as file managers show them. */
export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1000 && u < UNITS.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${UNITS[u]}`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** "1 file", "1,204 files": the count and the noun, plural but for one. */
export function formatCountOf(n: number, noun: string): string {
  return `${formatCount(n)} ${noun}${n === 1 ? '' : 's'}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}:${String(s % 60).padStart(2, '0')}`;
  return `${Math.floor(m / 60)}:${String(m % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** How long ago, for people: "just now", "3 min ago", "5 h ago", "2 days ago". */
export function formatAgo(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return 'just now';
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} days ago`;
}

/**
 * When something due later happens, by the local clock, as short as is still clear: "14:30" later
 * today, "tomorrow 08:00", else "2026-12-24 14:30".
 */
export function formatUntil(atMs: number, nowMs: number): string {
  const at = new Date(atMs);
  const two = (n: number) => String(n).padStart(2, '0');
  const time = `${two(at.getHours())}:${two(at.getMinutes())}`;
  const dayOf = (d: Date) => `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
  const now = new Date(nowMs);
  if (dayOf(at) === dayOf(now)) return time;
  const tomorrow = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
  return dayOf(at) === dayOf(tomorrow) ? `tomorrow ${time}` : `${dayOf(at)} ${time}`;
}

/** A duration as the command line takes it: `30d`, `12h`, `90m`, `45s` (the largest whole unit). */
export function formatSpan(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const)
    if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms / 1000}s`;
}

/**
 * What a pair's versions take, for people: "1.2 MB in 34 files, kept 30d", "none kept yet, kept
 * 30d"; `keepMs` 0 keeps them for ever.
 */
export function formatVersionsSpace(v: { files: number; bytes: number; keepMs: number }): string {
  const kept = v.keepMs > 0 ? `kept ${formatSpan(v.keepMs)}` : 'kept for ever';
  if (v.files === 0) return `none kept yet, ${kept}`;
  return `${formatBytes(v.bytes)} in ${formatCountOf(v.files, 'file')}, ${kept}`;
}
