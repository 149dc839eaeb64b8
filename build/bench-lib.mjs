// Helpers for build/bench-sync.mjs: a deterministic test tree, timed child processes, scratch
// space that is always removed, and table formatting. Plain ESM, no dependencies.
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
 * 64 KiB-1 MiB.
 */
export function planTree(fileCount, seed) {
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
    const big = rng() < BIG_FILE_SHARE;
    const size = big ? randInt(rng, BIG_MIN, BIG_MAX) : randInt(rng, 0, SMALL_MAX);
    const leaf = leaves[Math.floor(i / FILES_PER_FOLDER)];
    files.push({ rel: `${leaf}/file-${pad(i % FILES_PER_FOLDER, 2)}.dat`, size, mtime: BASE_MTIME + i });
    totalBytes += size;
    if (big) bigFiles++;
  }
  return { folders: [...tops, ...leaves], files, totalBytes, bigFiles };
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
  let bytes = 0;
  picked.forEach((index, k) => {
    const f = tree.files[index];
    const abs = path.join(root, f.rel);
    const sameSize = k % 2 === 1 && f.size > 0;
    const size = sameSize ? f.size : newSize(rng, f.size);
    const mtime = sameSize ? f.mtime + CHANGED_MTIME_OFFSET : f.mtime;
    let content = sliceOfPool(pool, rng, size);
    if (sameSize && content.equals(fs.readFileSync(abs))) content = Buffer.from(content).reverse();
    fs.writeFileSync(abs, content);
    fs.utimesSync(abs, mtime, mtime);
    bytes += size;
  });
  return { files: picked.length, bytes };
}

function newSize(rng, old) {
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
 */
export function runCommand(cmd, args) {
  return new Promise((resolve, reject) => {
    const stdout = [];
    const stderr = [];
    let ms;
    const started = performance.now();
    // A process group of its own, so that killRunningChild reaches grandchildren (time -> tool).
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    running = child;
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
      resolve({ ms, status, signal, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() });
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
export async function timeCommand(cmd, args, rssFile) {
  if (!rssFile) return runCommand(cmd, args);
  fs.rmSync(rssFile, { force: true });
  const r = await runCommand(TIME_BIN, ['-f', '%M', '-o', rssFile, cmd, ...args]);
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

/**
 * `--files N --rounds N [--help]`, each a whole number of at least 1, with these defaults; 'help'
 * when asked for it.
 */
export function parseFilesAndRounds(argv, defaults) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      files: { type: 'string', default: String(defaults.files) },
      rounds: { type: 'string', default: String(defaults.rounds) },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const positive = (name) => {
    const n = Number(values[name]);
    if (!/^\d+$/.test(values[name]) || n < 1 || !Number.isSafeInteger(n)) {
      throw new Error(`--${name} takes a whole number of at least 1 (got "${values[name]}")`);
    }
    return n;
  };
  return { files: positive('files'), rounds: positive('rounds') };
}
