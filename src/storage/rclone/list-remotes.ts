import { execFile } from 'node:child_process';
import { ErrorCode, StorageError } from '../../core/errors.js';
import { findRclone } from './find-rclone.js';

/** A remote of the user's rclone config, as `rclone listremotes --long` gives it. */
export interface RcloneRemote {
  /** What goes between `rclone:` and the path (`nas` for `rclone:nas:backup`). */
  name: string;
  /** Its backend (`sftp`, `s3`, `drive`, `alias`, …). */
  type: string;
}

/**
 * The user's remotes, from the config file and from RCLONE_CONFIG_<REMOTE>_* variables alike: rclone
 * is run with `env`, the user's own. Fails DEVICE_GONE saying how to install rclone when there is
 * none (see findRclone), or with what rclone said when it could not read its config.
 */
export async function listRemotes(env: NodeJS.ProcessEnv = process.env): Promise<RcloneRemote[]> {
  const rclone = await findRclone(env);
  const printed = await new Promise<string>((resolve, reject) => {
    execFile(
      rclone.path,
      ['listremotes', '--long'],
      { env, timeout: 30_000, windowsHide: true },
      (err, stdout, stderr) => {
        const said = stderr.trim().split('\n').at(-1);
        if (err) reject(new StorageError(ErrorCode.IO, `rclone could not list your remotes: ${said || err.message}`));
        else resolve(stdout);
      },
    );
  });
  return parseRemotes(printed);
}

/** `nas:     sftp` a line, as `rclone listremotes --long` prints it; a remote's name holds no colon. */
export function parseRemotes(printed: string): RcloneRemote[] {
  return printed.split(/\r?\n/).flatMap((line) => {
    const colon = line.indexOf(':');
    if (colon <= 0) return [];
    return [{ name: line.slice(0, colon), type: line.slice(colon + 1).trim() }];
  });
}
