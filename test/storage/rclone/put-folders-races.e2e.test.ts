/**
 * The whole-folders path to a remote (putFolders) where things go wrong between its steps, on
 * rclone's local backend (`rclone:/PATH`, a real rcd): a folder or file that appears at its place
 * after the parent was looked at is kept, never merged into or replaced; and a run whose
 * putFolders fails in a way it cannot say what it placed copies everything one by one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, StorageError } from '../../../src/core/errors.js';
import { sync } from '../../../src/engine/sync.js';
import { LocalStorage } from '../../../src/storage/local/local-storage.js';
import { putFolders, type RemoteCalls } from '../../../src/storage/rclone/put-folders.js';
import { RcloneStorage } from '../../../src/storage/rclone/rclone-storage.js';
import { RcloneServer } from '../../../src/storage/rclone/server.js';
import type { LocalFile, Storage } from '../../../src/storage/storage.js';
import { rsyncDiff } from '../../helpers/oracle.js';
import { processAlive, RCLONE_SKIP, rcloneEnv } from '../../helpers/rclone.js';
import { makeScratch, removeScratch } from '../../helpers/scratch.js';

const STAGE = '.~synctray-00000000c0ffee02.part';
let root: string;
let dst: string;
let server: RcloneServer;
let storage: RcloneStorage;

beforeEach(async () => {
  root = makeScratch('synctray-put-races-');
  dst = path.join(root, 'dst');
  server = new RcloneServer({ env: rcloneEnv(root) });
  storage = new RcloneStorage({ path: dst }, server);
  await storage.mkdir('');
  await storage.measure();
});
afterEach(async () => {
  const pid = await server.pid().catch(() => undefined);
  await storage.close();
  await server.stop();
  removeScratch(root);
  if (pid !== undefined) expect(processAlive(pid), 'rcd is stopped').toBe(false);
});

/** A file of this machine under `src`, going to the same path. */
function local(rel: string, content = `ours: ${rel}`): LocalFile {
  const abs = path.join(root, 'src', rel);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  fs.writeFileSync(abs, content);
  const st = fs.statSync(abs, { bigint: true });
  return { path: rel, localPath: abs, size: Number(st.size), mtimeNs: st.mtimeNs };
}

describe.skipIf(RCLONE_SKIP)('putFolders when the destination changes under it', () => {
  it('keeps a folder and a file that appear after the parent was looked at, and says so', async () => {
    // The storage's own calls, to step in between its steps.
    const calls = (storage as unknown as { remoteCalls: RemoteCalls }).remoteCalls;
    const racing: RemoteCalls = {
      ...calls,
      list: async (dir) => {
        const seen = await calls.list(dir);
        if (dir === '') {
          fs.mkdirSync(path.join(dst, 'album'));
          fs.writeFileSync(path.join(dst, 'album', 'one.jpg'), 'theirs');
          for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(dst, `taken ${i}.txt`), `theirs ${i}`);
        }
        return seen;
      },
    };
    const files = [
      local('album/one.jpg'),
      local('album/two.jpg'),
      local('free/three.jpg'),
      ...Array.from({ length: 5 }, (_, i) => local(`taken ${i}.txt`)),
    ];
    const done = await putFolders(racing, { stage: STAGE, folders: ['album', 'free'], inner: [], files });

    expect(done.placed).toEqual(['free']);
    expect(done.failed.map((f) => f.path)).toEqual(['album']);
    expect(done.left.sort()).toEqual(['taken 0.txt', 'taken 1.txt', 'taken 2.txt']);
    expect(fs.readFileSync(path.join(dst, 'album', 'one.jpg'), 'utf8')).toBe('theirs');
    for (let i = 0; i < 3; i++) expect(fs.readFileSync(path.join(dst, `taken ${i}.txt`), 'utf8')).toBe(`theirs ${i}`);
    for (let i = 3; i < 5; i++)
      expect(fs.readFileSync(path.join(dst, `taken ${i}.txt`), 'utf8')).toBe(`ours: taken ${i}.txt`);
    expect(fs.readFileSync(path.join(dst, 'free', 'three.jpg'), 'utf8')).toBe('ours: free/three.jpg');
    expect(fs.existsSync(path.join(dst, STAGE))).toBe(false);
  });

  it('a run whose putFolders fails, saying nothing of what it placed, copies everything one by one', async () => {
    for (let i = 0; i < 20; i++) local(`loose ${i}.txt`);
    for (let i = 0; i < 5; i++) local(`new/f${i}.txt`);
    const failing: Storage = Object.create(storage, {
      putFolders: { value: async () => Promise.reject(new StorageError(ErrorCode.IO, 'lost its way')) },
    });
    const r = await sync(new LocalStorage(path.join(root, 'src')), failing, { mode: 'mirror' });
    expect(r).toMatchObject({ copied: 26, failed: 0 });
    expect(rsyncDiff(path.join(root, 'src'), dst, { drive: true }).filter((l) => !/^\.d\.\.t/.test(l))).toEqual([]);
  });
});
