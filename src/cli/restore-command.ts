import path from 'node:path';
import { formatCountOf } from '../core/format.js';
import { formatLocalTime, parseTime, TIME_FORMS } from './at-time.js';
import { command, CONFIG_DIR_OPTION } from './command.js';
import { ExitCode } from './exit-codes.js';
import { findPair, openPairOps } from './pair-ops.js';
import { pathInPair } from './versions-command.js';

const RESTORE_HELP = `Usage: synctray restore <name|id> <PATH> [--at TIME] [--to DIR] [--config-dir DIR]

Brings back the newest version of a file, or of every file under a folder, from
what the pair's syncs set aside (see 'synctray versions'): into the pair's
source, from where it syncs to the destination as usual, or into DIR. Each file
keeps its bytes and modification time, and the versions stay where they are.
Nothing is overwritten: when any of the files is there already, nothing is
restored and the command says which (exit status 2).

      --at TIME               the newest version set aside at or before TIME:
                              ${TIME_FORMS.replace(/(.{1,48})(?: |$)/g, '$1\n                              ').trim()}
      --to DIR                restore into DIR (made when missing) instead
      --config-dir DIR        the config whose pair it is`;

/** `synctray restore PAIR PATH`: versions brought back, through the running service or offline. */
export const restoreCommand = command({
  name: 'restore',
  usage: RESTORE_HELP,
  options: { ...CONFIG_DIR_OPTION, at: { type: 'string' }, to: { type: 'string' } },
  takes: { min: 2, max: 2, what: 'a pair, by name or id, and the path of a file or folder in it' },
  async run({ values: v, positionals }, io) {
    // Read before anything is opened: a time that is not one is said at once.
    const atMs = v.at === undefined ? undefined : parseTime(v.at, Date.now());
    const ops = await openPairOps(v['config-dir'], io);
    const pair = findPair(ops, positionals[0]!);
    const result = await ops.restoreVersions(pair.id, {
      path: pathInPair(pair, positionals[1]!),
      ...(atMs !== undefined ? { atMs } : {}),
      ...(v.to !== undefined ? { to: path.resolve(v.to) } : {}),
    });
    const syncs = v.to === undefined ? (ops.live ? ' (SyncTray is running: they sync now)' : '') : '';
    io.stdout.write(`Restored ${formatCountOf(result.restored.length, 'file')} into ${result.into}${syncs}:\n`);
    for (const r of result.restored)
      io.stdout.write(`  ${r.path}  (${r.reason}, set aside ${formatLocalTime(r.setAside)})\n`);
    return ExitCode.OK;
  },
});
