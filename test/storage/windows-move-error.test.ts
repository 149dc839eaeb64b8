import { describe, expect, it } from 'vitest';
import { ErrorCode, StorageError } from '../../src/core/errors.js';
import { mapFsError } from '../../src/storage/local/map-error.js';
import { type MoveSeen, windowsMoveError } from '../../src/storage/local/windows-move-error.js';

/** A refused move as Node on Windows reports it: ERROR_ACCESS_DENIED, which libuv calls EPERM. */
const refused = (errno = 'EPERM') =>
  mapFsError(Object.assign(new Error(`${errno}: operation not permitted, rename`), { code: errno }), 'a/b.txt');

const seen =
  (target: MoveSeen['target'], more: Partial<MoveSeen> = {}): (() => MoveSeen) =>
  () => ({ target, readOnly: false, movingDir: false, ...more });

describe('a move Windows refuses (EPERM / EACCES)', () => {
  it('onto a folder: IS_DIR for a file moved there, NOT_EMPTY for a folder, neither retried', () => {
    const file = windowsMoveError(refused(), 'win32', seen('dir'));
    expect([file.code, file.retryable, file.path]).toEqual([ErrorCode.IS_DIR, false, 'a/b.txt']);
    const folder = windowsMoveError(refused('EACCES'), 'win32', seen('dir', { movingDir: true }));
    expect([folder.code, folder.retryable]).toEqual([ErrorCode.NOT_EMPTY, false]);
  });

  it('onto a file another program holds open: BUSY, retried', () => {
    const e = windowsMoveError(refused(), 'win32', seen('file'));
    expect([e.code, e.retryable, e.native]).toEqual([ErrorCode.BUSY, true, 'EPERM']);
    expect(e.message).toBe('a/b.txt: busy or locked by another program (EPERM)');
  });

  it('onto a read-only file: PERMISSION, not retried, saying what to do', () => {
    const e = windowsMoveError(refused(), 'win32', seen('file', { readOnly: true }));
    expect([e.code, e.retryable]).toEqual([ErrorCode.PERMISSION, false]);
    expect(e.message).toMatch(/^a\/b\.txt: read-only in the destination.*clear its read-only attribute/);
  });

  it('where nothing stands at the target, stays what it was', () => {
    const e = refused();
    expect(windowsMoveError(e, 'win32', seen('none'))).toBe(e);
  });

  it('is left alone on other systems, and for other errors, without looking at the files', () => {
    const look = () => {
      throw new Error('looked');
    };
    for (const platform of ['linux', 'darwin'] as const)
      expect(windowsMoveError(refused(), platform, look).code).toBe(ErrorCode.PERMISSION);
    const busy = mapFsError(Object.assign(new Error('EBUSY'), { code: 'EBUSY' }), 'x');
    expect(windowsMoveError(busy, 'win32', look)).toBe(busy);
    const ours = new StorageError(ErrorCode.EXISTS, 'x: already exists', 'x');
    expect(windowsMoveError(ours, 'win32', look)).toBe(ours);
  });
});
