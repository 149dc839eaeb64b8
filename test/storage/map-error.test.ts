import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/core/errors.js';
import { mapFsError } from '../../src/storage/local/map-error.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';

let dir: string;
beforeEach(() => {
  dir = makeScratch('synctray-map-error-');
  fs.writeFileSync(path.join(dir, 'f'), 'a file');
});
afterEach(() => removeScratch(dir));

/** ENOENT as Node on Windows reports it for `rel` below the scratch folder. */
const enoent = (rel: string) =>
  Object.assign(new Error(`ENOENT: no such file or directory, mkdir '${rel}'`), {
    code: 'ENOENT',
    path: path.join(dir, ...rel.split('/')),
  });

describe('ENOENT on Windows', () => {
  it('for a path through a file is NOT_DIR, as POSIX says ENOTDIR', () => {
    expect(mapFsError(enoent('f/x'), 'f/x', 'win32')).toMatchObject({ code: ErrorCode.NOT_DIR, path: 'f/x' });
    expect(mapFsError(enoent('f/x/y'), 'f/x/y', 'win32').code).toBe(ErrorCode.NOT_DIR);
  });

  it('for a path whose folders are missing, or that is missing itself, stays NOT_FOUND', () => {
    expect(mapFsError(enoent('missing/x'), 'missing/x', 'win32').code).toBe(ErrorCode.NOT_FOUND);
    expect(mapFsError(enoent('x'), 'x', 'win32').code).toBe(ErrorCode.NOT_FOUND);
  });

  it('is left alone on other systems, which say ENOTDIR themselves', () => {
    expect(mapFsError(enoent('f/x'), 'f/x', 'linux').code).toBe(ErrorCode.NOT_FOUND);
  });
});
