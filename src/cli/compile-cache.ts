import fs from 'node:fs';
import module from 'node:module';
import path from 'node:path';
import envPaths from 'env-paths';

/**
 * Turns Node's compile cache on for the modules loaded from now on: V8 keeps their compiled code
 * between runs, so a command's code is not parsed and compiled again at every start (about 20 ms of
 * a no-op sync). Called first thing by the bin, before the commands are imported.
 *
 * The cache lives in SyncTray's own cache folder (`~/.cache/synctray/compile-cache` on Linux), not
 * in Node's default, a folder shared by every user in the system's temp folder: code read from a
 * folder others can write to is code they chose. So the folder must be a folder of the user's own
 * that nobody else can write to, as the single binary's extracted files must be.
 *
 * The cache only makes a start faster: no home folder, a read-only disk, a folder that is not the
 * user's, or a Node without the cache leaves it off, and the command runs as it would have. So does
 * the user's own choice: NODE_COMPILE_CACHE (Node turned it on there already) or
 * NODE_DISABLE_COMPILE_CACHE (set, even empty, as Node reads it). Returns the folder in use, or
 * undefined.
 */
export function enableCompileCache(env: NodeJS.ProcessEnv = process.env, cacheRoot?: string): string | undefined {
  if (
    typeof module.enableCompileCache !== 'function' ||
    env.NODE_COMPILE_CACHE ||
    env.NODE_DISABLE_COMPILE_CACHE !== undefined
  )
    return undefined;
  try {
    const dir = path.join(cacheRoot ?? envPaths('synctray', { suffix: '' }).cache, 'compile-cache');
    if (!ownFolder(dir)) return undefined;
    const { status, directory } = module.enableCompileCache(dir);
    return status === module.constants.compileCacheStatus.ENABLED ? directory : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Made if missing (only the user can enter it); true when it is a folder of the user's that only
 * the user can write to.
 */
function ownFolder(dir: string): boolean {
  let st = fs.lstatSync(dir, { throwIfNoEntry: false });
  if (!st) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    st = fs.lstatSync(dir);
  }
  const mine = process.getuid === undefined || st.uid === process.getuid();
  return st.isDirectory() && mine && (process.platform === 'win32' || (st.mode & 0o022) === 0);
}
