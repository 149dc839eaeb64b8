/**
 * Scratch folders for tests that work on real files: made fresh for each use, on tmpfs when there
 * is one, and removed whatever modes a test left on the folders inside them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Where scratch folders go: tmpfs when there is one (fast, and nothing left on a real disk). */
export function scratchBase(): string {
  const shm = '/dev/shm';
  try {
    fs.accessSync(shm, fs.constants.W_OK | fs.constants.X_OK);
    if (fs.statSync(shm).isDirectory()) return shm;
  } catch {
    // no tmpfs here
  }
  return os.tmpdir();
}

const TMPFS_MAGIC = 0x01021994;

/** Whether `dir` lies on a tmpfs (false where it cannot be looked at). */
export function onRamDisk(dir: string): boolean {
  try {
    return Number(fs.statfsSync(dir).type) === TMPFS_MAGIC;
  } catch {
    return false;
  }
}

/**
 * A folder on a disk, not a RAM disk: copies there are flushed in batches (durable-batch.ts), which
 * a RAM disk skips. The system's temp folder, or /var/tmp where that one is a tmpfs.
 */
export function diskScratchBase(): string {
  const found = [os.tmpdir(), '/var/tmp'].find((dir) => fs.existsSync(dir) && !onRamDisk(dir));
  if (found === undefined)
    throw new Error(`no scratch folder on a disk: ${os.tmpdir()} and /var/tmp are RAM disks or missing`);
  return found;
}

export interface ScratchOptions {
  /** On a disk (see diskScratchBase) rather than the faster tmpfs. */
  disk?: boolean;
}

/** A fresh, empty folder; remove it with `removeScratch`. */
export function makeScratch(prefix = 'synctray-test-', options: ScratchOptions = {}): string {
  return fs.mkdtempSync(path.join(options.disk ? diskScratchBase() : scratchBase(), prefix));
}

/** A fresh scratch folder `root` and the paths of a source and a destination in it (neither is created). */
export function makeSyncScratch(prefix?: string, options?: ScratchOptions): { root: string; src: string; dst: string } {
  const root = makeScratch(prefix, options);
  return { root, src: path.join(root, 'src'), dst: path.join(root, 'dst') };
}

/**
 * Removes a scratch folder whatever modes the test left on the folders inside it, and whatever
 * names (paths are walked as bytes, so names that are not valid UTF-8 are reached too).
 */
export function removeScratch(dir: string): void {
  if (!fs.existsSync(dir)) return;
  const unlock = (p: Buffer) => {
    const st = fs.lstatSync(p);
    if (!st.isDirectory()) return;
    if ((st.mode & 0o700) !== 0o700) fs.chmodSync(p, (st.mode & 0o7777) | 0o700);
    for (const name of fs.readdirSync(p, { encoding: 'buffer' })) unlock(Buffer.concat([p, Buffer.from('/'), name]));
  };
  unlock(Buffer.from(dir));
  fs.rmSync(dir, { recursive: true, force: true });
  if (fs.existsSync(dir)) throw new Error(`scratch folder ${dir} could not be removed`);
}
