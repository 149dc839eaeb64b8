/**
 * Hostile names through the whole CLI, both as files and as folders: NFC and NFD forms of one
 * word side by side, 255-byte names, newlines, leading dashes, shell specials. A mirror must make
 * rsync see two equal trees, a second run must do nothing, and a rename must be synced.
 * (Names differing only in case on a case-insensitive destination: the kernel here has no vfat
 * to loop-mount, so that logic is covered by test/engine/case-folding.test.ts.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertCliBuilt, runSync, summaryOf } from '../helpers/cli.js';
import { rsyncDiff, rsyncSkipReason } from '../helpers/oracle.js';
import { makeSyncScratch, removeScratch } from '../helpers/scratch.js';
import { HOSTILE_NAMES, NFC_NAME, NFD_NAME } from '../storage/conformance-fixtures.js';

const skip = rsyncSkipReason();
let root: string;
let src: string;
let dst: string;
beforeAll(() => assertCliBuilt());
beforeEach(() => ({ root, src, dst } = makeSyncScratch('synctray-names-')));
afterEach(() => removeScratch(root));

describe.skipIf(skip)('hostile names, end to end', () => {
  it('mirror every hostile name as a file and as a folder, NFC and NFD apart; a second run does nothing', async () => {
    fs.mkdirSync(path.join(src, 'dirs'), { recursive: true });
    for (const { name } of HOSTILE_NAMES) {
      fs.writeFileSync(path.join(src, name), `file ${name}`);
      fs.mkdirSync(path.join(src, 'dirs', name));
      fs.writeFileSync(path.join(src, 'dirs', name, name), 'inside');
    }
    expect(fs.readdirSync(src)).toEqual(expect.arrayContaining([NFC_NAME, NFD_NAME]));
    const first = await runSync(src, dst, '--mode', 'mirror');
    expect(first.code, first.stderr).toBe(0);
    expect(summaryOf(first).failed).toBe(0);
    expect(rsyncDiff(src, dst)).toEqual([]);
    expect(fs.readFileSync(path.join(dst, NFD_NAME), 'utf8')).toBe(`file ${NFD_NAME}`);
    expect(summaryOf(await runSync(src, dst, '--mode', 'mirror'))).toMatchObject({
      copied: 0,
      updated: 0,
      deleted: 0,
      metadata: 0,
    });

    // Renamed in the source to a name with a newline and a dash: the trees are equal again after.
    fs.renameSync(path.join(src, '-rf'), path.join(src, 'line\nbreak -rf'));
    const moved = await runSync(src, dst, '--mode', 'mirror');
    expect(summaryOf(moved)).toMatchObject({ failed: 0 });
    expect(rsyncDiff(src, dst)).toEqual([]);
  });
});
