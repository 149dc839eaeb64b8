/**
 * Where the Windows the tests run on was seen to differ from NTFS. Wine, the only Windows these
 * tests have run on so far, keeps its folders on a Linux file system and differs in the few ways
 * below; each is probed with plain fs calls in a temp folder, so a test that needs what NTFS does
 * skips where the probe fails, with the reason printed, and runs on a real Windows. Nothing is
 * probed on other systems: there these tests always run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onWindows } from './requirements.js';

/** Why a test needing what NTFS `does` is skipped here, or undefined where `probe` saw it done. */
function unlikeNtfs(does: string, probe: (dir: string) => boolean): string | undefined {
  if (!onWindows) return undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'synctray-ntfs-probe-'));
  let done: boolean;
  try {
    done = probe(dir);
  } catch {
    done = false;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (done) return undefined;
  const reason = `this Windows does not ${does}, which NTFS does (Wine 8 does not)`;
  console.warn(`not tested here: ${reason}`);
  return reason;
}

/**
 * A rename that changes only the case of a name changes it (Wine, case-insensitive over a Linux
 * file system, takes the new name for the file itself and leaves the name as it was).
 */
export function caseRenamesIgnored(): string | undefined {
  return unlikeNtfs('change the case of a name by renaming', (dir) => {
    fs.writeFileSync(path.join(dir, 'name'), '');
    fs.renameSync(path.join(dir, 'name'), path.join(dir, 'Name'));
    return fs.readdirSync(dir).includes('Name');
  });
}

/** A file keeps the access time it is set to (Wine ignores it). */
export function accessTimesUnkept(): string | undefined {
  return unlikeNtfs('keep the access time a file is set to', (dir) => {
    const file = path.join(dir, 'f');
    fs.writeFileSync(file, '');
    fs.utimesSync(file, 1_500_000_000, 1_600_000_000);
    return fs.statSync(file).atimeMs === 1_500_000_000_000;
  });
}

/** A folder keeps a modification time before 1970 (Wine leaves the time as it was). */
export function timesBefore1970Unkept(): string | undefined {
  return unlikeNtfs('keep a time before 1970', (dir) => {
    fs.utimesSync(dir, -86_400, -86_400);
    return fs.statSync(dir).mtimeMs === -86_400_000;
  });
}

/** A file keeps a time of 2^32 seconds, early 2106 (Wine takes it for 1970). */
export function timesFrom2106Unkept(): string | undefined {
  return unlikeNtfs('keep a time from 2^32 seconds (2106) on', (dir) => {
    const file = path.join(dir, 'f');
    fs.writeFileSync(file, '');
    fs.utimesSync(file, 2 ** 32, 2 ** 32);
    return fs.statSync(file).mtimeMs === 2 ** 32 * 1000;
  });
}

/**
 * A name of 256 UTF-8 bytes (128 UTF-16 units; NTFS takes 255) can be made. Wine refuses it as not
 * found, passing on the 255-byte limit of the Linux file system beneath.
 */
export function longNamesRefused(): string | undefined {
  return unlikeNtfs('take a name of 256 UTF-8 bytes', (dir) => {
    fs.writeFileSync(path.join(dir, 'é'.repeat(128)), '');
    return true;
  });
}

/**
 * A folder being watched is gone once removed (libuv removes with POSIX semantics, which NTFS has
 * on Windows 10 and later). Wine keeps it, empty, until its watch is closed.
 */
export function watchedFoldersKept(): string | undefined {
  return unlikeNtfs('remove a folder that is being watched at once', (dir) => {
    const watched = path.join(dir, 'w');
    fs.mkdirSync(watched);
    const watcher = fs.watch(watched);
    try {
      fs.rmdirSync(watched);
      return !fs.existsSync(watched);
    } finally {
      watcher.close();
    }
  });
}
