import { type ErrorCode, StorageError } from '../../src/core/errors.js';
import type { Entry } from '../../src/core/entry.js';
import type { RelPath } from '../../src/core/rel-path.js';
import type { Capabilities, FileSource, Storage, WriteOptions } from '../../src/storage/storage.js';

/** A fault to raise on writes aimed at one final path, `times` times (Infinity for always). */
export interface Fault {
  code: ErrorCode;
  retryable: boolean;
  times: number;
}

/**
 * Wraps a real storage and makes chosen writes fail, the way a file locked by another program or
 * a full disk would; everything else goes through untouched. Counts write attempts per path.
 */
export class FaultyStorage implements Storage {
  readonly attempts = new Map<RelPath, number>();
  readonly description: string;
  readonly capabilities: Capabilities;

  constructor(
    private readonly inner: Storage,
    private readonly faults: Map<RelPath, Fault>,
  ) {
    this.description = inner.description;
    this.capabilities = inner.capabilities;
  }

  async write(path: RelPath, source: FileSource, options?: WriteOptions): Promise<boolean> {
    // Copies go to a temp name; the final path is where they are renamed to (or the caller renames).
    const target = options?.renameTo ?? path;
    const key = [...this.faults.keys()].find((k) => target === k || source.localPath?.endsWith(`/${k}`));
    if (key !== undefined) {
      const n = (this.attempts.get(key) ?? 0) + 1;
      this.attempts.set(key, n);
      const fault = this.faults.get(key)!;
      if (n <= fault.times) throw new StorageError(fault.code, `${key}: injected ${fault.code}`, key, fault.retryable);
    }
    return this.inner.write(path, source, options);
  }

  list(dir: RelPath): Promise<Entry[]> {
    return this.inner.list(dir);
  }
  stat(path: RelPath): Promise<Entry> {
    return this.inner.stat(path);
  }
  read(path: RelPath): FileSource {
    return this.inner.read(path);
  }
  symlink(path: RelPath, target: string, options?: WriteOptions): Promise<void> {
    return this.inner.symlink(path, target, options);
  }
  setModTime(path: RelPath, mtimeNs: bigint, atimeNs?: bigint): Promise<void> {
    return this.inner.setModTime(path, mtimeNs, atimeNs);
  }
  setMode(path: RelPath, mode: number): Promise<void> {
    return this.inner.setMode(path, mode);
  }
  rename(from: RelPath, to: RelPath): Promise<void> {
    return this.inner.rename(from, to);
  }
  mkdir(path: RelPath, options?: WriteOptions): Promise<void> {
    return this.inner.mkdir(path, options);
  }
  remove(path: RelPath): Promise<void> {
    return this.inner.remove(path);
  }
  rmdir(path: RelPath): Promise<void> {
    return this.inner.rmdir(path);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
