import { isSyncMode } from '../core/modes.js';
import {
  DEFAULT_KEEP_VERSIONS_MS,
  DEFAULT_RESCAN_MS,
  DEFAULT_SETTINGS,
  SCHEMA_VERSION,
  type ConfigData,
  type Pair,
} from './schema.js';
import { newPairId } from './ids.js';

/**
 * Brings a config file's contents from any earlier layout to the current one. Pure, apart from new
 * pair ids. Returns undefined for a layout this version does not know (a newer one): the caller
 * must not touch such a file.
 *
 * Layout 1 (the first releases): `{ version: 1, folders: [{ src, dst, mode?, ignore?, paused? }],
 * notify: boolean }`. Layout 2: ConfigData without `destinationVolume`. Layout 3: ConfigData.
 * 2 → 3 changes nothing but the number: pairs are marked after their next sync. The number moves
 * so that an older SyncTray refuses the file as newer instead of setting pairs with
 * `destinationVolume` aside as damaged. 3 → 4: every pair gets `keepVersionsMs` (30 days); a pair
 * without `versions` now keeps them in `<destination>/.synctray-versions` (versions on by default,
 * issue 17). 4 → 5 changes nothing but the number: a pair may carry `pausedUntil` (a timed pause)
 * and the settings `pauseOnBattery` (issue 19), which an older SyncTray would take for damage.
 * 5 → 6 changes nothing but the number, for the same reason: a pair may carry `bwlimit`,
 * `transfers` and `checkers` (what rclone does for it, issue 18).
 */
export function migrate(raw: Record<string, unknown>): { data: ConfigData; from: number } | undefined {
  // Layout 1 is known by its list of folders; a file without a layout number and without that list
  // is taken as the current layout (and checked as such, so a damaged one is set aside, not migrated).
  const layout1 = Array.isArray(raw.folders) || raw.version === 1;
  const from = typeof raw.schemaVersion === 'number' ? raw.schemaVersion : layout1 ? 1 : SCHEMA_VERSION;
  if (from > SCHEMA_VERSION) return undefined;
  if (from === SCHEMA_VERSION) return { data: raw as unknown as ConfigData, from };
  const v2 = from === 1 ? fromV1(raw) : (raw as unknown as ConfigData);
  const pairs = Array.isArray(v2.pairs) ? v2.pairs.map(withKeepVersions) : v2.pairs;
  return { data: { ...v2, pairs, schemaVersion: SCHEMA_VERSION }, from };
}

/** A pair from before layout 4 keeps versions for the default time; anything not a pair is left for the check. */
function withKeepVersions(p: unknown): Pair {
  if (typeof p !== 'object' || p === null || 'keepVersionsMs' in p) return p as Pair;
  return { ...(p as Pair), keepVersionsMs: DEFAULT_KEEP_VERSIONS_MS };
}

function fromV1(raw: Record<string, unknown>): ConfigData {
  const folders = Array.isArray(raw.folders) ? (raw.folders as Record<string, unknown>[]) : [];
  const names = new Set<string>();
  const pairs: Pair[] = folders.map((f) => {
    const source = String(f.src ?? '');
    const base = source.split(/[\\/]/).filter(Boolean).pop() ?? 'pair';
    let name = base;
    for (let n = 2; names.has(name); n++) name = `${base} ${n}`;
    names.add(name);
    return {
      id: newPairId(),
      name,
      source,
      destination: String(f.dst ?? ''),
      mode: typeof f.mode === 'string' && isSyncMode(f.mode) ? f.mode : 'mirror',
      checksum: false,
      exclude: Array.isArray(f.ignore) ? f.ignore.map(String).filter((p) => p.trim() !== '') : [],
      rescanIntervalMs: DEFAULT_RESCAN_MS,
      paused: f.paused === true,
      notify: 'all',
      keepVersionsMs: DEFAULT_KEEP_VERSIONS_MS,
    };
  });
  return {
    schemaVersion: SCHEMA_VERSION,
    pairs,
    settings: { ...DEFAULT_SETTINGS, notifications: raw.notify === false ? 'none' : DEFAULT_SETTINGS.notifications },
  };
}
