import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, StorageError } from '../../core/errors.js';

/** The oldest rclone whose remote control has every call used here (operations/stat came in 1.57). */
export const OLDEST_RCLONE: readonly [number, number] = [1, 57];

export const INSTALL_RCLONE =
  'Install rclone (Debian, Ubuntu: apt install rclone; macOS: brew install rclone; Windows: winget install ' +
  'Rclone.Rclone), or set SYNCTRAY_RCLONE to the rclone program.';

export interface RcloneProgram {
  path: string;
  /** As rclone says it, e.g. `v1.60.1-DEV`. */
  version: string;
}

/**
 * The rclone to run: SYNCTRAY_RCLONE, else the first on the PATH, with its version. Fails
 * DEVICE_GONE (nothing can reach the remote) saying how to install one, or that it is too old.
 */
export async function findRclone(env: NodeJS.ProcessEnv = process.env): Promise<RcloneProgram> {
  return checkRclone(locateRclone(env), env);
}

/** Where the rclone to run is: SYNCTRAY_RCLONE, else the first on the PATH; fails as findRclone. */
export function locateRclone(env: NodeJS.ProcessEnv = process.env): string {
  const program = env.SYNCTRAY_RCLONE || onPath('rclone', env);
  if (program === undefined) throw missing(`rclone is not installed (not found on the PATH). ${INSTALL_RCLONE}`);
  return program;
}

/** `program` with its version, once it said one new enough; fails as findRclone. */
export async function checkRclone(program: string, env: NodeJS.ProcessEnv = process.env): Promise<RcloneProgram> {
  const chosen = env.SYNCTRAY_RCLONE;
  const output = await versionOutput(program, env).catch((err: NodeJS.ErrnoException) => {
    const where = chosen ? `SYNCTRAY_RCLONE (${chosen})` : program;
    throw missing(`${where} cannot be run (${err.code ?? err.message}). ${INSTALL_RCLONE}`);
  });
  const m = /rclone (v(\d+)\.(\d+)\S*)/.exec(output);
  if (!m) throw missing(`${program} did not say which rclone it is ("rclone version" printed no version).`);
  const [major, minor] = [Number(m[2]), Number(m[3])];
  const [oldMajor, oldMinor] = OLDEST_RCLONE;
  if (major < oldMajor || (major === oldMajor && minor < oldMinor)) {
    throw missing(
      `${program} is rclone ${m[1]}; SyncTray needs ${oldMajor}.${oldMinor} or newer for its remote control: ` +
        `update rclone (rclone selfupdate, or your package manager), or set SYNCTRAY_RCLONE to a newer one.`,
    );
  }
  return { path: program, version: m[1]! };
}

function missing(message: string): StorageError {
  return new StorageError(ErrorCode.DEVICE_GONE, message);
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  const names = process.platform === 'win32' ? [`${name}.exe`, name] : [name];
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    for (const n of names) {
      const candidate = path.join(dir, n);
      try {
        fs.accessSync(candidate, fs.constants.X_OK);
        if (fs.statSync(candidate).isFile()) return candidate;
      } catch {
        // Not here: the next folder of the PATH.
      }
    }
  }
  return undefined;
}

function versionOutput(program: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(program, ['version'], { env, timeout: 10_000, windowsHide: true }, (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    );
  });
}
