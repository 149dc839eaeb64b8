import fs from 'node:fs';
import path from 'node:path';
import type { Probed } from '../measured.js';
import { fileSystemKind, kindOfBlockDevice } from './fs-kind.js';
import { knownOf, probeFolder } from './probe.js';
import { linuxVolumes, type VolumeInfo } from './volume.js';

/**
 * What was measured of each mounted volume, for the life of the process (a run, or the service).
 * Keyed by the mount and the volume's UUID: the kernel reuses mount ids and loop devices, so a
 * drive unplugged and another plugged in where it was is measured anew.
 */
const measured = new Map<string, Probed>();
const volumes = linuxVolumes();

/**
 * What the file system holding `dir` keeps: as measured before on the same mount; else measured
 * now where `probe` allows and `dir` exists (items are written into it and removed); else as its
 * kind tells. Undefined when nothing is known beyond what a POSIX folder keeps.
 */
export async function measuredOf(dir: string, options: { probe: boolean }): Promise<Probed | undefined> {
  const existing = nearestExisting(dir);
  if (existing === undefined) return undefined;
  const volume = await volumes?.at(existing);
  const key = volume === undefined ? `dev ${fs.statSync(existing).dev}` : mountKey(volume);
  const seen = measured.get(key);
  if (seen) return seen;
  const kind = fileSystemKind(existing, volume?.kind === undefined ? undefined : kindOfBlockDevice(volume.kind));
  if (options.probe && existing === path.resolve(dir)) {
    try {
      const probed = probeFolder(existing, kind);
      measured.set(key, probed);
      return probed;
    } catch {
      // Read-only, full, or gone: what the kind tells will do, and the sync says what is wrong.
    }
  }
  return knownOf(kind);
}

/** What the kind of the file system holding `dir` tells, from its statfs type alone (no process spawned). */
export function knownByType(dir: string): Probed | undefined {
  const existing = nearestExisting(dir);
  return existing === undefined ? undefined : knownOf(fileSystemKind(existing));
}

function mountKey(v: VolumeInfo): string {
  return [v.mountId, v.device, v.mountPoint, v.fsType, v.uuid ?? ''].join('\0');
}

function nearestExisting(dir: string): string | undefined {
  for (let p = path.resolve(dir); ; p = path.dirname(p)) {
    try {
      if (fs.statSync(p).isDirectory()) return p;
    } catch {
      // not there: its parent then
    }
    if (path.dirname(p) === p) return undefined;
  }
}
