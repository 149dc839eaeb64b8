import fs from 'node:fs';

// The callback API, wrapped by hand: fs/promises costs about twice as much main-thread time per
// call, which is most of a copy of a small file. Only what runs outside FsPool is here: streaming
// a file to or from another kind of storage, and the version store's rename.

type Cb<T> = (err: NodeJS.ErrnoException | null, value: T) => void;

function call<T>(fn: (cb: Cb<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    fn((err, value) => (err ? reject(err) : resolve(value)));
  });
}

export const lstat = (p: string) => call<fs.BigIntStats>((cb) => fs.lstat(p, { bigint: true }, cb));
export const open = (p: string, flags: number, mode?: number) => call<number>((cb) => fs.open(p, flags, mode, cb));
export const fstat = (fd: number) => call<fs.Stats>((cb) => fs.fstat(fd, cb));
export const close = (fd: number) => call<void>((cb) => fs.close(fd, cb as fs.NoParamCallback));
export const fsync = (fd: number) => call<void>((cb) => fs.fsync(fd, cb as fs.NoParamCallback));
export const fchmod = (fd: number, mode: number) => call<void>((cb) => fs.fchmod(fd, mode, cb as fs.NoParamCallback));
export const futimes = (fd: number, atime: string, mtime: string) =>
  call<void>((cb) => fs.futimes(fd, atime, mtime, cb as fs.NoParamCallback));
export const rename = (from: string, to: string) => call<void>((cb) => fs.rename(from, to, cb as fs.NoParamCallback));
export const write = (fd: number, buf: Uint8Array, off: number, len: number) =>
  call<number>((cb) => fs.write(fd, buf, off, len, null, cb));
export const read = (fd: number, buf: Buffer) => call<number>((cb) => fs.read(fd, buf, 0, buf.length, null, cb));
