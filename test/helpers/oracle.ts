/**
 * The rsync oracle: rsync, an independent implementation, says whether two trees match. Under
 * CI=true the tests that use it always run (and fail if rsync is missing); elsewhere a missing
 * rsync skips them with a printed reason.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { skipReasonOutsideCi } from './requirements.js';

const RSYNC_PRESENT = spawnSync('rsync', ['--version'], { stdio: 'ignore' }).status === 0;

/** Why rsync tests must be skipped, or undefined when they run (see the CI rule above). */
export function rsyncSkipReason(): string | undefined {
  return skipReasonOutsideCi(
    RSYNC_PRESENT,
    'rsync is not installed (apt-get install rsync): skipping the tests that use it as the oracle',
  );
}

/**
 * `rsync -anic --delete SRC/ DST/`, a pair marker at the top aside: one itemized line per
 * difference between the trees (types, sizes, content by checksum, mtimes to the second, modes,
 * symlink targets). Empty exactly when rsync printed nothing, i.e. when the trees match; a line
 * saying so when files vanished meanwhile.
 * With `drive`, modes are left out and times compared to the second (`--no-perms --modify-window=1`).
 * With `windowNs`, a difference in time alone between two items whose times are that close is none:
 * rsync compares times to the second, so it tells apart 0.9999995 and 1.0000005, which SyncTray
 * takes as equal (README, Equality: within 1 ms between local folders) and rightly leaves alone.
 */
export function rsyncDiff(src: string, dst: string, options: { drive?: boolean; windowNs?: bigint } = {}): string[] {
  if (!RSYNC_PRESENT)
    throw new Error('rsync is not installed, and CI=true requires the tests that need it to run: install rsync.');
  // A backup drive (exFAT, FAT) keeps no modes and times to the second at best.
  const drive = options.drive ? ['--no-perms', '--modify-window=1'] : [];
  // The pair marker (src/core/pair-marker.ts) and the versions a pair keeps by default
  // (.synctray-versions) are SyncTray's own at a pair's destination root, not part of the backup.
  // -8: names printed as they are (not \#ooo-escaped), to be looked up when times are compared here.
  const raw = options.windowNs !== undefined ? ['-8'] : [];
  const r = spawnSync(
    'rsync',
    [
      '-anic',
      '--delete',
      ...drive,
      ...raw,
      '--exclude=/.synctray-pair',
      '--exclude=/.synctray-versions',
      `${src}/`,
      `${dst}/`,
    ],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  if (r.error) throw r.error;
  // Exit 24: files vanished while rsync listed them. The trees were changing (a sync under way, a
  // temp file renamed): not equal yet, which a test waiting for them to match will look at again.
  if (r.status === 24) return [`(files vanished during the comparison) ${r.stderr.trim()}`];
  if (r.status !== 0)
    throw new Error(`rsync -anic --delete ${src}/ ${dst}/ failed with exit ${r.status}:\n${r.stderr}`);
  // Only the final newline is dropped: any other output, even a blank line, counts as a difference.
  const lines = r.stdout === '' ? [] : r.stdout.replace(/\n$/, '').split('\n');
  const windowNs = options.windowNs;
  return windowNs === undefined ? lines : lines.filter((line) => !timeOnlyWithin(line, src, dst, windowNs));
}

/**
 * An itemized line saying only that the times differ (`.f..t......`, `.L..t......`, `.d..t......`)
 * about an item whose times on the two sides are within `windowNs`. Anything else, or a name that
 * cannot be found as printed, stays a difference.
 */
function timeOnlyWithin(line: string, src: string, dst: string, windowNs: bigint): boolean {
  const m = /^\.([fdL])\.\.t\.{6} (.*)$/.exec(line);
  if (!m) return false;
  const [, kind, rest] = m as unknown as [string, string, string];
  let rel = rest;
  try {
    if (kind === 'L') {
      const suffix = ` -> ${fs.readlinkSync(path.join(dst, rest.slice(0, rest.lastIndexOf(' -> '))))}`;
      if (!rest.endsWith(suffix)) return false;
      rel = rest.slice(0, -suffix.length);
    } else if (kind === 'd') {
      rel = rest === './' ? '' : rest.replace(/\/$/, '');
    }
    const a = fs.lstatSync(path.join(src, rel), { bigint: true }).mtimeNs;
    const b = fs.lstatSync(path.join(dst, rel), { bigint: true }).mtimeNs;
    return (a > b ? a - b : b - a) <= windowNs;
  } catch {
    return false;
  }
}
