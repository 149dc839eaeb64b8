// Helpers for the benchmarks in build/: a deterministic test tree, timed child processes, scratch
// space that is always removed, the file system a folder is on, an exFAT drive on a loop device,
// option parsing, the interrupt-and-clean-up frame, and table formatting. Plain ESM, no
// dependencies.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { parseArgs } from 'node:util';

const KIB = 1024;
const MIB = 1024 * KIB;

// ---------------------------------------------------------------------------------------------
// Deterministic randomness

/** mulberry32: a tiny seeded PRNG returning floats in [0, 1). */
export function makeRng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [lo, hi], both included. */
export function randInt(rng, lo, hi) {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

/**
 * A block of pseudo-random bytes that file contents are cut from. Filling 20,000 files byte by
 * byte from a JS PRNG would dominate the setup; slices at random offsets are just as deterministic.
 */
export function makeContentPool(seed, bytes = 4 * MIB) {
  const words = new Uint32Array(bytes / 4);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return Buffer.from(words.buffer);
}

function sliceOfPool(pool, rng, size) {
  const offset = randInt(rng, 0, pool.length - size);
  return pool.subarray(offset, offset + size);
}

// ---------------------------------------------------------------------------------------------
// The test tree

export const FILES_PER_FOLDER = 20;
export const SUBFOLDERS_PER_TOP = 20;
const BIG_FILE_SHARE = 0.005;
const SMALL_MAX = 8 * KIB;
const BIG_MIN = 64 * KIB;
const BIG_MAX = 1 * MIB;
// Whole seconds, so that no tool's mtime precision or rounding comes into play.
const BASE_MTIME = Date.UTC(2024, 0, 1) / 1000;
const FOLDER_MTIME = BASE_MTIME - 86_400;
const CHANGED_MTIME_OFFSET = 7 * 86_400;

const pad = (n, width) => String(n).padStart(width, '0');

/**
 * Where each file goes, its size and mtime: `fileCount` files, 20 to a leaf folder, leaf folders
 * 20 to a top folder (20,000 files = 50 x 20 folders). Sizes are mostly 0-8 KiB, about 0.5% are
 * 64 KiB-1 MiB; with `sizes` ({ min, max } in bytes), every file is of min-max bytes instead.
 */
export function planTree(fileCount, seed, sizes) {
  const rng = makeRng(seed);
  const leafCount = Math.ceil(fileCount / FILES_PER_FOLDER);
  const topCount = Math.ceil(leafCount / SUBFOLDERS_PER_TOP);
  const w = (n) => String(Math.max(n - 1, 1)).length;
  const tops = [];
  const leaves = [];
  for (let t = 0; t < topCount; t++) tops.push(`top-${pad(t, w(topCount))}`);
  for (let l = 0; l < leafCount; l++) {
    leaves.push(`${tops[Math.floor(l / SUBFOLDERS_PER_TOP)]}/sub-${pad(l % SUBFOLDERS_PER_TOP, 2)}`);
  }
  const files = [];
  let totalBytes = 0;
  let bigFiles = 0;
  for (let i = 0; i < fileCount; i++) {
    const big = !sizes && rng() < BIG_FILE_SHARE;
    const size = sizes
      ? randInt(rng, sizes.min, sizes.max)
      : big
        ? randInt(rng, BIG_MIN, BIG_MAX)
        : randInt(rng, 0, SMALL_MAX);
    const leaf = leaves[Math.floor(i / FILES_PER_FOLDER)];
    files.push({ rel: `${leaf}/file-${pad(i % FILES_PER_FOLDER, 2)}.dat`, size, mtime: BASE_MTIME + i });
    totalBytes += size;
    if (big) bigFiles++;
  }
  return { folders: [...tops, ...leaves], leafCount, files, totalBytes, bigFiles, sizes };
}

/** Writes the planned tree under `root` (which must not exist yet). */
export async function writeTree(root, tree, pool, seed, checkpoint) {
  const rng = makeRng(seed);
  fs.mkdirSync(root);
  for (const folder of tree.folders) fs.mkdirSync(path.join(root, folder));
  for (let i = 0; i < tree.files.length; i++) {
    const f = tree.files[i];
    const abs = path.join(root, f.rel);
    fs.writeFileSync(abs, sliceOfPool(pool, rng, f.size));
    fs.utimesSync(abs, f.mtime, f.mtime);
    if (i % 500 === 0) await checkpoint();
  }
  // Folder mtimes last, deepest first: writing inside a folder moves its mtime.
  for (const folder of [...tree.folders].reverse()) {
    fs.utimesSync(path.join(root, folder), FOLDER_MTIME, FOLDER_MTIME);
  }
  fs.utimesSync(root, FOLDER_MTIME, FOLDER_MTIME);
}

/**
 * Changes `count` files of a tree written by writeTree, the same ones in the same way for a given
 * seed. Every file gets new content; half keep their mtime but change size, half keep their size
 * but get a new mtime, so both halves of the size+mtime quick check are exercised. Files are
 * rewritten in place, so folder mtimes stay as they were.
 */
export function mutateTree(root, tree, count, seed, pool) {
  const rng = makeRng(seed);
  const picked = pickDistinct(rng, tree.files.length, Math.min(count, tree.files.length));
  return mutateFiles(root, tree, picked, rng, pool);
}

/**
 * Changes one file in each leaf folder of a tree written by writeTree (which one is seeded), in
 * the ways mutateTree does: a change spread over the whole tree, so no folder can be passed over.
 */
export function mutateSpread(root, tree, seed, pool) {
  const rng = makeRng(seed);
  const picked = [];
  for (let first = 0; first < tree.files.length; first += FILES_PER_FOLDER) {
    picked.push(first + randInt(rng, 0, Math.min(FILES_PER_FOLDER, tree.files.length - first) - 1));
  }
  return mutateFiles(root, tree, picked, rng, pool);
}

function mutateFiles(root, tree, picked, rng, pool) {
  let bytes = 0;
  picked.forEach((index, k) => {
    const f = tree.files[index];
    const abs = path.join(root, f.rel);
    const sameSize = k % 2 === 1 && f.size > 0;
    const size = sameSize ? f.size : newSize(rng, f.size, tree.sizes);
    const mtime = sameSize ? f.mtime + CHANGED_MTIME_OFFSET : f.mtime;
    let content = sliceOfPool(pool, rng, size);
    if (sameSize && content.equals(fs.readFileSync(abs))) content = Buffer.from(content).reverse();
    fs.writeFileSync(abs, content);
    fs.utimesSync(abs, mtime, mtime);
    bytes += size;
  });
  return { files: picked.length, bytes };
}

function newSize(rng, old, sizes) {
  if (sizes) {
    const size = randInt(rng, sizes.min, sizes.max);
    return size !== old ? size : old < sizes.max ? old + 1 : sizes.min;
  }
  const max = old > SMALL_MAX ? BIG_MAX : SMALL_MAX;
  const size = randInt(rng, 0, max);
  return size === old ? (old + 1) % (max + 1) : size;
}

/** `count` distinct integers from [0, n), in a seeded order (partial Fisher-Yates). */
function pickDistinct(rng, n, count) {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = randInt(rng, i, n - 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order.slice(0, count);
}

// ---------------------------------------------------------------------------------------------
// Scratch space

/**
 * A fresh directory on a tmpfs when there is one: disk writeback on shared machines makes single
 * timings swing by 5x. `warning` is set when it had to fall back to the OS temp dir.
 */
export function makeScratchDir(prefix = 'synctray-bench-') {
  let parent = '/dev/shm';
  let warning;
  try {
    fs.accessSync(parent, fs.constants.W_OK);
    if (!fs.statSync(parent).isDirectory()) throw new Error('not a directory');
  } catch {
    parent = os.tmpdir();
    warning = `/dev/shm is not available: working in ${parent}, which may be on a disk; timings will be noisier.`;
  }
  return { dir: fs.mkdtempSync(path.join(parent, prefix)), warning };
}

export function freeBytes(dir) {
  const s = fs.statfsSync(dir);
  return s.bavail * s.bsize;
}

export function removeTree(p) {
  fs.rmSync(p, { recursive: true, force: true, maxRetries: 3 });
}

/** Total size in bytes of the regular files under `root`. */
export function treeBytes(root) {
  let total = 0;
  for (const e of fs.readdirSync(root, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += fs.statSync(path.join(e.parentPath, e.name)).size;
  }
  return total;
}

// ---------------------------------------------------------------------------------------------
// Child processes

let running; // the child process under way, so that an interrupt can stop it

/** Kills the child under way, and everything it started (it leads its own process group). */
export function killRunningChild() {
  if (running?.exitCode === null && running.signalCode === null) {
    try {
      process.kill(-running.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/**
 * Runs a command and resolves with its wall time in ms (from spawn to exit), exit status, signal
 * and output. Never rejects for a failing command; the caller decides what failure means.
 * Options: `env`, variables added to this process's environment; `timeoutMs`, after which the
 * command and all it started are killed (a hung FUSE daemon is stuck, not slow).
 */
export function runCommand(cmd, args, { env, timeoutMs } = {}) {
  return new Promise((resolve, reject) => {
    const stdout = [];
    const stderr = [];
    let ms;
    const started = performance.now();
    // A process group of its own, so that killRunningChild reaches grandchildren (time -> tool).
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      ...(env && { env: { ...process.env, ...env } }),
    });
    running = child;
    const guard = timeoutMs && setTimeout(killRunningChild, timeoutMs);
    child.on('close', () => clearTimeout(guard));
    child.stdout.on('data', (c) => stdout.push(c));
    child.stderr.on('data', (c) => stderr.push(c));
    child.on('exit', () => {
      ms = performance.now() - started;
    });
    child.on('error', (err) => {
      running = undefined;
      reject(new Error(`cannot run ${cmd}: ${err.message}`));
    });
    child.on('close', (status, signal) => {
      running = undefined;
      resolve({
        ms,
        status,
        signal,
        stdout: Buffer.concat(stdout).toString(),
        stderr: Buffer.concat(stderr).toString(),
      });
    });
  });
}

/** Runs a command that must succeed; throws with its output otherwise. */
export async function runChecked(cmd, args) {
  const r = await runCommand(cmd, args);
  if (r.status !== 0) throw new Error(`${describeCommand(cmd, args)} failed (${exitText(r)})${indentOutput(r)}`);
  return r;
}

export function describeCommand(cmd, args) {
  return [cmd, ...args].map((a) => (/^[\w./=:%@+-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

export function exitText(r) {
  return r.signal ? `killed by ${r.signal}` : `exit status ${r.status}`;
}

function indentOutput(r) {
  const text = `${r.stdout}${r.stderr}`.trim();
  if (!text) return '';
  const lines = text.split('\n');
  const shown = lines.slice(0, 20).map((l) => `    ${l}`);
  if (lines.length > 20) shown.push(`    ... (${lines.length - 20} more lines)`);
  return `:\n${shown.join('\n')}`;
}

const TIME_BIN = '/usr/bin/time';

/**
 * Whether GNU time is there to report peak RSS (`-f %M -o FILE`); BusyBox's and the shell
 * keyword do not take these options.
 */
export function probeGnuTime(scratch) {
  if (!fs.existsSync(TIME_BIN)) return false;
  const out = path.join(scratch, 'time-probe');
  const r = spawnSync(TIME_BIN, ['-f', '%M', '-o', out, 'true'], { stdio: 'ignore' });
  const ok = r.status === 0 && parseRssFile(out) !== undefined;
  fs.rmSync(out, { force: true });
  return ok;
}

/** GNU time writes "Command exited with non-zero status N" before the format line on failure. */
function parseRssFile(file) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const last = text.trim().split('\n').pop();
  return /^\d+$/.test(last ?? '') ? Number(last) : undefined;
}

/**
 * Times a command, under GNU time when `rssFile` is given so that its peak RSS (KiB, largest
 * single process) is known too. Every timed command goes through the same wrapper, so the
 * wrapper's own cost is the same for each tool.
 */
export async function timeCommand(cmd, args, rssFile, options) {
  if (!rssFile) return runCommand(cmd, args, options);
  fs.rmSync(rssFile, { force: true });
  const r = await runCommand(TIME_BIN, ['-f', '%M', '-o', rssFile, cmd, ...args], options);
  return { ...r, rssKb: parseRssFile(rssFile) };
}

// ---------------------------------------------------------------------------------------------
// Numbers and tables

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export const seconds = (ms) => (ms / 1000).toFixed(3);
export const megabytes = (kb) => (kb / 1024).toFixed(1);

export function formatBytes(n) {
  if (n >= MIB) return `${(n / MIB).toFixed(1)} MiB`;
  if (n >= KIB) return `${(n / KIB).toFixed(1)} KiB`;
  return `${n} B`;
}

/** A plain-text table: first column left-aligned, the others right-aligned. */
export function formatTable(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export { yieldToEventLoop };

/** A mistake in the command line: the benchmark says what and exits with status 2. */
export class UsageError extends Error {}

/**
 * Parses a benchmark's options. `spec` maps each option's name to its default: a number for a
 * whole number of at least 1, an array for one of those words (undefined when not given), `false`
 * for a flag. `--help`/`-h` gives 'help'. Anything else is a UsageError.
 */
export function parseBenchOptions(argv, spec) {
  const options = { help: { type: 'boolean', short: 'h' } };
  for (const [name, def] of Object.entries(spec)) {
    options[name] = typeof def === 'boolean' ? { type: 'boolean' } : { type: 'string' };
  }
  let values;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, allowPositionals: false, options }));
  } catch (err) {
    throw new UsageError(err.message);
  }
  if (values.help) return 'help';
  const result = {};
  for (const [name, def] of Object.entries(spec)) {
    const given = values[name];
    if (typeof def === 'boolean') result[name] = given ?? def;
    else if (Array.isArray(def)) {
      if (given !== undefined && !def.includes(given)) {
        throw new UsageError(
          `--${name} takes ${def.slice(0, -1).join(', ')}${def.length > 1 ? ' or ' : ''}${def.at(-1)} (got "${given}")`,
        );
      }
      result[name] = given;
    } else {
      const text = given ?? String(def);
      const n = Number(text);
      if (!/^\d+$/.test(text) || n < 1 || !Number.isSafeInteger(n)) {
        throw new UsageError(`--${name} takes a whole number of at least 1 (got "${text}")`);
      }
      result[name] = n;
    }
  }
  return result;
}

/**
 * `--files N --rounds N [--help]`, each a whole number of at least 1, with these defaults; 'help'
 * when asked for it.
 */
export function parseFilesAndRounds(argv, defaults) {
  return parseBenchOptions(argv, { files: defaults.files, rounds: defaults.rounds });
}

// ---------------------------------------------------------------------------------------------
// The build and the tools

/** A warning when src/ is newer than dist/, which is what gets measured; undefined otherwise. */
export function staleBuildWarning(root) {
  const newest = (dir, ext) =>
    fs
      .readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith(ext))
      .reduce((t, e) => Math.max(t, fs.statSync(path.join(e.parentPath, e.name)).mtimeMs), 0);
  return newest(path.join(root, 'src'), '.ts') > newest(path.join(root, 'dist'), '.js')
    ? 'src/ has changes newer than dist/: this measures the last build (run `npm run build` to include them).'
    : undefined;
}

/** The first line of a tool's version output, or undefined when it does not run. */
export function toolVersion(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: SETUP_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) return undefined;
  return `${r.stdout}${r.stderr}`.split('\n')[0].replace(/\s+/g, ' ').trim();
}

export const hasTool = (name) =>
  spawnSync('sh', ['-c', `command -v "$1"`, 'sh', name], { stdio: 'ignore' }).status === 0;

/** Of `packages` (tool -> Debian package), a message naming what to install, or undefined. */
export function missingTools(packages) {
  const absent = Object.keys(packages).filter((t) => !hasTool(t));
  if (absent.length === 0) return undefined;
  return `${absent.join(', ')} not found: install ${[...new Set(absent.map((t) => packages[t]))].join(' ')}`;
}

/**
 * What `rsync -n -i FLAGS --delete` itemizes between two trees: each line a difference (content
 * by checksum when FLAGS has -c, times, modes, extras). An empty list: the copy is right.
 */
export async function itemizedDifferences(src, dst, flags) {
  const r = await runCommand('rsync', ['-ni', ...flags, '--delete', `${src}/`, `${dst}/`]);
  if (r.status !== 0) throw new Error(`rsync -ni ${flags.join(' ')} failed (${exitText(r)}): ${r.stderr.trim()}`);
  return r.stdout.split('\n').filter(Boolean);
}

// ---------------------------------------------------------------------------------------------
// Interruption and cleanup

export class Interrupted extends Error {}

/**
 * The frame a benchmark runs in. `run(main)` catches SIGINT, SIGTERM and SIGHUP (the first stops
 * the child under way and lets main unwind at its next checkpoint; a second one cleans up and
 * exits at once), calls `cleanUp` (blocking, safe to call twice) however main ends and on exit,
 * and sets the exit status: 0, 2 for a UsageError (followed by `hint`), 130 when interrupted, 1
 * for anything else. Without a `hint` a UsageError exits 1 like any other error: bench and
 * bench:drives have always exited 1 for a bad command line, and say so. `stopping` is what the
 * first signal announces, so that a user knows what the wait is for (an unmount, say).
 */
export function benchFrame(name, { cleanUp, hint, stopping = 'stopping and cleaning up' }) {
  let interruptedBy;
  const onSignal = (signal) => {
    if (interruptedBy !== undefined) {
      killRunningChild();
      cleanUp();
      process.exit(130);
    }
    interruptedBy = signal;
    process.stderr.write(`\n${signal}: ${stopping}...\n`);
    killRunningChild();
  };
  /** Called between steps: lets a pending signal handler run, then gives up if it fired. */
  const checkpoint = async () => {
    await yieldToEventLoop();
    if (interruptedBy !== undefined) throw new Interrupted();
  };
  const run = async (main) => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, onSignal);
    process.on('exit', cleanUp);
    try {
      await main();
    } catch (err) {
      if (err instanceof Interrupted || interruptedBy !== undefined) {
        console.error(`${name}: interrupted by ${interruptedBy}`);
        process.exitCode = 130;
      } else if (err instanceof UsageError && hint !== undefined) {
        console.error(`${name}: ${err.message}\n${hint}`);
        process.exitCode = 2;
      } else {
        console.error(`${name}: ${err instanceof Error ? err.message : String(err)}`);
        process.exitCode = 1;
      }
    } finally {
      killRunningChild();
      cleanUp();
    }
  };
  return { checkpoint, run };
}

// ---------------------------------------------------------------------------------------------
// File systems and an exFAT drive on a loop device

/** How long a setup or teardown command (losetup, mkfs, mount, unmount) may take. */
export const SETUP_TIMEOUT_MS = 30_000;

/**
 * The kernel keeps a FUSE file system's names and attributes for 1 s (libfuse's default
 * entry_timeout and attr_timeout, which exfat-fuse keeps). A run that starts within that second of
 * a run over the same folder skips most trips to the daemon: rsync measured twice as fast straight
 * after itself. A rescan comes much later than that, so timed runs on a FUSE drive wait this long.
 */
export const FUSE_CACHE_PAUSE_MS = 1_500;

/** The tools ExfatLoopDrive uses, each with the Debian package that has it. */
export const EXFAT_DRIVE_TOOLS = {
  losetup: 'mount',
  truncate: 'coreutils',
  'mkfs.exfat': 'exfatprogs',
  'mount.exfat-fuse': 'exfat-fuse',
  fusermount: 'fuse3',
  bash: 'bash',
};

export function mountTable() {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const fields = line.split(' ');
      const rest = fields.slice(fields.indexOf('-') + 1);
      return {
        devNumber: fields[2],
        mountPoint: fields[4].replace(/\\([0-7]{3})/g, (_, octal) => String.fromCharCode(parseInt(octal, 8))),
        type: rest[0],
        source: rest[1],
      };
    });
}

/** The mount a folder lives on: the entry with its device number and the longest matching path. */
export function mountOf(dir) {
  const real = fs.realpathSync(dir);
  const dev = fs.statSync(real).dev;
  const devNumber = `${Math.floor(dev / 256) & 0xfff}:${(dev & 0xff) | ((Math.floor(dev / 4096) & 0xfff00) >>> 0)}`;
  const candidates = mountTable().filter(
    (m) =>
      m.devNumber === devNumber &&
      (m.mountPoint === '/' || real === m.mountPoint || real.startsWith(`${m.mountPoint}/`)),
  );
  return candidates.sort((a, b) => b.mountPoint.length - a.mountPoint.length)[0];
}

/** `dir (type on source)`, for the report. */
export function describePlace(dir) {
  const m = mountOf(dir);
  return `${dir} (${m ? `${m.type} on ${m.source}` : 'unknown file system'})`;
}

/** File systems that live in memory: what is timed on them is not a disk. */
export const isMemoryFs = (type) => type === 'tmpfs' || type === 'ramfs';

/** Setup and teardown commands: bounded in time, their output kept for the error message. */
export function runSetup(cmd, args) {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: SETUP_TIMEOUT_MS,
    killSignal: 'SIGKILL',
  });
  if (r.error)
    throw new Error(
      `${describeCommand(cmd, args)}: ` +
        `${r.error.code === 'ETIMEDOUT' ? `no answer within ${SETUP_TIMEOUT_MS / 1000} s` : r.error.message}`,
    );
  if (r.status !== 0)
    throw new Error(`${describeCommand(cmd, args)} failed (exit status ${r.status}): ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

const pause = new Int32Array(new SharedArrayBuffer(4));

function waitUntil(done, timeoutMs) {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) return false;
    Atomics.wait(pause, 0, 0, 10);
  }
  return true;
}

function backingFile(device) {
  try {
    return fs
      .readFileSync(`/sys/class/block/${path.basename(device)}/loop/backing_file`, 'utf8')
      .trim()
      .replace(/ \(deleted\)$/, '');
  } catch {
    return undefined;
  }
}

function holdsDevice(pid, device) {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === device;
      } catch {
        return false;
      }
    });
  } catch {
    return false; // gone
  }
}

/**
 * A fresh exFAT file system in a sparse image, on a loop device, mounted through exfat-fuse (root
 * needed). Make the object first and keep it where the cleanup finds it, then call make(): remove()
 * undoes whatever part of make() got done, so it is safe after a failure half-way, and twice.
 */
export class ExfatLoopDrive {
  folder;
  image;
  device;
  mountPoint;
  type;
  daemons = [];

  make(parent, sizeMiB, label = 'SYNCBENCH') {
    this.folder = fs.mkdtempSync(path.join(parent, 'synctray-bench-drive-'));
    this.image = path.join(this.folder, 'exfat.img');
    runSetup('truncate', ['-s', `${sizeMiB}M`, this.image]);
    this.device = runSetup('losetup', ['-f', '--show', this.image]).trim();
    runSetup('mkfs.exfat', ['-n', label, this.device]);
    const mountPoint = path.join(this.folder, 'drive');
    fs.mkdirSync(mountPoint);
    runSetup('mount.exfat-fuse', [this.device, mountPoint]);
    this.mountPoint = mountPoint;
    this.daemons = fs
      .readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p) && holdsDevice(p, this.device))
      .map(Number);
    const entry = mountTable().find((m) => m.mountPoint === mountPoint);
    if (entry?.source !== this.device)
      throw new Error(`${this.device} is not mounted at ${mountPoint} although mount.exfat-fuse succeeded`);
    this.type = entry.type;
    return this;
  }

  /** Blocking, so that it also runs from an 'exit' handler; each step is tried whatever the others did. */
  remove() {
    const steps = [() => this.#unmount(), () => this.#detach(), () => this.folder && removeTree(this.folder)];
    for (const step of steps) {
      try {
        step();
      } catch (err) {
        process.stderr.write(`cleaning up the exFAT drive: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    }
    this.folder = undefined;
  }

  #mounted() {
    return mountTable().some((m) => m.mountPoint === this.mountPoint && m.source === this.device);
  }

  #unmount() {
    const mountPoint = this.mountPoint;
    if (mountPoint === undefined) return;
    if (!this.#mounted()) {
      this.mountPoint = undefined;
      return;
    }
    // A hung daemon holds fusermount in the kernel where no signal reaches it; killing the daemon
    // aborts the connection and lets the unmount finish.
    const watched =
      '"$@" & job=$!; sleep "$SECS" & nap=$!; wait -n $job $nap; ' +
      'if kill -0 $job 2>/dev/null; then kill -KILL $DAEMONS 2>/dev/null; ' +
      'kill $nap 2>/dev/null; wait $job; exit 124; fi; ' +
      'kill $nap 2>/dev/null; wait $job';
    const r = spawnSync('bash', ['-c', watched, 'unmount', 'fusermount', '-u', mountPoint], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, SECS: String(SETUP_TIMEOUT_MS / 1000), DAEMONS: this.daemons.join(' ') },
      timeout: 2 * SETUP_TIMEOUT_MS,
    });
    if (r.status !== 0 && this.#mounted()) {
      // Still busy: detach it now; the kernel lets the device go when the last user does.
      spawnSync('umount', ['-l', mountPoint], { stdio: 'ignore', timeout: SETUP_TIMEOUT_MS });
    }
    // Detaching the loop device while the daemon still flushes would leave it attached.
    waitUntil(() => this.daemons.every((pid) => !holdsDevice(pid, this.device)), SETUP_TIMEOUT_MS);
    this.mountPoint = undefined;
    if (r.status === 124)
      throw new Error(
        `the exfat-fuse daemon did not answer the unmount within ${SETUP_TIMEOUT_MS / 1000} s and was killed`,
      );
  }

  #detach() {
    const { device, image } = this;
    if (device === undefined) return;
    this.device = undefined;
    // Only ours: after a detach the number can be someone else's device.
    if (backingFile(device) !== image) return;
    runSetup('losetup', ['-d', device]);
  }
}
