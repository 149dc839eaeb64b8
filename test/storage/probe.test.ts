/** The probe on a real POSIX folder: what it finds, and that it leaves no trace. */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { NO_RULES } from '../../src/core/name-encoding.js';
import { fileSystemKind } from '../../src/storage/local/fs-kind.js';
import { isTempName } from '../../src/core/temp-name.js';
import { PROBE_PREFIX, probeFolder } from '../../src/storage/local/probe.js';
import { granularityOf } from '../../src/storage/measured.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { setMtime } from '../helpers/mtimes.js';
import { posixOnly } from '../helpers/requirements.js';

let dir: string;
beforeEach(() => {
  dir = makeScratch('synctray-probe-');
});
afterEach(() => removeScratch(dir));

it.skipIf(posixOnly('a POSIX folder'))(
  'finds what a POSIX folder keeps: fine times, modes, symlinks, case, every name, 255 bytes',
  () => {
    const probed = probeFolder(dir, fileSystemKind(dir));
    expect(granularityOf(probed.time!.setNs, probed.time!.readNs)).toBeLessThanOrEqual(1000n);
    expect(probed).toMatchObject({
      permissions: true,
      symlinks: true,
      foldsCase: false,
      names: NO_RULES,
      maxName: { length: 255, unit: 'byte' },
    });
    expect(probed.maxFileBytes).toBeUndefined();
  },
);

it.skipIf(posixOnly('a Linux file system named by the mount table'))(
  'on ext4, XFS, btrfs or tmpfs takes the names from the kind; trying them gives the same answer',
  () => {
    const kind = fileSystemKind(dir);
    expect(['ext4', 'XFS', 'btrfs', 'tmpfs']).toContain(kind.name);
    const { kind: _named, time: _t1, ...byKind } = probeFolder(dir, kind);
    // The same folder taken for a file system of no known kind: every name is tried there.
    const { kind: _unnamed, time: _t2, ...tried } = probeFolder(dir, { ...kind, name: undefined });
    expect(byKind).toEqual(tried);
    expect(fs.readdirSync(dir)).toEqual([]);
  },
);

it('leaves the folder as it was: its items, and its own times', () => {
  fs.writeFileSync(path.join(dir, 'mine'), 'a user file');
  const t = setMtime(dir, 1_700_000_000_123_456_000n);
  probeFolder(dir, fileSystemKind(dir));
  expect(fs.readdirSync(dir)).toEqual(['mine']);
  expect(fs.readFileSync(path.join(dir, 'mine'), 'utf8')).toBe('a user file');
  expect(sameMicrosecond(fs.statSync(dir, { bigint: true }).mtimeNs, t)).toBe(true);
});

it('removes what a probe killed halfway left behind, and nothing else', () => {
  fs.writeFileSync(path.join(dir, `${PROBE_PREFIX}0badc0de:x`), '');
  fs.writeFileSync(path.join(dir, '.~synctray-mine'), 'not a probe item');
  probeFolder(dir, fileSystemKind(dir));
  expect(fs.readdirSync(dir)).toEqual(['.~synctray-mine']);
});

it('puts back a folder time before 1970 as it was (Node takes a negative number for now)', () => {
  const t = setMtime(dir, -1_000_000_000n);
  probeFolder(dir, fileSystemKind(dir));
  expect(sameMicrosecond(fs.statSync(dir, { bigint: true }).mtimeNs, t)).toBe(true);
});

/** Times are put back through Node, which takes them to the microsecond. */
function sameMicrosecond(a: bigint, b: bigint): boolean {
  return (a > b ? a - b : b - a) < 1000n;
}

it('names what it may leave behind so that a sync takes it for its own temp item and removes it', () => {
  for (const name of [`${PROBE_PREFIX}0badc0de-f`, `${PROBE_PREFIX}0badc0de:x`, `aux${PROBE_PREFIX}0badc0de`])
    expect(isTempName(name)).toBe(true);
  expect(isTempName('aux.c')).toBe(false);
});
