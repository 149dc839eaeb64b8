import { formatAgo } from '../core/format.js';
import type { ListedVersion } from '../service/pair-versions.js';

/** How many versions the Restore… list shows, newest first: the recent ones are what is looked for. */
export const RESTORE_ROWS = 500;

/**
 * A version as a row of the Restore… list: when it was set aside, why, and its path, as
 * "2 h ago · deleted · photos/a.jpg". `now` is epoch ms.
 */
export function versionRow(v: Pick<ListedVersion, 'path' | 'setAside' | 'reason'>, now: number): string {
  return `${formatAgo(now - Date.parse(v.setAside))} · ${v.reason} · ${v.path}`;
}
