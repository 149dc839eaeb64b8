/**
 * Power cuts, simulated on a real kernel file system (issue 15): SyncTray writes each file under a
 * temp name, makes it durable, and only then renames it into place, and deletes nothing before
 * what replaces it is durable. A kill -9 alone cannot tell whether that order holds (the kernel's
 * page cache still has every byte written); a power cut can, and this test makes one.
 *
 * How. The destination is an ext4 file system on a loop device, mounted with `commit=60` (the
 * journal commits only when something forces it) and `noauto_da_alloc` (ext4 would otherwise write
 * a file's data early when it is renamed over another, hiding a missing flush exactly where this
 * test looks for one). A `synctray sync --mode mirror` runs on it and is killed -9: once a drawn
 * share of what it changes has changed, or (under strace) on entering its K-th flush call (fsync,
 * fdatasync, syncfs), the moment where a wrong order does its harm; or it runs to its end. Then one
 * unrelated file on the mount is fsynced: that commits the journal, so the device holds every rename
 * and deletion made so far, while, with ext4's delayed allocation, the data of any file nobody
 * flushed is still only in memory. The loop's backing file, copied now, is what the disk would hold
 * after a power cut. e2fsck replays its journal, and the copy, mounted read-only on a second loop
 * device, must show under every final name the file's old version or its new one, whole, never an
 * empty or partial file, and no content lost (a file renamed in the source is whole at its old name
 * or its new one). Then the next real run on the live drive must repair everything (rsync -anic
 * prints nothing, no temp file is left).
 *
 * The test checks that it can see a missing flush at all. After each kill it renames a canary file
 * into place without a flush: the image must hold the canary's name and none of its data, else this
 * kernel or mount writes data early and the test fails saying so rather than passing. And a witness
 * file on a small file system of its own, written before the run and never flushed, must not have
 * been written out by the time the image is taken: a `sync` run anywhere on the machine (a benchmark,
 * say) writes out everything, SyncTray's unflushed data too, and makes the round inconclusive (its
 * problems still count, but another round is drawn in its place).
 *
 * Three scenarios: a first copy of 2,000 files (0 to 300 KiB, some over 256 KiB) into an empty
 * folder; the same files replacing older versions of other sizes; and a mirror of a source where
 * files were deleted, renamed, moved to other folders, changed and added. SYNCTRAY_POWER_CUT_SEED
 * repeats the drawn moments and sizes, SYNCTRAY_POWER_CUT_ROUNDS sets the kills of each kind, and
 * SYNCTRAY_TEST_CLI runs another build (one broken on purpose, say: this test must fail on it).
 */
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, CLI_PATH, describeRun, runCli, startCli, summaryOf, type CliResult } from '../helpers/cli.js';
import {
  attachImage,
  disposeAllDrives,
  driveSkipReason,
  makeDrive,
  removeWithDrives,
  type Drive,
} from '../helpers/drives.js';
import { rsyncDiff, rsyncSkipReason } from '../helpers/oracle.js';
import { hasTool, skipReasonOutsideCi } from '../helpers/requirements.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { seededRandom } from '../helpers/seeded.js';
import { findTempFiles, TEMP_NAME } from '../helpers/tree-inspect.js';
import { seededBytes } from '../helpers/tree-spec.js';

const skipReason =
  driveSkipReason('ext4') ??
  rsyncSkipReason() ??
  skipReasonOutsideCi(
    ['e2fsck', 'cp', 'sync'].every(hasTool),
    'e2fsck, cp or sync not found (install e2fsprogs and coreutils): skipping the power-cut test',
  );

const CLI = process.env.SYNCTRAY_TEST_CLI ? path.resolve(process.env.SYNCTRAY_TEST_CLI) : CLI_PATH;
const SEED = Number(process.env.SYNCTRAY_POWER_CUT_SEED ?? Date.now() % 1_000_000);
/** Kills of each kind per scenario (see plannedKills), after one run to its end. */
const ROUNDS = Number(process.env.SYNCTRAY_POWER_CUT_ROUNDS ?? 3);
/** Up to this many flush calls in a whole run, a round kills on entering each of them. */
const EVERY_FLUSH_UP_TO = 6;
/** Without strace (a user's machine; CI has it), no round kills on entering a flush call. */
const STRACE = hasTool('strace');
if (!STRACE)
  skipReasonOutsideCi(
    false,
    'strace not found (install strace): the power-cut test kills at drawn moments only, not on entering flush calls',
  );
/** The calls that make data durable; a kill on entering one leaves what came before it unflushed. */
const FLUSH_CALLS = 'fsync,fdatasync,syncfs';
const FILES = 2_000;
const KiB = 1024;
/** The whole journal commits only when forced; no early writes of data renamed over another file. */
const MOUNT_OPTIONS = ['data=ordered', 'delalloc', 'noauto_da_alloc', 'commit=60', 'noinit_itable'];
/** A fast commit would carry only the fsynced file's own changes, not the renames of the others. */
const MKFS_OPTIONS = ['-O', '^fast_commit'];
const NEW_MTIME = 1_700_000_000;
const OLD_MTIME = 1_600_000_000;
const CHANGED_MTIME = 1_750_000_000;
/** How many of the paths a run changes are watched to tell how far it has got. */
const SAMPLE = 64;
const SHOW = 15;
/** Rounds a scenario may find inconclusive (see `round`) before it gives up: each is drawn again. */
const MAX_INCONCLUSIVE = 8;

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

interface Version {
  size: number;
  sha256: string;
  what: string;
}

const versionOf = (bytes: Uint8Array, what: string): Version => ({
  size: bytes.length,
  sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
  what,
});

/** A file's bytes written at `abs` with its mtime (whole seconds, so that copies keep it exactly). */
function put(abs: string, bytes: Uint8Array, mtimeSec: number): void {
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  fs.writeFileSync(abs, bytes);
  fs.utimesSync(abs, mtimeSec, mtimeSec);
}

/**
 * What a destination may hold once the power is back: for each path the versions allowed there,
 * whether it must be there (its old version was on the disk before the run), and content that must
 * be somewhere (a file renamed or moved in the source: whole at its old path or its new one).
 */
interface Expectations {
  allowed: Map<string, Version[]>;
  mustExist: Set<string>;
  keptSomewhere: { paths: [string, string]; version: Version }[];
}

interface Scenario {
  name: string;
  src: string;
  /** The destination before each run: undefined for none, else a folder copied there. */
  start: string | undefined;
  expect: Expectations;
  /** Destination paths the run changes (creates, replaces or removes), some watched to tell its progress. */
  changes: string[];
}

/** The three scenarios' trees, made once in `root`. */
function buildScenarios(root: string, random: () => number): Scenario[] {
  const a = path.join(root, 'a'); // the first copy's source, and the replacement's
  const aOld = path.join(root, 'a-old'); // the replacement's starting destination
  const c = path.join(root, 'c'); // the deletion scenario's source, starting from a destination holding a
  const size = (i: number) => {
    if (i % 50 === 0) return 0;
    const r = random();
    if (r < 0.1) return 256 * KiB + 1 + Math.floor(random() * 44 * KiB); // larger than 256 KiB, up to 300
    if (r < 0.35) return 16 * KiB + Math.floor(random() * 240 * KiB);
    return 1 + Math.floor(random() * 16 * KiB);
  };
  const folder = (i: number) => `d${i % 8}/e${i % 5}`;
  const relOf = (i: number) => `${folder(i)}/file-${i}.bin`;

  const first: Expectations = { allowed: new Map(), mustExist: new Set(), keptSomewhere: [] };
  const replace: Expectations = { allowed: new Map(), mustExist: new Set(), keptSomewhere: [] };
  const mirror: Expectations = { allowed: new Map(), mustExist: new Set(), keptSomewhere: [] };
  const allow = (e: Expectations, rel: string, v: Version) => e.allowed.set(rel, [...(e.allowed.get(rel) ?? []), v]);
  const mirrorChanges: string[] = [];

  for (let i = 0; i < FILES; i++) {
    const rel = relOf(i);
    const bytes = seededBytes(size(i), SEED * 7919 + i);
    const v = versionOf(bytes, 'new');
    put(path.join(a, rel), bytes, NEW_MTIME + i);
    allow(first, rel, v);

    // Replacement: an older version, mostly of another size, some of the same size.
    const oldSize = i % 7 === 0 ? bytes.length : Math.floor(random() * 300 * KiB);
    const old = seededBytes(oldSize, SEED * 7919 + i + 1_000_000);
    put(path.join(aOld, rel), old, OLD_MTIME + i);
    allow(replace, rel, versionOf(old, 'old'));
    allow(replace, rel, v);
    replace.mustExist.add(rel);

    // Mirror with deletions, from a destination holding a.
    const was = versionOf(bytes, 'old');
    switch (i % 10) {
      case 1: // deleted in the source
        allow(mirror, rel, was);
        mirrorChanges.push(rel);
        break;
      case 2: // renamed in its folder: copied again, the old name deleted
      case 3: {
        // moved to another folder with its name and mtime: moved in the destination too
        const to = i % 10 === 2 ? `${folder(i)}/renamed-${i}.bin` : `moved/${folder(i + 1)}/file-${i}.bin`;
        fs.mkdirSync(path.dirname(path.join(c, to)), { recursive: true });
        fs.linkSync(path.join(a, rel), path.join(c, to));
        allow(mirror, rel, was);
        allow(mirror, to, versionOf(bytes, 'new'));
        mirror.keptSomewhere.push({ paths: [rel, to], version: v });
        mirrorChanges.push(rel, to);
        break;
      }
      case 4: {
        // changed in the source
        const changed = seededBytes(Math.floor(random() * 300 * KiB), SEED * 7919 + i + 2_000_000);
        put(path.join(c, rel), changed, CHANGED_MTIME + i);
        allow(mirror, rel, was);
        allow(mirror, rel, versionOf(changed, 'new'));
        mirror.mustExist.add(rel);
        mirrorChanges.push(rel);
        break;
      }
      default: // unchanged
        fs.mkdirSync(path.dirname(path.join(c, rel)), { recursive: true });
        fs.linkSync(path.join(a, rel), path.join(c, rel));
        allow(mirror, rel, was);
        mirror.mustExist.add(rel);
    }
  }
  for (let k = 0; k < FILES / 10; k++) {
    const rel = `added/${folder(k)}/added-${k}.bin`;
    const bytes = seededBytes(size(k + 1), SEED * 7919 + k + 3_000_000);
    put(path.join(c, rel), bytes, CHANGED_MTIME + k);
    allow(mirror, rel, versionOf(bytes, 'new'));
    mirrorChanges.push(rel);
  }
  const all = [...first.allowed.keys()];
  return [
    { name: 'a first copy', src: a, start: undefined, expect: first, changes: all },
    { name: 'a replacement of every file', src: a, start: aOld, expect: replace, changes: all },
    { name: 'a mirror with deletions, renames and moves', src: c, start: a, expect: mirror, changes: mirrorChanges },
  ];
}

// ---------------------------------------------------------------------------------------------
// The drive, and what its device holds

function sh(cmd: string, args: string[], okStatus: number[] = [0]): { status: number; output: string } {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
    killSignal: 'SIGKILL',
  });
  if (r.error) throw new Error(`\`${[cmd, ...args].join(' ')}\` could not run: ${r.error.message}`);
  const output = `${r.stdout}${r.stderr}`.trim();
  if (r.status === null || !okStatus.includes(r.status))
    throw new Error(`\`${[cmd, ...args].join(' ')}\` failed (${r.status ?? r.signal}):\n${output}`);
  return { status: r.status, output };
}

/** Everything on the file system written out and committed (syncfs): the state a round starts from. */
const syncFs = (anyPath: string) => sh('sync', ['-f', anyPath]);

/**
 * Commits the journal without writing out other files' data: an fsync of one small file of our own
 * commits the running transaction, which holds every rename and deletion made until now.
 */
function commitJournal(mountPoint: string): void {
  const fd = fs.openSync(path.join(mountPoint, 'commit-marker'), 'a');
  try {
    fs.writeSync(fd, '.');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The loop device's counts of writes done and requests in flight (/sys/block/…/stat). */
function deviceWrites(device: string): string {
  const f = fs
    .readFileSync(`/sys/class/block/${path.basename(device)}/stat`, 'utf8')
    .trim()
    .split(/\s+/);
  return `${f[4]} writes, ${f[8]} in flight`;
}

/**
 * Copies the drive's image as it is now, while it is mounted: what the device holds. The copy only
 * counts when the device wrote nothing while it was taken (else a copy could mix moments).
 */
function powerCutImage(drive: Drive, to: string): void {
  for (let attempt = 1; ; attempt++) {
    const before = deviceWrites(drive.device);
    fs.rmSync(to, { force: true });
    sh('cp', ['--sparse=always', drive.image, to]);
    const after = deviceWrites(drive.device);
    if (before === after && before.endsWith(' 0 in flight')) return;
    if (attempt === 3)
      throw new Error(
        `${drive.device} kept writing while its image was copied (${before}, then ${after}): no image of one moment`,
      );
  }
}

// ---------------------------------------------------------------------------------------------
// Judging the image

type ProblemKind = 'content lost' | 'gone' | 'empty' | 'torn' | 'unknown';
interface Problem {
  kind: ProblemKind;
  text: string;
}

/**
 * What is wrong with the destination `dst` as the power-cut image holds it; also how many final
 * and temp files it holds.
 */
function judge(dst: string, e: Expectations): { problems: Problem[]; finals: number; temps: number } {
  const problems: Problem[] = [];
  const problem = (kind: ProblemKind, text: string) => problems.push({ kind, text });
  const present = new Map<string, string>(); // rel -> sha256, for the final files whole
  let finals = 0;
  let temps = 0;
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dst, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${entry.name}` : entry.name;
      const abs = path.join(dst, r);
      if (entry.isDirectory()) {
        walk(r);
        continue;
      }
      if (TEMP_NAME.test(entry.name)) {
        temps++; // a leftover the next run removes
        continue;
      }
      if (r === '.synctray-pair') continue; // SyncTray's own marker of a pair's destination
      const versions = e.allowed.get(r);
      if (!entry.isFile() || !versions) {
        problem('unknown', `${r}: a ${entry.isFile() ? 'file' : 'non-file'} nobody put there`);
        continue;
      }
      finals++;
      const size = fs.statSync(abs).size;
      const bySize = versions.filter((v) => v.size === size);
      const sha = bySize.length > 0 ? crypto.createHash('sha256').update(fs.readFileSync(abs)).digest('hex') : '';
      const match = bySize.find((v) => v.sha256 === sha);
      const allowed = versions.map((v) => `${v.what} (${v.size} bytes)`).join(' or ');
      if (match) present.set(r, sha);
      else if (size === 0)
        problem('empty', `${r}: empty under its final name, its data never reached the disk; should be ${allowed}`);
      else
        problem('torn', `${r}: ${size} bytes${bySize.length > 0 ? ' of other content' : ''}, neither ${allowed}: torn`);
    }
  };
  if (fs.existsSync(dst)) walk('');
  for (const rel of e.mustExist) {
    if (!fs.existsSync(path.join(dst, rel)))
      problem('gone', `${rel}: gone, although its old version was on the disk before the run`);
  }
  for (const { paths, version } of e.keptSomewhere) {
    if (!paths.some((p) => present.get(p) === version.sha256)) {
      problem(
        'content lost',
        `neither ${paths[0]} (old path) nor ${paths[1]} (new path) holds its ${version.size} bytes whole`,
      );
    }
  }
  return { problems, finals, temps };
}

/** How many problems of each kind, then the first few of each, the worst kinds first. */
function describeProblems(problems: Problem[]): string {
  const kinds: ProblemKind[] = ['content lost', 'gone', 'torn', 'empty', 'unknown'];
  const of = (k: ProblemKind) => problems.filter((p) => p.kind === k);
  const counts = kinds.filter((k) => of(k).length > 0).map((k) => `${of(k).length} ${k}`);
  const lines = kinds.flatMap((k) => {
    const some = of(k);
    const shown = some.slice(0, 5).map((p) => `${k}: ${p.text}`);
    return some.length > 5 ? [...shown, `${k}: … and ${some.length - 5} more`] : shown;
  });
  return `${counts.join(', ')}\n${lines.map((l) => `    ${l}`).join('\n')}`;
}

/** The first few lines, and how many more there were. */
function shortList(lines: string[]): string {
  const shown = lines.slice(0, SHOW).map((l) => `    ${l}`);
  if (lines.length > SHOW) shown.push(`    … and ${lines.length - SHOW} more`);
  return shown.join('\n');
}

// ---------------------------------------------------------------------------------------------
// The rounds

let root: string;
let drive: Drive;
/** A small file system of the test's own, to see whether something flushed the machine during a round. */
let witness: Drive;
let scenarios: Scenario[];
/** The runs under way, each stopped by its own process ids when a test ends early. */
const running = new Set<{ stop: () => void }>();
let unique = 0;

/** How a round ends its run. */
type Trigger =
  | { kind: 'finish' }
  /** Killed -9 once this share of the sampled changes has happened. */
  | { kind: 'share'; share: number }
  /** Killed -9 on entering its `call`-th flush call on one thread (strace counts per thread), of at most `of`. */
  | { kind: 'flush'; call: number; of: number };

interface RunOutcome {
  /** How it ended, for the report. */
  how: string;
  /** Of a run under strace: the most flush calls one thread made. */
  flushCallsPerThread?: number;
}

interface RoundReport {
  line: string;
  failures: string[];
  /** False when data was flushed machine-wide during the round (see `round`). */
  conclusive: boolean;
  run: RunOutcome;
}

/** Whether each watched path is no longer as it was: the share of the sample changed so far. */
function progress(sample: { abs: string; was: string }[]): number {
  const now = (abs: string) => {
    const st = fs.lstatSync(abs, { throwIfNoEntry: false });
    return st ? String(st.ino) : 'absent';
  };
  return sample.filter((s) => now(s.abs) !== s.was).length / sample.length;
}

const syncArgs = (src: string, dst: string) => ['sync', src, dst, '--mode', 'mirror'];

/** Runs a sync, killed -9 once the share of the sampled changes has happened (a share over 1 lets it finish). */
async function runUntilShare(
  src: string,
  dst: string,
  share: number,
  sample: { abs: string; was: string }[],
): Promise<RunOutcome> {
  const run = startCli(syncArgs(src, dst), { cli: CLI });
  const stop = { stop: () => run.child.kill('SIGKILL') };
  running.add(stop);
  let killed = false;
  let reached = 0;
  const watch = () => {
    if (run.child.exitCode !== null || run.child.signalCode !== null) return;
    reached = progress(sample);
    if (reached >= share) {
      killed = run.child.kill('SIGKILL');
      return;
    }
    setTimeout(watch, 1);
  };
  watch();
  const guard = setTimeout(() => run.child.kill('SIGKILL'), 60_000);
  try {
    const result = await run.done;
    if (!killed && result.signal) throw new Error(`the run did not end within 60 s\n${describeRun(result)}`);
    if (!killed && result.code !== 0) throw new Error(`the run failed by itself\n${describeRun(result)}`);
    return {
      how: killed
        ? `killed at ${Math.round(reached * SAMPLE)}/${SAMPLE} sampled changes`
        : 'finished before its moment',
    };
  } finally {
    clearTimeout(guard);
    running.delete(stop);
  }
}

/** The processes `pid` started (its threads' children): under strace, the traced CLI. */
function childrenOf(pid: number): number[] {
  try {
    return fs
      .readdirSync(`/proc/${pid}/task`)
      .flatMap((tid) => fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/))
      .filter((p) => p !== '')
      .map(Number);
  } catch {
    return []; // gone meanwhile
  }
}

/**
 * Runs a sync under strace, which counts its flush calls and, given `killAt`, kills it -9 on entering
 * the killAt-th flush call of a thread: the call does not run, everything before it has.
 */
async function runTraced(src: string, dst: string, killAt: number | undefined): Promise<RunOutcome> {
  const log = path.join(root, `strace-${++unique}.log`);
  const inject = killAt === undefined ? [] : ['-e', `inject=${FLUSH_CALLS}:signal=SIGKILL:when=${killAt}`];
  const args = syncArgs(src, dst);
  const child = spawn(
    'strace',
    ['-f', '-e', `trace=${FLUSH_CALLS}`, ...inject, '-o', log, process.execPath, CLI, ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      // One thread for the native library's work, copies and flushes: no other flush is then under way
      // when the kill comes (one would run to its end, killed or not, and write out what the killed
      // thread left unflushed, which a power cut would not).
      env: { ...process.env, UV_THREADPOOL_SIZE: '1' },
    },
  );
  // Killing strace alone would leave the CLI running, untraced: the CLI first, by its own id.
  const stop = {
    stop: () => {
      for (const pid of child.pid === undefined ? [] : childrenOf(child.pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
      child.kill('SIGKILL');
    },
  };
  running.add(stop);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let timedOut = false;
  const guard = setTimeout(() => {
    timedOut = true;
    stop.stop();
  }, 60_000);
  try {
    const result = await new Promise<CliResult>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ args, code, signal, stdout, stderr }));
    });
    const traced = fs.readFileSync(log, 'utf8');
    // strace dies of the signal that killed the command it ran.
    const killed = result.signal === 'SIGKILL' && traced.includes('+++ killed by SIGKILL +++');
    if (timedOut) throw new Error(`the run did not end within 60 s\n${describeRun(result)}`);
    if (!killed && result.code !== 0)
      throw new Error(`the run failed by itself (under strace)\n${describeRun(result)}`);
    const perThread = new Map<string, number>();
    for (const m of traced.matchAll(/^(\d+) +(?:fsync|fdatasync|syncfs)\(/gm))
      perThread.set(m[1]!, (perThread.get(m[1]!) ?? 0) + 1);
    const calls = [...perThread.values()];
    const total = calls.reduce((a, b) => a + b, 0);
    const most = Math.max(0, ...calls);
    if (killAt === undefined)
      return {
        how: `finished, making ${total} flush calls (at most ${most} on one thread)`,
        flushCallsPerThread: most,
      };
    return {
      how: killed
        ? `killed on entering flush call ${killAt} of a thread (${total} entered in all)`
        : `finished before flush call ${killAt} of any thread`,
    };
  } finally {
    clearTimeout(guard);
    running.delete(stop);
    fs.rmSync(log, { force: true });
  }
}

/**
 * One round: a fresh start, a run ended by `trigger`, the power cut, the image judged, then the
 * repair run. Inconclusive when data was flushed machine-wide meanwhile (the witness shows it): the
 * image then holds more than a power cut would have left, so it may hide a missing flush (it cannot
 * invent one: its problems still count).
 */
async function round(s: Scenario, where: string, trigger: Trigger, random: () => number): Promise<RoundReport> {
  const started = performance.now();
  const mnt = drive.mountPoint;
  const dst = path.join(mnt, 'dst');
  const failures: string[] = [];

  fs.rmSync(dst, { recursive: true, force: true });
  if (s.start) fs.cpSync(s.start, dst, { recursive: true, preserveTimestamps: true });
  syncFs(mnt);
  const picked = shuffled(s.changes, random).slice(0, SAMPLE);
  const sample = picked.map((rel) => {
    const abs = path.join(dst, rel);
    const st = fs.lstatSync(abs, { throwIfNoEntry: false });
    return { abs, was: st ? String(st.ino) : 'absent' };
  });

  // The witness, on a file system of its own that SyncTray never touches: a file written and not
  // flushed, whose device must write nothing until the image is taken. A `sync` run anywhere on the
  // machine (a benchmark, another test) writes it out, and would have written SyncTray's data too.
  syncFs(witness.mountPoint);
  fs.writeFileSync(path.join(witness.mountPoint, `witness-${++unique}`), crypto.randomBytes(64 * KiB));
  const witnessBefore = deviceWrites(witness.device);

  const run =
    trigger.kind === 'share'
      ? await runUntilShare(s.src, dst, trigger.share, sample)
      : STRACE
        ? await runTraced(s.src, dst, trigger.kind === 'flush' ? trigger.call : undefined)
        : await runUntilShare(s.src, dst, 2, sample);

  // The canary: renamed into place with no flush, it shows that the image can see a missing flush.
  const canary = `canary-${++unique}`;
  fs.writeFileSync(path.join(mnt, `${canary}.tmp`), crypto.randomBytes(64 * KiB));
  fs.renameSync(path.join(mnt, `${canary}.tmp`), path.join(mnt, canary));
  commitJournal(mnt);
  const image = path.join(root, 'power-cut.img');
  powerCutImage(drive, image);
  const witnessAfter = deviceWrites(witness.device);
  const flushedMeanwhile = witnessAfter !== witnessBefore;
  const fsck = sh('e2fsck', ['-fy', image], [0, 1]);

  const cut = await attachImage('ext4', image, { readOnly: true });
  let verdict: ReturnType<typeof judge>;
  try {
    const canaryAfter = fs.statSync(path.join(cut.mountPoint, canary), { throwIfNoEntry: false });
    if (!canaryAfter) {
      throw new Error(
        `${where}: the power-cut image lacks the canary renamed before the journal commit: ` +
          'the commit did not reach the image, which then proves nothing',
      );
    }
    if (canaryAfter.size !== 0 && !flushedMeanwhile) {
      throw new Error(
        `${where}: the canary's data reached the disk without a flush (${canaryAfter.size} bytes), ` +
          'and nothing flushed the machine meanwhile: ' +
          'this kernel or mount writes data before a rename is committed, ' +
          `so the simulation cannot see a missing flush here (ext4 -o ${MOUNT_OPTIONS.join(',')})`,
      );
    }
    verdict = judge(path.join(cut.mountPoint, 'dst'), s.expect);
  } finally {
    await cut.dispose();
    fs.rmSync(image, { force: true });
  }
  if (verdict.problems.length > 0) {
    failures.push(
      `${where}: ${verdict.problems.length} problems in the power-cut image (e2fsck: status ${fsck.status}): ` +
        `${describeProblems(verdict.problems)}`,
    );
  }

  // The next run, on the live drive, repairs everything.
  const next = await runCli([...syncArgs(s.src, dst), '--json'], { cli: CLI, timeoutMs: 60_000 });
  if (next.code !== 0 || summaryOf(next).failed !== 0)
    failures.push(`${where}: the next run failed\n${describeRun(next)}`);
  const diff = rsyncDiff(s.src, dst);
  if (diff.length > 0)
    failures.push(`${where}: after the next run, rsync -anic --delete sees differences\n${shortList(diff)}`);
  const temps = findTempFiles(dst);
  if (temps.length > 0) failures.push(`${where}: temp files left after the next run\n${shortList(temps)}`);

  const line =
    `${where}: ${run.how}; the image holds ${verdict.finals} final files ` +
    `and ${verdict.temps} temp files; ${verdict.problems.length} problems` +
    (flushedMeanwhile
      ? '; INCONCLUSIVE: data was flushed machine-wide meanwhile ' +
        `(witness device: ${witnessBefore}, then ${witnessAfter})`
      : '') +
    `; ${Math.round(performance.now() - started)} ms`;
  return { line, failures, conclusive: !flushedMeanwhile, run };
}

/**
 * The kills of a scenario, after its run to the end has counted the flush calls: ROUNDS at shares
 * of the changes, one drawn in each stretch from early to late; and on entering a flush call: every
 * one of them when a run makes no more than EVERY_FLUSH_UP_TO (a batched engine makes a few), else
 * ROUNDS, one drawn in each stretch. In turn, so that both kinds run early.
 */
function plannedKills(flushCalls: number | undefined, random: () => number): (() => Trigger)[] {
  const shares = Array.from(
    { length: ROUNDS },
    (_, j) => (): Trigger => ({ kind: 'share', share: Math.max(1 / SAMPLE, (j + random()) / ROUNDS) }),
  );
  const m = flushCalls ?? 0;
  const calls =
    m === 0
      ? []
      : m <= Math.max(ROUNDS, EVERY_FLUSH_UP_TO)
        ? Array.from({ length: m }, (_, i) => (): Trigger => ({ kind: 'flush', call: i + 1, of: m }))
        : Array.from(
            { length: ROUNDS },
            (_, j) => (): Trigger => ({
              kind: 'flush',
              call: Math.max(1, Math.ceil(((j + random()) / ROUNDS) * m)),
              of: m,
            }),
          );
  return Array.from({ length: Math.max(shares.length, calls.length) }, (_, i) => [shares[i], calls[i]])
    .flat()
    .filter((d) => d !== undefined);
}

describe.skipIf(skipReason !== undefined)(
  'a power cut during a sync (ext4, journal committed, unflushed data lost)',
  () => {
    beforeAll(async () => {
      if (!STRACE && process.env.CI === 'true')
        throw new Error(
          'strace not found, and CI=true requires the rounds that kill on entering a flush call: install strace',
        );
      if (CLI === CLI_PATH) assertCliBuilt();
      else if (!fs.existsSync(CLI)) throw new Error(`SYNCTRAY_TEST_CLI=${CLI} does not exist`);
      const started = performance.now();
      root = makeScratch('synctray-power-cut-');
      removeWithDrives(root); // hundreds of MB: gone even when the test process is stopped part way
      scenarios = buildScenarios(root, seededRandom(SEED));
      drive = await makeDrive('ext4', {
        label: 'POWERCUT',
        sizeMiB: 640,
        mountOptions: MOUNT_OPTIONS,
        mkfsOptions: MKFS_OPTIONS,
      });
      witness = await makeDrive('ext4', {
        label: 'WITNESS',
        sizeMiB: 16,
        mountOptions: MOUNT_OPTIONS,
        mkfsOptions: MKFS_OPTIONS,
      });
      const vm = [
        'dirty_background_ratio',
        'dirty_background_bytes',
        'dirty_expire_centisecs',
        'dirty_writeback_centisecs',
      ]
        .map((k) => `${k}=${fs.readFileSync(`/proc/sys/vm/${k}`, 'utf8').trim()}`)
        .join(' ');
      console.log(
        `power cut: seed ${SEED} (SYNCTRAY_POWER_CUT_SEED=${SEED} repeats it), ` +
          `${ROUNDS} kills of each kind per scenario, CLI ${CLI}; ` +
          `kernel ${os.release()}, ext4 -o ${MOUNT_OPTIONS.join(',')}; vm ${vm}; ` +
          `set up in ${Math.round(performance.now() - started)} ms`,
      );
    }, 120_000);

    afterEach(() => {
      for (const run of running) run.stop();
      running.clear();
    });

    afterAll(() => {
      try {
        disposeAllDrives();
      } finally {
        if (root && fs.existsSync(root)) removeScratch(root);
      }
    });

    for (const [index, name] of [
      'a first copy',
      'a replacement of every file',
      'a mirror with deletions, renames and moves',
    ].entries()) {
      it(`of ${name}: every file under a final name is its old or its new version, whole, ` +
        'and the next run repairs', async () => {
        const s = scenarios[index]!;
        expect(s.name).toBe(name);
        const random = seededRandom(SEED + 1 + index);
        const failures: string[] = [];
        let rounds = 0;
        let inconclusive = 0;
        let flushCalls: number | undefined;
        /** One round of the plan, drawn again while rounds are inconclusive (within a bound). */
        const conclusiveRound = async (draw: () => Trigger): Promise<void> => {
          for (;;) {
            const trigger = draw();
            const what =
              trigger.kind === 'finish'
                ? 'run to its end'
                : trigger.kind === 'share'
                  ? `kill at ${trigger.share.toFixed(2)} of the changes`
                  : `kill on entering flush call ${trigger.call} of ${trigger.of}`;
            const report = await round(s, `${name}, round ${++rounds} (seed ${SEED}, ${what})`, trigger, random);
            console.log(report.line);
            failures.push(...report.failures);
            if (report.run.flushCallsPerThread !== undefined) flushCalls = report.run.flushCallsPerThread;
            if (report.conclusive) return;
            if (++inconclusive > MAX_INCONCLUSIVE) {
              throw new Error(
                `${name}: ${inconclusive} rounds were inconclusive: data was flushed machine-wide during them ` +
                  '(a `sync` run elsewhere, memory pressure), ' +
                  'so their images may hide a missing flush; run the test on a quieter machine' +
                  `${failures.length > 0 ? `\n\n${failures.join('\n\n')}` : ''}`,
              );
            }
          }
        };
        await conclusiveRound(() => ({ kind: 'finish' }));
        if (STRACE && flushCalls === 0)
          console.log(`${name}: a whole run made no flush call at all, so no round kills on entering one`);
        for (const draw of plannedKills(STRACE ? flushCalls : 0, random)) await conclusiveRound(draw);
        expect(failures, failures.join('\n\n')).toEqual([]);
      }, 120_000);
    }
  },
);
