/**
 * The native accelerator (src/storage/local/native/) lists folders for LocalStorage. It must be
 * indistinguishable from the portable code: the same entries and the same errors, folder by folder.
 * CI builds it and must load it; elsewhere these tests skip when it was not built.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Entry } from '../../src/core/entry.js';
import { ErrorCode } from '../../src/core/errors.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { nativeFs, nativeFsProblem } from '../../src/storage/local/native.js';
import { hasTool, skipReasonOutsideCi } from '../helpers/requirements.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { ATIME, expectStorageError, HOSTILE_NAMES, MTIME } from './conformance-fixtures.js';

const notBuilt = skipReasonOutsideCi(
  nativeFs() !== undefined,
  `native listing not loaded (${nativeFsProblem()?.replace(/\s+/g, ' ')}): its tests skipped`,
);

let root: string;
let native: LocalStorage;
let portable: LocalStorage;

beforeEach(() => {
  root = makeScratch('synctray-native-');
  native = new LocalStorage(root);
  portable = new LocalStorage(root, { native: false });
});
afterEach(() => removeScratch(root));

/**
 * What list() gave, in name order, or the error it failed with. Without a symlink's atime: reading
 * the link to list it sets that.
 */
async function listing(
  s: LocalStorage,
  dir: string,
): Promise<Entry[] | { code: string; message: string; path: string }> {
  try {
    const entries = (await s.list(dir)).map((e) => (e.type === 'symlink' ? { ...e, atimeNs: 0n } : e));
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (err) {
    const { code, message, path } = err as { code: string; message: string; path: string };
    return { code, message, path };
  }
}

describe.skipIf(notBuilt)('native copy', () => {
  const copyOf = async (from: string, to: string, mode: number) => {
    const src = (await native.stat(from)) as Entry;
    return native.write(to, native.read(from), {
      mode,
      mtimeNs: MTIME,
      atimeNs: ATIME,
      expect: { size: src.size, mtimeNs: src.mtimeNs },
      renameTo: to.replace('.tmp', ''),
      replacing: null,
    });
  };

  it('gives every copy its mode, whether or not the umask lets the file be created with it', async () => {
    fs.writeFileSync(path.join(root, 'f'), 'content');
    const umask = process.umask();
    for (const mode of [0o600, 0o644, 0o664, 0o666, 0o755, 0o777, 0o4755, 0o2750, 0o1777, 0o000]) {
      const name = `copy-${mode.toString(8)}`;
      expect(await copyOf('f', `${name}.tmp`, mode)).toBe(true);
      expect(
        fs.statSync(path.join(root, name)).mode & 0o7777,
        `${mode.toString(8)} under umask ${umask.toString(8)}`,
      ).toBe(mode);
    }
  });

  it.skipIf(skipReasonOutsideCi(hasTool('setfacl'), 'needs setfacl (apt-get install acl): ACL case skipped'))(
    'gives the copy its mode in a folder whose default ACL would give new files another (it is made, then set)',
    async () => {
      fs.writeFileSync(path.join(root, 'f'), 'content');
      fs.mkdirSync(path.join(root, 'acl'));
      // New files here would be created without the others' read bit, whatever mode they ask for.
      const set = spawnSync('setfacl', ['-d', '-m', 'u::rw,g::r,o::-', path.join(root, 'acl')], { encoding: 'utf8' });
      expect(set.status, set.stderr).toBe(0);
      expect(await copyOf('f', 'acl/g.tmp', 0o644)).toBe(true);
      expect(fs.statSync(path.join(root, 'acl', 'g')).mode & 0o7777).toBe(0o644);
    },
  );

  it('copies a large file on the thread pool, leaving this thread free', async () => {
    const data = Buffer.alloc(64 * 1024 * 1024, 7);
    fs.writeFileSync(path.join(root, 'big'), data);
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    try {
      expect(await copyOf('big', 'big-copy.tmp', 0o644)).toBe(true);
    } finally {
      clearInterval(ticker);
    }
    expect(turns, 'timer turns while the copy ran').toBeGreaterThan(5);
    expect(fs.readFileSync(path.join(root, 'big-copy')).equals(data)).toBe(true);
  });

  it('keeps both times to the nanosecond', async () => {
    fs.writeFileSync(path.join(root, 'f'), 'content');
    await copyOf('f', 'g.tmp', 0o644);
    const st = fs.statSync(path.join(root, 'g'), { bigint: true });
    expect([st.mtimeNs, st.atimeNs]).toEqual([MTIME, ATIME]);
  });

  it('never replaces what appeared at the final name, and leaves the checked copy at its temp name', async () => {
    fs.writeFileSync(path.join(root, 'f'), 'new');
    fs.writeFileSync(path.join(root, 'g'), 'appeared meanwhile');
    await expectStorageError(() => copyOf('f', 'g.tmp', 0o644), ErrorCode.EXISTS);
    expect(fs.readFileSync(path.join(root, 'g'), 'utf8')).toBe('appeared meanwhile');
    expect(fs.readFileSync(path.join(root, 'g.tmp'), 'utf8')).toBe('new');
  });
});

describe.skipIf(notBuilt)('native listing', () => {
  it('is loaded (under CI it must be: the build makes it)', () => {
    expect(nativeFsProblem()).toBeUndefined();
  });

  it('lists every kind of item exactly as the portable code does, folder by folder', async () => {
    fs.mkdirSync(path.join(root, 'dir/deeper'), { recursive: true });
    fs.writeFileSync(path.join(root, 'file'), 'content');
    fs.writeFileSync(path.join(root, 'dir/empty'), '');
    fs.chmodSync(path.join(root, 'dir/empty'), 0o4751);
    fs.utimesSync(path.join(root, 'file'), 1_600_000_000.123456, 1_700_000_000.987654);
    fs.symlinkSync('file', path.join(root, 'link'));
    fs.symlinkSync('/nowhere/at/all', path.join(root, 'dir/dangling'));
    fs.symlinkSync('dir', path.join(root, 'dir-link'));
    for (const { name } of HOSTILE_NAMES) fs.writeFileSync(path.join(root, 'dir/deeper', name), name);
    if (hasTool('mkfifo')) spawnSync('mkfifo', [path.join(root, 'fifo')]);

    for (const dir of ['', 'dir', 'dir/deeper', 'file', 'link', 'dir-link', 'missing', 'dir/dangling']) {
      expect(await listing(native, dir), dir).toEqual(await listing(portable, dir));
    }
    const top = await listing(native, '');
    expect(Array.isArray(top) && top.map((e) => e.type).sort()).toEqual(
      [...(hasTool('mkfifo') ? ['special'] : []), 'dir', 'file', 'symlink', 'symlink'].sort(),
    );
  });

  it('lists and copies times beyond 64-bit nanoseconds (after 2262) as the portable code does', async () => {
    fs.writeFileSync(path.join(root, 'future'), 'from 2300');
    fs.utimesSync(path.join(root, 'future'), 10_413_792_000, 10_413_792_000);
    expect(await listing(native, '')).toEqual(await listing(portable, ''));
    const [entry] = (await native.list('')) as Entry[];
    expect(entry!.mtimeNs).toBe(10_413_792_000_000_000_000n);
    await native.write('copy', native.read('future'), {
      mtimeNs: entry!.mtimeNs,
      expect: { size: entry!.size, mtimeNs: entry!.mtimeNs },
    });
    expect(fs.statSync(path.join(root, 'copy'), { bigint: true }).mtimeNs).toBe(10_413_792_000_000_000_000n);
  });

  it('reports a folder holding a name that is not valid UTF-8 as the portable code does', async () => {
    fs.mkdirSync(path.join(root, 'sub'));
    fs.writeFileSync(Buffer.concat([Buffer.from(`${root}/sub/caf`), Buffer.from([0xe9]), Buffer.from('.txt')]), 'x');
    const got = await listing(native, 'sub');
    expect(got).toEqual(await listing(portable, 'sub'));
    expect(got).toMatchObject({ code: 'UNSUPPORTED', path: 'sub' });
  });

  it('answers hundreds of folders asked for at once, each with its own items or its own error', async () => {
    const dirs = Array.from({ length: 300 }, (_, i) => `d${i}`);
    dirs.forEach((d, i) => {
      fs.mkdirSync(path.join(root, d));
      for (let k = 0; k < i % 7; k++) fs.writeFileSync(path.join(root, d, `f${k}`), `${d}/${k}`);
    });
    const asked = [...dirs, 'missing-1', 'd0', 'missing-2'];
    const other = new LocalStorage(path.join(root, 'd6'));
    const [mine, theirs] = await Promise.all([Promise.all(asked.map((d) => listing(native, d))), listing(other, '')]);
    for (let i = 0; i < asked.length; i++) expect(mine[i], asked[i]).toEqual(await listing(portable, asked[i]!));
    expect(theirs).toEqual(await listing(portable, 'd6'));
  });
});
