import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listRemotes, parseRemotes } from '../../../src/storage/rclone/list-remotes.js';
import { RCLONE_SKIP, rcloneEnv } from '../../helpers/rclone.js';
import { makeScratch, removeScratch } from '../../helpers/scratch.js';

let root: string;
beforeEach(() => {
  root = makeScratch('synctray-remotes-');
});
afterEach(() => removeScratch(root));

describe('the rclone remotes the tray offers', () => {
  it.skipIf(RCLONE_SKIP)('lists the remotes of RCLONE_CONFIG_* variables, with no config file at all', async () => {
    const env = rcloneEnv(root, {
      RCLONE_CONFIG_MY_NAS_TYPE: 'alias',
      RCLONE_CONFIG_MY_NAS_REMOTE: path.join(root, 'nas'),
      RCLONE_CONFIG_ATTIC_TYPE: 'local',
    });
    // rclone names a remote of the variables in lower case, and lists remotes by name.
    expect(await listRemotes(env)).toEqual([
      { name: 'attic', type: 'local' },
      { name: 'my_nas', type: 'alias' },
    ]);
    expect(await listRemotes(rcloneEnv(root))).toEqual([]);
  });

  it('says how to install rclone when there is none to run', async () => {
    const env = { ...rcloneEnv(root), PATH: path.join(root, 'empty'), SYNCTRAY_RCLONE: '' };
    await expect(listRemotes(env)).rejects.toThrow(
      /^rclone is not installed \(not found on the PATH\)\. Install rclone \(Debian, Ubuntu: apt install rclone;/,
    );
  });

  it('reads the names and types rclone prints, a name up to its colon', () => {
    expect(parseRemotes('b2:     local\nmy nas: sftp\r\nodd:\n\n')).toEqual([
      { name: 'b2', type: 'local' },
      { name: 'my nas', type: 'sftp' },
      { name: 'odd', type: '' },
    ]);
  });
});
