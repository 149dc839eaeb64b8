import type { Pair } from '../config/schema.js';
import type { PairsChosen } from '../service/control.js';
import { pausedLonger } from '../service/pair-state.js';
import type { PairStatus } from '../service/service.js';
import { askBeforeFirstSync, YES_HELP, YES_OPTION } from './ask-first-sync.js';
import { command, CONFIG_DIR_OPTION, group, type Runnable } from './command.js';
import { deletionsCommand } from './deletions.js';
import { DURATION_FORMS, parseDuration } from './duration.js';
import { formatUntil } from '../core/format.js';
import { transferLimitsText } from '../core/transfer-limits.js';
import { ExitCode } from './exit-codes.js';
import type { Io } from './io.js';
import { ADD_OPTIONS, changeText, pairChange, preparePair, SET_OPTIONS } from './pair-options.js';
import { findPair, ONE_PAIR, openPairOps, type PairOps } from './pair-ops.js';
import { withPhoneSerial } from './phone-location.js';
import { UsageError } from './usage-error.js';

const CONFIG_DIR_HELP = `      --config-dir DIR        the config to change (default: the OS's usual
                              place, or SYNCTRAY_CONFIG_DIR)`;

const EXCLUDE_HELP = `      --exclude PAT           gitignore-style pattern, repeatable
      --exclude-from FILE     patterns from FILE, one a line (blank lines and
                              lines starting with # or ; ignored), repeatable`;

const LIMITS_HELP = `      --bwlimit RATE          to an rclone remote: transfer at most RATE a
                              second (rclone's units: 512K, 10M)
      --transfers N           to an rclone remote: N transfers at once
                              (default 4; at most 64)
      --checkers N            to an rclone remote: N listings and checks at
                              once (default 4; at most 64)`;

const ADD_HELP = `Usage: synctray pair add <source> <destination> [options]

Adds a folder pair, checked as sync checks its folders and against the other
pairs. A running SyncTray syncs it at once.

  -m, --mode MODE             mirror (default), update or missing
      --name NAME             what to call it (default: the source folder's name)
${EXCLUDE_HELP}
  -c, --checksum              compare the content of same-size files too
      --links HOW             keep (default) or copy: symlinks copied as what
                              they lead to (for drives without symlinks)
      --versions DIR          keep what is deleted or overwritten under DIR
                              (default: DESTINATION/.synctray-versions)
      --no-versions           keep nothing: delete and overwrite for good
      --keep-versions D       remove versions older than D (default 30d; 0
                              forever), ${DURATION_FORMS}
      --rescan-interval D     compare everything every D (default 1h; phones 15m;
                              0 never), ${DURATION_FORMS}
      --notify LEVEL          all (default), errors or none
      --paused                add it paused
${LIMITS_HELP}
${YES_HELP}
${CONFIG_DIR_HELP}

Where its first sync would replace or delete files already in the destination,
it shows which and asks first; without a terminal it adds nothing (exit 2)
unless --yes is given.`;

const SET_HELP = `Usage: synctray pair set <name|id> [options]

Changes a pair in place. A running SyncTray takes the change at once and
compares the pair's folders whole again; else it is used when SyncTray starts.

  -m, --mode MODE             mirror, update or missing
${EXCLUDE_HELP};
                              they are added to the pair's own patterns
      --no-exclude            drop the pair's patterns first (with --exclude:
                              replace them)
      --rescan-interval D     compare everything every D (0 never),
                              ${DURATION_FORMS}
      --notify LEVEL          all, errors or none
  -c, --checksum              compare the content of same-size files too
      --no-checksum           do not
      --versions DIR          keep what is deleted or overwritten under DIR
                              instead of where they are kept now
      --no-versions           keep nothing: delete and overwrite for good
      --keep-versions D       remove versions older than D (default 30d; 0
                              forever), ${DURATION_FORMS}
${LIMITS_HELP}
      --no-bwlimit, --no-transfers, --no-checkers
                              drop that limit
${CONFIG_DIR_HELP}`;

/** What a resync left a pair waiting for its destination with, if anything. */
function stillWaiting(st: PairStatus): string {
  if (st.state !== 'waiting-for-destination') return '';
  if (
    st.destinationProblem === 'not-connected' ||
    st.destinationProblem === 'unreadable' ||
    st.destinationProblem === undefined
  ) {
    return `${st.name} still waits: ${st.reason ?? 'its destination is gone'}\n`;
  }
  return `${st.name}: its destination is marked as its own again; it syncs now.\n`;
}

function addedText(pair: Pair): string {
  return (
    `Added pair "${pair.name}" (${pair.id}): ${pair.source} -> ${pair.destination}, ` +
    `${pair.mode}${pair.paused ? ', paused' : ''}.`
  );
}

function list(pairs: readonly Pair[], json: boolean, io: Io): number {
  if (json) {
    io.stdout.write(`${JSON.stringify(pairs)}\n`);
    return ExitCode.OK;
  }
  if (pairs.length === 0)
    io.stdout.write("No folder pairs yet: add one with 'synctray pair add <source> <destination>'.\n");
  for (const p of pairs) {
    const until = p.pausedUntil ? ` until ${formatUntil(Date.parse(p.pausedUntil), Date.now())}` : '';
    io.stdout.write(
      `${p.name} (${p.id})${p.paused ? ` [paused${until}]` : ''}\n  ${p.source} -> ${p.destination} ` +
        `(${[p.mode, p.checksum ? 'checksum' : '', p.links === 'copy' ? 'links copied' : '', transferLimitsText(p)]
          .filter(Boolean)
          .join(', ')})\n`,
    );
  }
  return ExitCode.OK;
}

/** Which pairs `pause`, `resume` and `resync` act on: one by name or id, or --all; and their names. */
function chosen(
  ops: PairOps,
  positionals: string[],
  all: boolean,
  name: string,
): { chosen: PairsChosen; names: string[] } {
  if (all && positionals.length > 0) throw new UsageError(`pair ${name} takes a pair or --all, not both.`);
  if (all) return { chosen: { all: true }, names: ops.pairs.map((p) => p.name) };
  if (positionals.length !== 1) throw new UsageError(`pair ${name} takes one pair, by name or id, or --all.`);
  const pair = findPair(ops, positionals[0]!);
  return { chosen: { pair: pair.id }, names: [pair.name] };
}

const FOR_HELP = `      --for D                 resume by itself after D, ${DURATION_FORMS};
                              the time is kept, so it holds across restarts`;

/** When a pause given `--for` ends (wall-clock ms); undefined for a pause until resumed. */
function pauseEnd(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(text, '--for');
  if (ms === 0) throw new UsageError('--for takes a duration of at least 1s; to pause until resumed, leave it out.');
  return Date.now() + ms;
}

/** `pair pause`, `pair resume` and `pair resync`: one pair or all of them. */
function eachPair(name: 'pause' | 'resume' | 'resync', summary: string, about: string): Runnable {
  const pause = name === 'pause';
  return command({
    name: `pair ${name}`,
    synopsis: pause ? '<name|id|--all> [--for D]' : '<name|id|--all>',
    summary,
    usage:
      `Usage: synctray pair ${name} <name|id> | --all${pause ? ' [--for D]' : ''} [--config-dir DIR]\n\n` +
      `${about}\n\n      --all                   every pair\n${pause ? `${FOR_HELP}\n` : ''}${CONFIG_DIR_HELP}`,
    options: { ...CONFIG_DIR_OPTION, all: { type: 'boolean' }, ...(pause ? { for: { type: 'string' } } : {}) },
    takes: { min: 0, max: 1, what: 'one pair, by name or id, or --all' },
    async run({ values, positionals }, io) {
      // Checked before anything is asked or written.
      const until = pauseEnd((values as { for?: string }).for);
      const ops = await openPairOps(values['config-dir'], io);
      const { chosen: which, names } = chosen(ops, positionals, values.all === true, name);
      const done = ops.live ? ' (SyncTray is running: done now)' : '';
      if (name === 'resync') {
        const now = await ops.resync(which);
        if (!now) {
          io.stdout.write(
            `SyncTray is not running: ${names.join(', ')} will be compared whole when it starts ('synctray run'), ` +
              'as every pair is.\n',
          );
          return ExitCode.OK;
        }
        io.stdout.write(`Resyncing: ${names.join(', ')}${done}.\n`);
        // A resync cannot bring a drive that is not there: say so, rather than seem to have done it.
        for (const st of now) io.stdout.write(stillWaiting(st));
        return ExitCode.OK;
      }
      if (name !== 'pause') {
        await ops.resume(which);
        io.stdout.write(`Resumed: ${names.join(', ')}${done}.\n`);
        return ExitCode.OK;
      }
      // --all never shortens a pause: those paused for longer already are named apart.
      const longer = 'all' in which ? ops.pairs.filter((p) => pausedLonger(p, until)).map((p) => p.name) : [];
      await ops.pause(which, until);
      const paused = until === undefined ? 'Paused' : `Paused until ${formatUntil(until, Date.now())}`;
      const shown = names.filter((n) => !longer.includes(n));
      const kept =
        longer.length > 0 ? `; ${longer.join(', ')} kept ${longer.length > 1 ? 'their' : 'its'} longer pause` : '';
      io.stdout.write(`${paused}: ${shown.join(', ') || 'none'}${kept}${done}.\n`);
      return ExitCode.OK;
    },
  });
}

/** `synctray pair …`: folder pairs in the config, changed through the running SyncTray when there is one. */
export const pairCommand = group({
  name: 'pair',
  summary: 'the folder pairs SyncTray keeps',
  about:
    'The folder pairs SyncTray keeps. While SyncTray runs, changes go through it and\n' +
    'take effect at once; else they change the config, for its next start.',
  commands: {
    add: command({
      name: 'pair add',
      synopsis: '<source> <destination>',
      summary: 'add a folder pair (checked as sync checks it)',
      usage: ADD_HELP,
      options: { ...ADD_OPTIONS, ...YES_OPTION },
      takes: { min: 2, max: 2, what: 'a source and a destination folder' },
      async run({ values, positionals }, io, signal) {
        // A phone pair is kept with its phone's serial, so it follows that phone.
        const folders = await Promise.all(positionals.map((p) => withPhoneSerial(p)));
        const ops = await openPairOps(values['config-dir'], io);
        const prepared = preparePair(ops.pairs, folders, values);
        const agreed = await askBeforeFirstSync(prepared, values.yes === true, io, signal);
        if (typeof agreed === 'number') return agreed;
        const pair = await ops.add(agreed ? { ...prepared, agreedFirstSync: agreed } : prepared);
        io.stdout.write(`${addedText(pair)}${ops.live ? ' SyncTray is running: it syncs it now.' : ''}\n`);
        return ExitCode.OK;
      },
    }),
    set: command({
      name: 'pair set',
      synopsis: '<name|id> [options]',
      summary: 'change a pair: mode, excludes, rescan interval, notifications, checksum, versions, limits',
      usage: SET_HELP,
      options: SET_OPTIONS,
      takes: ONE_PAIR,
      async run({ values, positionals }, io) {
        // Everything is checked before anything is written.
        const changeOf = pairChange(values);
        const ops = await openPairOps(values['config-dir'], io);
        const pair = findPair(ops, positionals[0]!);
        const change = changeOf(pair);
        const changed = await ops.set(pair.id, change);
        const when = !ops.live
          ? ' SyncTray uses it when it starts.'
          : changed.paused
            ? ''
            : ' SyncTray is running: it compares the pair whole again now.';
        io.stdout.write(`Changed pair "${changed.name}": ${changeText(change)}.${when}\n`);
        return ExitCode.OK;
      },
    }),
    list: command({
      name: 'pair list',
      synopsis: '[--json]',
      summary: 'the pairs',
      usage:
        'Usage: synctray pair list [--json] [--config-dir DIR]\n\nThe pairs, as the config keeps them.\n\n' +
        `      --json                  one JSON array of the pairs\n${CONFIG_DIR_HELP}`,
      options: { ...CONFIG_DIR_OPTION, json: { type: 'boolean' } },
      async run({ values }, io) {
        return list((await openPairOps(values['config-dir'], io)).pairs, values.json === true, io);
      },
    }),
    remove: command({
      name: 'pair remove',
      synopsis: '<name|id>',
      summary: 'forget a pair (its folders are left as they are)',
      usage:
        'Usage: synctray pair remove <name|id> [--config-dir DIR]\n\n' +
        `Forgets a pair. Its folders, and what is in them, are left as they are.\n\n${CONFIG_DIR_HELP}`,
      options: CONFIG_DIR_OPTION,
      takes: ONE_PAIR,
      async run({ values, positionals }, io) {
        const ops = await openPairOps(values['config-dir'], io);
        const removed = await ops.remove(findPair(ops, positionals[0]!).id);
        io.stdout.write(`Removed pair "${removed.name}" (${removed.id}); its folders are left as they are.\n`);
        return ExitCode.OK;
      },
    }),
    pause: eachPair(
      'pause',
      'stop syncing a pair until it is resumed, or for a time',
      'Stops syncing and watching a pair until it is resumed or, with --for, for a\n' +
        'time: it then resumes by itself. Resume ends a timed pause early.',
    ),
    resume: eachPair('resume', 'sync and watch a paused pair again', 'Syncs and watches a paused pair again.'),
    resync: eachPair(
      'resync',
      'compare everything again now',
      "Compares a pair's folders whole again now (a running SyncTray only).",
    ),
    deletions: deletionsCommand,
  },
});
