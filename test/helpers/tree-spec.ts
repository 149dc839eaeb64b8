/**
 * Trees described as data (`NodeSpec`), and putting them on disk with their content, modes and
 * times; also plain `{ path: content }` maps for hand-written fixtures.
 *
 * Paths handed around are absolute unless named `rel`; `rel` paths are '/'-separated with '' for
 * the root, as the engine's own.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setMtime } from './mtimes.js';

export interface FileSpec {
  type: 'file';
  size: number;
  /** Seeds the bytes, so the same spec always gives the same content. */
  seed: number;
  mode: number;
  mtimeNs: bigint;
}
export interface LinkSpec {
  type: 'symlink';
  target: string;
  mtimeNs: bigint;
}
export interface DirSpec {
  type: 'dir';
  mode: number;
  mtimeNs: bigint;
  children: [string, NodeSpec][];
}
export type NodeSpec = FileSpec | LinkSpec | DirSpec;

/** `size` pseudo-random bytes from `seed` (mulberry32: fast, and plenty for test content). */
export function seededBytes(size: number, seed: number): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let a = seed >>> 0;
  let i = 0;
  while (i < size) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    t = (t ^ (t >>> 14)) >>> 0;
    for (let k = 0; k < 4 && i < size; k++, t >>>= 8) buf[i++] = t & 0xff;
  }
  return buf;
}

/** Creates `spec` at `abs` (which must not exist) with its content, mode and times. */
export function materialize(abs: string, spec: NodeSpec): void {
  switch (spec.type) {
    case 'file':
      writeFile(abs, seededBytes(spec.size, spec.seed), spec.mode, spec.mtimeNs);
      return;
    case 'symlink':
      fs.symlinkSync(spec.target, abs);
      setMtime(abs, spec.mtimeNs);
      return;
    case 'dir':
      fs.mkdirSync(abs);
      fillDir(abs, spec);
      return;
  }
}

/** Puts `spec`'s children into the existing folder `abs`, then gives the folder its mode and time. */
export function fillDir(abs: string, spec: DirSpec): void {
  for (const [name, child] of spec.children) materialize(path.join(abs, name), child);
  // Mode and time last: every child created above moved the folder's mtime.
  fs.chmodSync(abs, spec.mode);
  setMtime(abs, spec.mtimeNs);
}

function writeFile(abs: string, bytes: Uint8Array, mode: number, mtimeNs: bigint): void {
  fs.writeFileSync(abs, bytes, { mode: 0o600, flag: 'wx' });
  fs.chmodSync(abs, mode);
  setMtime(abs, mtimeNs);
}

/** Creates files from a `{ 'a/b.txt': 'content' }` map (parents made as needed). */
export function writeTree(root: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(root, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
  }
}
