import fs from 'node:fs';
import path from 'node:path';
import type { Probed } from '../measured.js';
import { fileSystemKind } from './fs-kind.js';
import { knownOf, probeFolder } from './probe.js';

/**
 * What was measured of each mounted file system, for the life of the process (a run, or the
 * service): keyed by the mount, so a drive unplugged and another one plugged in at the same place
 * is measured anew.
 */
const measured = new Map<string, Probed>();

/**
 * What the file system holding `dir` keeps: as measured before on the same mount; else measured
 * now where `probe` allows and `dir` exists (items are written into it and removed); else as its
 * kind tells (`known`: from the statfs type alone, or also asking the block device behind a FUSE
 * mount, which spawns blkid). Undefined when nothing is known beyond what a POSIX folder keeps.
 */
export function measuredOf(dir: string, options: { probe: boolean; known: 'magic' | 'device' }): Probed | undefined {
  const existing = nearestExisting(dir);
  if (existing === undefined) return undefined;
  const key = mountKeyOf(existing);
  const seen = key === undefined ? undefined : measured.get(key);
  if (seen) return seen;
  const kind = fileSystemKind(existing, options.known === 'device' ? blockDeviceKind : undefined);
  if (options.probe && existing === dir) {
    try {
      const probed = probeFolder(dir, kind);
      if (key !== undefined) measured.set(key, probed);
      return probed;
    } catch {
      // Read-only, full, or gone: what the kind tells will do, and the sync says what is wrong.
    }
  }
  return knownOf(kind);
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

// TEMPORARY until volume.ts lands: the mount of a folder and the kind of its block device.
import { spawnSync } from 'node:child_process';
function mountOf(dir: string): { id: string; source: string } | undefined {
  let text: string;
  try {
    text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return undefined;
  }
  const st = fs.statSync(dir);
  const want = `${Math.floor(st.dev / 256) & 0xfff}:${(st.dev & 0xff) | ((st.dev >> 12) & 0xfff00)}`;
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f[2] !== want) continue;
    const dash = f.indexOf('-');
    return { id: f[0]!, source: f[dash + 2]! };
  }
  return undefined;
}
function mountKeyOf(dir: string): string | undefined {
  const m = mountOf(dir);
  return m ? `${m.id}` : `dev:${fs.statSync(dir).dev}`;
}
function blockDeviceKind(dir: string): string | undefined {
  const m = mountOf(dir);
  if (!m || !m.source.startsWith('/dev/')) return undefined;
  const r = spawnSync('blkid', ['-o', 'value', '-s', 'TYPE', m.source], { encoding: 'utf8', timeout: 5000 });
  return r.status === 0 ? r.stdout.trim() || undefined : undefined;
}
