import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sea from 'node:sea';
import envPaths from 'env-paths';

/**
 * Set by the single-binary build (build/build-binary.mjs): SyncTray's version and a hash of the
 * files embedded beside the code. Undefined everywhere else.
 */
declare const SYNCTRAY_BINARY_ID: string | undefined;

/** Whether this is the single executable, with its files embedded (see build/build-binary.mjs). */
export function isSingleBinary(): boolean {
  return typeof SYNCTRAY_BINARY_ID === 'string' && sea.isSea();
}

let root: string | undefined;

/**
 * An embedded file (`assets/icons/idle.png`, `helpers/tray_linux_release`, …) as a real file: all
 * of them are written once to a cache folder named after the version and their contents (each
 * through a temp name, flushed, then renamed; executables 0755), and found there by later starts.
 * Throws an Error saying what to do when the folder cannot be written or is not the user's own.
 */
export function embeddedFile(key: string): string {
  root ??= extractAll();
  return path.join(root, ...key.split('/'));
}

interface Manifest {
  files: { key: string; executable: boolean; size: number }[];
}

function extractAll(): string {
  const cache = envPaths('synctray', { suffix: '' }).cache;
  const dir = path.join(cache, `binary-${SYNCTRAY_BINARY_ID}`);
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Its files are run and loaded as code: a folder anyone else can write to is not used.
    const st = fs.lstatSync(dir);
    const mine = process.getuid === undefined || st.uid === process.getuid();
    if (!st.isDirectory() || !mine || (process.platform !== 'win32' && (st.mode & 0o022) !== 0)) {
      throw new Error('it is not a folder of yours that only you can write to');
    }
    const manifest = JSON.parse(sea.getAsset('manifest.json', 'utf8')) as Manifest;
    if (isComplete(dir, manifest)) return dir;
    for (const file of manifest.files) write(dir, file);
    // Only now, with every file flushed under its name, do later starts take the folder as it is.
    const folder = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(folder);
    } catch {
      // not every platform flushes folders
    } finally {
      fs.closeSync(folder);
    }
    fs.writeFileSync(path.join(dir, '.complete'), '');
    return dir;
  } catch (err) {
    throw new Error(
      `SyncTray cannot set up its files in ${dir} (${(err as Error).message}): make that folder yours and writable, ` +
        'or point XDG_CACHE_HOME elsewhere.',
    );
  }
}

/** Marked complete, and every file there with the size it was built with. */
function isComplete(dir: string, manifest: Manifest): boolean {
  if (!fs.existsSync(path.join(dir, '.complete'))) return false;
  return manifest.files.every(({ key, size }) => {
    try {
      const st = fs.lstatSync(path.join(dir, ...key.split('/')));
      return st.isFile() && st.size === size;
    } catch {
      return false;
    }
  });
}

function write(dir: string, { key, executable }: Manifest['files'][number]): void {
  const target = path.join(dir, ...key.split('/'));
  fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
  // A fresh name, created exclusively: nothing planted there beforehand is written through.
  const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = fs.openSync(temp, 'wx', executable ? 0o755 : 0o644);
  try {
    fs.writeSync(fd, new Uint8Array(sea.getAsset(key)));
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(temp, target);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw err;
  }
}
