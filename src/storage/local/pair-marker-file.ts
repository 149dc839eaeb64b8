/**
 * The pair marker (core/pair-marker.ts) as a file in a local destination folder: what a folder
 * holds as far as the marker check needs, and writing the marker.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import { PAIR_MARKER, markerText, parseMarker, type MarkedPair } from '../../core/pair-marker.js';
import { nsToUtimeSeconds } from './fs-worker.js';
import { makeFolders } from './make-folders.js';

/**
 * What the marker file says: nothing there, a marker (undefined when damaged or not ours to read),
 * or an error reading it.
 */
export type MarkerRead =
  | { state: 'missing' }
  | { state: 'found'; marker?: MarkedPair }
  | { state: 'unreadable'; code: string };

/** A destination folder as the marker check sees it. */
export interface FolderLook {
  exists: boolean;
  /** Holds nothing but perhaps the marker. */
  empty: boolean;
  marker: MarkerRead;
}

/** Looks at `dir`: whether it is a folder, whether it holds anything, and its marker. */
export async function lookAtFolder(dir: string): Promise<FolderLook> {
  let names: string[];
  try {
    const st = await fs.lstat(dir);
    if (!st.isDirectory()) return { exists: false, empty: true, marker: { state: 'missing' } };
    names = await fs.readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    // A folder that is not there is waited for; one that answers with an error is a drive in trouble.
    if (code === 'ENOENT' || code === 'ENOTDIR') return { exists: false, empty: true, marker: { state: 'missing' } };
    return { exists: true, empty: false, marker: { state: 'unreadable', code } };
  }
  return {
    exists: true,
    empty: names.every((n) => n === PAIR_MARKER),
    marker: names.includes(PAIR_MARKER) ? await readMarker(dir) : { state: 'missing' },
  };
}

export async function readMarker(dir: string): Promise<MarkerRead> {
  let handle: fs.FileHandle | undefined;
  try {
    // Never through a symlink: a marker is a plain file in the folder itself.
    handle = await fs.open(path.join(dir, PAIR_MARKER), constants.O_RDONLY | constants.O_NOFOLLOW);
    const { size } = await handle.stat();
    // A marker is a few hundred bytes; anything large is not one.
    if (size > 64 * 1024) return { state: 'found' };
    const marker = parseMarker(await handle.readFile('utf8'));
    return marker ? { state: 'found', marker } : { state: 'found' };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    if (code === 'ENOENT') return { state: 'missing' };
    if (code === 'ELOOP') return { state: 'found' };
    return { state: 'unreadable', code };
  } finally {
    await handle?.close();
  }
}

/**
 * Writes the marker naming `pair` into `dir` (made first if missing), whole: to a temp name,
 * flushed, then renamed over any marker there. The folder keeps its times: the marker is not part
 * of the backup, and a folder time changed by it would differ from the source's.
 */
export async function writeMarker(dir: string, pair: MarkedPair): Promise<void> {
  const times = await fs.stat(dir, { bigint: true }).catch(() => undefined);
  await makeFolders(dir, 0o777);
  await placeMarker(dir, pair);
  // As strings: Node takes a negative number (a time before 1970) for now.
  if (times) await fs.utimes(dir, nsToUtimeSeconds(times.atimeNs), nsToUtimeSeconds(times.mtimeNs));
}

async function placeMarker(dir: string, pair: MarkedPair): Promise<void> {
  const temp = path.join(dir, `${PAIR_MARKER}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  const handle = await fs.open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
  try {
    try {
      await handle.writeFile(markerText(pair), 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, path.join(dir, PAIR_MARKER));
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
}
