// `synctray sync` under Windows' node.exe on trees that hold what Windows treats differently.
import fs from 'node:fs';
import path from 'node:path';
import { expect, shown, waitFor, writeTree } from './lane.mjs';

const T0 = Date.UTC(2026, 0, 1) / 1000;
const T1 = T0 + 3600;

/** Path components long enough that one file's Windows path passes MAX_PATH (260 characters). */
const DEEP = Array.from({ length: 6 }, (_, i) => `folder-with-a-long-name-${i}-${'x'.repeat(20)}`).join('/');
const DEEP_FILE = `${DEEP}/a-file-past-max-path.txt`;

/**
 * A Windows program that opens files as Word or Excel do, sharing nothing (libuv's
 * UV_FS_O_EXLOCK), and keeps them open until it is killed; it writes `ready` once they are.
 */
const HOLDER = `const fs = require('node:fs');
const [ready, ...files] = process.argv.slice(2);
const EXLOCK = 0x10000000;
const fds = files.map((f) => fs.openSync(f, fs.constants.O_RDWR | EXLOCK));
fs.writeFileSync(ready, String(fds.length));
setInterval(() => {}, 60000);
`;

const countsZero = (j) => j && j.copied + j.updated + j.deleted + j.metadata + (j.moved ?? 0) === 0;

export async function syncCases(lane) {
  const w = lane.wine;
  const src = w.here('tree/src');
  const dst = w.here('tree/dst');
  const sync = (...extra) => lane.synctrayJson(['sync', w.win('tree/src'), w.win('tree/dst'), ...extra]);
  writeTree(
    src,
    {
      'Foo.txt': 'foo',
      'Dir/inner.txt': 'inner',
      'ro.txt': 'read only',
      'held.txt': 'held',
      'open.txt': 'open',
      CON: 'a device name',
      'nul.txt': 'a device name before a dot',
      'com1.log': 'a device name before a dot',
      [DEEP_FILE]: 'deep',
    },
    T0,
  );
  fs.chmodSync(path.join(src, 'ro.txt'), 0o444);

  await lane.check('sync: a first mirror copies the tree, a path past 260 characters included', async () => {
    const r = await sync();
    expect(r.status === 0, 'the first sync did not exit 0', shown(r));
    const windowsPath = `${w.win('tree/dst')}\\${DEEP_FILE.split('/').join('\\')}`;
    expect(windowsPath.length > 260, `the deep path is only ${windowsPath.length} characters`);
    expect(fs.readFileSync(path.join(dst, ...DEEP_FILE.split('/')), 'utf8') === 'deep', 'the deep file is not there');
    expect(fs.readFileSync(path.join(dst, 'Dir', 'inner.txt'), 'utf8') === 'inner', 'Dir/inner.txt is not there');
  });

  await lane.check('sync: device names (CON, nul.txt, com1.log) are skipped with the reason named', async () => {
    const r = await sync('--dry-run');
    const reserved = (r.json?.skippedItems ?? []).filter((s) => s.reason === 'name-reserved').map((s) => s.path);
    expect(
      ['CON', 'com1.log', 'nul.txt'].every((n) => reserved.includes(n)),
      'not every device name was skipped as name-reserved',
      shown(r),
    );
    expect(/Windows reserves/.test(r.stderr), 'stderr does not say Windows reserves the name', shown(r));
    expect(!fs.existsSync(path.join(dst, 'CON')), 'CON was copied');
  });

  await lane.check(
    'sync: a read-only file is copied (writable: attributes are not kept); a rerun does nothing',
    async () => {
      expect(fs.readFileSync(path.join(dst, 'ro.txt'), 'utf8') === 'read only', 'ro.txt was not copied');
      const r = await sync();
      expect(r.status === 0 && countsZero(r.json), 'the second sync did something', shown(r));
    },
  );

  // A case-insensitive destination matches items whatever their case: the copy keeps the case it was
  // made with (as robocopy does, and rclone without --fix-case), and nothing is copied twice or lost.
  await lane.check('sync: case-only renames of a file and a folder keep one copy each, nothing lost', async () => {
    fs.renameSync(path.join(src, 'Foo.txt'), path.join(src, 'foo.txt'));
    fs.renameSync(path.join(src, 'Dir'), path.join(src, 'dir'));
    const r = await sync();
    expect(r.status === 0 && countsZero(r.json), 'the sync after case-only renames did something', shown(r));
    const names = fs.readdirSync(dst).map((n) => n.toLowerCase());
    const once = (n) => names.filter((m) => m === n).length === 1;
    expect(once('foo.txt') && once('dir'), `the destination holds ${names.join(', ')}`, shown(r));
    expect(fs.readFileSync(path.join(dst, 'Dir', 'inner.txt'), 'utf8') === 'inner', 'Dir/inner.txt was lost');
    expect(fs.readFileSync(path.join(dst, 'Foo.txt'), 'utf8') === 'foo', 'Foo.txt was lost');
  });

  await lane.check('sync: a read-only source file that changed is copied again', async () => {
    const file = path.join(src, 'ro.txt');
    fs.chmodSync(file, 0o644);
    writeTree(src, { 'ro.txt': 'read only, second version' }, T1);
    fs.chmodSync(file, 0o444);
    const r = await sync();
    expect(r.status === 0 && r.json?.updated === 1, 'the read-only file was not updated', shown(r));
    expect(fs.readFileSync(path.join(dst, 'ro.txt'), 'utf8') === 'read only, second version', 'old content left');
  });

  await lane.check('sync: files held open by another program fail as busy after retries, then sync', async () => {
    writeTree(src, { 'held.txt': 'held, second version', 'open.txt': 'open, second version' }, T1);
    fs.writeFileSync(w.here('hold.js'), HOLDER);
    const ready = 'tree/holding';
    const holder = w.start([
      lane.node(),
      w.win('hold.js'),
      w.win(ready),
      w.win('tree/src/held.txt'),
      w.win('tree/dst/open.txt'),
    ]);
    try {
      await waitFor(() => fs.existsSync(w.here(ready)), 'the holder to open its files');
      const r = await sync();
      const busy = (r.json?.errors ?? []).filter((e) => e.code === 'BUSY').map((e) => e.path);
      expect(r.status === 1, 'a sync with files held open did not exit 1', shown(r));
      // The source cannot be read (sharing violation: EBUSY); the destination cannot be renamed
      // over (ERROR_ACCESS_DENIED: EPERM), which is a file held open, not a permission to fix.
      expect(busy.includes('held.txt') && busy.includes('open.txt'), 'both should fail as BUSY', shown(r));
    } finally {
      holder.child.kill('SIGKILL');
      await holder.exited;
    }
    const r = await sync();
    expect(r.status === 0 && r.json?.updated === 2, 'the sync after they were closed did not update both', shown(r));
  });
}
