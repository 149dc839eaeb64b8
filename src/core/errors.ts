/** The small set of failure kinds every backend maps its native errors onto. */
export const ErrorCode = {
  NOT_FOUND: 'NOT_FOUND',
  EXISTS: 'EXISTS',
  NOT_DIR: 'NOT_DIR',
  IS_DIR: 'IS_DIR',
  NOT_EMPTY: 'NOT_EMPTY',
  PERMISSION: 'PERMISSION',
  BUSY: 'BUSY',
  NO_SPACE: 'NO_SPACE',
  /** One file is over a size limit of the destination (FAT32's 4 GiB, a file size ulimit). */
  TOO_LARGE: 'TOO_LARGE',
  READ_ONLY: 'READ_ONLY',
  NAME_TOO_LONG: 'NAME_TOO_LONG',
  DEVICE_GONE: 'DEVICE_GONE',
  CHANGED: 'CHANGED',
  UNSUPPORTED: 'UNSUPPORTED',
  IO: 'IO',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Codes that end a whole run: continuing would only fail the same way for every remaining item. */
const FATAL: ReadonlySet<ErrorCode> = new Set([ErrorCode.NO_SPACE, ErrorCode.READ_ONLY, ErrorCode.DEVICE_GONE]);

export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The relative path the operation was about, when there is one. */
    readonly path?: string,
    /** Worth trying again after a pause (a lock, a busy file, a transient permission flip). */
    readonly retryable = false,
    /** The native error code (e.g. `EBUSY`) for logs. */
    readonly native?: string,
  ) {
    super(message);
  }

  get fatal(): boolean {
    return FATAL.has(this.code);
  }
}

/**
 * A failure that ends the run whatever its code: the destination could not make copies durable
 * (a flush failed), so every later batch would fail the same way, or worse, seem to succeed.
 */
export class RunEndingError extends StorageError {
  override get fatal(): boolean {
    return true;
  }
}

export function isStorageError(err: unknown, code?: ErrorCode): err is StorageError {
  return err instanceof StorageError && (code === undefined || err.code === code);
}

/**
 * A run that must not start: bad arguments, overlapping roots, a guard that tripped.
 * The CLI turns it into exit code 2; nothing has been written when it is thrown.
 */
export class RefusedError extends Error {
  override readonly name = 'RefusedError';
}

/** The running service failed to answer, or answered with a failure of its own (not a refusal). */
export class ServiceError extends Error {
  override readonly name = 'ServiceError';
}
