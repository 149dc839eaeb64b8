import { ErrorCode, StorageError } from '../../core/errors.js';

const BY_ERRNO: Record<string, { code: ErrorCode; retryable?: boolean }> = {
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
  EFBIG: { code: ErrorCode.NO_SPACE },
  EROFS: { code: ErrorCode.READ_ONLY },
  ENAMETOOLONG: { code: ErrorCode.NAME_TOO_LONG },
  // O_NOFOLLOW met a symlink: the item changed type after it was listed.
  ELOOP: { code: ErrorCode.CHANGED },
  // Our own code, from a copy whose source moved while it was read.
  ECHANGED: { code: ErrorCode.CHANGED },
  ENODEV: { code: ErrorCode.DEVICE_GONE },
  ENXIO: { code: ErrorCode.DEVICE_GONE },
  ENOTCONN: { code: ErrorCode.DEVICE_GONE },
  ESTALE: { code: ErrorCode.DEVICE_GONE },
  EIO: { code: ErrorCode.IO },
  EXDEV: { code: ErrorCode.UNSUPPORTED },
  EINVAL: { code: ErrorCode.UNSUPPORTED },
  ENOTSUP: { code: ErrorCode.UNSUPPORTED },
  EOPNOTSUPP: { code: ErrorCode.UNSUPPORTED },
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
  READ_ONLY: 'the file system is read-only',
  NAME_TOO_LONG: 'name too long for this file system',
  CHANGED: 'changed type while being read',
  DEVICE_GONE: 'the device is gone',
  IO: 'input/output error',
};

/** Turns a Node fs error into a StorageError about `rel`; anything unknown passes through as IO. */
export function mapFsError(err: unknown, rel: string): StorageError {
  if (err instanceof StorageError) return err;
  const errno = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  const known = BY_ERRNO[errno];
  const code = known?.code ?? ErrorCode.IO;
  const what = DESCRIPTION[code] ?? (err instanceof Error ? err.message : String(err));
  const message = `${rel === '' ? '.' : rel}: ${what}${errno ? ` (${errno})` : ''}`;
  return new StorageError(code, message, rel, known?.retryable ?? false, errno || undefined);
}
