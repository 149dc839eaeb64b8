import { folderWatcher } from '../watch/folder-watcher.js';
import { watchIgnore } from '../watch/ignore.js';
import { PairWatcher, REMOTE_SETTLE_MS, type WatchReport, type WatchTotals } from '../watch/watch-pair.js';
import { isRcloneLocation } from '../storage/rclone/endpoint.js';
import { app } from '../app.js';
import { RefusedError } from '../core/errors.js';
import { checkPaths, hiddenInDestination, refuseRemoteSource } from './check-paths.js';
import { refuseUnplugged } from './pair-destination-guard.js';
import { stayOnVolume } from './watch-destination.js';
import { isRemoteLocation } from '../storage/location.js';
import { isPhonePair } from '../service/phones.js';
import { ExitCode } from './exit-codes.js';
import { formatCount, formatCountOf } from '../core/format.js';
import { openLogFile, type LogFile } from './log-file.js';
import {
  SOURCE_AND_DESTINATION,
  SYNC_OPTIONS,
  summaryJson,
  summaryText,
  makeRoomFor,
  pruneKept,
  syncArgs,
  type SyncArgs,
} from './sync-command.js';
import { command } from './command.js';
import { DURATION_FORMS, parseDuration } from './duration.js';
import type { Io } from './io.js';
import { DEFAULT_RESCAN_MS } from '../config/schema.js';
import { UsageError } from './usage-error.js';
import { UNSTORABLE } from '../engine/plan.js';
import { describeSkip } from '../engine/skips.js';
import type { Storage } from '../storage/storage.js';

const WATCH_HELP = `Usage: synctray watch <source> <destination> [options]

Makes <destination> match <source>, then keeps it matching as files change,
until interrupted (Ctrl+C). A source that disappears (a drive unplugged, a
folder renamed) deletes nothing: the pair waits for it to come back. A step
that would delete more than half of the destination's files (or more than
--max-delete) copies what it has to and holds the deletions back.

Options: those of 'synctray sync' except --dry-run (--keep-versions: after
every step), and
      --rescan-interval D  also compare everything every D (default 1h;
                           0 never), ${DURATION_FORMS}
      --json               one JSON object per line on stdout: ready,
                           batch, state, held, error, and stopped with
                           the totals

Exit status: 0 when stopped by a signal, 2 refused or usage error.`;

/** `synctray watch`: a first sync, then steps as the source changes, until a signal. */
export const watchCommand = command({
  name: 'watch',
  usage: WATCH_HELP,
  options: { ...SYNC_OPTIONS, 'rescan-interval': { type: 'string' } },
  takes: SOURCE_AND_DESTINATION,
  run: (parsed, io, signal) => {
    const rescan = parsed.values['rescan-interval'];
    return watch(syncArgs(parsed), rescan === undefined ? DEFAULT_RESCAN_MS : parseDuration(rescan), io, signal);
  },
});

async function watch(args: SyncArgs, rescanMs: number, io: Io, signal: AbortSignal): Promise<number> {
  if (args.dryRun)
    throw new UsageError("watch has no --dry-run: 'synctray sync --dry-run' shows what the first sync would do.");
  if (isPhonePair(args)) {
    throw new RefusedError(
      "A phone cannot be watched: 'synctray sync' copies once, and a pair ('synctray pair add', then 'synctray run' " +
        'or the tray) syncs whenever the phone connects.',
    );
  }
  refuseRemoteSource(args.source);
  const paths = checkPaths(args.source, args.destination, args.versions);
  await refuseUnplugged(paths.destination, args.configDir, app.destinations());
  const log = openLogFile(args.logFile);
  // Refuses an empty pattern before anything starts, as sync does.
  const ignore = watchIgnore(args.exclude, hiddenInDestination(paths));

  const src = app.openStorage(paths.source);
  const opened = app.openStorage(paths.destination, args.limits);
  // A drive unmounted while watching leaves its mount point folder on another disk: not written to.
  const stay = isRemoteLocation(paths.destination)
    ? undefined
    : await stayOnVolume(paths.destination, opened, app.destinations().volumes);
  const dst = stay?.dst ?? opened;
  const versionsDir = paths.versions;
  const report = reporter(io, args.json, args.quiet, log, dst);
  // After every step: the runs in the versions folder older than --keep-versions are removed.
  const say = (r: WatchReport) => {
    report(r);
    if (r.type === 'ready' || r.type === 'batch') void pruneKept(args, paths, log, io).catch(() => undefined);
  };
  const pair = new PairWatcher(
    src,
    dst,
    {
      sync: {
        mode: args.mode,
        checksum: args.checksum,
        exclude: args.exclude,
        links: args.links,
        hideInDestination: hiddenInDestination(paths),
        maxDelete: args.maxDelete,
        force: args.force,
        onEvent: log?.onEvent,
        makeRoom: makeRoomFor(args, paths, log, io),
      },
      // Each step keeps its versions under its own start time.
      ...(versionsDir ? { versionsFor: () => app.openVersions(versionsDir, new Date()) } : {}),
      ignore,
      rescanIntervalMs: rescanMs,
      ...(isRcloneLocation(paths.destination) ? { settleMs: REMOTE_SETTLE_MS } : {}),
    },
    {
      watchFolder: folderWatcher(paths.source, ignore),
      now: () => performance.now(),
      setTimeout,
      clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
      ...(stay ? { destination: stay.gate } : {}),
    },
    say,
  );
  log?.line(`watch ${args.mode} ${JSON.stringify(paths.source)} -> ${JSON.stringify(paths.destination)}`);
  const stopped = new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await Promise.race([pair.start(), stopped]);
  await stopped;
  const totals = await pair.stop();
  await Promise.all([src.close(), opened.close()]);
  log?.line(`stopped: ${totalsText(totals)}`);
  log?.close();
  if (args.json) io.stdout.write(`${JSON.stringify({ event: 'stopped', ...totals })}\n`);
  else if (!args.quiet) io.stdout.write(`Stopped. ${totalsText(totals)}\n`);
  return ExitCode.OK;
}

function totalsText(t: WatchTotals): string {
  return (
    `${formatCountOf(t.steps, 'step')}: ${formatCount(t.copied)} copied, ${formatCount(t.moved)} moved, ` +
    `${formatCount(t.updated)} updated, ${formatCount(t.deleted)} deleted, ` +
    `${formatCount(t.metadata)} metadata fixed, ${formatCount(t.failed)} failed`
  );
}

/** How reports reach the user: JSON lines on stdout, or short lines (changes on stdout, trouble on stderr). */
function reporter(
  io: Io,
  json: boolean,
  quiet: boolean,
  log: LogFile | undefined,
  dst: Storage,
): (r: WatchReport) => void {
  return (r) => {
    log?.flush();
    if (json) {
      const line =
        r.type === 'ready' || r.type === 'batch'
          ? {
              event: r.type,
              ...(r.type === 'batch' ? { full: r.full } : {}),
              ...summaryJson(r.result, dst.capabilities),
            }
          : { event: r.type, ...r };
      io.stdout.write(`${JSON.stringify(line, (k, v) => (k === 'type' ? undefined : v))}\n`);
      return;
    }
    if (r.type === 'error') io.stderr.write(`synctray: ${r.message}\n`);
    else if (r.type === 'held') io.stderr.write(`Held back deletions: ${r.message}\n`);
    else if (r.type === 'state' && (r.state === 'waiting-for-source' || r.state === 'error' || r.reason)) {
      io.stderr.write(`${r.state}${r.reason ? `: ${r.reason}` : ''}\n`);
    } else if (!quiet && r.type === 'ready') {
      // What the destination cannot hold is said once, at the start: every later step skips it again.
      for (const s of r.result.skipped)
        if (UNSTORABLE.has(s.reason)) io.stderr.write(`skipped: ${describeSkip(s, dst.capabilities)}\n`);
      io.stdout.write(`${summaryText(r.result, false)}. Watching for changes (Ctrl+C to stop).\n`);
    } else if (!quiet && r.type === 'batch') {
      const res = r.result;
      for (const e of res.errors) io.stderr.write(`failed: ${e.message}\n`);
      if (res.copied + res.updated + res.deleted + res.metadata > 0) {
        io.stdout.write(`${summaryText(res, false)}${r.full ? ' (full rescan)' : ''}\n`);
      }
    }
  };
}
