/**
 * On btrfs and XFS a copy within one file system shares the source's blocks (a reflink, through
 * copy_file_range) instead of writing them again: the copy takes no room and almost no time. Seen
 * with filefrag, which marks extents shared with another file.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, runCli } from '../helpers/cli.js';
import { disposeAllDrives, driveSkipReason, makeDrive } from '../helpers/drives.js';
import { rsyncDiff } from '../helpers/oracle.js';
import { hasTool, skipReasonOutsideCi } from '../helpers/requirements.js';

const noFilefrag = skipReasonOutsideCi(
  hasTool('filefrag'),
  'skipping the reflink tests: filefrag is missing (apt install e2fsprogs)',
);

/** How many of a file's extents filefrag reports as shared with another file. */
function sharedExtents(file: string): number {
  const r = spawnSync('filefrag', ['-v', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`filefrag -v ${file} failed: ${r.stderr}`);
  return r.stdout.split('\n').filter((line) => /\bshared\b/.test(line)).length;
}

describe.each(['btrfs', 'xfs'] as const)('copies on %s', (kind) => {
  const skip = driveSkipReason(kind) ?? noFilefrag;
  beforeAll(() => {
    if (skip === undefined) assertCliBuilt();
  });
  afterAll(() => disposeAllDrives());

  it.skipIf(skip !== undefined)('share the source blocks of a large file (a reflink), and are exact', async () => {
    const drive = await makeDrive(kind, { sizeMiB: kind === 'xfs' ? 320 : 128 });
    const src = path.join(drive.mountPoint, 'src');
    const dst = path.join(drive.mountPoint, 'dst');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'video.mp4'), crypto.randomBytes(8 << 20));
    fs.writeFileSync(path.join(src, 'note.txt'), 'small files are written, not shared');
    fs.writeFileSync(path.join(drive.mountPoint, 'unrelated'), crypto.randomBytes(1 << 20));
    // Written out, so that the extents exist to be shared.
    spawnSync('sync', ['-f', src]);
    expect(sharedExtents(path.join(src, 'video.mp4'))).toBe(0);

    const r = await runCli(['sync', src, dst, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(rsyncDiff(src, dst)).toEqual([]);
    expect(sharedExtents(path.join(dst, 'video.mp4'))).toBeGreaterThan(0);
    expect(sharedExtents(path.join(src, 'video.mp4'))).toBeGreaterThan(0);
    expect(sharedExtents(path.join(drive.mountPoint, 'unrelated'))).toBe(0);
  });
});
