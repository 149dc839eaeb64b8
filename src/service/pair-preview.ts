import { hiddenVersions } from '../config/pairs.js';
import type { Pair } from '../config/schema.js';
import { PAIR_MARKER } from '../core/pair-marker.js';
import { previewOf, type Preview } from '../engine/preview.js';
import { sync, type SyncOptions } from '../engine/sync.js';
import type { Storage } from '../storage/storage.js';

/** The parts of a pair its syncs depend on. */
export type PairSyncParts = Pick<
  Pair,
  'source' | 'destination' | 'mode' | 'checksum' | 'exclude' | 'links' | 'versions'
>;

/** What every sync of the pair compares by; a versions folder in the destination is never synced. */
export function pairSyncOptions(pair: PairSyncParts): SyncOptions {
  // The marker is never synced: not copied from a source that has one, never deleted, never counted.
  return {
    mode: pair.mode,
    checksum: pair.checksum,
    exclude: pair.exclude,
    links: pair.links,
    hideInDestination: [...hiddenVersions(pair), PAIR_MARKER],
  };
}

export interface PreviewDeps {
  openStorage(location: string): Storage;
}

/**
 * What the pair's first sync would do, found by a dry run with the options its syncs use (only
 * the two folders are needed: no service, nothing written), and why a real run would be refused.
 */
export async function previewPair(
  pair: PairSyncParts,
  deps: PreviewDeps,
): Promise<{ preview: Preview; refused?: string }> {
  const src = deps.openStorage(pair.source);
  const dst = deps.openStorage(pair.destination);
  try {
    // Versions change where replaced items go, not the plan: the dry run needs none.
    const result = await sync(src, dst, { ...pairSyncOptions(pair), dryRun: true });
    return { preview: previewOf(result.plan), ...(result.refused !== undefined ? { refused: result.refused } : {}) };
  } finally {
    await Promise.all([src.close(), dst.close()]);
  }
}
