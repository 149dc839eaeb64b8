/**
 * Destination folders SyncTray may not write into (run as an ordinary user): what goes there fails
 * by name with PERMISSION, everything else is synced, the run exits 1, no temp file is left, and a
 * mirror deletes nothing it may not. Once the folder is writable again, the next run completes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertCliBuilt, runCli } from '../helpers/cli.js';
import { rsyncDiff, rsyncSkipReason } from '../helpers/oracle.js';
import { giveToNobody, isRoot } from '../helpers/privilege.js';
import { skipReasonOutsideCi } from '../helpers/requirements.js';
import { makeSyncScratch, removeScratch } from '../helpers/scratch.js';
import { findTempFiles } from '../helpers/tree-inspect.js';
import { writeTree } from '../helpers/tree-spec.js';

const skip =
  rsyncSkipReason() ??
  skipReasonOutsideCi(isRoot, 'skipping: permission tests run the CLI as another user, which needs root');
let root: string;
let src: string;
let dst: string;
beforeAll(() => assertCliBuilt());
beforeEach(() => ({ root, src, dst } = makeSyncScratch('synctray-perm-')));
afterEach(() => removeScratch(root));

describe.skipIf(skip)('a destination folder that cannot be written', () => {
  it(
    'fails what goes there by name, syncs the rest, ' + 'deletes nothing it may not, and completes once writable',
    async () => {
      writeTree(src, {
        'open/a.txt': 'a',
        'open/b.txt': 'b',
        'locked/new.txt': 'new',
        'locked/changed.txt': 'version two',
        'top.txt': 't',
      });
      writeTree(dst, {
        'locked/changed.txt': 'v1',
        'locked/stale.txt': 'only here',
        'open/stale.txt': 'only here too',
      });
      giveToNobody(root);
      // The locked folder stays root's and read-only for everyone else.
      fs.chownSync(path.join(dst, 'locked'), 0, 0);
      fs.chmodSync(path.join(dst, 'locked'), 0o755);
      const r = await runCli(['sync', src, dst, '--json'], { unprivileged: true });
      expect(r.code, r.stderr).toBe(1);
      const errors = (r.json?.errors ?? []).map((e) => `${e.path} ${e.code}`).sort();
      // The folder's own times cannot be set either; the stale files wait: a run with failed copies deletes nothing.
      expect(errors).toEqual(['locked PERMISSION', 'locked/changed.txt PERMISSION', 'locked/new.txt PERMISSION']);
      expect(fs.readFileSync(path.join(dst, 'locked/stale.txt'), 'utf8')).toBe('only here');
      expect(fs.readFileSync(path.join(dst, 'open/a.txt'), 'utf8')).toBe('a');
      expect(fs.readFileSync(path.join(dst, 'top.txt'), 'utf8')).toBe('t');
      expect(fs.readFileSync(path.join(dst, 'locked/changed.txt'), 'utf8')).toBe('v1');
      expect(findTempFiles(dst)).toEqual([]);

      fs.chownSync(path.join(dst, 'locked'), 65534, 65534);
      const again = await runCli(['sync', src, dst, '--json'], { unprivileged: true });
      expect(again.code, again.stderr).toBe(0);
      expect(rsyncDiff(src, dst)).toEqual([]);
    },
  );
});
