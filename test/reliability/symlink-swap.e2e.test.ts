/**
 * A destination folder swapped for a symlink to somewhere else while a sync writes into it: nothing
 * may be written, renamed or deleted outside the destination. The swap is made once the sync is
 * under way in that folder. The native library opens every folder below the destination without
 * following links; the portable code (no C compiler) only looks before each call, which narrows
 * the window without closing it (docs/reliability.md), so it is not held to this test.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertCliBuilt, runSync, startCli } from '../helpers/cli.js';
import { rsyncDiff, rsyncSkipReason } from '../helpers/oracle.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { waitFor } from '../helpers/wait-for.js';

const skip = rsyncSkipReason();
let root: string;
beforeAll(() => assertCliBuilt());
beforeEach(() => {
  root = makeScratch('synctray-swap-');
});
afterEach(() => removeScratch(root));
const at = (p: string) => path.join(root, p);

describe.skipIf(skip)('a destination folder swapped for a symlink during a sync', () => {
  it('writes and deletes nothing outside the destination', { timeout: 60_000 }, async () => {
    fs.mkdirSync(at('src/sub'), { recursive: true });
    for (let i = 0; i < 3000; i++) fs.writeFileSync(at(`src/sub/f${i}`), `${i}`.repeat(200));
    // Outside: a folder the attacker wants written into, holding files with the names of ones a
    // mirror deletes from dst/sub.
    fs.mkdirSync(at('outside'));
    fs.mkdirSync(at('dst/sub'), { recursive: true });
    const doomed = Array.from({ length: 100 }, (_, i) => `old-${i}`);
    for (const name of doomed) {
      fs.writeFileSync(at(`dst/sub/${name}`), 'to be deleted');
      fs.writeFileSync(at(`outside/${name}`), 'must survive');
    }
    // --force: deleting all 100 would otherwise be held back as a mass deletion.
    const run = startCli(['sync', at('src'), at('dst'), '--mode', 'mirror', '--quiet', '--force']);
    await waitFor(() => fs.readdirSync(at('dst/sub')).length > 150, 'the sync under way in dst/sub', { intervalMs: 1 });
    fs.renameSync(at('dst/sub'), at('dst/sub-moved'));
    fs.symlinkSync(at('outside'), at('dst/sub'));
    const r = await run.done;
    expect(r.code).not.toBe(null);
    expect(fs.readdirSync(at('outside')).sort()).toEqual([...doomed].sort());
    for (const name of doomed) expect(fs.readFileSync(at(`outside/${name}`), 'utf8')).toBe('must survive');

    // Once the link is gone, the next run puts everything right.
    fs.unlinkSync(at('dst/sub'));
    const next = await runSync(at('src'), at('dst'), '--mode', 'mirror', '--force');
    expect(next.code, next.stderr).toBe(0);
    expect(rsyncDiff(at('src'), at('dst'))).toEqual([]);
  });
});
