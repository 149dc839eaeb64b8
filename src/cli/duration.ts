import { UsageError } from './usage-error.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** How a duration option is written, for help texts. */
export const DURATION_FORMS = 'e.g. 90s, 30m, 2h, 1d (a bare number is seconds)';

/**
 * `90s`, `30m`, `1h`, `1d`, `250ms`, a bare number of seconds, or `0` (never): milliseconds.
 * `option` names the option in messages.
 */
export function parseDuration(text: string, option = '--rescan-interval'): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m)
    throw new UsageError(
      `${option} takes a duration such as 90s, 30m, 1h or 1d (a bare number is seconds), or 0 for never (got ` +
        `"${text}").`,
    );
  const value = Number(m[1]) * UNITS[m[2] ?? 's']!;
  if (value !== 0 && value < 1000)
    throw new UsageError(`${option} must be at least 1s, or 0 for never (got "${text}").`);
  return value;
}
