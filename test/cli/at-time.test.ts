import { describe, expect, it } from 'vitest';
import { parseTime } from '../../src/cli/at-time.js';
import { UsageError } from '../../src/cli/usage-error.js';

const NOW = Date.parse('2026-12-06T12:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

describe('parseTime', () => {
  it.each([
    ['30 min ago', NOW - 30 * MIN],
    ['30min ago', NOW - 30 * MIN],
    ['2 hours ago', NOW - 2 * HOUR],
    ['2h ago', NOW - 2 * HOUR],
    ['1 hour ago', NOW - HOUR],
    ['an hour ago', NOW - HOUR],
    ['90 seconds ago', NOW - 90_000],
    ['3 days ago', NOW - 3 * DAY],
    ['1.5 days ago', NOW - 36 * HOUR],
    ['2 weeks ago', NOW - 14 * DAY],
    ['  2   Hours  AGO ', NOW - 2 * HOUR],
    ['yesterday', NOW - DAY],
    ['now', NOW],
  ])('reads "%s" relative to now', (text, want) => {
    expect(parseTime(text, NOW)).toBe(want);
  });

  it.each([
    ['2026-12-06T05:20:00Z', Date.parse('2026-12-06T05:20:00Z')],
    ['2026-12-06T05:20:00.250Z', Date.parse('2026-12-06T05:20:00.250Z')],
    ['2026-12-06 05:20Z', Date.parse('2026-12-06T05:20:00Z')],
    ['2026-12-06T07:20+02:00', Date.parse('2026-12-06T05:20:00Z')],
    ['2026-12-06T07:20+0200', Date.parse('2026-12-06T05:20:00Z')],
    // No zone: local time, a date alone included (its local midnight, not UTC's).
    ['2026-12-06T05:20', new Date(2026, 11, 6, 5, 20).getTime()],
    ['2026-12-06', new Date(2026, 11, 6).getTime()],
  ])('reads the ISO time %s', (text, want) => {
    expect(parseTime(text, NOW)).toBe(want);
  });

  it.each(['', 'soon', '2 fortnights ago', 'ago', '2 hours', 'in 2 hours', '06/12/2026', '2026-13-45T99:99'])(
    'refuses "%s", saying which forms it takes',
    (text) => {
      const attempt = () => parseTime(text, NOW);
      expect(attempt).toThrow(UsageError);
      expect(attempt).toThrow(/--at takes an ISO time \(2026-12-06T14:30.*or a time ago \(30 min ago, 2 hours ago/);
      expect(attempt).toThrow(`(got "${text}")`);
    },
  );
});
