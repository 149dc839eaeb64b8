/**
 * Tests that need something the machine may lack (a system tool, root): on a user's machine
 * without it they skip with a printed reason, but under CI=true they always run, and fail if it
 * is missing, so CI never passes by skipping. Tests that need what only POSIX systems do skip on
 * Windows, CI or not, with the reason said (posixOnly).
 */
import fs from 'node:fs';
import path from 'node:path';

/**
 * Where a program is found on `env`'s PATH (with Windows' PATHEXT endings there), or undefined.
 * Found by reading folders: a machine without `sh` (Windows) can still ask.
 */
export function findTool(
  name: string,
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  const endings =
    platform === 'win32' ? ['', ...(env.PATHEXT ?? '.COM;.EXE;.BAT;.CMD').toLowerCase().split(';')] : [''];
  const dirs = (env.PATH ?? env.Path ?? '').split(platform === 'win32' ? ';' : ':').filter(Boolean);
  for (const dir of dirs) {
    const found = endings.map((ending) => path.join(dir, name + ending)).find((f) => runnable(f, platform));
    if (found) return found;
  }
  return undefined;
}

/** A file, and on POSIX one this user may run. */
function runnable(file: string, platform: NodeJS.Platform): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    if (platform !== 'win32') fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Whether a system tool is on PATH. */
export function hasTool(name: string): boolean {
  return findTool(name) !== undefined;
}

/**
 * Why tests needing something must be skipped, or undefined when they run: undefined when it is
 * `available` or under CI=true (CI runs on Linux); otherwise `reason`, which is also printed. On
 * Windows a missing tool is a skip whatever CI says: the tools these tests need are Linux's (rsync,
 * Xvfb, losetup, systemd) or, under Wine, cannot be started from Windows (adb, rclone).
 */
export function skipReasonOutsideCi(available: boolean, reason: string): string | undefined {
  if (available || (process.env.CI === 'true' && !onWindows)) return undefined;
  console.warn(reason);
  return reason;
}

export const onWindows = process.platform === 'win32';

/** What posixOnly is most often told a test needs. */
export const SYMLINKS = 'symlinks that anyone may make (on Windows only administrators, or Developer Mode)';
export const UNREADABLE = 'permission bits that can make a file or folder unreadable to its owner';

/**
 * Why a test that needs what POSIX systems have (permission bits, `sh`, names with * ? < > " |,
 * folders that tell case apart, /proc, Unix sockets) is skipped on Windows; undefined elsewhere.
 * `what` says what it needs, so each skip says why.
 */
export function posixOnly(what: string): string | undefined {
  if (!onWindows) return undefined;
  const reason = `needs ${what}, which Windows does not have`;
  console.warn(`skipped on Windows: ${reason}`);
  return reason;
}
