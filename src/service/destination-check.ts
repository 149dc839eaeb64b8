/**
 * Whether a pair may write into its destination now: the destination must lie on the volume the
 * pair remembers (by UUID, else label and kind) and hold the marker naming the pair. Otherwise
 * nothing is written and the pair waits, saying why and what the user can do (issue 14).
 *
 * The decision is `judgeDestination`, pure; `lookAtDestination` gathers what it needs.
 */
import path from 'node:path';
import { PAIR_MARKER, type MarkedPair } from '../core/pair-marker.js';
import type { DestinationVolume, Pair } from '../config/schema.js';
import type { FolderLook, MarkerRead } from '../storage/local/pair-marker-file.js';
import { sameVolume, type VolumeIdentity, type VolumeInfo } from '../storage/local/volume.js';

/** What the service reads volumes and markers with (app.ts gives the real ones; tests may fake them). */
export interface DestinationProbe {
  /** The volumes of this machine; absent where they cannot be read (not Linux): the marker alone decides. */
  volumes?: {
    at(location: string): Promise<VolumeInfo | undefined>;
    find(identity: VolumeIdentity): Promise<VolumeInfo[]>;
  };
  look(dir: string): Promise<FolderLook>;
  /** Writes the marker naming the pair into `dir`, making `dir` first if needed. */
  mark(dir: string, pair: MarkedPair): Promise<void>;
}

/** What is at the destination path now, and where else the pair's volume is mounted. */
export interface DestinationSight {
  here: FolderLook & { volume?: VolumeInfo };
  /** Mounts of the remembered volume elsewhere: where the destination would be through each. */
  elsewhere: { path: string; look: FolderLook; volume: VolumeInfo }[];
}

/** Why a pair waits for its destination. */
export type WaitWhy = 'not-connected' | 'gone' | 'marker-missing' | 'other-pair' | 'other-drive' | 'unreadable';

export type DestinationVerdict =
  /** Write. `adopt`: record the volume and write the marker once a sync has gone through. */
  | { kind: 'ready'; adopt: boolean }
  /** The pair's volume is mounted elsewhere, with the pair's marker at `to`: follow it there. */
  | { kind: 'moved'; to: string; reason: string }
  /**
   * Write nothing. `confirmable`: a resync of the pair tells SyncTray this is the right place (see
   * confirmDestination).
   */
  | { kind: 'wait'; why: WaitWhy; reason: string; confirmable: boolean };

type Marked = 'ours' | 'missing' | 'other' | 'unreadable';

function markedBy(read: MarkerRead, pairId: string): Marked {
  if (read.state === 'unreadable') return 'unreadable';
  if (read.state === 'missing') return 'missing';
  // A marker that cannot be parsed names no pair: taken as missing, so the owner can confirm the folder.
  if (!read.marker) return 'missing';
  return read.marker.pairId === pairId ? 'ours' : 'other';
}

/** "backup drive BACKUP", or the folder when the drive has no label. */
export function driveName(pair: Pick<Pair, 'destination' | 'destinationVolume'>): string {
  const label = pair.destinationVolume?.label;
  return label !== undefined ? `backup drive ${label}` : `the drive of ${pair.destination}`;
}

const capital = (s: string) => `${s[0]!.toUpperCase()}${s.slice(1)}`;

/**
 * The decision, from what lies at the destination path (its folder, marker and volume) and where
 * else the remembered volume is mounted:
 * - a pair not marked yet (older configs; a destination that did not exist when it was added)
 *   writes, and is marked after its next sync that goes through;
 * - a marked pair writes only where its volume is (when it can be told) and its marker is;
 * - its volume mounted elsewhere with its marker at the same place inside: follow it there.
 */
export function judgeDestination(
  pair: Pick<Pair, 'id' | 'name' | 'destination' | 'destinationVolume'>,
  sight: DestinationSight,
): DestinationVerdict {
  const { here } = sight;
  const remembered = pair.destinationVolume;
  const marker = markedBy(here.marker, pair.id);
  const drive = driveName(pair);
  const resync = `resync the pair ('synctray pair resync ${quoteArg(pair.name)}', or Resync now in the tray)`;
  const markerPath = path.join(pair.destination, PAIR_MARKER);
  const otherName = here.marker.state === 'found' ? here.marker.marker?.pairName : undefined;
  const unreadable = (): DestinationVerdict => ({
    kind: 'wait',
    why: 'unreadable',
    reason:
      `${pair.destination} cannot be read (${here.marker.state === 'unreadable' ? here.marker.code : 'error'}): ` +
      `${drive} may have been unplugged. Nothing is written until it answers again.`,
    confirmable: false,
  });
  const notConnected = (): DestinationVerdict => ({
    kind: 'wait',
    why: 'not-connected',
    reason:
      `${capital(drive)} is not connected: plug it in and the backup goes on by itself (nothing is written to ` +
      `${pair.destination} meanwhile).`,
    confirmable: false,
  });
  const otherPair = (): DestinationVerdict => ({
    kind: 'wait',
    why: 'other-pair',
    reason:
      `${pair.destination} is marked as the backup of another pair ("${otherName}"), so nothing is written there. If ` +
      `that pair no longer uses it, ${resync} to take it over; otherwise remove this pair and add it again with ` +
      'another destination.',
    confirmable: true,
  });

  const same = remembered && here.volume ? onVolume(remembered, here.volume) : undefined;
  if (!remembered || remembered.unmarked) {
    if (marker === 'unreadable') return unreadable();
    if (marker === 'other') return otherPair();
    // Added before its folder was made: it is made on the volume seen then, never on another disk.
    if (same === false) return notConnected();
    return { kind: 'ready', adopt: true };
  }

  if (same === false) {
    const found = sight.elsewhere.find(
      (e) => e.path !== pair.destination && e.look.exists && markedBy(e.look.marker, pair.id) === 'ours',
    );
    if (found)
      return {
        kind: 'moved',
        to: found.path,
        reason: `${capital(drive)} is now mounted at ${found.volume.mountPoint}: the pair follows it to ${found.path}.`,
      };
    if (here.exists && marker === 'ours') {
      const seen = here.volume?.label ?? here.volume?.uuid ?? here.volume?.mountPoint;
      return {
        kind: 'wait',
        why: 'other-drive',
        reason:
          `${pair.destination} holds this pair's backup but lies on another drive (${seen}) than ${drive}, ` +
          `so nothing is written there. If it is the pair's new drive, ${resync} to back up to it from now on.`,
        confirmable: true,
      };
    }
    return notConnected();
  }

  if (marker === 'unreadable') return unreadable();
  if (!here.exists) {
    if (same === true) {
      return {
        kind: 'wait',
        why: 'gone',
        reason:
          `${pair.destination} is gone from ${drive} (renamed or deleted?), so nothing is written. To back up there ` +
          `again, ${resync}.`,
        confirmable: true,
      };
    }
    return {
      kind: 'wait',
      why: 'not-connected',
      reason:
        `${pair.destination} is gone (drive unplugged, folder renamed or deleted?); ` +
        'nothing is written until it is back.',
      confirmable: false,
    };
  }
  if (marker === 'other') return otherPair();
  if (marker === 'ours') {
    // A volume first seen without a name (blkid could not read it) is named now that it can be.
    return {
      kind: 'ready',
      adopt:
        same === undefined &&
        here.volume !== undefined &&
        (here.volume.uuid !== undefined || here.volume.label !== undefined),
    };
  }
  // No marker. On the remembered volume, the folder is the right one and only the user can say
  // whether its content is; where the volume cannot be told, an empty folder is what an unmounted
  // drive leaves behind and is never taken for the backup.
  if (same === undefined && here.empty) {
    return {
      kind: 'wait',
      why: 'not-connected',
      reason:
        `${capital(drive)} is not connected: ${pair.destination} is empty and has no SyncTray marker. Plug the drive ` +
        'in and the backup goes on by itself; to start it afresh in this folder, remove the pair and add it again.',
      confirmable: false,
    };
  }
  return {
    kind: 'wait',
    why: 'marker-missing',
    reason:
      `${pair.destination}${same ? ` on ${drive}` : ''} has lost its SyncTray marker (${markerPath}), so nothing is ` +
      `written there. If this is the right folder, ${resync} to mark it again.`,
    confirmable: true,
  };
}

/**
 * Whether `volume` is the remembered one (see sameVolume). A volume without any name is not a
 * named drive: it is what lies under an unmounted drive (the system disk in a container where
 * blkid may not read it, a tmpfs). Undefined when it cannot be told; the marker decides then.
 */
export function onVolume(remembered: VolumeIdentity, volume: VolumeIdentity): boolean | undefined {
  const same = sameVolume(remembered, volume);
  if (same !== undefined) return same;
  const named = (v: VolumeIdentity) => v.uuid !== undefined || v.label !== undefined;
  return named(remembered) && !named(volume) ? false : undefined;
}

function quoteArg(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Reads what judgeDestination needs: the folder, its volume, and (only when needed) the volume's other mounts. */
export async function lookAtDestination(
  probe: DestinationProbe,
  pair: Pick<Pair, 'id' | 'destination' | 'destinationVolume'>,
): Promise<DestinationSight> {
  // The folder and its volume as one sight: a drive unmounted between the two would show its marker
  // on another volume (the disk below it), which asks the user for what needs no one. The volume is
  // read before and after the folder, and the pair looks again while they differ.
  let look: Awaited<ReturnType<DestinationProbe['look']>>;
  let volume: VolumeInfo | undefined;
  for (let attempt = 0; ; attempt++) {
    const before = await probe.volumes?.at(pair.destination);
    look = await probe.look(pair.destination);
    volume = await probe.volumes?.at(pair.destination);
    if (sameMount(before, volume) || attempt === 4) break;
  }
  const here = volume ? { ...look, volume } : look;
  const remembered = pair.destinationVolume;
  const elsewhere: DestinationSight['elsewhere'] = [];
  // Another mount of the volume matters only when the path no longer leads to it.
  if (
    remembered?.pathInVolume !== undefined &&
    !remembered.unmarked &&
    probe.volumes &&
    volume &&
    onVolume(remembered, volume) === false
  ) {
    for (const mount of await probe.volumes.find(remembered)) {
      const at = placeIn(mount, remembered.pathInVolume);
      if (at !== undefined) elsewhere.push({ path: at, look: await probe.look(at), volume: mount });
    }
  }
  return { here, elsewhere };
}

function sameMount(a: VolumeInfo | undefined, b: VolumeInfo | undefined): boolean {
  return a === undefined || b === undefined
    ? a === b
    : a.mountId === b.mountId && a.device === b.device && a.mountPoint === b.mountPoint;
}

/** Where `inVolume` is reached through a mount whose root (inside the volume) is `mount.pathInVolume`. */
function placeIn(mount: VolumeInfo, inVolume: string): string | undefined {
  const root = mount.pathInVolume;
  if (!(inVolume === root || root === '/' || inVolume.startsWith(`${root}/`))) return undefined;
  return path.posix.join(mount.mountPoint, path.posix.relative(root, inVolume));
}

/** What the config keeps of a destination's volume (see Pair.destinationVolume). */
export function rememberVolume(volume: VolumeInfo | undefined): DestinationVolume {
  if (!volume) return {};
  const out: DestinationVolume = { pathInVolume: volume.pathInVolume };
  if (volume.uuid !== undefined) out.uuid = volume.uuid;
  if (volume.label !== undefined) out.label = volume.label;
  if (volume.kind !== undefined) out.kind = volume.kind;
  return out;
}

/**
 * Marks the destination as the pair's: writes the marker (making the folder if needed) and returns
 * the volume to remember. Used when a pair is added with an existing destination, after a pair's
 * first sync that went through, and when the user confirms the place with a resync.
 */
export async function markDestination(
  probe: DestinationProbe,
  pair: Pick<Pair, 'id' | 'name' | 'destination'>,
): Promise<DestinationVolume> {
  await probe.mark(pair.destination, { pairId: pair.id, pairName: pair.name });
  return rememberVolume(await probe.volumes?.at(pair.destination));
}
