import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * `mkdir -p` that always ends: `abs` and every missing folder above it, each made on its own.
 * Node's recursive mkdir loops for ever on exfat-fuse when a name on the way is one the drive
 * refuses (`backup 10:00`): the drive answers ENOENT, Node makes the parent (EEXIST) and tries
 * again. Here a folder that cannot be made under a parent that exists fails once, with that error.
 */
export async function makeFolders(abs: string, mode: number): Promise<void> {
  const missing: string[] = [];
  for (let p = path.resolve(abs); ; p = path.dirname(p)) {
    const st = await fs
      .stat(p)
      .catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
    if (st) {
      if (!st.isDirectory())
        throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${p}'`), { code: 'ENOTDIR', path: p });
      break;
    }
    missing.unshift(p);
    if (path.dirname(p) === p) break;
  }
  for (const p of missing) {
    try {
      await fs.mkdir(p, { mode });
    } catch (err) {
      // Made meanwhile by another run: as good.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}
