/**
 * The file system side of the sync service: lstat as v1 reports it, creating what SEND writes,
 * and errors worded as adbd words them.
 */
import fs from 'node:fs';

const ERRNO_TEXT: Record<string, string> = {
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  EEXIST: 'File exists',
  ENOSPC: 'No space left on device',
  EROFS: 'Read-only file system',
  ENAMETOOLONG: 'File name too long',
  ELOOP: 'Too many levels of symbolic links',
};

/** strerror() wording, which the client prints after "remote ". */
export function errnoText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return ERRNO_TEXT[code] ?? (code || String(err));
}

/**
 * STAT's and DENT's mode, size and mtime. v1 carries them as u32: above 4 GiB (or outside
 * 1970..2106) they are the low 32 bits, as adbd's C assignment makes them; RECV still sends
 * the whole file, which is simply not supported past that size.
 */
export function statFields(st: fs.Stats | undefined): Buffer {
  const b = Buffer.alloc(12);
  if (st === undefined) return b;
  b.writeUInt32LE(st.mode >>> 0, 0);
  b.writeUInt32LE(st.size >>> 0, 4);
  b.writeUInt32LE(Math.floor(st.mtimeMs / 1000) >>> 0, 8);
  return b;
}

/** lstat, with any failure (missing, EACCES, ENOTDIR) as undefined: v1 STAT replies zeros for all. */
export function lstatOrNothing(p: Buffer): fs.Stats | undefined {
  try {
    return fs.lstatSync(p, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

function parentOf(p: Buffer): Buffer {
  const slash = p.lastIndexOf(0x2f);
  return slash <= 0 ? Buffer.from('/') : p.subarray(0, slash);
}

/** Makes room for a new file or link at `p` and runs `create`, creating missing parents, as adbd does. */
export function createWithParents<T>(p: Buffer, create: () => T): T {
  const old = lstatOrNothing(p);
  if (old !== undefined && !old.isDirectory()) fs.unlinkSync(p);
  try {
    return create();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    try {
      fs.mkdirSync(parentOf(p), { recursive: true });
    } catch {
      // The retry below reports why (e.g. a parent that is a file: ENOTDIR).
    }
    return create();
  }
}
