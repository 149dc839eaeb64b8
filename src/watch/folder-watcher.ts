import fs from 'node:fs';
import path from 'node:path';
import { joinRel, parentOf, type RelPath } from '../core/rel-path.js';
import type { FolderWatcher, WatchFolder } from './watch-pair.js';

/** What fs.watch throws when the system's watches (or descriptors) run out. */
const LIMITS = new Set(['ENOSPC', 'EMFILE']);

interface Watch {
  handle: fs.FSWatcher;
  /** The folder watched, so that another one put at the same path is told apart. */
  ino: number;
  children: Set<RelPath>;
}

/**
 * Watches a local folder with one fs.watch (one inotify watch) per folder below it, itself
 * included. Measured on 20,000 files in 1,051 folders: 35 ms and 14 MB to start, where chokidar 6
 * took 450–560 ms and grew the process to 230–270 MB walking the tree (it stats every file), past
 * what a watching process may use here. A step compares the folder's two sides anyway, so an event
 * only needs to name the path; what it was is looked up when it comes. A new folder (or another
 * one put where a watched one was) is watched and reported whole; one that goes is unwatched. The
 * watched folder itself moved or removed is reported as gone, another folder put in its place as
 * 'rootChanged'. Our temp files and excluded paths produce nothing; excluded folders are not
 * watched. Reaching the system's watch limit while starting rejects; later, it is an error.
 *
 * Not seen: an overflow of the kernel's event queue (Node drops it); the periodic rescan covers it.
 */
export function folderWatcher(root: string, ignore: (path: RelPath, isDir: boolean) => boolean): WatchFolder {
  return async (onEvent, onError): Promise<FolderWatcher> => {
    const watches = new Map<RelPath, Watch>();
    const abs = (rel: RelPath) => (rel === '' ? root : path.join(root, rel));
    const rootIno = fs.statSync(root).ino;
    let closed = false;
    let starting = true;
    let limit: Error | undefined;

    const watchOne = (dir: RelPath, ino: number): boolean => {
      if (limit) return false;
      try {
        const handle = fs.watch(abs(dir), { persistent: true }, (type, name) => changed(dir, type, name));
        handle.on('error', (err) => {
          unwatch(dir);
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') onError(err);
        });
        watches.set(dir, { handle, ino, children: new Set() });
        if (dir !== '') watches.get(parentOf(dir))?.children.add(dir);
        return true;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        if (LIMITS.has(code)) {
          // While starting, the promise rejects with it; later the pair hears of it once.
          limit = err as Error;
          if (!starting) onError(limit);
        } else if (code !== 'ENOENT') {
          // Gone meanwhile is reported by its parent; anything else is worth saying.
          onError(err as Error);
        }
        return false;
      }
    };

    /** Watches `dir` and every folder below it that is not excluded. */
    const watchTree = (dir: RelPath, ino: number): void => {
      if (!watchOne(dir, ino)) return;
      let items: fs.Dirent[];
      try {
        items = fs.readdirSync(abs(dir), { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') onError(err as Error);
        return;
      }
      for (const item of items) {
        if (!item.isDirectory()) continue;
        const sub = joinRel(dir, item.name);
        if (ignore(sub, true)) continue;
        let st: fs.Stats;
        try {
          st = fs.lstatSync(abs(sub));
        } catch {
          continue;
        }
        if (st.isDirectory()) watchTree(sub, st.ino);
      }
    };

    /** Stops watching `dir` and everything below it. */
    const unwatch = (dir: RelPath): void => {
      const w = watches.get(dir);
      if (!w) return;
      for (const child of w.children) unwatch(child);
      w.handle.close();
      watches.delete(dir);
      if (dir !== '') watches.get(parentOf(dir))?.children.delete(dir);
    };

    const changed = (dir: RelPath, type: string, name: string | Buffer | null): void => {
      if (closed) return;
      if (dir === '') {
        // The root moved or removed shows as an event in it, named as the root itself.
        let now: fs.Stats | undefined;
        try {
          now = fs.statSync(root);
        } catch {
          now = undefined;
        }
        if (!now?.isDirectory()) return onEvent({ kind: 'unlinkDir', path: '' });
        if (now.ino !== rootIno) return onEvent({ kind: 'rootChanged' });
      }
      // No name: the kernel dropped events (its queue overflowed), so anything may have changed.
      if (name === null) return onEvent({ kind: 'rescan' });
      const rel = joinRel(dir, name.toString());
      // Content written to a file: nothing to look up (a folder's own change is harmless as one).
      if (type === 'change') return ignore(rel, false) ? undefined : onEvent({ kind: 'change', path: rel });
      let st: fs.Stats | undefined;
      try {
        st = fs.lstatSync(abs(rel));
      } catch {
        st = undefined;
      }
      const watched = watches.get(rel);
      if (st?.isDirectory()) {
        if (ignore(rel, true)) return;
        if (watched?.ino === st.ino) return onEvent({ kind: 'change', path: rel });
        // New, or another folder where a watched one was (deleted and made again, renamed over).
        if (watched) unwatch(rel);
        watchTree(rel, st.ino);
        return onEvent({ kind: 'addDir', path: rel });
      }
      if (watched) {
        unwatch(rel);
        return onEvent({ kind: 'unlinkDir', path: rel });
      }
      if (ignore(rel, false)) return;
      onEvent({ kind: st === undefined ? 'unlink' : 'add', path: rel });
    };

    watchTree('', rootIno);
    starting = false;
    if (limit) {
      unwatch('');
      throw limit;
    }
    return {
      close: async () => {
        closed = true;
        unwatch('');
      },
    };
  };
}
