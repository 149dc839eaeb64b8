/**
 * The folder watcher fed the events another system reports, through a stand-in for fs.watch over
 * real folders: what Windows says when a watched folder is removed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WatchEvent } from '../../src/watch/coalesce.js';
import { folderWatcher, type WatchOne } from '../../src/watch/folder-watcher.js';
import type { FolderWatcher } from '../../src/watch/watch-pair.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';

/** fs.watch played by the test: each watched folder's listener, by the path it was given. */
function playedWatch() {
  const listeners = new Map<string, (type: string, name: string | null) => void>();
  const watch: WatchOne = (dir, _options, listener) => {
    listeners.set(dir, listener);
    const handle = { on: () => handle, close: () => listeners.delete(dir) };
    return handle as unknown as ReturnType<WatchOne>;
  };
  return { watch, listeners };
}

describe('the folder watcher, told what Windows reports', () => {
  let root: string;
  let watcher: FolderWatcher | undefined;
  const events: WatchEvent[] = [];
  const errors: Error[] = [];

  beforeEach(() => {
    root = path.join(makeScratch('synctray-folder-watcher-'), 'src');
    fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
    events.length = 0;
    errors.length = 0;
  });
  afterEach(async () => {
    await watcher?.close();
    watcher = undefined;
    removeScratch(path.dirname(root));
  });

  async function start() {
    const played = playedWatch();
    watcher = await folderWatcher(
      root,
      () => false,
      played.watch,
    )(
      (e) => events.push(e),
      (e) => errors.push(e),
    );
    return played.listeners;
  }

  // libuv 1.49 on (src/win/fs-event.c): a watched folder removed is a rename named by its full path.
  it.for([
    ['as given', (p: string) => p],
    ['as Node gives it to libuv', (p: string) => path.toNamespacedPath(p)],
  ] as const)('takes a removed subfolder named by its full path (%s) for that folder', async ([, named]) => {
    const listeners = await start();
    const sub = path.join(root, 'sub');
    fs.rmdirSync(sub);
    listeners.get(sub)!('rename', named(sub));
    expect(events).toEqual([{ kind: 'unlinkDir', path: 'sub' }]);
    expect(listeners.has(sub)).toBe(false);
    expect(errors).toEqual([]);
  });

  it('takes the root named by its full path, removed, for the root gone', async () => {
    const listeners = await start();
    fs.rmSync(root, { recursive: true });
    listeners.get(root)!('rename', path.toNamespacedPath(root));
    expect(events).toEqual([{ kind: 'unlinkDir', path: '' }]);
  });

  it('takes the root named by its full path, still there, for nothing', async () => {
    const listeners = await start();
    listeners.get(root)!('rename', root);
    expect(events).toEqual([]);
  });
});
