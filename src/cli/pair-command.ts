import path from 'node:path';
import { parseArgs } from 'node:util';
import { RefusedError } from '../core/errors.js';
import { isSyncMode, SYNC_MODES } from '../core/modes.js';
import { excludeMatcher } from '../engine/exclude.js';
import { places } from '../config/places.js';
import { DEFAULT_RESCAN_MS, NOTIFY_LEVELS, type NotifyLevel, type Pair } from '../config/schema.js';
import { ConfigStore } from '../config/store.js';
import { checkLocalPaths, isInside } from './check-paths.js';
import { ExitCode } from './exit-codes.js';
import type { Io } from './sync-command.js';
import { UsageError } from './usage-error.js';
import { parseDuration } from './watch-command.js';

const PAIR_HELP = `Usage: synctray pair <command> [options]

Commands:
  add <source> <destination>   add a folder pair (checked as sync checks it)
      -m, --mode MODE          mirror (default), update or missing
      --name NAME              what to call it (default: the source folder's name)
      --exclude PAT            gitignore-style pattern, repeatable
      -c, --checksum           compare the content of same-size files too
      --versions DIR           keep what is deleted or overwritten under DIR
      --rescan-interval D      compare everything every D (default 1h, 0 never)
      --notify LEVEL           all (default), errors or none
      --paused                 add it paused
  list [--json]                the pairs
  remove <name|id>             forget a pair (its folders are left as they are)
  pause <name|id|--all>        stop syncing a pair until it is resumed
  resume <name|id|--all>
  resync <name|id|--all>       compare everything again now

Options for every command: --config-dir DIR (default: the OS's usual place,
or SYNCTRAY_CONFIG_DIR).`;

/** `synctray pair …`: folder pairs in the config. */
export async function pairCommand(argv: string[], io: Io): Promise<number> {
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
        versions: { type: 'string' },
        'rescan-interval': { type: 'string' },
        notify: { type: 'string' },
        paused: { type: 'boolean' },
        all: { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values: v, positionals } = parsed;
  const { store, problems } = ConfigStore.open(places(v['config-dir']).config);
  for (const p of problems) io.stderr.write(`synctray: ${p.message}${p.keptAt ? ` It is kept as ${p.keptAt}.` : ''}\n`);

  switch (sub) {
    case 'add':
      return add(store, positionals, v, io);
    case 'list':
      return list(store, v.json === true, io);
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
    default:
      throw new UsageError(`Unknown pair command "${sub}".`);
  }
}

type Values = Record<string, string | boolean | string[] | undefined>;

function add(store: ConfigStore, positionals: string[], v: Values, io: Io): number {
  if (positionals.length !== 2) throw new UsageError(`pair add takes a source and a destination folder (got ${positionals.length}).`);
  const mode = (v.mode as string | undefined) ?? 'mirror';
  if (!isSyncMode(mode)) throw new UsageError(`--mode must be one of ${SYNC_MODES.join(', ')} (got "${mode}").`);
  const notify = (v.notify as string | undefined) ?? 'all';
  if (!(NOTIFY_LEVELS as readonly string[]).includes(notify)) throw new UsageError(`--notify must be one of ${NOTIFY_LEVELS.join(', ')} (got "${notify}").`);
  const exclude = (v.exclude as string[] | undefined) ?? [];
  excludeMatcher(exclude);
  const paths = checkLocalPaths(positionals[0]!, positionals[1]!, v.versions as string | undefined);
  refuseOverlaps(store.pairs(), paths.source, paths.destination);
  const name = (v.name as string | undefined) ?? freeName(store.pairs(), path.basename(paths.source) || 'pair');
  if (name.trim() === '') throw new UsageError('--name is empty: give the pair a name, or leave --name out.');
  if (store.find(name)) throw new RefusedError(`A pair is already called "${name}": choose another --name.`);
  const pair = store.add({
    name,
    source: paths.source,
    destination: paths.destination,
    mode,
    checksum: v.checksum === true,
    exclude,
    ...(paths.versions ? { versions: paths.versions } : {}),
    rescanIntervalMs: v['rescan-interval'] === undefined ? DEFAULT_RESCAN_MS : parseDuration(v['rescan-interval'] as string),
    paused: v.paused === true,
    notify: notify as NotifyLevel,
  });
  io.stdout.write(`Added pair "${pair.name}" (${pair.id}): ${pair.source} -> ${pair.destination}, ${pair.mode}${pair.paused ? ', paused' : ''}.\n`);
  return ExitCode.OK;
}

/**
 * Pairs that would feed each other (a destination inside another pair's source, or the reverse:
 * a loop of copies) or write into one place (one destination inside another, where a mirror would
 * delete the other's files) are refused, as is the same pair twice.
 */
function refuseOverlaps(pairs: readonly Pair[], source: string, destination: string): void {
  const same = (a: string, b: string) => a === b || isInside(a, b) || isInside(b, a);
  for (const p of pairs) {
    if (p.source === source && p.destination === destination) throw new RefusedError(`This pair exists already: "${p.name}" (${p.id}).`);
    if (same(destination, p.source)) {
      throw new RefusedError(
        `Destination \`${destination}\` overlaps the source of pair "${p.name}" (\`${p.source}\`): the two pairs would copy each other's copies. Choose another destination.`,
      );
    }
    if (same(source, p.destination)) {
      throw new RefusedError(
        `Source \`${source}\` overlaps the destination of pair "${p.name}" (\`${p.destination}\`): the two pairs would copy each other's copies. Choose another source.`,
      );
    }
    if (same(destination, p.destination)) {
      throw new RefusedError(
        `Destination \`${destination}\` overlaps the destination of pair "${p.name}" (\`${p.destination}\`): each would treat the other's files as extra. Choose another destination.`,
      );
    }
  }
}

function freeName(pairs: readonly Pair[], base: string): string {
  let name = base;
  for (let n = 2; pairs.some((p) => p.name === name); n++) name = `${base} ${n}`;
  return name;
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

function list(store: ConfigStore, json: boolean, io: Io): number {
  const pairs = store.pairs();
  if (json) {
    io.stdout.write(`${JSON.stringify(pairs)}\n`);
    return ExitCode.OK;
  }
  if (pairs.length === 0) io.stdout.write("No folder pairs yet: add one with 'synctray pair add <source> <destination>'.\n");
  for (const p of pairs) {
    io.stdout.write(`${p.name} (${p.id})${p.paused ? ' [paused]' : ''}\n  ${p.source} -> ${p.destination} (${p.mode}${p.checksum ? ', checksum' : ''})\n`);
  }
  return ExitCode.OK;
}
