/**
 * The question before a sync takes files away from a destination (issue 17): a preview made by a
 * dry run, then y/N in a terminal. Without one nothing can be asked: the command refuses, with the
 * preview, unless --yes was given.
 */
import { createInterface } from 'node:readline';
import type { Pair } from '../config/schema.js';
import { losesNothing, previewText, type Preview } from '../engine/preview.js';
import { previewPair } from '../service/pair-preview.js';
import { app } from '../app.js';
import { ExitCode } from './exit-codes.js';
import type { Io } from './io.js';
import { keptVersionsAt } from '../service/pair-versions.js';

/** `-y`, `--yes`: go on without asking. */
export const YES_OPTION = { yes: { type: 'boolean', short: 'y' } } as const;

export const YES_HELP = `  -y, --yes                   add it without asking, even where its first sync
                              replaces or deletes files in the destination`;

/** Whether a question can be asked and answered: standard input and error are a terminal. */
export function canAsk(io: Io): boolean {
  return io.stdin?.isTTY === true && io.stderr.isTTY === true;
}

/**
 * Asks `question` on standard error and reads a line: true for y or yes (any case), false for
 * anything else, an empty line (the default is no), end of input or an interrupt.
 */
export function askYesNo(question: string, io: Io, signal: AbortSignal): Promise<boolean> {
  const input = io.stdin;
  if (!input || signal.aborted) return Promise.resolve(false);
  // Not in terminal mode: the terminal's own line editing serves, and Ctrl-C stays a signal.
  const rl = createInterface({ input, output: io.stderr, terminal: false });
  io.stderr.write(question);
  return new Promise((resolve) => {
    let answered = false;
    const done = (yes: boolean) => {
      if (answered) return;
      answered = true;
      signal.removeEventListener('abort', onAbort);
      rl.close();
      // A closed readline leaves stdin flowing; paused, it no longer keeps the process alive.
      input.pause();
      resolve(yes);
    };
    const onAbort = () => done(false);
    signal.addEventListener('abort', onAbort);
    rl.once('line', (line) => done(/^\s*y(es)?\s*$/i.test(line)));
    rl.once('close', () => {
      if (!answered) io.stderr.write('\n');
      done(false);
    });
  });
}

/** The preview, headed by what it is of. */
export function previewBlock(what: string, preview: Preview, versions: string | undefined): string {
  return `${what} would:\n${previewText(preview, versions)}\n`;
}

/**
 * Before `pair add` writes the pair: when its first sync would replace or delete files in the
 * destination, shows what and asks. To go on: what the user agreed to (the pair keeps it, so a
 * first sync that would take more is held), or undefined when nothing was asked. Else the exit
 * code, with nothing written.
 */
export async function askBeforeFirstSync(
  pair: Omit<Pair, 'id'>,
  yes: boolean,
  io: Io,
  signal: AbortSignal,
): Promise<number | Pair['agreedFirstSync']> {
  if (yes) return undefined;
  let preview: Preview;
  try {
    ({ preview } = await previewPair(pair, app));
  } catch (err) {
    // A phone not connected, a drive not mounted: the pair waits for it, as it would have; its
    // first sync is still held by the guards against mass deletions.
    io.stderr.write(`synctray: could not look at what the first sync would do: ${(err as Error).message}\n`);
    return undefined;
  }
  if (losesNothing(preview)) return undefined;
  const block = previewBlock(
    `The first sync of ${pair.source} -> ${pair.destination} (${pair.mode})`,
    preview,
    keptVersionsAt(pair),
  );
  io.stderr.write(block);
  if (!canAsk(io)) {
    io.stderr.write(
      'synctray: the pair was not added: add --yes to add it all the same, or choose another destination.\n',
    );
    return ExitCode.REFUSED;
  }
  if (await askYesNo('Add the pair and sync it? [y/N] ', io, signal))
    return { replaced: preview.replaced, deleted: preview.deleted };
  io.stderr.write('Not added: nothing was changed.\n');
  return signal.aborted ? ExitCode.INTERRUPTED : ExitCode.DECLINED;
}
