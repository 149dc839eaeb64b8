/**
 * The behaviour every Storage backend must show, checked only through the Storage interface so the
 * same tests run against a local folder, a phone over ADB, or anything added later. What may differ
 * between backends is read from `storage.capabilities`, never from the backend's name.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Entry } from '../../src/core/entry.js';
import { ErrorCode, StorageError } from '../../src/core/errors.js';
import { joinRel, type RelPath } from '../../src/core/rel-path.js';
import { bytesSource, readAll } from '../../src/storage/sources.js';
import type { Capabilities, Replacing, Storage, WriteOptions } from '../../src/storage/storage.js';
import {
  ATIME,
  BAD_PATHS,
  chunkedSource,
  DEEP_DIRS,
  expectNames,
  expectSameBytes,
  expectStorageError,
  expectTime,
  failingSource,
  failureOf,
  HOSTILE_NAMES,
  MTIME,
  NFC_NAME,
  NFD_NAME,
  nameOfBytes,
  OTHER_MTIME,
  pseudoRandomBytes,
  SUB_SECOND_TIMES,
} from './conformance-fixtures.js';
import { onWindows } from '../helpers/requirements.js';
import { describePutFolders } from './conformance-put-folders.js';

/**
 * What the machine under a storage cannot show, each with the reason (test/helpers/like-ntfs.ts):
 * the tests that need it skip there, saying why.
 */
export interface HostLimits {
  /** It does not keep the access times it is given. */
  accessTimes?: string;
  /** It refuses a name of 256 UTF-8 bytes that the storage itself would take. */
  longNames?: string;
  /** A rename that changes only case leaves the name as it was. */
  caseRenames?: string;
}

export interface StorageUnderTest {
  storage: Storage;
  /** Removes everything the storage holds; called after `storage.close()`. */
  cleanup(): Promise<void>;
  /** What the machine under it cannot show; absent: nothing. */
  host?: HostLimits;
}

/**
 * Registers the suite. `setup` is called before every test and must give an empty storage, so no
 * test sees another's leftovers.
 */
const WINDOWS_REFUSES = 'Windows refuses this name, and the storage does not encode it';

/**
 * A name a storage without name rules cannot hold on Windows: one of `: * ? " < > | \\` or a
 * control character, or a trailing dot or space.
 */
function refusedHere(caps: Capabilities, name: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: Windows refuses control characters in names
  return onWindows && caps.names === undefined && /[:*?"<>|\\\x00-\x1f]|[. ]$/.test(name);
}

export function describeStorageConformance(name: string, setup: () => Promise<StorageUnderTest>): void {
  describe(`Storage conformance: ${name}`, () => {
    let under: StorageUnderTest;
    let s: Storage;
    let caps: Capabilities;

    beforeEach(async () => {
      under = await setup();
      s = under.storage;
      caps = s.capabilities;
    });
    afterEach(async () => {
      try {
        await s.close();
      } finally {
        await under.cleanup();
      }
    });

    const put = (path: RelPath, content: string | Uint8Array = `content of ${path}`, options?: WriteOptions) =>
      s.write(path, bytesSource(content), options);
    const bytes = (path: RelPath) => readAll(s.read(path));
    const text = async (path: RelPath) => (await bytes(path)).toString();
    const namesIn = async (dir: RelPath) => (await s.list(dir)).map((e) => e.name);
    const time = (actual: bigint, wanted: bigint, what: string) => expectTime(caps, actual, wanted, what);

    describePutFolders(() => s);

    describe('paths', () => {
      it.each(BAD_PATHS)('every method throws TypeError for %j', async (bad) => {
        // Real items next to the bad path, so a backend that resolves `sub/../x` instead of refusing
        // it succeeds and fails the test rather than failing with NOT_FOUND.
        await put('x');
        await s.mkdir('sub');
        const calls: [string, () => unknown][] = [
          ['list', () => s.list(bad)],
          ['stat', () => s.stat(bad)],
          ['read', () => bytes(bad)],
          ['write', () => put(bad)],
          ['symlink', () => s.symlink(bad, 'x')],
          ['setModTime', () => s.setModTime(bad, MTIME)],
          ['setMode', () => s.setMode(bad, 0o644)],
          ['rename from', () => s.rename(bad, 'y')],
          ['rename to', () => s.rename('x', bad)],
          ['mkdir', () => s.mkdir(bad)],
          ['remove', () => s.remove(bad)],
          ['rmdir', () => s.rmdir(bad)],
        ];
        for (const [method, call] of calls) {
          expect(await failureOf(call), method).toBeInstanceOf(TypeError);
        }
        expectNames(await namesIn(''), ['sub', 'x']);
      });
    });

    describe('list', () => {
      it('gives nothing for the root of an empty storage', async () => {
        expect(await s.list('')).toEqual([]);
      });

      it('lists the root and nested folders, each entry as stat reports it', async () => {
        await put('a.txt', 'hello');
        await s.mkdir('dir');
        await put('dir/b.bin', new Uint8Array([0, 1, 2]));
        await s.mkdir('dir/sub');
        if (caps.symlinks) await s.symlink('dir/link', 'b.bin');

        const root = await s.list('');
        expectNames(
          root.map((e) => e.name),
          ['a.txt', 'dir'],
        );
        expect(byName(root, 'a.txt')).toMatchObject({ type: 'file', size: 5 });
        expect(byName(root, 'dir')).toMatchObject({ type: 'dir', size: 0 });

        const inDir = await s.list('dir');
        const links = caps.symlinks ? ['link'] : [];
        expectNames(
          inDir.map((e) => e.name),
          ['b.bin', 'sub', ...links],
        );
        expect(byName(inDir, 'b.bin')).toMatchObject({ type: 'file', size: 3 });
        expect(byName(inDir, 'sub')).toMatchObject({ type: 'dir', size: 0 });
        if (caps.symlinks) {
          expect(byName(inDir, 'link')).toMatchObject({ type: 'symlink', size: 0, target: 'b.bin' });
        }

        expect(await s.list('dir/sub')).toEqual([]);
        for (const [dir, entries] of [
          ['', root],
          ['dir', inDir],
        ] as const) {
          for (const entry of entries) {
            const stat = await s.stat(joinRel(dir, entry.name));
            expect(withoutAtime(stat)).toEqual(withoutAtime(entry));
          }
        }
      });

      it('fails NOT_FOUND for a missing folder', async () => {
        await expectStorageError(() => s.list('missing'), ErrorCode.NOT_FOUND);
        await expectStorageError(() => s.list('missing/deeper'), ErrorCode.NOT_FOUND);
      });

      it('fails NOT_DIR for a file', async () => {
        await put('file');
        await expectStorageError(() => s.list('file'), ErrorCode.NOT_DIR);
      });

      it('fails NOT_DIR for a symlink to a folder instead of listing the folder', async ({ skip }) => {
        skip(!caps.symlinks, 'no symlinks');
        await s.mkdir('real');
        await put('real/inside');
        await s.symlink('link', 'real');
        await expectStorageError(() => s.list('link'), ErrorCode.NOT_DIR);
      });
    });

    describe('stat', () => {
      it('reports a file with its size, mode and times', async () => {
        await put('f', 'twelve bytes', { mode: 0o640, mtimeNs: MTIME, atimeNs: ATIME });
        const st = await s.stat('f');
        expect(st).toMatchObject({ name: 'f', type: 'file', size: 12 });
        expect(st.target).toBeUndefined();
        if (caps.permissions) expect(st.mode).toBe(0o640);
        if (caps.canSetModTime) time(st.mtimeNs, MTIME, 'mtime');
      });

      it('reports a folder with size 0, and the root as a folder', async () => {
        await s.mkdir('d');
        await put('d/content', 'not counted in the folder size');
        expect(await s.stat('d')).toMatchObject({ name: 'd', type: 'dir', size: 0 });
        expect((await s.stat('')).type).toBe('dir');
      });

      it('reports a symlink itself, not its target', async ({ skip }) => {
        skip(!caps.symlinks, 'no symlinks');
        await put('target', 'x'.repeat(1000), { mtimeNs: OTHER_MTIME });
        await s.symlink('link', 'target', { mtimeNs: MTIME });
        await s.symlink('dangling', 'nowhere/at/all');

        const link = await s.stat('link');
        expect(link).toMatchObject({ name: 'link', type: 'symlink', size: 0, target: 'target' });
        if (caps.canSetModTime) time(link.mtimeNs, MTIME, 'link mtime');
        expect(await s.stat('dangling')).toMatchObject({ type: 'symlink', target: 'nowhere/at/all' });
      });

      it('fails NOT_FOUND for a missing item', async () => {
        await s.mkdir('d');
        await expectStorageError(() => s.stat('missing'), ErrorCode.NOT_FOUND);
        await expectStorageError(() => s.stat('d/missing'), ErrorCode.NOT_FOUND);
        await expectStorageError(() => s.stat('missing/deeper'), ErrorCode.NOT_FOUND);
      });
    });

    describe('read and write', () => {
      const contents: [string, () => Uint8Array][] = [
        ['an empty file', () => new Uint8Array(0)],
        ['one byte', () => new Uint8Array([0x2a])],
        ['every byte value', () => Uint8Array.from({ length: 512 }, (_, i) => i % 256)],
        ['UTF-8 text with CRLF', () => Buffer.from('line one\r\nzwei – drei ✓ 😀\r\n')],
        ['a few MiB', () => pseudoRandomBytes(5 * 1024 * 1024 + 7)],
      ];

      it.each(contents)('roundtrips %s exactly, written in uneven chunks', async (_label, make) => {
        const data = make();
        await s.write('f', chunkedSource(data));
        expect((await s.stat('f')).size).toBe(data.length);
        expectSameBytes(await bytes('f'), data);
      });

      it.each(contents)('copies %s read from the same storage', async (_label, make) => {
        const data = make();
        await put('original', data);
        await s.write('copy', s.read('original'), { mtimeNs: MTIME });
        expect((await s.stat('copy')).size).toBe(data.length);
        expectSameBytes(await bytes('copy'), data);
        if (caps.canSetModTime) time((await s.stat('copy')).mtimeNs, MTIME, 'copy mtime');
      });

      it('opens nothing until the source is streamed', async () => {
        const early = s.read('later');
        const missing = s.read('never');
        await put('later', 'written after read() was called');
        expect((await readAll(early)).toString()).toBe('written after read() was called');
        await expectStorageError(() => readAll(missing), ErrorCode.NOT_FOUND);
      });

      it('fails IS_DIR reading a folder', async () => {
        await s.mkdir('d');
        await expectStorageError(() => bytes('d'), ErrorCode.IS_DIR);
      });

      it('does not read through a symlink, directly or as the source of a write', async ({ skip }) => {
        skip(!caps.symlinks, 'no symlinks');
        await put('secret', 'the target bytes');
        await s.symlink('link', 'secret');
        await expectStorageError(() => bytes('link'), ErrorCode.CHANGED);
        await expectStorageError(() => s.write('copy', s.read('link')), ErrorCode.CHANGED);
        const copied = await bytes('copy').catch(() => Buffer.alloc(0));
        expect(copied.toString()).not.toContain('target');
      });

      it.for(octal([0o600, 0o640, 0o755, 0o444]))('sets mode %s', async ([, mode], { skip }) => {
        skip(!caps.permissions, 'no permissions');
        await put('f', 'x', { mode });
        expect((await s.stat('f')).mode).toBe(mode);
        await s.write('copy', s.read('f'), { mode: 0o604 });
        expect((await s.stat('copy')).mode).toBe(0o604);
      });

      it('sets mtime and atime', async ({ skip }) => {
        skip(!caps.canSetModTime, 'cannot set times');
        await put('f', 'x', { mtimeNs: MTIME, atimeNs: ATIME });
        const st = await s.stat('f');
        time(st.mtimeNs, MTIME, 'mtime');
        skip(caps.accessTimes && under.host?.accessTimes !== undefined, under.host?.accessTimes);
        if (caps.accessTimes) time(st.atimeNs, ATIME, 'atime');
      });

      it('fails EXISTS over a file or folder and leaves it as it was', async () => {
        await put('f', 'original');
        await s.mkdir('d');
        await put('d/inside', 'kept');
        await expectStorageError(() => put('f', 'replacement'), ErrorCode.EXISTS);
        await expectStorageError(() => put('d', 'replacement'), ErrorCode.EXISTS);
        expect(await text('f')).toBe('original');
        expect((await s.stat('d')).type).toBe('dir');
        expect(await text('d/inside')).toBe('kept');
      });

      it('fails EXISTS over a symlink without writing through it', async ({ skip }) => {
        skip(!caps.symlinks, 'no symlinks');
        await put('target', 'untouched', { mtimeNs: OTHER_MTIME });
        const before = await s.stat('target');
        await s.symlink('link', 'target');
        await s.symlink('dangling', 'would-be-created');

        await expectStorageError(() => put('link', 'through the link'), ErrorCode.EXISTS);
        await expectStorageError(() => s.write('link', s.read('target')), ErrorCode.EXISTS);
        await expectStorageError(() => put('dangling', 'through the link'), ErrorCode.EXISTS);

        expect(await text('target')).toBe('untouched');
        expect(withoutAtime(await s.stat('target'))).toEqual(withoutAtime(before));
        expect(await s.stat('link')).toMatchObject({ type: 'symlink', target: 'target' });
        await expectStorageError(() => s.stat('would-be-created'), ErrorCode.NOT_FOUND);
      });

      it('fails NOT_FOUND when the parent folder is missing', async () => {
        await expectStorageError(() => put('missing/f'), ErrorCode.NOT_FOUND);
        expect(await s.list('')).toEqual([]);
      });

      it('fails with the error the source raised', async () => {
        const vanished = new StorageError(ErrorCode.NOT_FOUND, 'source vanished', 'elsewhere');
        await expectStorageError(() => s.write('f', failingSource('some bytes', vanished)), ErrorCode.NOT_FOUND);
      });
    });

    describe('symlink', () => {
      // Targets are stored as text: dangling, absolute and outward-pointing ones included.
      const targets = ['file', 'sub/dir/file', '../outside/root', '/absolute/elsewhere', 'missing', 'a b & ünï'];

      it.for(targets)('holds %j verbatim with its own mtime', async (target, { skip }) => {
        skip(!caps.symlinks, 'no symlinks');
        await put('file', 'x', { mtimeNs: OTHER_MTIME });
        const fileBefore = await s.stat('file');
        await s.symlink('link', target, { mtimeNs: MTIME, atimeNs: ATIME });

        const link = await s.stat('link');
        expect(link).toMatchObject({ type: 'symlink', target });
        expect(withoutAtime(byName(await s.list(''), 'link'))).toEqual(withoutAtime(link));
        if (caps.canSetModTime) time(link.mtimeNs, MTIME, 'link mtime');
        expect(withoutAtime(await s.stat('file'))).toEqual(withoutAtime(fileBefore));
      });

      it('fails EXISTS over a file, folder or symlink', async ({ skip }) => {
        skip(!caps.symlinks, 'no symlinks');
        await put('f', 'original');
        await s.mkdir('d');
        await s.symlink('l', 'first');
        for (const path of ['f', 'd', 'l']) {
          await expectStorageError(() => s.symlink(path, 'second'), ErrorCode.EXISTS);
        }
        expect(await text('f')).toBe('original');
        expect((await s.stat('d')).type).toBe('dir');
        expect((await s.stat('l')).target).toBe('first');
      });

      it('fails NOT_FOUND when the parent folder is missing', async ({ skip }) => {
        skip(!caps.symlinks, 'no symlinks');
        await expectStorageError(() => s.symlink('missing/l', 'x'), ErrorCode.NOT_FOUND);
      });
    });

    describe('setModTime', () => {
      it.for(['file', 'dir'] as const)('sets mtime and atime of a %s', async (type, { skip }) => {
        skip(!caps.canSetModTime, 'cannot set times');
        skip(type === 'dir' && caps.folderTimes === false, "cannot set folders' times");
        if (type === 'file') await put('item');
        else await s.mkdir('item');
        await s.setModTime('item', MTIME, ATIME);
        const st = await s.stat('item');
        time(st.mtimeNs, MTIME, 'mtime');
        skip(caps.accessTimes && under.host?.accessTimes !== undefined, under.host?.accessTimes);
        if (caps.accessTimes) time(st.atimeNs, ATIME, 'atime');
      });

      it("sets a symlink's own time, not its target's", async ({ skip }) => {
        skip(!caps.canSetModTime || !caps.symlinks, 'cannot set times or no symlinks');
        await put('target', 'x', { mtimeNs: OTHER_MTIME });
        const before = await s.stat('target');
        await s.symlink('link', 'target');
        await s.setModTime('link', MTIME);
        time((await s.stat('link')).mtimeNs, MTIME, 'link mtime');
        expect(withoutAtime(await s.stat('target'))).toEqual(withoutAtime(before));
      });

      it('fails NOT_FOUND for a missing item', async () => {
        await expectStorageError(() => s.setModTime('missing', MTIME), ErrorCode.NOT_FOUND);
      });
    });

    describe('setMode', () => {
      it.for([
        ...octal([0o600, 0o754]).map(([label, mode]) => ['file', label, mode] as const),
        ...octal([0o700, 0o751]).map(([label, mode]) => ['dir', label, mode] as const),
      ])('sets the mode of a %s to %s', async ([type, , mode], { skip }) => {
        skip(!caps.permissions, 'no permissions');
        if (type === 'file') await put('item', 'x', { mode: 0o666 });
        else await s.mkdir('item');
        await s.setMode('item', mode);
        expect((await s.stat('item')).mode).toBe(mode);
      });

      it("never changes a symlink's target", async ({ skip }) => {
        skip(!caps.permissions || !caps.symlinks, 'no permissions or no symlinks');
        await put('target', 'x', { mode: 0o644 });
        await s.symlink('link', 'target');
        // Setting a link's own mode may be unsupported; either way the target must keep its mode.
        await s.setMode('link', 0o600).catch((err: unknown) => {
          expect(err).toBeInstanceOf(StorageError);
        });
        expect((await s.stat('target')).mode).toBe(0o644);
      });

      it('fails NOT_FOUND for a missing item', async ({ skip }) => {
        skip(!caps.permissions, 'no permissions');
        await expectStorageError(() => s.setMode('missing', 0o644), ErrorCode.NOT_FOUND);
      });
    });

    describe('rename', () => {
      it('moves a file with its content and mtime', async () => {
        await put('a', 'moving', { mtimeNs: MTIME });
        await s.mkdir('d');
        await s.rename('a', 'd/b');
        expectNames(await namesIn(''), ['d']);
        expect(await text('d/b')).toBe('moving');
        if (caps.canSetModTime) time((await s.stat('d/b')).mtimeNs, MTIME, 'mtime');
      });

      it('moves a folder with everything in it', async () => {
        await s.mkdir('d');
        await s.mkdir('d/sub');
        await put('d/sub/f', 'deep');
        await s.rename('d', 'e');
        expectNames(await namesIn(''), ['e']);
        expect(await text('e/sub/f')).toBe('deep');
      });

      it('replaces an existing file', async () => {
        await put('new', 'new content');
        await put('old', 'old content that is longer');
        await s.rename('new', 'old');
        expectNames(await namesIn(''), ['old']);
        expect(await text('old')).toBe('new content');
        expect((await s.stat('old')).size).toBe(11);
      });

      it('replaces a symlink, not its target, and moves a symlink as a link', async ({ skip }) => {
        skip(!caps.symlinks, 'no symlinks');
        await put('target', 'untouched');
        await s.symlink('link', 'target');
        await s.symlink('other', 'target');
        await put('new', 'new content');

        await s.rename('new', 'link');
        expect((await s.stat('link')).type).toBe('file');
        expect(await text('link')).toBe('new content');
        await s.rename('other', 'moved');
        expect(await s.stat('moved')).toMatchObject({ type: 'symlink', target: 'target' });
        expect(await text('target')).toBe('untouched');
        expectNames(await namesIn(''), ['link', 'moved', 'target']);
      });

      it('replaces a file so that readers see the old or the new content, never nothing', async ({ skip }) => {
        skip(!caps.atomicRename, 'rename is not atomic');
        // Windows refuses to replace a file a reader holds open (BUSY, retried by the engine).
        skip(onWindows, 'on Windows a file being read cannot be replaced');
        await put('target', 'v0');
        for (let i = 1; i <= 25; i++) {
          await put(`next-${i}`, `v${i}`);
          const renamed = s.rename(`next-${i}`, 'target');
          const seen = await Promise.all([1, 2, 3, 4].map(() => text('target')));
          await renamed;
          for (const content of seen) expect([`v${i - 1}`, `v${i}`]).toContain(content);
        }
        expectNames(await namesIn(''), ['target']);
        expect(await text('target')).toBe('v25');
      });

      it.each([
        ['a file onto an empty folder', 'file', false],
        ['a file onto a folder with content', 'file', true],
        ['a folder onto a folder with content', 'dir', true],
      ] as const)('fails IS_DIR or NOT_EMPTY moving %s, changing neither', async (_label, fromType, full) => {
        if (fromType === 'file') await put('from', 'moving');
        else await s.mkdir('from');
        await s.mkdir('to');
        if (full) await put('to/inside', 'kept');

        await expectStorageError(() => s.rename('from', 'to'), ErrorCode.IS_DIR, ErrorCode.NOT_EMPTY);
        expect((await s.stat('from')).type).toBe(fromType);
        expectNames(await namesIn('to'), full ? ['inside'] : []);
      });

      it('fails NOT_FOUND for a missing source or a missing target folder', async () => {
        await put('f', 'stays');
        await expectStorageError(() => s.rename('missing', 'g'), ErrorCode.NOT_FOUND);
        await expectStorageError(() => s.rename('f', 'missing/g'), ErrorCode.NOT_FOUND);
        expectNames(await namesIn(''), ['f']);
        expect(await text('f')).toBe('stays');
      });
    });

    // What a rename may replace (Replacing): nothing written in the destination since it was
    // listed is ever lost. `null`: nothing may stand at the target; an item: only that item,
    // unchanged. Whatever else is there is kept and the call fails EXISTS.
    describe('rename with replacing', () => {
      /** What a listing said about `path`, as the engine passes it on. */
      const listed = async (path: RelPath): Promise<Replacing> => {
        const { type, size, mtimeNs } = await s.stat(path);
        return { type, size, mtimeNs };
      };
      const appearances: [string, (path: RelPath) => Promise<unknown>, boolean][] = [
        ['a file', (path) => put(path, 'appeared'), false],
        ['an empty folder', (path) => s.mkdir(path), false],
        ['a dangling symlink', (path) => s.symlink(path, 'nowhere'), true],
      ];

      it('null: moves a file, a symlink and a folder to a free name', async () => {
        await put('new', 'new content', { mtimeNs: MTIME });
        await s.rename('new', 'placed', { replacing: null });
        expect(await text('placed')).toBe('new content');
        if (caps.canSetModTime) time((await s.stat('placed')).mtimeNs, MTIME, 'mtime');
        await s.mkdir('d');
        await put('d/inside', 'kept');
        await s.rename('d', 'e', { replacing: null });
        expect(await text('e/inside')).toBe('kept');
        if (caps.symlinks) {
          await s.symlink('tmp-link', 'placed');
          await s.rename('tmp-link', 'link', { replacing: null });
          expect(await s.stat('link')).toMatchObject({ type: 'symlink', target: 'placed' });
        }
        expectNames(await namesIn(''), ['placed', 'e', ...(caps.symlinks ? ['link'] : [])]);
      });

      it.for(appearances)(
        'null: fails EXISTS over %s that appeared, keeping both',
        async ([, make, link], { skip }) => {
          skip(link && !caps.symlinks, 'no symlinks');
          await make('target');
          const before = await s.stat('target');
          await put('tmp', 'new content');
          await expectStorageError(() => s.rename('tmp', 'target', { replacing: null }), ErrorCode.EXISTS);
          expect(withoutAtime(await s.stat('target'))).toEqual(withoutAtime(before));
          if (before.type === 'file') expect(await text('target')).toBe('appeared');
          expect(await text('tmp')).toBe('new content');
        },
      );

      it('null: fails EXISTS moving a symlink or a folder onto an item that appeared', async () => {
        await put('target', 'appeared');
        await s.mkdir('d');
        await expectStorageError(() => s.rename('d', 'target', { replacing: null }), ErrorCode.EXISTS);
        if (caps.symlinks) {
          await s.symlink('tmp-link', 'elsewhere');
          await expectStorageError(() => s.rename('tmp-link', 'target', { replacing: null }), ErrorCode.EXISTS);
          expect((await s.stat('tmp-link')).type).toBe('symlink');
        }
        expect(await text('target')).toBe('appeared');
        expect((await s.stat('d')).type).toBe('dir');
      });

      it('an item: replaces it while it is as listed', async () => {
        await put('target', 'old content', { mtimeNs: OTHER_MTIME });
        const replacing = await listed('target');
        await put('tmp', 'new content');
        await s.rename('tmp', 'target', { replacing });
        expectNames(await namesIn(''), ['target']);
        expect(await text('target')).toBe('new content');
      });

      it('an item: replaces a listed symlink with a file and a listed file with a symlink', async ({ skip }) => {
        skip(!caps.symlinks, 'no symlinks');
        await s.symlink('was-link', 'nowhere');
        await put('was-file', 'old');
        const [link, file] = [await listed('was-link'), await listed('was-file')];
        await put('tmp', 'new content');
        await s.rename('tmp', 'was-link', { replacing: link });
        await s.symlink('tmp-link', 'there');
        await s.rename('tmp-link', 'was-file', { replacing: file });
        expect(await text('was-link')).toBe('new content');
        expect(await s.stat('was-file')).toMatchObject({ type: 'symlink', target: 'there' });
      });

      const changes: [string, (path: RelPath) => Promise<unknown>, 'times' | 'symlinks' | undefined][] = [
        ['its mtime changed', (path) => s.setModTime(path, MTIME), 'times'],
        [
          'its size changed',
          async (path) => (await s.remove(path), put(path, 'old content, longer', { mtimeNs: OTHER_MTIME })),
          'times',
        ],
        ['it became a folder', async (path) => (await s.remove(path), s.mkdir(path)), undefined],
        ['it became a symlink', async (path) => (await s.remove(path), s.symlink(path, 'nowhere')), 'symlinks'],
      ];

      it.for(changes)('an item: fails EXISTS when %s, keeping both', async ([, change, needs], { skip }) => {
        skip(needs === 'times' && !caps.canSetModTime, 'cannot set times');
        skip(needs === 'symlinks' && !caps.symlinks, 'no symlinks');
        await put('target', 'old content', { mtimeNs: OTHER_MTIME });
        const replacing = await listed('target');
        await change('target');
        const after = await s.stat('target');
        await put('tmp', 'new content');
        await expectStorageError(() => s.rename('tmp', 'target', { replacing }), ErrorCode.EXISTS);
        expect(withoutAtime(await s.stat('target'))).toEqual(withoutAtime(after));
        expect(await text('tmp')).toBe('new content');
      });

      // listedAs: the item at the source must still be as listed (a version set aside is only
      // ever what the run saw); anything else there stays and the call fails CHANGED.
      it('listedAs: moves the source while it is as listed, a file, a folder and a symlink', async () => {
        await put('doc', 'listed', { mtimeNs: OTHER_MTIME });
        await s.rename('doc', 'kept', { replacing: null, listedAs: (await listed('doc'))! });
        expect(await text('kept')).toBe('listed');
        await s.mkdir('d');
        await s.rename('d', 'e', { listedAs: (await listed('d'))! });
        if (caps.symlinks) {
          await s.symlink('l', 'kept');
          await s.rename('l', 'm', { replacing: null, listedAs: (await listed('l'))! });
          expect(await s.stat('m')).toMatchObject({ type: 'symlink', target: 'kept' });
        }
        expectNames(await namesIn(''), ['kept', 'e', ...(caps.symlinks ? ['m'] : [])]);
      });

      it.for(changes)('listedAs: fails CHANGED when %s since, moving nothing', async ([, change, needs], { skip }) => {
        skip(needs === 'times' && !caps.canSetModTime, 'cannot set times');
        skip(needs === 'symlinks' && !caps.symlinks, 'no symlinks');
        await put('doc', 'old content', { mtimeNs: OTHER_MTIME });
        const listedAs = (await listed('doc'))!;
        await change('doc');
        const after = await s.stat('doc');
        await expectStorageError(() => s.rename('doc', 'kept', { replacing: null, listedAs }), ErrorCode.CHANGED);
        expect(withoutAtime(await s.stat('doc'))).toEqual(withoutAtime(after));
        expectNames(await namesIn(''), ['doc']);
      });

      it('listedAs: fails NOT_FOUND when the source is gone', async () => {
        await put('doc', 'old content');
        const listedAs = (await listed('doc'))!;
        await s.remove('doc');
        await expectStorageError(() => s.rename('doc', 'kept', { listedAs }), ErrorCode.NOT_FOUND);
        expectNames(await namesIn(''), []);
      });

      it('an item that is gone: moves to the free name (nothing there to lose)', async () => {
        await put('target', 'old content');
        const replacing = await listed('target');
        await s.remove('target');
        await put('tmp', 'new content');
        await s.rename('tmp', 'target', { replacing });
        expectNames(await namesIn(''), ['target']);
        expect(await text('target')).toBe('new content');
      });

      // write's renameTo places the checked copy as rename would; where the backend cannot check
      // the source, write resolves false, renames nothing and the caller renames.
      const placeByWrite = async (renameTo: RelPath, replacing: Replacing): Promise<boolean> => {
        await put('source', 'new content', { mtimeNs: MTIME });
        const { size, mtimeNs } = await s.stat('source');
        return s.write('tmp', s.read('source'), { mtimeNs, expect: { size, mtimeNs }, renameTo, replacing });
      };

      it('write with renameTo: places the copy over the listed item or at a free name', async () => {
        await put('target', 'old content', { mtimeNs: OTHER_MTIME });
        if (await placeByWrite('target', await listed('target'))) {
          expect(await text('target')).toBe('new content');
          await s.remove('source');
          expect(await placeByWrite('free', null)).toBe(true);
          expect(await text('free')).toBe('new content');
          expectNames(await namesIn(''), ['free', 'source', 'target']);
        }
      });

      it('write with renameTo: fails EXISTS over an item that appeared or changed, keeping it', async () => {
        await put('appeared', 'appeared');
        await put('changed', 'old content', { mtimeNs: OTHER_MTIME });
        const replacing = await listed('changed');
        if (caps.canSetModTime) await s.setModTime('changed', MTIME);
        else await (await s.remove('changed'), put('changed', 'other content'));
        const kept = [await s.stat('appeared'), await s.stat('changed')].map(withoutAtime);

        // A backend that cannot check the source resolves false and places nothing (see WriteOptions).
        const placedOrRefused = async (target: RelPath, r: Replacing) => {
          const err = await placeByWrite(target, r).then(
            (placed) => {
              expect(placed, 'a write that placed its copy over a changed item').toBe(false);
            },
            (e: unknown) => e,
          );
          if (err !== undefined) expect(err).toMatchObject({ name: 'StorageError', code: ErrorCode.EXISTS });
        };
        await placedOrRefused('appeared', null);
        await s.remove('tmp');
        await s.remove('source');
        await placedOrRefused('changed', replacing);
        expect([await s.stat('appeared'), await s.stat('changed')].map(withoutAtime)).toEqual(kept);
        expect(await text('appeared')).toBe('appeared');
      });
    });

    describe('mkdir', () => {
      it('creates an empty folder inside an existing one', async () => {
        await s.mkdir('a');
        await s.mkdir('a/b');
        expect(await s.stat('a/b')).toMatchObject({ name: 'b', type: 'dir', size: 0 });
        expectNames(await namesIn('a'), ['b']);
        expect(await s.list('a/b')).toEqual([]);
      });

      it('fails EXISTS over a folder, file or symlink', async () => {
        await s.mkdir('d');
        await put('d/inside', 'kept');
        await put('f', 'original');
        if (caps.symlinks) await s.symlink('l', 'nowhere');
        for (const path of caps.symlinks ? ['d', 'f', 'l'] : ['d', 'f']) {
          await expectStorageError(() => s.mkdir(path), ErrorCode.EXISTS);
        }
        expect(await text('d/inside')).toBe('kept');
        expect(await text('f')).toBe('original');
      });

      it('fails NOT_FOUND when the parent is missing', async () => {
        await expectStorageError(() => s.mkdir('missing/d'), ErrorCode.NOT_FOUND);
        expect(await s.list('')).toEqual([]);
      });
    });

    describe('remove', () => {
      it('removes a file', async () => {
        await put('f');
        await put('g', 'stays');
        await s.remove('f');
        expectNames(await namesIn(''), ['g']);
        await expectStorageError(() => s.stat('f'), ErrorCode.NOT_FOUND);
      });

      it('removes a symlink, not its target, and a dangling one', async ({ skip }) => {
        skip(!caps.symlinks, 'no symlinks');
        await put('target', 'untouched');
        await s.symlink('link', 'target');
        await s.symlink('dangling', 'nowhere');
        await s.remove('link');
        await s.remove('dangling');
        expectNames(await namesIn(''), ['target']);
        expect(await text('target')).toBe('untouched');
      });

      it('fails IS_DIR for a folder and keeps it', async () => {
        await s.mkdir('d');
        await put('d/inside', 'kept');
        await expectStorageError(() => s.remove('d'), ErrorCode.IS_DIR);
        expect(await text('d/inside')).toBe('kept');
      });

      it('fails NOT_FOUND for a missing item', async () => {
        await expectStorageError(() => s.remove('missing'), ErrorCode.NOT_FOUND);
      });
    });

    describe('rmdir', () => {
      it('removes an empty folder', async () => {
        await s.mkdir('d');
        await s.mkdir('e');
        await s.rmdir('d');
        expectNames(await namesIn(''), ['e']);
      });

      it('fails NOT_EMPTY for a folder with content and keeps it', async () => {
        await s.mkdir('d');
        await put('d/inside', 'kept');
        await expectStorageError(() => s.rmdir('d'), ErrorCode.NOT_EMPTY);
        expect(await text('d/inside')).toBe('kept');
      });

      it('fails NOT_DIR for a file', async () => {
        await put('f', 'kept');
        await expectStorageError(() => s.rmdir('f'), ErrorCode.NOT_DIR);
        expect(await text('f')).toBe('kept');
      });

      it('fails NOT_DIR for a symlink to an empty folder and keeps both', async ({ skip }) => {
        skip(!caps.symlinks, 'no symlinks');
        await s.mkdir('d');
        await s.symlink('link', 'd');
        await expectStorageError(() => s.rmdir('link'), ErrorCode.NOT_DIR);
        expectNames(await namesIn(''), ['d', 'link']);
      });

      it('fails NOT_FOUND for a missing folder', async () => {
        await expectStorageError(() => s.rmdir('missing'), ErrorCode.NOT_FOUND);
      });
    });

    describe('removeTree, where offered', () => {
      it('removes a folder with the files and folders in it, and nothing beside it', async ({ skip }) => {
        skip(!s.removeTree, 'removeTree is not offered');
        await s.mkdir('stage');
        await s.mkdir('stage/a');
        await s.mkdir('stage/a/deeper');
        await s.mkdir('stage/empty');
        await put('stage/a/deeper/1.txt');
        await put('stage/2.txt');
        await s.mkdir('stage-beside');
        await put('stage-beside/kept');
        await put('stage.txt', 'kept');
        await s.removeTree!('stage');
        expectNames(await namesIn(''), ['stage-beside', 'stage.txt']);
        expect(await text('stage-beside/kept')).toBe('content of stage-beside/kept');
        await expectStorageError(() => s.stat('stage/a'), ErrorCode.NOT_FOUND);
        await s.mkdir('stage'); // and the name is free again
      });

      it('fails NOT_DIR for a file and NOT_FOUND for nothing, removing nothing', async ({ skip }) => {
        skip(!s.removeTree, 'removeTree is not offered');
        await put('f', 'kept');
        await expectStorageError(() => s.removeTree!('f'), ErrorCode.NOT_DIR);
        await expectStorageError(() => s.removeTree!('missing'), ErrorCode.NOT_FOUND);
        expect(await text('f')).toBe('kept');
      });

      it('never removes the root', async ({ skip }) => {
        skip(!s.removeTree, 'removeTree is not offered');
        await put('kept');
        await expect(s.removeTree!('')).rejects.toThrow();
        expect(await text('kept')).toBe('content of kept');
      });
    });

    describe('capabilities', () => {
      it('caseSensitive says whether Name and name are two items', async () => {
        await put('Name', 'upper');
        if (caps.caseSensitive) {
          await put('name', 'lower');
          expectNames(await namesIn(''), ['Name', 'name']);
          expect(await text('Name')).toBe('upper');
          expect(await text('name')).toBe('lower');
        } else {
          await expectStorageError(() => put('name', 'lower'), ErrorCode.EXISTS);
        }
      });

      it('renames a file and a folder to another case of their names, where case is ignored', async ({ skip }) => {
        skip(caps.caseSensitive, 'Name and name are two items here');
        skip(under.host?.caseRenames !== undefined, under.host?.caseRenames);
        await put('photo.jpg', 'the photo');
        await s.rename('photo.jpg', 'Photo.JPG');
        await s.mkdir('album');
        await put('album/in.jpg', 'inside');
        await s.rename('album', 'Album');
        expectNames(await namesIn(''), ['Album', 'Photo.JPG']);
        expect(await text('Photo.JPG')).toBe('the photo');
        expect(await text('Album/in.jpg')).toBe('inside');
      });

      // There is no normalization capability: backends that fold case (macOS, Windows, Android's
      // shared storage) also fold or rewrite Unicode forms, so caseSensitive stands in for it.
      it('keeps NFC and NFD forms of one word as two items', async ({ skip }) => {
        skip(!caps.caseSensitive, 'case-insensitive backends may also fold Unicode forms');
        await put(NFC_NAME, 'composed');
        await put(NFD_NAME, 'decomposed');
        expectNames(await namesIn(''), [NFC_NAME, NFD_NAME]);
        expect(await text(NFC_NAME)).toBe('composed');
        expect(await text(NFD_NAME)).toBe('decomposed');
      });
    });

    describe('hostile names', () => {
      // A bystander next to each hostile item catches a name that a shell expanded (`*`, `$(…)`).
      const bystander = async () => put('bystander', 'keep me');
      const expectBystanderOnly = async () => {
        expectNames(await namesIn(''), ['bystander']);
        expect(await text('bystander')).toBe('keep me');
      };

      it.for(HOSTILE_NAMES)(
        'file named $label: written, listed, stat, read, renamed, removed',
        async ({ name }, ctx) => {
          ctx.skip(refusedHere(caps, name), WINDOWS_REFUSES);
          const content = `content of ${name}`;
          await bystander();
          await put(name, content);
          expectNames(await namesIn(''), ['bystander', name]);
          expect(await s.stat(name)).toMatchObject({ name, type: 'file', size: Buffer.byteLength(content) });
          expect(await text(name)).toBe(content);
          if (caps.canSetModTime) {
            await s.setModTime(name, MTIME);
            time((await s.stat(name)).mtimeNs, MTIME, 'mtime');
          }

          await s.rename(name, 'plain');
          expectNames(await namesIn(''), ['bystander', 'plain']);
          await s.rename('plain', name);
          expect(await text(name)).toBe(content);

          await s.remove(name);
          await expectBystanderOnly();
        },
      );

      it.for(HOSTILE_NAMES)('folder named $label: made, listed, filled, renamed, removed', async ({ name }, ctx) => {
        ctx.skip(refusedHere(caps, name), WINDOWS_REFUSES);
        await bystander();
        await s.mkdir(name);
        expectNames(await namesIn(''), ['bystander', name]);
        expect(await s.stat(name)).toMatchObject({ name, type: 'dir' });

        const inner = `${name}/${name}`;
        await put(inner, 'inside');
        expectNames(await namesIn(name), [name]);
        expect(await s.stat(inner)).toMatchObject({ name, type: 'file' });
        await s.rename(name, 'plain');
        expect(await text(`plain/${name}`)).toBe('inside');
        await s.rename('plain', name);
        await expectStorageError(() => s.rmdir(name), ErrorCode.NOT_EMPTY);

        await s.remove(inner);
        await s.rmdir(name);
        await expectBystanderOnly();
      });

      it.for(HOSTILE_NAMES)('symlink named $label: made, listed with its target, removed', async ({ name }, ctx) => {
        ctx.skip(!caps.symlinks, 'no symlinks');
        await bystander();
        await s.mkdir('links');
        await s.symlink(`links/${name}`, `../${name}`);
        expectNames(await namesIn('links'), [name]);
        expect(await s.stat(`links/${name}`)).toMatchObject({ name, type: 'symlink', target: `../${name}` });
        await s.remove(`links/${name}`);
        await s.rmdir('links');
        await expectBystanderOnly();
      });

      it('a 256-byte name either works or fails NAME_TOO_LONG', async ({ skip }) => {
        skip(under.host?.longNames !== undefined, under.host?.longNames);
        const name = nameOfBytes(256);
        const err = await put(name).then(
          () => undefined,
          (e: unknown) => e,
        );
        if (err === undefined) expectNames(await namesIn(''), [name]);
        else expect(err).toMatchObject({ name: 'StorageError', code: ErrorCode.NAME_TOO_LONG });
      });

      it(`handles a path ${DEEP_DIRS.length} folders deep, or as deep as its path limit allows`, async () => {
        let dir = '';
        let depth = 0;
        for (const part of DEEP_DIRS) {
          const next = joinRel(dir, part);
          // A backend with a path limit refuses past it, by name, and must still reach a fair depth.
          const refused = await s.mkdir(next).then(
            () => undefined,
            (e: unknown) => e,
          );
          if (refused !== undefined) {
            expect(caps.maxPathBytes, 'a backend that refuses a deep path says its limit').toBeDefined();
            expect(refused).toMatchObject({ name: 'StorageError', code: ErrorCode.NAME_TOO_LONG });
            expect(depth).toBeGreaterThanOrEqual(10);
            break;
          }
          dir = next;
          depth++;
        }
        await put(`${dir}/leaf`, 'at the bottom', { mtimeNs: MTIME });
        expect(await text(`${dir}/leaf`)).toBe('at the bottom');
        if (caps.canSetModTime) time((await s.stat(`${dir}/leaf`)).mtimeNs, MTIME, 'mtime');
        await s.rename(`${dir}/leaf`, `${dir}/renamed`);
        expectNames(await namesIn(dir), ['renamed']);
        await s.remove(`${dir}/renamed`);

        for (; depth > 0; depth--) {
          const path = DEEP_DIRS.slice(0, depth).join('/');
          expect(await s.list(path)).toEqual([]);
          await s.rmdir(path);
        }
        expect(await s.list('')).toEqual([]);
      });
    });

    describe('sub-second mtimes', () => {
      it.for(SUB_SECOND_TIMES)('keeps %s through write, setModTime and symlink', async ([, ns], { skip }) => {
        skip(!caps.canSetModTime, 'cannot set times');
        await put('f', 'x', { mtimeNs: ns });
        time((await s.stat('f')).mtimeNs, ns, 'write');

        await put('g', 'x');
        await s.setModTime('g', ns);
        time((await s.stat('g')).mtimeNs, ns, 'setModTime');

        if (caps.folderTimes !== false) {
          await s.mkdir('d');
          await s.setModTime('d', ns);
          time((await s.stat('d')).mtimeNs, ns, 'setModTime on a folder');
        }

        if (caps.symlinks) {
          await s.symlink('l', 'f', { mtimeNs: ns });
          time((await s.stat('l')).mtimeNs, ns, 'symlink');
        }
      });
    });
  });
}

function octal(modes: number[]): [string, number][] {
  return modes.map((mode) => [`0o${mode.toString(8)}`, mode]);
}

function byName(entries: Entry[], name: string): Entry | undefined {
  return entries.find((e) => e.name === name);
}

/** Reading a file, a folder or even a symlink's text may move its atime, so comparisons leave it out. */
function withoutAtime(entry: Entry | undefined): Omit<Entry, 'atimeNs'> | undefined {
  if (entry === undefined) return undefined;
  const { atimeNs: _, ...rest } = entry;
  return rest;
}
