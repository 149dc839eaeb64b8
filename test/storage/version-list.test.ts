import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { listVersions, newestOfEach, parseRunStamp } from '../../src/storage/version-list.js';
import { runStamp } from '../../src/storage/versions.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';

let root: string;
beforeEach(() => {
  root = makeScratch('synctray-version-list-');
});
afterEach(() => removeScratch(root));

const T1 = new Date('2026-12-01T10:00:00.000Z');
const T2 = new Date('2026-12-03T10:00:00.000Z');
const T3 = new Date('2026-12-05T10:00:00.500Z');

/** One version as a sync keeps it: `<stamp>/<reason>/<path>`, with its bytes and mtime. */
function keep(at: Date, reason: string, rel: string, content: string, mtime = new Date('2026-11-01T00:00:00Z')): void {
  const file = path.join(root, runStamp(at), reason, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  fs.utimesSync(file, mtime, mtime);
}

describe('parseRunStamp', () => {
  it('reads back what runStamp wrote, and nothing else', () => {
    for (const d of [T1, T3, new Date(0)]) expect(parseRunStamp(runStamp(d))).toBe(d.getTime());
    for (const name of ['2026-12-01T10:00:00.000Z', '2026-12-01', 'notes', '2026-12-01T10-00-00Z', '']) {
      expect(parseRunStamp(name)).toBeUndefined();
    }
    expect(parseRunStamp('2026-13-45T10-00-00-000Z')).toBeUndefined();
  });
});

describe('listVersions', () => {
  it('lists every version with its path, time, reason, size and mtime, newest first; a prefix picks', async () => {
    const mtime = new Date('2026-11-20T08:30:00.250Z');
    keep(T1, 'deleted', 'docs/cv.txt', 'one', mtime);
    keep(T2, 'replaced', 'docs/cv.txt', 'two!');
    keep(T3, 'deleted', 'docs/letters/a.txt', 'a');
    keep(T2, 'deleted', 'photo.jpg', 'jpeg');
    keep(T2, 'deleted', 'docsX/other.txt', 'x');
    const store = new LocalStorage(root);
    const { versions, ignored } = await listVersions(store);
    expect(ignored).toBe(0);
    expect(versions.map((v) => [v.path, new Date(v.setAsideMs).toISOString(), v.reason, v.entry.size])).toEqual([
      ['docs/letters/a.txt', T3.toISOString(), 'deleted', 1],
      ['docs/cv.txt', T2.toISOString(), 'replaced', 4],
      ['docsX/other.txt', T2.toISOString(), 'deleted', 1],
      ['photo.jpg', T2.toISOString(), 'deleted', 4],
      ['docs/cv.txt', T1.toISOString(), 'deleted', 3],
    ]);
    const oldest = versions.at(-1)!;
    expect(oldest.entry.mtimeNs / 1_000_000n).toBe(BigInt(mtime.getTime()));
    expect(oldest.stored).toBe(`${runStamp(T1)}/deleted/docs/cv.txt`);

    // A folder prefix is the folder and what is under it, not a name that starts the same.
    const docs = await listVersions(store, 'docs');
    expect(docs.versions.map((v) => v.path)).toEqual(['docs/letters/a.txt', 'docs/cv.txt', 'docs/cv.txt']);
    expect((await listVersions(store, 'docs/cv.txt')).versions.map((v) => v.reason)).toEqual(['replaced', 'deleted']);
    expect((await listVersions(store, 'doc')).versions).toEqual([]);
  });

  it('leaves out and counts what does not fit the layout', async () => {
    keep(T1, 'deleted', 'kept.txt', 'k');
    keep(T1, 'moved', 'odd-reason.txt', 'o');
    fs.writeFileSync(path.join(root, 'README'), 'not a run');
    fs.mkdirSync(path.join(root, 'not-a-stamp/deleted'), { recursive: true });
    fs.writeFileSync(path.join(root, runStamp(T2)), 'a file where a run folder would be');
    fs.writeFileSync(path.join(root, runStamp(T1), 'stray.txt'), 's');
    keep(T1, 'deleted', '.~synctray-0123456789abcdef.part', 'a copy cut short');
    const { versions, ignored } = await listVersions(new LocalStorage(root));
    expect(versions.map((v) => v.path)).toEqual(['kept.txt']);
    expect(ignored).toBe(6);
  });

  it('finds none in a versions folder that does not exist', async () => {
    expect(await listVersions(new LocalStorage(path.join(root, 'missing')))).toEqual({ versions: [], ignored: 0 });
  });
});

describe('newestOfEach', () => {
  it('takes the newest of each path, or the newest at or before a time', async () => {
    keep(T1, 'deleted', 'a.txt', '1');
    keep(T2, 'replaced', 'a.txt', '2');
    keep(T3, 'replaced', 'a.txt', '3');
    keep(T3, 'deleted', 'b.txt', 'b');
    const { versions } = await listVersions(new LocalStorage(root));
    const pick = (at?: number) => newestOfEach(versions, at).map((v) => [v.path, v.setAsideMs]);
    expect(pick()).toEqual([
      ['a.txt', T3.getTime()],
      ['b.txt', T3.getTime()],
    ]);
    expect(pick(T2.getTime())).toEqual([['a.txt', T2.getTime()]]);
    expect(pick(T3.getTime() - 1)).toEqual([['a.txt', T2.getTime()]]);
    expect(pick(T1.getTime() - 1)).toEqual([]);
  });
});
