import { ErrorCode, StorageError } from '../../core/errors.js';

/** A failed move, looked at afterwards: what stood at its target, and what was moved. */
export interface MoveSeen {
  target: 'dir' | 'file' | 'none';
  /** The target is a file whose read-only attribute is set (Node shows it as a mode without write bits). */
  readOnly: boolean;
  movingDir: boolean;
}

/**
 * What a refused move means on Windows. MoveFileEx answers ERROR_ACCESS_DENIED, which libuv
 * reports as EPERM (src/win/error.c), where POSIX has distinct answers: the target is a folder
 * (EISDIR for a file moved there, ENOTEMPTY for a folder: Windows replaces no folder, empty or
 * not), another program holds the target file open (no POSIX equivalent: busy, so worth another
 * try once it lets go), or the target file is read-only (POSIX replaces it; Windows does not).
 * A sharing violation is EBUSY already. Elsewhere, and for other errors, `e` is returned as it is
 * and `look` is not called.
 */
export function windowsMoveError(e: StorageError, platform: NodeJS.Platform, look: () => MoveSeen): StorageError {
  if (platform !== 'win32' || (e.native !== 'EPERM' && e.native !== 'EACCES')) return e;
  const rel = e.path ?? '';
  const at = rel === '' ? '.' : rel;
  const seen = look();
  if (seen.target === 'dir') {
    return seen.movingDir
      ? new StorageError(ErrorCode.NOT_EMPTY, `${at}: a folder stands there (${e.native})`, rel, false, e.native)
      : new StorageError(ErrorCode.IS_DIR, `${at}: is a directory (${e.native})`, rel, false, e.native);
  }
  if (seen.target !== 'file') return e;
  if (seen.readOnly) {
    return new StorageError(
      ErrorCode.PERMISSION,
      `${at}: read-only in the destination, and Windows does not replace a read-only file (${e.native}); clear ` +
        'its read-only attribute to back it up',
      rel,
      false,
      e.native,
    );
  }
  return new StorageError(
    ErrorCode.BUSY,
    `${at}: busy or locked by another program (${e.native})`,
    rel,
    true,
    e.native,
  );
}
