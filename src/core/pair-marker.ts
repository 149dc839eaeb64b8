/**
 * The small file at a pair's destination root that says "this folder is pair X's backup", as
 * Syncthing's `.stfolder` does. An unmounted drive leaves its mount point folder behind, empty:
 * without the marker that folder would look like a destination to fill (issue 14).
 */

/** Its name. Left out of every sync on both sides, so it is never copied, deleted or counted. */
export const PAIR_MARKER = '.synctray-pair';

/** Who the marker names. */
export interface MarkedPair {
  pairId: string;
  pairName: string;
}

const KIND = 'synctray-pair-marker';

/** The marker's content: JSON a person opening the file can read too. */
export function markerText(pair: MarkedPair): string {
  const note =
    `SyncTray backs up the pair "${pair.pairName}" into this folder and looks for this file before writing here. ` +
    'Leave it in place.';
  return `${JSON.stringify({ kind: KIND, version: 1, pairId: pair.pairId, pairName: pair.pairName, note }, null, 2)}\n`;
}

/** The pair a marker names; undefined for text that is not a marker (damaged, or someone else's file). */
export function parseMarker(text: string): MarkedPair | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (raw === null || typeof raw !== 'object') return undefined;
  const { kind, pairId, pairName } = raw as Record<string, unknown>;
  if (kind !== KIND || typeof pairId !== 'string' || pairId === '') return undefined;
  return { pairId, pairName: typeof pairName === 'string' ? pairName : pairId };
}
