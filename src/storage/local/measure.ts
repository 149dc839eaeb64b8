import fs from 'node:fs';
import path from 'node:path';
import type { Probed } from '../measured.js';
import { fileSystemKind, kindOfBlockDevice } from './fs-kind.js';
import { knownOf, probeFolder } from './probe.js';
import { linuxVolumes, type VolumeInfo } from './volume.js';

/**
 * What was measured of each mounted volume, for the life of the process (a run, or the service).
 * Keyed by the device, the file system's type and size (statfs), and behind FUSE also the mount
 * and the volume's UUID: the kernel reuses mount ids and loop devices, so a drive unplugged and
 * another plugged in where it was is measured anew.
 */
const measured = new Map<string, Probed>();
const volumes = linuxVolumes();

/**
 * What the file system holding `dir` keeps: as measured before on the same mount; else measured
 * now where `probe` allows and `dir` exists (items are written into it and removed); else as its
 * kind tells (`probed` undefined: what a POSIX folder keeps). `assumed` when that is a guess: a
 * FUSE file system not measured yet, whose kind says nothing of how it was mounted (ntfs-3g
 * refuses Windows' characters with `windows_names`, as desktops mount it, and takes them without).
 */
export async function measuredOf(
  dir: string,
  options: { probe: boolean },
): Promise<{ probed: Probed | undefined; assumed: boolean }> {
  const existing = nearestExisting(dir);
  if (existing === undefined) return { probed: undefined, assumed: true };
  // A kernel file system says what it is by its type; only behind FUSE is the device asked (blkid).
  const byType = fileSystemKind(existing);
  const volume = byType.fuse ? await volumes?.at(existing) : undefined;
  const key = mountKey(existing, volume);
  const seen = measured.get(key);
  if (seen) return { probed: seen, assumed: false };
  const kind = volume?.kind === undefined ? byType : { ...byType, name: kindOfBlockDevice(volume.kind) };
  if (options.probe && existing === path.resolve(dir)) {
    try {
      const probed = probeFolder(existing, kind);
      measured.set(key, probed);
      return { probed, assumed: false };
    } catch {
      // Read-only, full, or gone: what the kind tells will do, and the sync says what is wrong.
    }
  }
  return { probed: knownOf(kind), assumed: kind.fuse };
}

/** What the kind of the file system holding `dir` tells, from its statfs type alone (no process spawned). */
export function knownByType(dir: string): Probed | undefined {
  const existing = nearestExisting(dir);
  return existing === undefined ? undefined : knownOf(fileSystemKind(existing));
}

function mountKey(dir: string, v: VolumeInfo | undefined): string {
  const st = fs.statfsSync(dir);
  // Not the count of inodes: ntfs-3g's (and XFS's) changes as files are written, which made every
  // sync to such a drive probe it again.
  const size = [fs.statSync(dir).dev, st.type, st.bsize, st.blocks];
  return [...size, ...(v ? [v.mountId, v.device, v.mountPoint, v.fsType, v.uuid ?? ''] : [])].join('\0');
}

/** The folder itself, or its nearest parent that exists. */
export function nearestExisting(dir: string): string | undefined {
  for (let p = path.resolve(dir); ; p = path.dirname(p)) {
    try {
      if (fs.statSync(p).isDirectory()) return p;
    } catch {
      // not there: its parent then
    }
    if (path.dirname(p) === p) return undefined;
  }
}
