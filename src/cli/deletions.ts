import { formatCountOf } from '../core/format.js';
import { heldSummary } from '../service/held.js';
import { command, CONFIG_DIR_OPTION } from './command.js';
import { ExitCode } from './exit-codes.js';
import { findPair, ONE_PAIR, openPairOps } from './pair-ops.js';
import { UsageError } from './usage-error.js';

const DELETIONS_HELP = `Usage: synctray pair deletions <name|id> [--apply TOKEN | --restore] [--config-dir DIR]

What a safety guard holds back from deleting in a pair's destination (a running
SyncTray only), and your answer to it. Without an option, lists them with a
token naming exactly that set of files.

      --apply TOKEN           delete the files shown with TOKEN, and no others
      --restore               copy them back into the source from the destination`;

/**
 * `synctray pair deletions NAME [--apply TOKEN | --restore]`: what a guard holds back in the
 * running service, and the user's answer to it. The token printed with the list names exactly
 * those files, so `--apply` deletes nothing the user has not seen.
 */
export const deletionsCommand = command({
  name: 'pair deletions',
  synopsis: '<name|id>',
  summary: 'what a safety guard holds back (a running SyncTray)',
  usage: DELETIONS_HELP,
  options: { ...CONFIG_DIR_OPTION, apply: { type: 'string' }, restore: { type: 'boolean' } },
  takes: ONE_PAIR,
  async run({ values: v, positionals }, io) {
    if (v.apply !== undefined && v.restore === true)
      throw new UsageError('pair deletions takes --apply or --restore, not both.');
    const ops = await openPairOps(v['config-dir'], io);
    const pair = findPair(ops, positionals[0]!);
    if (v.apply !== undefined) {
      await ops.applyDeletions(pair.id, v.apply);
      io.stdout.write(`Deleting the files shown with ${v.apply} from ${pair.destination} now (SyncTray is running).\n`);
      return ExitCode.OK;
    }
    const held = await ops.held(pair.id);
    io.stdout.write(`${heldSummary(pair.destination, held)}\n`);
    if (v.restore === true) {
      const r = await ops.restore(pair.id);
      io.stdout.write(`Restored ${formatCountOf(r.restored, 'file')} into ${pair.source} from ${pair.destination}.\n`);
      for (const e of r.errors) io.stderr.write(`synctray: not restored: ${e}\n`);
      return r.failed > 0 ? ExitCode.SOME_FAILED : ExitCode.OK;
    }
    io.stdout.write(
      `\nTo delete them:                          synctray pair deletions ${pair.name} --apply ${held.token}\n` +
        `To copy them back into the source:       synctray pair deletions ${pair.name} --restore\n` +
        'Or leave them held: nothing is deleted until you answer.\n',
    );
    return ExitCode.OK;
  },
});
