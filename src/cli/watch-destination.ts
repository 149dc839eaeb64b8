/**
 * `synctray watch` keeps its destination on the volume it was on when watching began: a drive
 * unmounted meanwhile leaves its mount point folder on another disk, and nothing is written there
 * until the drive is back (issue 14). No marker is involved: watch keeps no state.
 */
import { isTempName } from '../core/temp-name.js';
import { VolumeGuard } from '../storage/local/volume-guard.js';
import type { VolumeInfo } from '../storage/local/volume.js';
import type { Storage } from '../storage/storage.js';
import { onVolume } from '../service/destination-check.js';
import type { DestinationGate } from '../watch/watch-pair.js';

/** Whether `now` is the volume `first` was: by name where it has one, else the same mount point and type. */
export function sameVolumeAs(first: VolumeInfo, now: VolumeInfo): boolean {
  const named = onVolume(first, now);
  if (named !== undefined) return named;
  return first.mountPoint === now.mountPoint && first.fsType === now.fsType;
}

/**
 * The gate and the guarded destination for a watch, or undefined where volumes cannot be read
 * (not Linux). `volumes.at` is asked at the start and before every step.
 */
export async function stayOnVolume(
  destination: string,
  dst: Storage,
  volumes: { at(location: string): Promise<VolumeInfo | undefined> } | undefined,
): Promise<{ gate: DestinationGate; dst: Storage } | undefined> {
  const first = await volumes?.at(destination);
  if (!volumes || !first) return undefined;
  const guard = new VolumeGuard(destination, () => name(first), isTempName);
  const gate: DestinationGate = {
    ready: async () => {
      // Noted before the look and compared after it, so that a drive gone meanwhile is not missed.
      const seen = guard.sight();
      const now = await volumes.at(destination);
      if (now && sameVolumeAs(first, now) && guard.arm(seen)) return { ready: true };
      guard.removeMisplaced();
      return {
        ready: false,
        reason:
          `${capital(name(first))} is not there: ${destination} now lies on another disk. Nothing is written until ` +
          'the drive is back.',
      };
    },
  };
  return { gate, dst: guard.wrap(dst) };
}

function name(v: VolumeInfo): string {
  return v.label !== undefined ? `the drive ${v.label}` : `the drive mounted at ${v.mountPoint}`;
}

const capital = (s: string) => `${s[0]!.toUpperCase()}${s.slice(1)}`;
