import path from 'node:path';
import { parseArgs } from 'node:util';
import { RefusedError } from '../core/errors.js';
import { isSyncMode, SYNC_MODES } from '../core/modes.js';
import { excludeMatcher } from '../engine/exclude.js';
import { places } from '../config/places.js';
import { DEFAULT_PHONE_RESCAN_MS, DEFAULT_RESCAN_MS, NOTIFY_LEVELS, type NotifyLevel, type Pair } from '../config/schema.js';
import { ConfigStore } from '../config/store.js';
import { askService } from '../service/control.js';
import type { PairStatus } from '../service/service.js';
import { markNewPair } from '../service/pair-destination.js';
import { app } from '../app.js';
import { checkPaths } from './check-paths.js';
import { isPhonePair } from '../service/phones.js';
import { deletionsCommand } from './deletions.js';
import { withPhoneSerial } from './phone-location.js';
import { checkNew, freeName } from '../config/pairs.js';
import { ExitCode } from './exit-codes.js';
import type { Io } from './io.js';
import { UsageError } from './usage-error.js';
import { parseDuration } from './duration.js';
import type { Runnable } from './command.js';

const PAIR_HELP = `Usage: synctray pair <command> [options]

Commands:
  add <source> <destination>   add a folder pair (checked as sync checks it)
      -m, --mode MODE          mirror (default), update or missing
      --name NAME              what to call it (default: the source folder's name)
      --exclude PAT            gitignore-style pattern, repeatable
      -c, --checksum           compare the content of same-size files too
      --links HOW              keep (default) or copy: symlinks copied as what
                               they lead to (for drives without symlinks)
      --versions DIR           keep what is deleted or overwritten under DIR
      --rescan-interval D      compare everything every D (default 1h; phones 15m;
                               0 never)
      --notify LEVEL           all (default), errors or none
      --paused                 add it paused
  list [--json]                the pairs
  remove <name|id>             forget a pair (its folders are left as they are)
  pause <name|id|--all>        stop syncing a pair until it is resumed
  resume <name|id|--all>
  resync <name|id|--all>       compare everything again now
  deletions <name|id>          what a safety guard holds back (a running SyncTray)
      --apply TOKEN            delete the files shown (the token it printed with them)
      --restore                copy them back into the source from the destination

Options for every command: --config-dir DIR (default: the OS's usual place,
or SYNCTRAY_CONFIG_DIR).`;

/** `synctray pair …`: folder pairs in the config. */
export const pairCommand: Runnable = { run: (argv, io) => pair(argv, io) };

async function pair(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout.write(`${PAIR_HELP}\n`);
    return sub === undefined ? ExitCode.REFUSED : ExitCode.OK;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: {
        'config-dir': { type: 'string' },
        json: { type: 'boolean' },
        mode: { type: 'string', short: 'm' },
        name: { type: 'string' },
        exclude: { type: 'string', multiple: true },
        checksum: { type: 'boolean', short: 'c' },
        links: { type: 'string' },
        versions: { type: 'string' },
        'rescan-interval': { type: 'string' },
        notify: { type: 'string' },
        paused: { type: 'boolean' },
        all: { type: 'boolean' },
        apply: { type: 'string' },
        restore: { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values: v } = parsed;
  let { positionals } = parsed;
  // A phone pair is kept with its phone's serial, so it follows that phone.
  if (sub === 'add') positionals = await Promise.all(positionals.map((p) => withPhoneSerial(p)));
  const where = places(v['config-dir']);
  // While SyncTray runs, it owns the config: changes go through it and take effect at once.
  const ask = (command: string, args?: unknown) => askService(where.config, { command, args });
  const running = await ask('list');
  const { store, problems } = ConfigStore.open(where.config);
  if (!running) for (const p of problems) io.stderr.write(`synctray: ${p.message}${p.keptAt ? ` It is kept as ${p.keptAt}.` : ''}\n`);
  if (running) return viaService(sub, running.result as Pair[], positionals, v, io, ask);

  switch (sub) {
    case 'add': {
      const prepared = preparePair(store.pairs(), positionals, v);
      // Checked again against the pairs as they are when it is written: another add may have come first.
      const pair = await markNewPair(app.destinations(), store, store.add(prepared, (now) => checkNew(now, prepared)));
      io.stdout.write(`${addedText(pair)}\n`);
      return ExitCode.OK;
    }
    case 'list':
      return list(store.pairs(), v.json === true, io);
    case 'remove': {
      const pair = one(store, positionals, 'remove');
      store.remove(pair.id);
      io.stdout.write(`Removed pair "${pair.name}" (${pair.id}); its folders are left as they are.\n`);
      return ExitCode.OK;
    }
    case 'pause':
    case 'resume': {
      const chosen = some(store, positionals, v.all === true, sub);
      for (const pair of chosen) store.update(pair.id, { paused: sub === 'pause' });
      io.stdout.write(`${sub === 'pause' ? 'Paused' : 'Resumed'}: ${chosen.map((p) => p.name).join(', ')}.\n`);
      return ExitCode.OK;
    }
    case 'resync': {
      const chosen = some(store, positionals, v.all === true, sub);
      io.stdout.write(
        `SyncTray is not running: ${chosen.map((p) => p.name).join(', ')} will be compared whole when it starts ('synctray run'), as every pair is.\n`,
      );
      return ExitCode.OK;
    }
    case 'deletions':
      one(store, positionals, sub);
      throw new RefusedError(
        'SyncTray is not running, so no deletions are held back: a guard holds them only in a running SyncTray. ' +
          "Start it ('synctray run' or the tray); a one-off 'synctray sync' shows what it would delete with --dry-run.",
      );
    default:
      throw new UsageError(`Unknown pair command "${sub}".`);
  }
}

export type Values = Record<string, string | boolean | string[] | undefined>;

/** The same commands, carried out by the running service. */
async function viaService(
  sub: string,
  pairs: Pair[],
  positionals: string[],
  v: Values,
  io: Io,
  ask: (command: string, args?: unknown) => Promise<{ result: unknown } | undefined>,
): Promise<number> {
  const answer = async (command: string, args?: unknown) => {
    const r = await ask(command, args);
    if (!r) throw new RefusedError('SyncTray stopped while this was being asked; run the command again.');
    return r.result;
  };
  switch (sub) {
    case 'add': {
      const pair = preparePair(pairs, positionals, v);
      const added = (await answer('add', { add: pair })) as { id: string };
      io.stdout.write(`${addedText({ ...pair, id: added.id })} SyncTray is running: it syncs it now.\n`);
      return ExitCode.OK;
    }
    case 'list':
      return list(pairs, v.json === true, io);
    case 'remove':
    case 'pause':
    case 'resume':
    case 'resync': {
      const all = v.all === true;
      if (all && positionals.length > 0) throw new UsageError(`pair ${sub} takes a pair or --all, not both.`);
      if (!all && positionals.length !== 1) throw new UsageError(`pair ${sub} takes one pair, by name or id${sub === 'remove' ? '' : ', or --all'}.`);
      if (sub === 'remove' && all) throw new UsageError('pair remove takes one pair, by name or id.');
      const result = await answer(sub, { pair: positionals[0], all });
      io.stdout.write(`${sub === 'resync' ? 'Resyncing' : `${sub[0]!.toUpperCase()}${sub.slice(1)}d`}: ${all ? 'all pairs' : positionals[0]} (SyncTray is running: done now).\n`);
      // A resync cannot bring a drive that is not there: say so, rather than seem to have done it.
      if (sub === 'resync') for (const st of result as PairStatus[]) io.stdout.write(stillWaiting(st));
      return ExitCode.OK;
    }
    case 'deletions':
      return deletionsCommand(pairs, positionals, v, io, answer);
    default:
      throw new UsageError(`Unknown pair command "${sub}".`);
  }
}

/** A new pair from the command line, checked as sync checks its folders and against the other pairs. */
export function preparePair(pairs: readonly Pair[], positionals: string[], v: Values): Omit<Pair, 'id'> {
  if (positionals.length !== 2) throw new UsageError(`pair add takes a source and a destination folder (got ${positionals.length}).`);
  const mode = (v.mode as string | undefined) ?? 'mirror';
  if (!isSyncMode(mode)) throw new UsageError(`--mode must be one of ${SYNC_MODES.join(', ')} (got "${mode}").`);
  const notify = (v.notify as string | undefined) ?? 'all';
  if (!(NOTIFY_LEVELS as readonly string[]).includes(notify)) throw new UsageError(`--notify must be one of ${NOTIFY_LEVELS.join(', ')} (got "${notify}").`);
  const exclude = (v.exclude as string[] | undefined) ?? [];
  excludeMatcher(exclude);
  const links = (v.links as string | undefined) ?? 'keep';
  if (links !== 'keep' && links !== 'copy') throw new UsageError(`--links must be keep or copy (got "${links}").`);
  const paths = checkPaths(positionals[0]!, positionals[1]!, v.versions as string | undefined);
  const name = (v.name as string | undefined) ?? freeName(pairs, path.basename(paths.source) || 'pair');
  if (name.trim() === '') throw new UsageError('--name is empty: give the pair a name, or leave --name out.');
  const pair: Omit<Pair, 'id'> = {
    name,
    source: paths.source,
    destination: paths.destination,
    mode,
    checksum: v.checksum === true,
    exclude,
    ...(links === 'copy' ? { links } : {}),
    ...(paths.versions ? { versions: paths.versions } : {}),
    rescanIntervalMs:
      v['rescan-interval'] !== undefined ? parseDuration(v['rescan-interval'] as string) : isPhonePair(paths) ? DEFAULT_PHONE_RESCAN_MS : DEFAULT_RESCAN_MS,
    paused: v.paused === true,
    notify: notify as NotifyLevel,
  };
  checkNew(pairs, pair);
  return pair;
}

/** What a resync left a pair waiting for its destination with, if anything. */
function stillWaiting(st: PairStatus): string {
  if (st.state !== 'waiting-for-destination') return '';
  if (st.destinationProblem === 'not-connected' || st.destinationProblem === 'unreadable' || st.destinationProblem === undefined) {
    return `${st.name} still waits: ${st.reason ?? 'its destination is gone'}\n`;
  }
  return `${st.name}: its destination is marked as its own again; it syncs now.\n`;
}

function addedText(pair: Pair): string {
  return `Added pair "${pair.name}" (${pair.id}): ${pair.source} -> ${pair.destination}, ${pair.mode}${pair.paused ? ', paused' : ''}.`;
}

function one(store: ConfigStore, positionals: string[], command: string): Pair {
  if (positionals.length !== 1) throw new UsageError(`pair ${command} takes one pair, by name or id.`);
  const pair = store.find(positionals[0]!);
  if (!pair) throw new RefusedError(`No pair is called "${positionals[0]}" (see 'synctray pair list').`);
  return pair;
}

function some(store: ConfigStore, positionals: string[], all: boolean, command: string): Pair[] {
  if (all && positionals.length === 0) return store.pairs();
  if (all) throw new UsageError(`pair ${command} takes a pair or --all, not both.`);
  return [one(store, positionals, command)];
}

function list(pairs: readonly Pair[], json: boolean, io: Io): number {
  if (json) {
    io.stdout.write(`${JSON.stringify(pairs)}\n`);
    return ExitCode.OK;
  }
  if (pairs.length === 0) io.stdout.write("No folder pairs yet: add one with 'synctray pair add <source> <destination>'.\n");
  for (const p of pairs) {
    io.stdout.write(`${p.name} (${p.id})${p.paused ? ' [paused]' : ''}\n  ${p.source} -> ${p.destination} (${p.mode}${p.checksum ? ', checksum' : ''}${p.links === 'copy' ? ', links copied' : ''})\n`);
  }
  return ExitCode.OK;
}
