import path from 'node:path';
import { watch } from 'chokidar';
import type { WatchEvent } from './coalesce.js';
import type { FolderWatcher, WatchFolder } from './watch-pair.js';

const KINDS = new Set(['add', 'change', 'unlink', 'addDir', 'unlinkDir']);

/**
 * Watches a local folder with chokidar: one watch per folder, no events for what is already there
 * (the first sync has looked at it), symlinks watched as themselves. `ignore` keeps our temp files
 * and excluded paths from ever being watched; a folder excluded by a folder-only pattern is known
 * as one only once chokidar has its stats, so the path alone is let through first.
 */
export function chokidarWatcher(root: string, ignore: (path: string, isDir: boolean) => boolean): WatchFolder {
  return async (onEvent, onError): Promise<FolderWatcher> => {
    const relative = (p: string) => {
      const rel = path.relative(root, path.resolve(root, p)).split(path.sep).join('/');
      return rel === '.' ? '' : rel;
    };
    const watcher = watch(root, {
      cwd: root,
      ignoreInitial: true,
      followSymlinks: false,
      // No holding back of unlink events to pair them with an add: the step compares both sides anyway.
      atomic: false,
      ignored: (p: string, stats?: { isDirectory(): boolean }) => {
        const rel = relative(p);
        return rel !== '' && !rel.startsWith('..') && ignore(rel, stats?.isDirectory() ?? false);
      },
    });
    watcher.on('all', (kind: string, p: string) => {
      if (KINDS.has(kind)) onEvent({ kind, path: relative(p) } as WatchEvent);
    });
    // A folder that cannot be watched is reported and the rest watched (the rescans cover it).
    watcher.on('error', (err: unknown) => onError(err instanceof Error ? err : new Error(String(err))));
    await new Promise<void>((resolve) => watcher.once('ready', resolve));
    return { close: () => watcher.close() };
  };
}
