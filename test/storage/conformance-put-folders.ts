/**
 * The conformance suite's part on Storage.putFolders, for storages that offer it: new folders put
 * whole from files of this machine, nothing put where something appeared since, and a file that
 * changed since it was listed left out.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RelPath } from '../../src/core/rel-path.js';
import { bytesSource, readAll } from '../../src/storage/sources.js';
import type { FolderPut, LocalFile, Storage } from '../../src/storage/storage.js';
import { expectTime, MTIME, OTHER_MTIME } from './conformance-fixtures.js';

// A temp name of the shape the engine makes (core/temp-name.ts).
const STAGE = '.~synctray-00000000c0ffee01.part';

export function describePutFolders(storage: () => Storage): void {
  describe('putFolders', () => {
    let local: string;
    beforeEach(() => {
      local = fs.mkdtempSync(path.join(os.tmpdir(), 'synctray-put-folders-'));
    });
    afterEach(() => fs.rmSync(local, { recursive: true, force: true }));

    /** A file of this machine at `rel` (from `local`), going to `to`, with MTIME unless told. */
    const file = (rel: string, to: RelPath, content = `content of ${rel}`, mtimeNs = MTIME): LocalFile => {
      const abs = path.join(local, ...rel.split('/'));
      fs.mkdirSync(path.dirname(abs), { recursive: true });
      fs.writeFileSync(abs, content);
      const at = new Date(Number(mtimeNs / 1_000_000n));
      fs.utimesSync(abs, at, at);
      const st = fs.statSync(abs, { bigint: true });
      return { path: to, localPath: abs, size: Number(st.size), mtimeNs: st.mtimeNs };
    };
    const text = async (s: Storage, p: RelPath) => (await readAll(s.read(p))).toString();
    const names = async (s: Storage, dir: RelPath) => (await s.list(dir)).map((e) => e.name).sort();

    it('puts new folders whole: inner folders, empty ones, files with their times; no stage left', async ({ skip }) => {
      const s = storage();
      skip(!s.putFolders || s.capabilities.wholeFolders !== true, 'putFolders is not offered');
      const put: FolderPut = {
        stage: STAGE,
        folders: ['a', 'b c'],
        inner: ['a/sub', 'a/sub/deeper', 'a/empty'],
        files: [
          file('a/1.txt', 'a/1.txt'),
          file('a/sub/deeper/2 ü.txt', 'a/sub/deeper/2 ü.txt'),
          file('b c/3', 'b c/3'),
        ],
      };
      const done = await s.putFolders!(put);
      expect(done).toEqual({ placed: expect.arrayContaining(['a', 'b c']), failed: [], left: [] });
      expect(done.placed).toHaveLength(2);
      expect(await names(s, '')).toEqual(['a', 'b c']);
      expect(await names(s, 'a')).toEqual(['1.txt', 'empty', 'sub']);
      expect(await names(s, 'a/empty')).toEqual([]);
      expect(await text(s, 'a/sub/deeper/2 ü.txt')).toBe('content of a/sub/deeper/2 ü.txt');
      const st = await s.stat('b c/3');
      expect(st.size).toBe(put.files[2]!.size);
      if (s.capabilities.canSetModTime) expectTime(s.capabilities, st.mtimeNs, put.files[2]!.mtimeNs, 'mtime');
    });

    it('puts folders in a folder that is there, beside what it holds', async ({ skip }) => {
      const s = storage();
      skip(!s.putFolders || s.capabilities.wholeFolders !== true, 'putFolders is not offered');
      await s.mkdir('p');
      await s.mkdir('p/old');
      const done = await s.putFolders!({
        stage: `p/${STAGE}`,
        folders: ['p/new'],
        inner: [],
        files: [file('new/f', 'p/new/f')],
      });
      expect(done).toEqual({ placed: ['p/new'], failed: [], left: [] });
      expect(await names(s, 'p')).toEqual(['new', 'old']);
      expect(await text(s, 'p/new/f')).toBe('content of new/f');
    });

    it('keeps a folder that appeared since, and puts nothing in it', async ({ skip }) => {
      const s = storage();
      skip(!s.putFolders || s.capabilities.wholeFolders !== true, 'putFolders is not offered');
      await s.mkdir('taken');
      await s.write('taken/f', bytesSource('theirs'));
      const done = await s.putFolders!({
        stage: STAGE,
        folders: ['taken', 'free'],
        inner: [],
        files: [file('taken/f', 'taken/f', 'ours'), file('taken/g', 'taken/g'), file('free/f', 'free/f')],
      });
      expect(done.placed).toEqual(['free']);
      expect(done.failed.map((f) => f.path)).toEqual(['taken']);
      expect(await names(s, 'taken')).toEqual(['f']);
      expect(await text(s, 'taken/f')).toBe('theirs');
      expect(await names(s, '')).toEqual(['free', 'taken']);
    });

    it('leaves out a file that is not as listed, and puts nothing at its name', async ({ skip }) => {
      const s = storage();
      skip(!s.putFolders || s.capabilities.wholeFolders !== true, 'putFolders is not offered');
      const changed = { ...file('a/changed', 'a/changed'), mtimeNs: OTHER_MTIME };
      const done = await s.putFolders!({
        stage: STAGE,
        folders: ['a'],
        inner: [],
        files: [file('a/kept', 'a/kept'), changed],
      });
      expect(done).toEqual({ placed: ['a'], failed: [], left: ['a/changed'] });
      expect(await names(s, 'a')).toEqual(['kept']);
      expect(await names(s, '')).toEqual(['a']);
    });

    it('puts new files of a folder that is there, each only where nothing stands', async ({ skip }) => {
      const s = storage();
      skip(!s.putFolders || s.capabilities.wholeFolders !== true, 'putFolders is not offered');
      await s.mkdir('p');
      await s.write('p/old', bytesSource('old'));
      await s.write('p/taken', bytesSource('theirs'));
      const done = await s.putFolders!({
        stage: `p/${STAGE}`,
        folders: ['p/new'],
        inner: [],
        files: [file('new/in', 'p/new/in'), file('one', 'p/one'), file('two ü', 'p/two ü'), file('taken', 'p/taken')],
      });
      expect(done).toEqual({ placed: ['p/new'], failed: [], left: ['p/taken'] });
      expect(await names(s, 'p')).toEqual(['new', 'old', 'one', 'taken', 'two ü']);
      expect(await text(s, 'p/two ü')).toBe('content of two ü');
      expect(await text(s, 'p/taken')).toBe('theirs');
      expect(await text(s, 'p/old')).toBe('old');
    });
  });
}
