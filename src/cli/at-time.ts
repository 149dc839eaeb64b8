import { UsageError } from './usage-error.js';

/** How a time option is written, for help texts and refusals. */
export const TIME_FORMS =
  'an ISO time (2026-12-06T14:30, 2026-12-06 14:30:00Z, 2026-12-06; local time unless a zone is ' +
  'given) or a time ago (30 min ago, 2 hours ago, 3 days ago, 1 week ago, yesterday, now)';

const UNIT_MS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/** Unit words and their abbreviations, each to one of UNIT_MS's keys. */
const UNITS: [RegExp, string][] = [
  [/^(s|secs?|seconds?)$/, 's'],
  [/^(m|mins?|minutes?)$/, 'm'],
  [/^(h|hrs?|hours?)$/, 'h'],
  [/^(d|days?)$/, 'd'],
  [/^(w|wks?|weeks?)$/, 'w'],
];

const ISO = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * A time as a person types it, in milliseconds since the epoch: an ISO time (a date alone is that
 * day's local midnight; no zone is local time), or one relative to `nowMs`: `N UNIT ago` (with or
 * without a space, `a`/`an` for one), `yesterday` (24 hours ago) or `now`. A UsageError naming
 * `option` and the accepted forms for anything else.
 */
export function parseTime(text: string, nowMs: number, option = '--at'): number {
  const t = text.trim().toLowerCase().replace(/\s+/g, ' ');
  const refuse = () => new UsageError(`${option} takes ${TIME_FORMS} (got "${text}").`);
  if (t === 'now') return nowMs;
  if (t === 'yesterday') return nowMs - UNIT_MS.d!;
  const ago = /^(\d+(?:\.\d+)?|an?) ?([a-z]+) ago$/.exec(t);
  if (ago) {
    const unit = UNITS.find(([re]) => re.test(ago[2]!))?.[1];
    if (unit === undefined) throw refuse();
    const n = ago[1] === 'a' || ago[1] === 'an' ? 1 : Number(ago[1]);
    return nowMs - Math.round(n * UNIT_MS[unit]!);
  }
  const iso = ISO.exec(text.trim());
  if (!iso) throw refuse();
  const [, date, time, zone] = iso;
  const zoned =
    zone === undefined ? '' : zone.toUpperCase() === 'Z' ? 'Z' : zone.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
  // Date.parse takes a date alone as UTC and a date and time without a zone as local: both local here.
  const ms = Date.parse(`${date}T${time ?? '00:00'}${zoned}`);
  if (Number.isNaN(ms)) throw refuse();
  return ms;
}

/** An ISO time as local `YYYY-MM-DD HH:MM:SS`, for tables read by people. */
export function formatLocalTime(iso: string): string {
  const d = new Date(iso);
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`
  );
}
