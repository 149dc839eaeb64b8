/**
 * Looking at trees on disk: listings, snapshots of everything a user could notice, descriptions
 * for failure messages, and the engine's temp files.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { formatNs } from './mtimes.js';

/** One item found on disk. */
export interface Found {
  rel: string;
  abs: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
}

/** Every item under `root` (the root itself first, as ''), parents before children, sorted by name. */
export function listTree(root: string): Found[] {
  const out: Found[] = [];
  const walk = (rel: string, abs: string) => {
    const st = fs.lstatSync(abs);
    const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
    out.push({ rel, abs, type });
    if (type === 'dir')
      for (const name of fs.readdirSync(abs).sort()) walk(rel === '' ? name : `${rel}/${name}`, path.join(abs, name));
  };
  walk('', root);
  return out;
}

export interface Snap {
  type: Found['type'];
  mode: number;
  size: number;
  mtimeNs: bigint;
  target?: string;
  sha256?: string;
}

export function sha256File(abs: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(abs)).digest('hex');
}

/**
 * Everything a user could notice about each item under `root` (the root itself is ''): type, mode,
 * size, mtime in ns, symlink target, content hash. Two equal snapshots mean nothing was changed,
 * which is how a refused run is shown to have written nothing; a missing `root` gives an empty
 * snapshot, so a run that creates it is seen too.
 */
export function snapshotTree(root: string): Map<string, Snap> {
  const out = new Map<string, Snap>();
  if (!fs.existsSync(root)) return out;
  for (const item of listTree(root)) {
    const st = fs.lstatSync(item.abs, { bigint: true });
    const snap: Snap = { type: item.type, mode: Number(st.mode & 0o7777n), size: Number(st.size), mtimeNs: st.mtimeNs };
    if (item.type === 'symlink') snap.target = fs.readlinkSync(item.abs);
    if (item.type === 'file') snap.sha256 = sha256File(item.abs);
    out.set(item.rel, snap);
  }
  return out;
}

export function describeSnap(s: Snap | undefined): string {
  if (!s) return '(absent)';
  const mtime = formatNs(s.mtimeNs);
  if (s.type === 'symlink') return `symlink -> ${JSON.stringify(s.target)} mtime ${mtime}`;
  const what = `${s.type} ${s.mode.toString(8).padStart(4, '0')} mtime ${mtime}`;
  return s.type === 'file' ? `${what} ${s.size} bytes sha256 ${s.sha256?.slice(0, 12)}` : what;
}

/** A listing of the tree for failure messages, one item a line, cut at `maxLines`. */
export function describeTree(root: string, maxLines = 80): string {
  if (!fs.existsSync(root)) return `${root}: (does not exist)`;
  const lines = [...snapshotTree(root)].map(
    ([rel, s]) => `  ${JSON.stringify(rel === '' ? '.' : rel)}: ${describeSnap(s)}`,
  );
  const cut = lines.length > maxLines ? [...lines.slice(0, maxLines), `  … ${lines.length - maxLines} more`] : lines;
  return `${root}:\n${cut.join('\n')}`;
}

/** The engine's temp-file name shape (see src/core/temp-name.ts, restated so tests catch a change). */
/** A copy's temp file. */
export const COPY_TEMP_NAME = /^\.~synctray-[0-9a-f]{16}\.part$/;
/**
 * SyncTray's own temp items, which the next run removes: copies under way, and a probe's leftovers
 * (its reserved-name item starts with `aux`, see probe.ts).
 */
export const TEMP_NAME = /^(?:\.~synctray-[0-9a-f]{16}\.part$|(?:aux)?\.~synctray-probe-)/;

/** Relative paths of every temp file anywhere under `root`. */
export function findTempFiles(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((rel) => TEMP_NAME.test(path.basename(rel)));
}
