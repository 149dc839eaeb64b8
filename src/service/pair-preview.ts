import { versionsInDestination } from '../config/pairs.js';
import type { Pair } from '../config/schema.js';
import { PAIR_MARKER } from '../core/pair-marker.js';
import { previewOf, type Preview } from '../engine/preview.js';
import { sync, type SyncOptions } from '../engine/sync.js';
import type { Storage } from '../storage/storage.js';
import type { VersionStore } from '../storage/versions.js';

/** The parts of a pair its syncs depend on. */
export type PairSyncParts = Pick<
  Pair,
  'source' | 'destination' | 'mode' | 'checksum' | 'exclude' | 'links' | 'versions'
>;

/** What every sync of the pair compares by; a versions folder in the destination is never synced. */
export function pairSyncOptions(pair: PairSyncParts): SyncOptions {
  const hidden = pair.versions ? versionsInDestination(pair.destination, pair.versions) : undefined;
  // The marker is never synced: not copied from a source that has one, never deleted, never counted.
  return {
    mode: pair.mode,
    checksum: pair.checksum,
    exclude: pair.exclude,
    links: pair.links,
    hideInDestination: [...(hidden ? [hidden] : []), PAIR_MARKER],
  };
}

export interface PreviewDeps {
  openStorage(location: string): Storage;
  openVersions(dir: string, started: Date): VersionStore;
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
    // A versions store changes the plan (no moves with one), so the dry run has one too; it writes nothing.
    const versions = pair.versions ? deps.openVersions(pair.versions, new Date()) : undefined;
    const result = await sync(src, dst, { ...pairSyncOptions(pair), versions, dryRun: true });
    return { preview: previewOf(result.plan), ...(result.refused !== undefined ? { refused: result.refused } : {}) };
  } finally {
    await Promise.all([src.close(), dst.close()]);
  }
}
