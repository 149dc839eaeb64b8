import { places } from '../config/places.js';
import { readConfig } from '../config/read-config.js';
import { askService } from '../service/control.js';
import type { PairStatus } from '../service/service.js';
import { ExitCode } from './exit-codes.js';
import {
  formatAgo,
  formatBytes,
  formatCount,
  formatCountOf,
  formatDuration,
  formatUntil,
  formatVersionsSpace,
} from '../core/format.js';
import { needsUser, statusBefore } from '../service/pair-state.js';
import { transferLimitsText } from '../core/transfer-limits.js';
import { versionsRootOf } from '../service/pair-versions.js';
import { app } from '../app.js';
import type { Pair } from '../config/schema.js';
import { isRemoteLocation } from '../storage/location.js';
import { versionsSpace } from '../storage/version-space.js';
import { command, CONFIG_DIR_OPTION } from './command.js';
import type { Io } from './io.js';

const STATUS_HELP = `Usage: synctray status [--config-dir DIR] [--json]

Whether SyncTray is running, and what each pair is doing. With none running,
the pairs are read from the config and shown as stopped (or paused).

      --json   one JSON object: {"running": true|false, "pairs": [...]}, each
               pair with its state, lastSyncAt and pausedUntil (ISO times:
               when a timed pause ends), and versions:
               the files and bytes its versions take, the oldest run's
               time and keepMs (how long they are kept; 0: for ever),
               and bwlimit, transfers and checkers where the pair sets them

Exit status, as systemctl status has it: 0 running and every pair fine,
1 a pair needs you (an error, deletions held back, a source or backup folder
missing), 3 not running.`;

/** `synctray status`: each pair's state from the running service, or from the config when none runs. */
export const statusCommand = command({
  name: 'status',
  usage: STATUS_HELP,
  options: { ...CONFIG_DIR_OPTION, json: { type: 'boolean' } },
  run: ({ values }, io) => status(values, io),
});

async function status(values: { 'config-dir'?: string; json?: boolean }, io: Io): Promise<number> {
  const where = places(values['config-dir']);
  const answer = await askService(where.config, 'status', {});
  const running = answer !== undefined;
  // Not running: the config as it is, changed in nothing (a damaged one is reported, not set aside).
  const offline = running ? undefined : readConfig(where.config);
  if (offline?.problem)
    io.stderr.write(`synctray: ${offline.problem} 'synctray run' keeps it aside and starts with what is whole.\n`);
  const pairs: PairStatus[] = running ? answer.result : offline!.pairs.map((p) => offlineStatus(p, Date.now()));
  if (!running) await measureVersions(offline!.pairs, pairs);
  const code = !running ? ExitCode.NOT_RUNNING : pairs.some(needsUser) ? ExitCode.SOME_FAILED : ExitCode.OK;
  if (values.json) {
    io.stdout.write(`${JSON.stringify({ running, pairs })}\n`);
    return code;
  }
  // On a terminal, how long ago; for a script reading the text, the time itself.
  const when = io.stdout.isTTY ? (iso: string) => formatAgo(Date.now() - Date.parse(iso)) : (iso: string) => iso;
  const until = io.stdout.isTTY ? (iso: string) => formatUntil(Date.parse(iso), Date.now()) : (iso: string) => iso;
  io.stdout.write(running ? 'SyncTray is running.\n' : "SyncTray is not running ('synctray run' starts it).\n");
  for (const p of pairs) {
    const parts: string[] = [p.pausedUntil ? `${p.state} until ${until(p.pausedUntil)}` : p.state];
    if (p.progress) {
      const pr = p.progress;
      parts.push(
        `${formatCount(pr.files)} of ${formatCount(pr.totalFiles)} files, ${formatBytes(pr.bytes)} of ` +
          `${formatBytes(pr.totalBytes)}`,
      );
      if (pr.bytesPerSec !== undefined) parts.push(`${formatBytes(pr.bytesPerSec)}/s`);
      if (pr.etaMs !== undefined) parts.push(`${formatDuration(pr.etaMs)} left`);
    }
    if (p.lastSyncAt) parts.push(`last synced ${when(p.lastSyncAt)}`);
    if (p.files > 0) parts.push(`${formatCountOf(p.files, 'file')} (${formatBytes(p.bytes)}) copied since start`);
    io.stdout.write(`${p.name}: ${parts.join('; ')}\n`);
    if (p.reason) io.stdout.write(`  ${p.reason}\n`);
    if (p.lastError) io.stdout.write(`  last error: ${p.lastError}\n`);
    if (p.held) io.stdout.write(`  deletions held: ${p.held}\n`);
    if (p.versions) io.stdout.write(`  versions: ${formatVersionsSpace(p.versions)}\n`);
    const limits = transferLimitsText(p);
    if (limits !== '') io.stdout.write(`  limits: ${limits}\n`);
    if (p.unstorable) {
      io.stdout.write(`  ${p.unstorable.note}, so they are skipped:\n`);
      for (const item of p.unstorable.items) io.stdout.write(`    ${item}\n`);
      if (p.unstorable.more) io.stdout.write(`    … and more (${p.unstorable.count} items in all)\n`);
    }
  }
  return code;
}

/**
 * A pair as the config has it, with no service running: stopped, or paused. A timed pause whose
 * time has passed is over (the service resumes the pair when it starts).
 */
function offlineStatus(p: Pair, nowMs: number): PairStatus {
  // A timed pause that ran out while nothing ran is over: the service ends it when it starts.
  const over = p.paused && p.pausedUntil !== undefined && Date.parse(p.pausedUntil) <= nowMs;
  return statusBefore(over ? { ...p, paused: false } : p, 'stopped');
}

/**
 * With no service running, what each pair's versions take is measured here: on this computer only
 * (a phone may not be connected), and only where its versions folder is there (an unplugged drive
 * is not taken to hold none).
 */
async function measureVersions(config: readonly Pair[], pairs: PairStatus[]): Promise<void> {
  for (const [i, pair] of config.entries()) {
    if (pair.versions === false || isRemoteLocation(pair.destination)) continue;
    const storage = app.openStorage(versionsRootOf(pair));
    try {
      if ((await storage.stat('')).type !== 'dir') continue;
      pairs[i]!.versions = { ...(await versionsSpace(storage, '')), keepMs: pair.keepVersionsMs };
    } catch {
      // Not there, or not readable: nothing is said of it.
    } finally {
      await storage.close();
    }
  }
}
