import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, StorageError } from '../../core/errors.js';

/** `own`: a code of this backend's (not an errno), whose message says what happened. */
const BY_ERRNO: Record<string, { code: ErrorCode; retryable?: boolean; own?: boolean; what?: string }> = {
  ENOENT: { code: ErrorCode.NOT_FOUND },
  EEXIST: { code: ErrorCode.EXISTS },
  ENOTDIR: { code: ErrorCode.NOT_DIR },
  EISDIR: { code: ErrorCode.IS_DIR },
  ENOTEMPTY: { code: ErrorCode.NOT_EMPTY },
  // Antivirus scanners, indexers and backup agents flip these for a moment, so they are worth a retry.
  EACCES: { code: ErrorCode.PERMISSION, retryable: true },
  EPERM: { code: ErrorCode.PERMISSION, retryable: true },
  EBUSY: { code: ErrorCode.BUSY, retryable: true },
  ETXTBSY: { code: ErrorCode.BUSY, retryable: true },
  EAGAIN: { code: ErrorCode.BUSY, retryable: true },
  EMFILE: { code: ErrorCode.BUSY, retryable: true },
  ENFILE: { code: ErrorCode.BUSY, retryable: true },
  ENOSPC: { code: ErrorCode.NO_SPACE },
  EDQUOT: { code: ErrorCode.NO_SPACE },
  // One file over FAT32's 4 GiB or a file size limit: the next, smaller file may well fit.
  EFBIG: { code: ErrorCode.TOO_LARGE },
  EROFS: { code: ErrorCode.READ_ONLY },
  ENAMETOOLONG: { code: ErrorCode.NAME_TOO_LONG },
  // O_NOFOLLOW met a symlink: the item changed type after it was listed.
  ELOOP: { code: ErrorCode.CHANGED, what: 'is a symlink' },
  // Opening a socket (or a device with no driver): listed as a file, it is something else now.
  // One item, not a device that went away.
  ENXIO: { code: ErrorCode.CHANGED, what: 'is no longer a regular file' },
  ENODEV: { code: ErrorCode.DEVICE_GONE },
  ENOTCONN: { code: ErrorCode.DEVICE_GONE },
  ESTALE: { code: ErrorCode.DEVICE_GONE },
  EIO: { code: ErrorCode.IO },
  EXDEV: { code: ErrorCode.UNSUPPORTED },
  EINVAL: { code: ErrorCode.UNSUPPORTED },
  ENOTSUP: { code: ErrorCode.UNSUPPORTED },
  EOPNOTSUPP: { code: ErrorCode.UNSUPPORTED },
  // Ours: a source that moved or stopped being a file while it was copied.
  ECHANGED: { code: ErrorCode.CHANGED, own: true },
  // Ours: what a rename was told it may replace is not what stands at the target (see Replacing).
  EAPPEARED: { code: ErrorCode.EXISTS, own: true },
  // Ours: a worker thread of FsPool died; every later call fails too, so the run must end.
  EWORKER: { code: ErrorCode.DEVICE_GONE, own: true },
};

const DESCRIPTION: Partial<Record<ErrorCode, string>> = {
  NOT_FOUND: 'no such file or directory',
  EXISTS: 'already exists',
  NOT_DIR: 'not a directory',
  IS_DIR: 'is a directory',
  NOT_EMPTY: 'directory not empty',
  PERMISSION: 'permission denied',
  BUSY: 'busy or locked by another program',
  NO_SPACE: 'no space left on the device',
  TOO_LARGE: 'too large for the destination file system',
  READ_ONLY: 'the file system is read-only',
  NAME_TOO_LONG: 'name too long for this file system',
  CHANGED: 'changed (its type, or its content while being copied)',
  DEVICE_GONE: 'the device is gone',
  IO: 'input/output error',
};

/**
 * Turns a Node fs error into a StorageError about `rel`; anything unknown passes through as IO.
 * On Windows a path that goes through a file fails ENOENT (ERROR_PATH_NOT_FOUND) where POSIX says
 * ENOTDIR: the nearest folder of the failed path that exists is looked at to tell them apart.
 */
export function mapFsError(err: unknown, rel: string, platform: NodeJS.Platform = process.platform): StorageError {
  if (err instanceof StorageError) return err;
  const failed = err as NodeJS.ErrnoException | undefined;
  const errno =
    failed?.code === 'ENOENT' && platform === 'win32' && throughFile(failed.path) ? 'ENOTDIR' : (failed?.code ?? '');
  const known = BY_ERRNO[errno];
  const code = known?.code ?? ErrorCode.IO;
  const message = err instanceof Error ? err.message : String(err);
  const what = known?.own ? message : (known?.what ?? DESCRIPTION[code] ?? message);
  const native = known?.own || !errno ? undefined : errno;
  const where = rel === '' ? '.' : rel;
  return new StorageError(
    code,
    `${where}: ${what}${native ? ` (${native})` : ''}`,
    rel,
    known?.retryable ?? false,
    native,
  );
}

/** Whether the nearest item that exists on the way to `file` (not `file` itself) is something other than a folder. */
function throughFile(file: string | undefined): boolean {
  if (file === undefined) return false;
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const st = fs.statSync(dir, { throwIfNoEntry: false });
    if (st !== undefined) return !st.isDirectory();
    if (path.dirname(dir) === dir) return false;
  }
}
