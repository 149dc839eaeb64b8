import { RefusedError } from '../core/errors.js';
import { formatCountOf } from '../core/format.js';
import { heldSummary } from '../service/held.js';
import type { HeldDeletions } from '../service/held.js';
import type { Pair } from '../config/schema.js';
import { ExitCode } from './exit-codes.js';
import type { Io } from './io.js';
import { UsageError } from './usage-error.js';
import type { Values } from './pair-command.js';

type Answer = (command: string, args?: unknown) => Promise<unknown>;

/**
 * `synctray pair deletions NAME [--apply TOKEN | --restore]`: what a guard holds back in the
 * running service, and the user's answer to it. The token printed with the list names exactly
 * those files, so `--apply` deletes nothing the user has not seen.
 */
export async function deletionsCommand(pairs: readonly Pair[], positionals: string[], v: Values, io: Io, answer: Answer): Promise<number> {
  if (positionals.length !== 1) throw new UsageError('pair deletions takes one pair, by name or id.');
  if (v.apply !== undefined && v.restore === true) throw new UsageError('pair deletions takes --apply or --restore, not both.');
  const name = positionals[0]!;
  const pair = pairs.find((p) => p.name === name || p.id === name);
  if (!pair) throw new RefusedError(`No pair is called "${name}" (see 'synctray pair list').`);
  if (typeof v.apply === 'string') {
    await answer('apply-deletions', { pair: pair.id, token: v.apply });
    io.stdout.write(`Deleting the files shown with ${v.apply} from ${pair.destination} now (SyncTray is running).\n`);
    return ExitCode.OK;
  }
  const held = (await answer('held', { pair: pair.id })) as HeldDeletions;
  io.stdout.write(`${heldSummary(pair.destination, held)}\n`);
  if (v.restore === true) {
    const r = (await answer('restore', { pair: pair.id })) as { restored: number; failed: number; errors: string[] };
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
}
