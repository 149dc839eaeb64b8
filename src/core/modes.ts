/**
 * - mirror: the destination becomes an exact replica: new and changed items copied, type changes
 *   applied, extras deleted.
 * - update: new and changed items copied; nothing is deleted and a destination file that is newer
 *   than the source is left alone.
 * - missing: only what the destination lacks is copied; nothing is overwritten or deleted.
 */
export const SYNC_MODES = ['mirror', 'update', 'missing'] as const;
export type SyncMode = (typeof SYNC_MODES)[number];

export function isSyncMode(value: string): value is SyncMode {
  return (SYNC_MODES as readonly string[]).includes(value);
}
