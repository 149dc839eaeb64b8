/**
 * `synctray sync` writes to any folder, but not into a pair's backup folder that its drive left
 * behind: an empty folder without the pair's marker, or a path that now leads to another disk than
 * the pair's drive. Filling it would put the backup on the system disk (issue 14).
 */
import { RefusedError } from '../core/errors.js';
import { PAIR_MARKER } from '../core/pair-marker.js';
import { listedDestinations } from '../config/config-file.js';
import { isInside } from '../config/pairs.js';
import { places } from '../config/places.js';
import type { Pair } from '../config/schema.js';
import type { DestinationProbe } from '../service/destination-check.js';
import { isRemoteLocation } from '../storage/location.js';

/**
 * Refuses (RefusedError, before anything is written) a run into `destination` (resolved, as
 * check-paths gives it) when it is, or lies inside, the destination of a pair in the config of
 * `configDir` whose drive is not there. A config that cannot be read refuses nothing.
 */
export async function refuseUnplugged(
  destination: string,
  configDir: string | undefined,
  probe: DestinationProbe,
): Promise<void> {
  if (isRemoteLocation(destination)) return;
  const dir = places(configDir).config;
  const concerns = (pairDestination: string) =>
    !isRemoteLocation(pairDestination) && (destination === pairDestination || isInside(destination, pairDestination));
  // The config is read whole (checked against its schema, which loads ajv) and the drive looked
  // at only when a pair's destination is or holds this folder: most runs concern no pair.
  if (!listedDestinations(dir).some(concerns)) return;
  const { readConfig } = await import('../config/read-config.js');
  for (const pair of readConfig(dir).pairs) {
    if (!concerns(pair.destination)) continue;
    const why = await unplugged(pair, probe);
    if (why === undefined) continue;
    throw new RefusedError(
      `Destination \`${destination}\` ${destination === pair.destination ? 'is' : 'lies in'} ` +
        `the backup folder of pair "${pair.name}", but ${why}, ` +
        'and this run would write onto another disk than the drive. ' +
        'Connect the drive and run again; to fill this folder all the same, ' +
        `remove the pair first ('synctray pair remove ${pair.name}').`,
    );
  }
}

/** Why the pair's drive looks absent, or undefined when it does not. */
async function unplugged(pair: Pair, probe: DestinationProbe): Promise<string | undefined> {
  const { driveName, judgeDestination, lookAtDestination } = await import('../service/destination-check.js');
  const sight = await lookAtDestination(probe, pair);
  const { here } = sight;
  if (here.exists && here.empty && here.marker.state === 'missing')
    return `it is empty and has no SyncTray marker (${PAIR_MARKER}): ${driveName(pair)} is probably not connected`;
  const verdict = judgeDestination(pair, sight);
  if (verdict.kind === 'wait' && verdict.why === 'not-connected')
    return `${driveName(pair)} is not connected (the path leads to another disk now)`;
  return undefined;
}
