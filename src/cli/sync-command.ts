import { RefusedError } from '../core/errors.js';
import { isSyncMode, SYNC_MODES, type SyncMode } from '../core/modes.js';
import type { SyncEvent } from '../core/events.js';
import { describeSkip } from '../engine/skips.js';
import type { Capabilities, Storage } from '../storage/storage.js';
import { sync, type SyncResult } from '../engine/sync.js';
import { app } from '../app.js';
import { checkPaths, hiddenInDestination, type CheckedPaths } from './check-paths.js';
import { refuseUnplugged } from './pair-destination-guard.js';
import { pruneVersions, ROOM_KEEPS_MS } from '../storage/prune-versions.js';
import { isRemoteLocation } from '../storage/location.js';
import { parseDuration } from './duration.js';
import { ExitCode } from './exit-codes.js';
import { askYesNo, canAsk, previewBlock } from './ask-first-sync.js';
import { losesNothing, previewOf, type Preview } from '../engine/preview.js';
import { formatBytes, formatCount, formatCountOf, formatDuration, formatSpan } from '../core/format.js';
import { openLogFile, type LogFile } from './log-file.js';
import { ProgressBar } from './progress.js';
import { command, CONFIG_DIR_OPTION, type Parsed } from './command.js';
import type { Io } from './io.js';
import { excludesFrom } from './exclude-from.js';
import { UsageError } from './usage-error.js';
import { LIMIT_OPTIONS, refuseLimitsWithoutRemote, transferLimits } from './transfer-limit-options.js';
import type { TransferLimits } from '../core/transfer-limits.js';

const SYNC_HELP = `Usage: synctray sync <source> <destination> [options]

Makes <destination> match <source> once, then exits.

Options:
  -m, --mode MODE      mirror (default): exact replica, extras deleted
                       update: copy new and changed, never delete
                       missing: copy only what the destination lacks
  -c, --checksum       also compare the content of same-size files
  -n, --dry-run        show what would be done, change nothing
  -i, --interactive    show what the run would copy, replace and delete, and
                       ask before doing it (needs a terminal)
      --exclude PAT    gitignore-style pattern, repeatable; excluded paths
                       are neither copied nor deleted
      --exclude-from F patterns from file F, one a line (blank lines and
                       lines starting with # or ; ignored), repeatable
      --links HOW      keep (default): symlinks copied as links, skipped
                       where the destination cannot hold them (exFAT, FAT)
                       copy: copy what they lead to, inside the source
      --versions DIR   move whatever is deleted or overwritten under
                       DIR/<time of run>/deleted|replaced/ instead of
                       destroying it
      --keep-versions D  with --versions: then remove the runs in DIR
                       older than D (e.g. 30d; default: keep them all)
      --max-delete N   allow a mirror to delete up to N files
      --bwlimit RATE   with an rclone remote: transfer at most RATE a second
                       (rclone's units: 512K, 10M)
      --transfers N    with an rclone remote: N transfers at once (default
                       4; at most 64)
      --checkers N     with an rclone remote: N listings and checks at once
                       (default 4; at most 64)
      --force          skip the mass-deletion and empty-source guards
      --json           print one JSON summary as the last line of stdout
      --log-file F     append a line per operation and a summary to F
      --config-dir DIR where SyncTray's pairs are: a pair's backup folder
                       whose drive is not connected is never filled
  -q, --quiet          no progress bar, no summary
  -h, --help           show this help

Exit status: 0 in sync, 1 some items failed, 2 refused or usage error,
130 interrupted.`;

export interface SyncArgs {
  source: string;
  destination: string;
  mode: SyncMode;
  checksum: boolean;
  dryRun: boolean;
  /** Preview, then ask before the run (sync only; watch does not take it). */
  interactive?: boolean;
  exclude: string[];
  links: 'keep' | 'copy';
  versions?: string;
  /** With versions: runs older than this are removed from DIR after the run. */
  keepVersionsMs?: number;
  maxDelete?: number;
  /** With an rclone remote: its rate (`10M`) and how many transfers and checks at once. */
  limits: TransferLimits;
  force: boolean;
  json: boolean;
  logFile?: string;
  quiet: boolean;
  /** Where the pairs are, so that a pair's unplugged drive is not filled (pair-destination-guard.ts). */
  configDir?: string;
}

/** The options sync takes (watch takes them too, with its own on top). */
export const SYNC_OPTIONS = {
  mode: { type: 'string', short: 'm' },
  checksum: { type: 'boolean', short: 'c' },
  'dry-run': { type: 'boolean', short: 'n' },
  exclude: { type: 'string', multiple: true },
  'exclude-from': { type: 'string', multiple: true },
  links: { type: 'string' },
  versions: { type: 'string' },
  'keep-versions': { type: 'string' },
  'max-delete': { type: 'string' },
  ...LIMIT_OPTIONS,
  force: { type: 'boolean' },
  json: { type: 'boolean' },
  'log-file': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  ...CONFIG_DIR_OPTION,
} as const;

/** What sync and watch take besides options. */
export const SOURCE_AND_DESTINATION = { min: 2, max: 2, what: 'a source and a destination folder' };

/** Sync's options checked and given their defaults. */
export function syncArgs({ values: v, positionals }: Parsed<typeof SYNC_OPTIONS>): SyncArgs {
  const mode = v.mode ?? 'mirror';
  if (!isSyncMode(mode)) throw new UsageError(`--mode must be one of ${SYNC_MODES.join(', ')} (got "${mode}").`);
  const links = v.links ?? 'keep';
  if (links !== 'keep' && links !== 'copy') throw new UsageError(`--links must be keep or copy (got "${links}").`);
  let maxDelete: number | undefined;
  if (v['max-delete'] !== undefined) {
    maxDelete = Number(v['max-delete']);
    if (!/^\d+$/.test(v['max-delete']) || !Number.isSafeInteger(maxDelete)) {
      throw new UsageError(`--max-delete takes a whole number of files (got "${v['max-delete']}").`);
    }
  }
  const keep = v['keep-versions'];
  if (keep !== undefined && v.versions === undefined)
    throw new UsageError('--keep-versions says how long the runs in --versions DIR are kept: give --versions too.');
  const limits = transferLimits(v);
  refuseLimitsWithoutRemote(v, positionals.slice(0, 2), 'neither folder is an rclone remote (rclone:REMOTE:PATH)');
  for (const p of [positionals[0]!, positionals[1]!, v.versions, v['log-file']]) {
    if (p === '') throw new UsageError('A path argument is empty: give a folder or file path.');
  }
  return {
    source: positionals[0]!,
    destination: positionals[1]!,
    mode,
    checksum: v.checksum ?? false,
    dryRun: v['dry-run'] ?? false,
    exclude: [...(v.exclude ?? []), ...excludesFrom(v['exclude-from'])],
    links,
    versions: v.versions,
    ...(keep !== undefined ? { keepVersionsMs: parseDuration(keep, '--keep-versions') } : {}),
    maxDelete,
    limits,
    force: v.force ?? false,
    json: v.json ?? false,
    logFile: v['log-file'],
    quiet: v.quiet ?? false,
    configDir: v['config-dir'],
  };
}

/** `synctray sync`: one run, its result turned into output and an exit code. */
export const syncCommand = command({
  name: 'sync',
  usage: SYNC_HELP,
  options: { ...SYNC_OPTIONS, interactive: { type: 'boolean', short: 'i' } },
  takes: SOURCE_AND_DESTINATION,
  run: (args, io, signal) => syncOnce({ ...syncArgs(args), interactive: args.values.interactive }, io, signal),
});

async function syncOnce(args: SyncArgs, io: Io, signal: AbortSignal): Promise<number> {
  const paths = checkPaths(args.source, args.destination, args.versions);
  await refuseUnplugged(paths.destination, args.configDir, app.destinations());
  let agreed: Preview | undefined;
  if (args.interactive && !args.dryRun) {
    const asked = await askBeforeRun(args, paths, io, signal);
    if (typeof asked === 'number') return asked;
    agreed = asked;
  }
  const log = openLogFile(args.logFile);
  log?.line(
    `start ${args.mode}${args.dryRun ? ' (dry run)' : ''} ${JSON.stringify(paths.source)} -> ` +
      `${JSON.stringify(paths.destination)}`,
  );
  const dst = app.openStorage(paths.destination, args.limits);
  const result = await runSync(args, paths, dst, log, io, signal, agreed);
  if (result === undefined) return ExitCode.INTERRUPTED;
  if (!args.dryRun && !signal.aborted) await pruneKept(args, paths, log, io);
  logSummary(log, result, signal.aborted);
  report(args, result, dst.capabilities, io, signal.aborted);
  return exitCode(result, io, signal.aborted);
}

/** --keep-versions: the runs in the versions folder older than that are removed, each one said. */
export async function pruneKept(args: SyncArgs, paths: CheckedPaths, log: LogFile | undefined, io: Io): Promise<void> {
  if (args.keepVersionsMs === undefined || paths.versions === undefined) return;
  const storage = app.openStorage(paths.versions);
  try {
    await pruneVersions(storage, '', args.keepVersionsMs, Date.now(), (stamp) => {
      log?.line(`versions removed: ${stamp} (older than ${formatSpan(args.keepVersionsMs!)})`);
      if (!args.quiet && !args.json) io.stderr.write(`Removed the versions of ${stamp}: older than --keep-versions.\n`);
    });
  } finally {
    await storage.close();
  }
}

/**
 * With --keep-versions (not 0: for ever), a full destination takes the oldest run in the versions
 * folder older than a day, when that folder is on the destination's drive, each removal said; the
 * run then goes on.
 */
export function makeRoomFor(
  args: SyncArgs,
  paths: CheckedPaths,
  log: LogFile | undefined,
  io: Io,
): (() => Promise<boolean>) | undefined {
  const dir = paths.versions;
  const keep = args.keepVersionsMs;
  if (!keep || dir === undefined || isRemoteLocation(paths.destination)) return undefined;
  return async () => {
    if (!(await app.sameDrive(dir, paths.destination).catch(() => false))) return false;
    const storage = app.openStorage(dir);
    try {
      const removed = await pruneVersions(
        storage,
        '',
        ROOM_KEEPS_MS,
        Date.now(),
        (stamp) => {
          log?.line(`versions removed: ${stamp} (to make room: the destination is full)`);
          if (!args.quiet && !args.json)
            io.stderr.write(`Removed the versions of ${stamp} to make room: the destination is full.\n`);
        },
        1,
      );
      return removed.length > 0;
    } finally {
      await storage.close();
    }
  };
}

/**
 * The run itself, with its progress bar; undefined when it was interrupted before it had a result.
 * Both storages are closed whatever happens.
 */
async function runSync(
  args: SyncArgs,
  paths: CheckedPaths,
  dst: Storage,
  log: LogFile | undefined,
  io: Io,
  signal: AbortSignal,
  agreed?: Preview,
): Promise<SyncResult | undefined> {
  const src = app.openStorage(paths.source, args.limits);
  const versions = paths.versions ? app.openVersions(paths.versions, new Date()) : undefined;
  const showProgress = !args.quiet && !args.json && !args.dryRun && io.stderr.isTTY === true;
  const bar = showProgress ? new ProgressBar(io.stderr) : undefined;
  try {
    return await sync(src, dst, {
      mode: args.mode,
      checksum: args.checksum,
      dryRun: args.dryRun,
      exclude: args.exclude,
      links: args.links,
      hideInDestination: hiddenInDestination(paths),
      versions,
      maxDelete: args.maxDelete,
      force: args.force,
      ...(agreed ? { agreed } : {}),
      makeRoom: makeRoomFor(args, paths, log, io),
      concurrency: copyConcurrency(),
      signal,
      onEvent: (e: SyncEvent) => {
        bar?.onEvent(e);
        log?.onEvent(e);
      },
    });
  } catch (err) {
    if (signal.aborted) {
      log?.line('interrupted');
      log?.close();
      if (!args.quiet) io.stderr.write('Interrupted.\n');
      return undefined;
    }
    log?.line(`${err instanceof RefusedError ? 'refused' : 'error'}: ${(err as Error).message}`);
    log?.close();
    throw err;
  } finally {
    bar?.clear();
    await Promise.all([src.close(), dst.close()]);
  }
}

/**
 * `sync -i`: a dry run with the same options, its preview, and the question. What the user agreed
 * to, for the real run to hold to (it plans again, and refuses a plan that takes away more); else
 * the exit code, with nothing written.
 */
async function askBeforeRun(
  args: SyncArgs,
  paths: CheckedPaths,
  io: Io,
  signal: AbortSignal,
): Promise<Preview | number> {
  const dry = await runSync(
    { ...args, dryRun: true },
    paths,
    app.openStorage(paths.destination, args.limits),
    undefined,
    io,
    signal,
  );
  if (dry === undefined) return ExitCode.INTERRUPTED;
  const preview = previewOf(dry.plan);
  // Nothing to do, or a run a guard refuses: nothing to ask; the run says which.
  if ((preview.copied === 0 && losesNothing(preview)) || dry.refused !== undefined) return preview;
  io.stderr.write(
    previewBlock(`This sync of ${paths.source} -> ${paths.destination} (${args.mode})`, preview, paths.versions),
  );
  if (!canAsk(io)) {
    io.stderr.write(
      'synctray: sync -i asks on a terminal, and there is none: nothing was synced. ' +
        'Leave out -i to sync without asking.\n',
    );
    return ExitCode.REFUSED;
  }
  if (await askYesNo('Sync now? [y/N] ', io, signal)) return preview;
  io.stderr.write('Not synced: nothing was changed.\n');
  return signal.aborted ? ExitCode.INTERRUPTED : ExitCode.DECLINED;
}

/**
 * Items copied at once: SYNCTRAY_COPY_CONCURRENCY, to measure another setting again (`npm run
 * bench:disk -- --concurrency-sweep`), else the engine's own.
 */
function copyConcurrency(): number | undefined {
  const n = Number(process.env.SYNCTRAY_COPY_CONCURRENCY);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

function logSummary(log: LogFile | undefined, result: SyncResult, interrupted: boolean): void {
  if (!log) return;
  const operations = result.copied + result.moved + result.updated + result.deleted + result.metadata;
  if (result.fatal) log.line(`stopped: ${result.fatal.message}`);
  if (result.deletesHeld > 0) log.line(`held back ${result.deletesHeld} deletions: items failed to copy`);
  log.line(
    `summary: ${operations} operations (copied ${result.copied}, updated ${result.updated}, ` +
      `deleted ${result.deleted}, metadata ${result.metadata}), ${result.failed} failed, ` +
      `${result.unchanged} unchanged, ${result.bytes} bytes` +
      (interrupted ? ', interrupted' : ''),
  );
  log.close();
}

/** What the run did, for people (stderr: failures, skips, held deletions; stdout: the summary) or as JSON. */
function report(args: SyncArgs, result: SyncResult, dst: Capabilities, io: Io, interrupted: boolean): void {
  if (args.dryRun && !args.json && !args.quiet) printPlan(result, io);
  for (const e of result.errors) io.stderr.write(`failed: ${e.message}\n`);
  for (const s of result.skipped) {
    if (s.reason === 'type-conflict' || s.reason === 'holds-excluded') continue; // listed with the failures
    if (s.reason !== 'destination-newer' || !args.quiet) io.stderr.write(`skipped: ${describeSkip(s, dst)}\n`);
  }
  if (result.deletesHeld > 0) {
    io.stderr.write(
      `Not deleting ${formatCountOf(result.deletesHeld, 'item')} from the destination: some items failed to copy, ` +
        'and one of them may be what a deleted item was renamed to. Fix the failures above, then run again.\n',
    );
  }
  if (result.fatal)
    io.stderr.write(
      `Stopped: ${result.fatal.message}. ${FATAL_HINT[result.fatal.code] ?? 'Fix the destination, then run again.'}\n`,
    );
  if (args.json) io.stdout.write(`${JSON.stringify(summaryJson(result, dst))}\n`);
  else if (!args.quiet) io.stdout.write(`${summaryText(result, interrupted)}\n`);
}

function exitCode(result: SyncResult, io: Io, interrupted: boolean): number {
  if (interrupted) return ExitCode.INTERRUPTED;
  if (result.refused !== undefined) {
    io.stderr.write(`A real run would be refused: ${result.refused}\n`);
    return ExitCode.REFUSED;
  }
  return result.failed > 0 || result.fatal ? ExitCode.SOME_FAILED : ExitCode.OK;
}

const FATAL_HINT: Partial<Record<string, string>> = {
  NO_SPACE:
    'Free some space (on the destination, or where --versions points), then run again: finished files are not ' +
    'copied again.',
  READ_ONLY: 'The destination is read-only: remount it writable or choose another destination.',
  DEVICE_GONE:
    'Check that the drive, phone or remote is still there (a phone unlocked, a server running), then run again: ' +
    'finished files are not copied again.',
};

export function summaryJson(r: SyncResult, dst: Capabilities) {
  return {
    mode: r.mode,
    dryRun: r.dryRun,
    copied: r.copied,
    moved: r.moved,
    updated: r.updated,
    deleted: r.deleted,
    metadata: r.metadata,
    unchanged: r.unchanged,
    skipped: r.skipped.length,
    skippedItems: r.skipped.map((s) => ({
      path: s.path,
      reason: s.reason,
      ...(s.with ? { with: s.with } : {}),
      message: describeSkip(s, dst),
    })),
    failed: r.failed,
    vanished: r.vanished,
    deletesHeld: r.deletesHeld,
    bytes: r.bytes,
    durationMs: Math.round(r.durationMs),
    errors: r.errors.map((e) => ({ path: e.path, code: e.code, message: e.message })),
    ...(r.fatal ? { fatal: { code: r.fatal.code, message: r.fatal.message } } : {}),
    ...(r.refused !== undefined ? { refused: r.refused } : {}),
  };
}

export function summaryText(r: SyncResult, interrupted: boolean): string {
  const verb = r.dryRun ? 'Would have' : interrupted ? 'Interrupted after' : r.fatal ? 'Stopped after' : 'Done:';
  const parts = [
    `${formatCount(r.copied)} copied`,
    ...(r.moved > 0 ? [`${formatCount(r.moved)} moved`] : []),
    `${formatCount(r.updated)} updated`,
    `${formatCount(r.deleted)} deleted`,
    `${formatCount(r.unchanged)} unchanged`,
  ];
  if (r.metadata > 0) parts.push(`${formatCount(r.metadata)} metadata fixed`);
  if (r.skipped.length > 0) parts.push(`${formatCount(r.skipped.length)} skipped`);
  parts.push(`${formatCount(r.failed)} failed`);
  return `${verb} ${parts.join(', ')}; ${formatBytes(r.bytes)} in ${formatDuration(r.durationMs)}`;
}

function printPlan(r: SyncResult, io: Io): void {
  const say = (what: string, path: string) => io.stdout.write(`${what}: ${path}\n`);
  for (const m of r.plan.moves) say('move', `${m.from} -> ${m.to}`);
  for (const a of [...r.plan.mkdirs, ...r.plan.transfers, ...r.plan.deletes]) {
    if (a.op === 'mkdir' || a.op === 'copy') {
      // What a type change replaces is deleted with it: list it, as the real run will.
      for (const doomed of a.replace) if (doomed.path !== a.path) say('delete', doomed.path);
      say(
        a.op === 'mkdir'
          ? a.replace.length > 0
            ? 'replace with folder'
            : 'create folder'
          : a.replace.length > 0
            ? 'update'
            : 'copy',
        a.path,
      );
    } else if (a.op === 'meta') say('set metadata', a.path);
    else if (a.op === 'delete') say(a.temp ? 'remove temp' : 'delete', a.path);
  }
}
