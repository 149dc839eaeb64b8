/**
 * One pair's destination as the service keeps it: the gate its watched loop asks before writing
 * (the right drive, with the pair's marker), the guard on every change while a step runs, and the
 * marking of the destination once a sync has gone through.
 */
import { formatCountOf } from '../core/format.js';
import { isTempName } from '../core/temp-name.js';
import type { DestinationVolume, Pair } from '../config/schema.js';
import type { ConfigStore } from '../config/store.js';
import { isRemoteLocation } from '../storage/location.js';
import { VolumeGuard } from '../storage/local/volume-guard.js';
import type { Storage } from '../storage/storage.js';
import type { DestinationGate, DestinationReadiness } from '../watch/watch-pair.js';
import {
  driveName,
  judgeDestination,
  lookAtDestination,
  markDestination,
  rememberVolume,
  type DestinationProbe,
  type DestinationVerdict,
} from './destination-check.js';

export interface PairDestinationDeps {
  probe: DestinationProbe;
  /** Keeps what was learnt of the destination's volume in the config; returns the pair as stored. */
  remember(volume: DestinationVolume): Pair;
  /** A marker that could not be written (the pair goes on, and is marked after a later sync). */
  onMarkFailed(message: string): void;
}

export class PairDestination implements DestinationGate {
  private readonly guard: VolumeGuard;
  private verdict: DestinationVerdict | undefined;
  /** The last check said the destination is not marked yet: mark it after the next clean sync. */
  private unmarked = false;

  constructor(
    private pair: Pair,
    private readonly deps: PairDestinationDeps,
  ) {
    this.guard = new VolumeGuard(pair.destination, () => driveName(this.pair), isTempName);
  }

  /** The destination storage with every change checked against the drive the gate last approved. */
  guarded(storage: Storage): Storage {
    return this.guard.wrap(storage);
  }

  /** What the last check found (for status, and for what a resync may confirm). */
  get last(): DestinationVerdict | undefined {
    return this.verdict;
  }

  async ready(): Promise<DestinationReadiness> {
    // The device is noted before the look and compared after it: a drive unmounted while it was
    // looked at must not leave the guard allowing the disk below (seen happen under load).
    let verdict: DestinationVerdict;
    for (let attempt = 1; ; attempt++) {
      const seen = this.guard.sight();
      verdict = judgeDestination(this.pair, await lookAtDestination(this.deps.probe, this.pair));
      this.verdict = verdict;
      if (verdict.kind !== 'ready') break;
      if (this.guard.arm(seen)) {
        this.unmarked = verdict.adopt;
        return { ready: true };
      }
      if (attempt === 3)
        return { ready: false, reason: `${driveName(this.pair)} changed while it was being looked at; looking again` };
    }
    // Whatever a step cut short by the drive's going left on the other disk, once it is all done.
    this.guard.removeMisplaced();
    if (verdict.kind === 'moved') return { ready: false, reason: verdict.reason, movedTo: verdict.to };
    return { ready: false, reason: verdict.reason };
  }

  async synced(): Promise<void> {
    if (!this.unmarked) return;
    try {
      await this.mark();
    } catch (err) {
      this.deps.onMarkFailed(
        `The backup folder ${this.pair.destination} could not be marked as this pair's (${(err as Error).message}); ` +
          'SyncTray tries again after the next sync.',
      );
    }
  }

  /** Writes the marker and remembers the volume: after a sync, or when the user confirms the place. */
  async mark(): Promise<void> {
    const volume = await markDestination(this.deps.probe, this.pair);
    this.pair = this.deps.remember(volume);
    this.unmarked = false;
  }
}

/** "Backup drive BACKUP connected: 34 files backed up". */
export function driveConnectedText(pair: Pick<Pair, 'destination' | 'destinationVolume'>, files: number): string {
  const name = driveName(pair);
  const what = files > 0 ? `${formatCountOf(files, 'file')} backed up` : 'already up to date';
  return `${name[0]!.toUpperCase()}${name.slice(1)} connected: ${what}`;
}

/**
 * A pair just added whose destination exists is marked as the pair's at once, with its volume
 * remembered; one whose destination is made by its first sync is marked after that sync. A
 * marker that cannot be written now is left for then too.
 */
export async function markNewPair(probe: DestinationProbe, store: ConfigStore, pair: Pair): Promise<Pair> {
  // A phone's folder has no volume or marker of its own; a phone backed up to a drive does.
  if (isRemoteLocation(pair.destination)) return pair;
  try {
    const look = await probe.look(pair.destination);
    if (look.exists) return store.update(pair.id, { destinationVolume: await markDestination(probe, pair) });
    // Made by the first sync: until then the pair knows which drive it goes on, if the drive has a name.
    const volume = rememberVolume(await probe.volumes?.at(pair.destination));
    if (volume.uuid === undefined && volume.label === undefined) return pair;
    return store.update(pair.id, { destinationVolume: { ...volume, unmarked: true } });
  } catch {
    return pair;
  }
}
