import type { RelPath } from '../core/rel-path.js';
import type { FileSource, Storage } from '../storage/storage.js';

/**
 * Whether two files' bytes differ, read side by side and stopped at the first difference.
 * Comparing the bytes directly beats hashing both sides (MD5 or anything faster) when both are
 * read anyway: there is no digest to compute and a difference ends the read early.
 */
export async function contentDiffers(a: FileSource, b: FileSource): Promise<boolean> {
  const ia = a.stream()[Symbol.asyncIterator]();
  const ib = b.stream()[Symbol.asyncIterator]();
  let bufA: Uint8Array = new Uint8Array(0);
  let bufB: Uint8Array = new Uint8Array(0);
  let endA = false;
  let endB = false;
  try {
    for (;;) {
      const [na, nb] = await Promise.all([
        !endA && bufA.length === 0 ? ia.next() : undefined,
        !endB && bufB.length === 0 ? ib.next() : undefined,
      ]);
      if (na) na.done ? (endA = true) : (bufA = na.value);
      if (nb) nb.done ? (endB = true) : (bufB = nb.value);
      const n = Math.min(bufA.length, bufB.length);
      if (n > 0) {
        if (Buffer.compare(bufA.subarray(0, n), bufB.subarray(0, n)) !== 0) return true;
        bufA = bufA.subarray(n);
        bufB = bufB.subarray(n);
        continue;
      }
      if ((endA && bufA.length === 0) || (endB && bufB.length === 0)) {
        return !(endA && endB && bufA.length === 0 && bufB.length === 0);
      }
    }
  } finally {
    await Promise.all([ia.return?.(), ib.return?.()]);
  }
}

/** Compares each listed path on both storages; a file that cannot be read counts as differing. */
export async function compareContents(
  src: Storage,
  dst: Storage,
  paths: readonly RelPath[],
  concurrency: number,
  signal?: AbortSignal,
  /** Where a source path's bytes are read from (a followed symlink's, see Entry.via). */
  sourcePath: (path: RelPath) => RelPath = (path) => path,
): Promise<Map<RelPath, boolean>> {
  const out = new Map<RelPath, boolean>();
  let next = 0;
  const lane = async () => {
    while (next < paths.length && !signal?.aborted) {
      const path = paths[next++]!;
      try {
        out.set(path, await contentDiffers(src.read(sourcePath(path)), dst.read(path)));
      } catch {
        out.set(path, true);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, lane));
  return out;
}
