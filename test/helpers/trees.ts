/**
 * Real folder trees for end-to-end engine tests: scratch folders, random trees and random changes
 * to them (fast-check arbitraries plus the code that carries them out on disk), snapshots and
 * listings for failure messages, and the rsync oracle that says whether two trees match.
 *
 * Paths handed around are absolute unless named `rel`; `rel` paths are '/'-separated with '' for
 * the root, as the engine's own.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';

// ---------------------------------------------------------------------------------------------
// Scratch folders

/** Where scratch folders go: tmpfs when there is one (fast, and nothing left on a real disk). */
export function scratchBase(): string {
  const shm = '/dev/shm';
  try {
    fs.accessSync(shm, fs.constants.W_OK | fs.constants.X_OK);
    if (fs.statSync(shm).isDirectory()) return shm;
  } catch {
    // no tmpfs here
  }
  return os.tmpdir();
}

/** A fresh, empty folder; remove it with `removeScratch`. */
export function makeScratch(prefix = 'synctray-e2e-'): string {
  return fs.mkdtempSync(path.join(scratchBase(), prefix));
}

/** Removes a scratch folder whatever modes the test left on the folders inside it. */
export function removeScratch(dir: string): void {
  if (!fs.existsSync(dir)) return;
  const unlock = (p: string) => {
    const st = fs.lstatSync(p);
    if (!st.isDirectory()) return;
    if ((st.mode & 0o700) !== 0o700) fs.chmodSync(p, (st.mode & 0o7777) | 0o700);
    for (const name of fs.readdirSync(p)) unlock(path.join(p, name));
  };
  unlock(dir);
  fs.rmSync(dir, { recursive: true, force: true });
  if (fs.existsSync(dir)) throw new Error(`scratch folder ${dir} could not be removed`);
}

/**
 * Waits until `condition` holds, checking every `intervalMs`; throws naming `what` after
 * `timeoutMs`. The interval only paces the polling: nothing waits a fixed time for an outcome.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  { timeoutMs = 10_000, intervalMs = 1 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------------------------
// The rsync oracle

const RSYNC_PRESENT = spawnSync('rsync', ['--version'], { stdio: 'ignore' }).status === 0;

/**
 * Why rsync tests must be skipped, or undefined when they run. Under CI=true they always run (and
 * fail if rsync is missing); elsewhere a missing rsync skips them with a printed reason.
 */
export function rsyncSkipReason(): string | undefined {
  if (RSYNC_PRESENT || process.env.CI === 'true') return undefined;
  const reason = 'rsync is not installed (apt-get install rsync): skipping the tests that use it as the oracle';
  console.warn(reason);
  return reason;
}

/**
 * `rsync -anic --delete SRC/ DST/`: one itemized line per difference between the trees (types,
 * sizes, content by checksum, mtimes to the second, modes, symlink targets), none when they match.
 */
export function rsyncDiff(src: string, dst: string): string[] {
  if (!RSYNC_PRESENT) throw new Error('rsync is not installed, and CI=true requires the tests that need it to run: install rsync.');
  const r = spawnSync('rsync', ['-anic', '--delete', `${src}/`, `${dst}/`], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`rsync -anic --delete ${src}/ ${dst}/ failed with exit ${r.status}:\n${r.stderr}`);
  return r.stdout.split('\n').filter((line) => line !== '');
}

// ---------------------------------------------------------------------------------------------
// Modification times

export const NS_PER_SEC = 1_000_000_000n;

/** `1700000000.000000001` style, exact, for messages. Negative times as `-1.500000000`. */
export function formatNs(ns: bigint): string {
  const sign = ns < 0n ? '-' : '';
  const abs = ns < 0n ? -ns : ns;
  return `${sign}${abs / NS_PER_SEC}.${(abs % NS_PER_SEC).toString().padStart(9, '0')}`;
}

/**
 * Sets the mtime (and atime) of the item itself, never a symlink's target, and returns the mtime
 * the file system now reports.
 *
 * Node takes seconds as a double (about 240 ns steps near 2023), so the result is within a
 * fraction of a microsecond of `ns`, but always in the same whole second: a naive double of
 * X.999999999 would round up to X+1. Node turns any negative number into "now", so times before
 * 1970 go through a Date, which carries whole milliseconds exactly.
 */
export function setMtime(abs: string, ns: bigint, atimeNs: bigint = ns): bigint {
  fs.lutimesSync(abs, utimeArg(atimeNs), utimeArg(ns));
  return fs.lstatSync(abs, { bigint: true }).mtimeNs;
}

function utimeArg(ns: bigint): number | Date {
  if (ns < 0n) {
    // Rounded to the nearest millisecond, so a time read back from a Date-set item sets it again.
    return new Date(Math.round(Number(ns) / 1e6));
  }
  const sec = ns / NS_PER_SEC;
  let d = Number(sec) + Number(ns % NS_PER_SEC) / 1e9;
  while (Math.floor(d) > Number(sec)) d -= 2 ** (Math.floor(Math.log2(d)) - 52);
  return d;
}

// ---------------------------------------------------------------------------------------------
// Tree specs and how they are put on disk

export interface FileSpec {
  type: 'file';
  size: number;
  /** Seeds the bytes, so the same spec always gives the same content. */
  seed: number;
  mode: number;
  mtimeNs: bigint;
}
export interface LinkSpec {
  type: 'symlink';
  target: string;
  mtimeNs: bigint;
}
export interface DirSpec {
  type: 'dir';
  mode: number;
  mtimeNs: bigint;
  children: [string, NodeSpec][];
}
export type NodeSpec = FileSpec | LinkSpec | DirSpec;

/** `size` pseudo-random bytes from `seed` (mulberry32: fast, and plenty for test content). */
export function seededBytes(size: number, seed: number): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let a = seed >>> 0;
  let i = 0;
  while (i < size) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    t = (t ^ (t >>> 14)) >>> 0;
    for (let k = 0; k < 4 && i < size; k++, t >>>= 8) buf[i++] = t & 0xff;
  }
  return buf;
}

/** Creates `spec` at `abs` (which must not exist) with its content, mode and times. */
export function materialize(abs: string, spec: NodeSpec): void {
  switch (spec.type) {
    case 'file':
      writeFile(abs, seededBytes(spec.size, spec.seed), spec.mode, spec.mtimeNs);
      return;
    case 'symlink':
      fs.symlinkSync(spec.target, abs);
      setMtime(abs, spec.mtimeNs);
      return;
    case 'dir':
      fs.mkdirSync(abs);
      fillDir(abs, spec);
      return;
  }
}

/** Puts `spec`'s children into the existing folder `abs`, then gives the folder its mode and time. */
export function fillDir(abs: string, spec: DirSpec): void {
  for (const [name, child] of spec.children) materialize(path.join(abs, name), child);
  // Mode and time last: every child created above moved the folder's mtime.
  fs.chmodSync(abs, spec.mode);
  setMtime(abs, spec.mtimeNs);
}

function writeFile(abs: string, bytes: Uint8Array, mode: number, mtimeNs: bigint): void {
  fs.writeFileSync(abs, bytes, { mode: 0o600, flag: 'wx' });
  fs.chmodSync(abs, mode);
  setMtime(abs, mtimeNs);
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

/**
 * Names a careless sync tool gets wrong: spaces (leading and trailing too), quotes, a leading dash,
 * shell and glob characters, both Unicode normal forms of one word, emoji, a 255-byte name, and
 * a name that looks like, but is not, one of the engine's temp files.
 */
export const HOSTILE_NAMES: readonly string[] = [
  'a',
  'B',
  'file.txt',
  'with space',
  ' leading space',
  'trailing space ',
  'ünïcødé',
  'caf\u00e9',
  'cafe\u0301',
  '日本語のファイル',
  '🎉 party',
  "it's",
  '"double quoted"',
  '-dash',
  '--double-dash',
  '#hash',
  'semi;colon & amp',
  'back\\slash',
  '$HOME',
  '*star?',
  '[brackets]',
  '.hidden',
  '~tilde',
  '.~synctray-notatemp.part',
  'x'.repeat(255),
];

/** Few short names, so two independently drawn trees share many paths. */
export const OVERLAPPING_NAMES: readonly string[] = ['a', 'b', 'c d', 'é'];

export const FILE_MODES = [0o644, 0o600, 0o755, 0o444] as const;
export const DIR_MODES = [0o755, 0o700] as const;

const SECOND_BASES = [
  1_700_000_000n, // 2023
  1_000_000_000n, // 2001
  2_147_483_647n, // the last second a signed 32-bit time_t holds
  4_102_444_800n, // 2100
  315_532_800n, // 1980, the FAT epoch
];

/**
 * Mtimes as integer nanoseconds: whole seconds, X.999999999, X.000000001, odd nanoseconds, all
 * around a few bases with neighbouring seconds so boundary cases meet. With `pre1970`, some are
 * before the epoch (whole or half seconds: the only kind Node can set exactly there).
 */
export function arbMtimeNs(options: { pre1970?: boolean } = {}): fc.Arbitrary<bigint> {
  const positive = fc
    .tuple(
      fc.constantFrom(...SECOND_BASES),
      fc.integer({ min: -2, max: 2 }),
      fc.oneof(
        fc.constant(0),
        fc.constant(999_999_999),
        fc.constant(1),
        fc.constant(500_000_000),
        fc.constant(999_999_000),
        fc.integer({ min: 0, max: 999_999_999 }),
      ),
    )
    .map(([base, offset, nanos]) => (base + BigInt(offset)) * NS_PER_SEC + BigInt(nanos));
  if (!options.pre1970) return positive;
  const negative = fc
    .tuple(fc.constantFrom(-1n, -2n, -31_536_000n), fc.boolean())
    .map(([sec, half]) => sec * NS_PER_SEC + (half ? NS_PER_SEC / 2n : 0n));
  return fc.oneof({ arbitrary: positive, weight: 9 }, { arbitrary: negative, weight: 1 });
}

export interface TreeOptions {
  names: readonly string[];
  /** Most items directly in one folder. */
  maxChildren?: number;
  /** Folder nesting below the root. */
  maxDepth?: number;
  pre1970?: boolean;
}

export interface TreeArbs {
  mtime: fc.Arbitrary<bigint>;
  name: fc.Arbitrary<string>;
  file: fc.Arbitrary<FileSpec>;
  link: fc.Arbitrary<LinkSpec>;
  /** A folder with random contents. */
  dir: fc.Arbitrary<DirSpec>;
  /** The root of a tree: a folder holding at least one item, often many. */
  root: fc.Arbitrary<DirSpec>;
}

/** Arbitraries for random trees drawn from `names`. */
export function treeArbs(options: TreeOptions): TreeArbs {
  const { names, maxChildren = 5, maxDepth = 3 } = options;
  const mtime = arbMtimeNs({ pre1970: options.pre1970 });
  const name = fc.constantFrom(...names);
  const size = fc.oneof(
    { arbitrary: fc.constant(0), weight: 2 },
    { arbitrary: fc.integer({ min: 1, max: 64 }), weight: 4 },
    { arbitrary: fc.integer({ min: 65, max: 70_000 }), weight: 3 },
    // Around the 1 MiB a local read yields at a time, so comparisons cross a chunk boundary.
    { arbitrary: fc.integer({ min: (1 << 20) - 2, max: (1 << 20) + 2 }), weight: 1 },
  );
  const file: fc.Arbitrary<FileSpec> = fc.record({
    type: fc.constant('file' as const),
    size,
    seed: fc.integer({ min: 0, max: 0x7fffffff }),
    mode: fc.constantFrom(...FILE_MODES),
    mtimeNs: mtime,
  });
  // Relative targets only: siblings (which may or may not exist), up and down the tree, and
  // plainly dangling ones.
  const target = fc.oneof(
    name,
    name.map((n) => `../${n}`),
    fc.tuple(name, name).map(([a, b]) => `${a}/${b}`),
    fc.constantFrom('nowhere', '../../missing/deep', '.', '..', 'dir with space/'),
  );
  const link: fc.Arbitrary<LinkSpec> = fc.record({ type: fc.constant('symlink' as const), target, mtimeNs: mtime });
  const depthIdentifier = fc.createDepthIdentifier();
  const { dir, node } = fc.letrec<{ node: NodeSpec; dir: DirSpec }>((tie) => ({
    node: fc.oneof(
      { maxDepth, depthIdentifier, depthSize: 'medium', withCrossShrink: true },
      { arbitrary: file, weight: 5 },
      { arbitrary: link, weight: 2 },
      { arbitrary: tie('dir'), weight: 2 },
    ),
    dir: fc.record({
      type: fc.constant('dir' as const),
      mode: fc.constantFrom(...DIR_MODES),
      mtimeNs: mtime,
      children: fc.uniqueArray(fc.tuple(name, tie('node')), { selector: ([n]) => n, maxLength: maxChildren, depthIdentifier, size: 'medium' }),
    }),
  }));
  const root: fc.Arbitrary<DirSpec> = fc.record({
    type: fc.constant('dir' as const),
    mode: fc.constantFrom(...DIR_MODES),
    mtimeNs: mtime,
    children: fc.uniqueArray(fc.tuple(name, node), { selector: ([n]) => n, minLength: 1, maxLength: 2 * maxChildren, size: 'medium' }),
  });
  return { mtime, name, file, link, dir, root };
}

// ---------------------------------------------------------------------------------------------
// Mutations

/**
 * One change to a tree. `pick` (and `to`) choose among the items of the right kind present when
 * the change is made (index modulo their number), so any list of mutations applies to any tree
 * and shrinks well; a mutation with nothing to act on is skipped.
 */
export type Mutation =
  | { op: 'edit-same-size'; pick: number; at: number }
  | { op: 'resize'; pick: number; delta: number; seed: number; keepMtime: boolean; mtimeNs: bigint }
  | { op: 'touch'; pick: number; deltaNs: bigint }
  | { op: 'chmod'; pick: number; modeIndex: number }
  | { op: 'delete-file'; pick: number }
  | { op: 'delete-dir'; pick: number }
  | { op: 'add'; to: number; name: string; item: NodeSpec }
  | { op: 'rename'; pick: number; to: number; name: string; kind: 'file' | 'dir' }
  | { op: 'retarget'; pick: number; target: string }
  | { op: 'replace'; pick: number; from: 'file' | 'dir' | 'symlink'; item: NodeSpec };

/**
 * Random changes: content edits that keep size and mtime (only a checksum sees them), resizes,
 * touches (never closer than 2 ms to the old time: the engine treats local mtimes within 1 ms as
 * equal, by contract), chmods, deletions, additions, renames, link retargets and every change of
 * type between file, folder and symlink.
 */
export function arbMutations(
  arbs: TreeArbs,
  { maxLength = 8, without = [] }: { maxLength?: number; without?: readonly Mutation['op'][] } = {},
): fc.Arbitrary<Mutation[]> {
  const pick = fc.nat();
  const smallDir: fc.Arbitrary<DirSpec> = fc.record({
    type: fc.constant('dir' as const),
    mode: fc.constantFrom(...DIR_MODES),
    mtimeNs: arbs.mtime,
    children: fc.uniqueArray(fc.tuple(arbs.name, fc.oneof(arbs.file, arbs.link)), { selector: ([n]) => n, maxLength: 3 }),
  });
  const item = fc.oneof({ arbitrary: arbs.file, weight: 3 }, arbs.link, smallDir);
  const ms = 1_000_000n;
  const deltaNs = fc.oneof(
    fc.constantFrom(2n * ms, -2n * ms, 999n * ms, NS_PER_SEC, -NS_PER_SEC, NS_PER_SEC + 1n, 3600n * NS_PER_SEC, -86_400n * NS_PER_SEC),
    fc.bigInt({ min: 2n * ms, max: 10n * NS_PER_SEC }),
    fc.bigInt({ min: -10n * NS_PER_SEC, max: -2n * ms }),
  );
  const byOp: { [K in Mutation['op']]: fc.Arbitrary<Extract<Mutation, { op: K }>> } = {
    'edit-same-size': fc.record({ op: fc.constant('edit-same-size' as const), pick, at: fc.nat() }),
    resize: fc.record({
      op: fc.constant('resize' as const),
      pick,
      delta: fc.oneof(fc.integer({ min: -100, max: 100 }), fc.integer({ min: -100_000, max: 100_000 })),
      seed: fc.nat(),
      keepMtime: fc.boolean(),
      mtimeNs: arbs.mtime,
    }),
    touch: fc.record({ op: fc.constant('touch' as const), pick, deltaNs }),
    chmod: fc.record({ op: fc.constant('chmod' as const), pick, modeIndex: fc.nat() }),
    'delete-file': fc.record({ op: fc.constant('delete-file' as const), pick }),
    'delete-dir': fc.record({ op: fc.constant('delete-dir' as const), pick }),
    add: fc.record({ op: fc.constant('add' as const), to: pick, name: arbs.name, item }),
    rename: fc.record({ op: fc.constant('rename' as const), pick, to: pick, name: arbs.name, kind: fc.constantFrom('file' as const, 'dir' as const) }),
    retarget: fc.record({ op: fc.constant('retarget' as const), pick, target: arbs.link.map((l) => l.target) }),
    replace: fc.record({ op: fc.constant('replace' as const), pick, from: fc.constantFrom('file' as const, 'dir' as const, 'symlink' as const), item }),
  };
  const chosen = Object.entries(byOp)
    .filter(([op]) => !without.includes(op as Mutation['op']))
    .map(([, arb]) => arb as fc.Arbitrary<Mutation>);
  const mutation = fc.oneof(...chosen);
  return fc.array(mutation, { minLength: 1, maxLength });
}

/** One item found on disk. */
export interface Found {
  rel: string;
  abs: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
}

/** Every item under `root` (the root itself first, as ''), parents before children, sorted by name. */
export function listTree(root: string): Found[] {
  const out: Found[] = [];
  const walk = (rel: string, abs: string) => {
    const st = fs.lstatSync(abs);
    const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
    out.push({ rel, abs, type });
    if (type === 'dir') for (const name of fs.readdirSync(abs).sort()) walk(rel === '' ? name : `${rel}/${name}`, path.join(abs, name));
  };
  walk('', root);
  return out;
}

/** A name not yet taken in `dir`, based on `name` and at most 255 bytes. */
function freeName(dir: string, name: string): string {
  for (let n = 0; ; n++) {
    const candidate = n === 0 ? name : `${n}~${name}`.slice(0, 200);
    if (!fs.existsSync(path.join(dir, candidate)) && !isSymlink(path.join(dir, candidate))) return candidate;
  }
}

function isSymlink(abs: string): boolean {
  try {
    return fs.lstatSync(abs).isSymbolicLink();
  } catch {
    return false;
  }
}

function choose<T>(items: readonly T[], index: number): T | undefined {
  return items.length === 0 ? undefined : items[index % items.length];
}

/** Runs `fn` on a file whose mode may forbid writing (0o444), as a non-root user could not otherwise. */
function withWritable(abs: string, fn: () => void): void {
  const mode = fs.statSync(abs).mode & 0o7777;
  if ((mode & 0o200) === 0) fs.chmodSync(abs, mode | 0o200);
  try {
    fn();
  } finally {
    fs.chmodSync(abs, mode);
  }
}

/** Puts a file's mtime back exactly; throws if the file system will not take it back (a test bug). */
function restoreMtime(abs: string, st: fs.BigIntStats): void {
  const now = setMtime(abs, st.mtimeNs, st.atimeNs);
  if (now !== st.mtimeNs) throw new Error(`test helper: could not restore mtime ${formatNs(st.mtimeNs)} of ${abs} (got ${formatNs(now)})`);
}

/**
 * Carries out `mutations` on the tree at `root`, in order; returns one line per mutation saying
 * what was done (or why it was skipped), for failure messages.
 */
export function applyMutations(root: string, mutations: readonly Mutation[]): string[] {
  const log: string[] = [];
  for (const m of mutations) log.push(applyMutation(root, m));
  return log;
}

function applyMutation(root: string, m: Mutation): string {
  const items = listTree(root);
  const files = items.filter((i) => i.type === 'file');
  const links = items.filter((i) => i.type === 'symlink');
  const dirs = items.filter((i) => i.type === 'dir');
  const subDirs = dirs.filter((i) => i.rel !== '');
  const q = (rel: string) => JSON.stringify(rel === '' ? '.' : rel);
  const skip = `${m.op}: nothing to act on`;

  switch (m.op) {
    case 'edit-same-size': {
      const f = choose(files.filter((i) => fs.lstatSync(i.abs).size > 0), m.pick);
      if (!f) return skip;
      const st = fs.lstatSync(f.abs, { bigint: true });
      const bytes = fs.readFileSync(f.abs);
      const at = m.at % bytes.length;
      bytes[at] = bytes[at]! ^ 0xa5;
      withWritable(f.abs, () => fs.writeFileSync(f.abs, bytes));
      restoreMtime(f.abs, st);
      return `edit ${q(f.rel)}: byte ${at} changed, same size ${bytes.length}, mtime kept at ${formatNs(st.mtimeNs)}`;
    }
    case 'resize': {
      const f = choose(files, m.pick);
      if (!f) return skip;
      const st = fs.lstatSync(f.abs, { bigint: true });
      const old = fs.readFileSync(f.abs);
      let size = Math.max(0, old.length + m.delta);
      if (size === old.length) size++;
      const bytes = Buffer.concat([old.subarray(0, size), seededBytes(Math.max(0, size - old.length), m.seed)]);
      withWritable(f.abs, () => fs.writeFileSync(f.abs, bytes));
      let mtime: bigint;
      if (m.keepMtime) {
        restoreMtime(f.abs, st);
        mtime = st.mtimeNs;
      } else {
        mtime = setMtime(f.abs, m.mtimeNs);
      }
      return `resize ${q(f.rel)}: ${old.length} -> ${size} bytes, mtime ${m.keepMtime ? 'kept at ' : ''}${formatNs(mtime)}`;
    }
    case 'touch': {
      const t = choose(items.filter((i) => i.type !== 'other'), m.pick);
      if (!t) return skip;
      const before = fs.lstatSync(t.abs, { bigint: true }).mtimeNs;
      const after = setMtime(t.abs, before + m.deltaNs);
      return `touch ${t.type} ${q(t.rel)}: mtime ${formatNs(before)} -> ${formatNs(after)}`;
    }
    case 'chmod': {
      const t = choose([...files, ...dirs], m.pick);
      if (!t) return skip;
      const modes: readonly number[] = t.type === 'dir' ? DIR_MODES : FILE_MODES;
      const before = fs.lstatSync(t.abs).mode & 0o7777;
      let mode = modes[m.modeIndex % modes.length]!;
      if (mode === before) mode = modes[(m.modeIndex + 1) % modes.length]!;
      fs.chmodSync(t.abs, mode);
      return `chmod ${t.type} ${q(t.rel)}: ${before.toString(8)} -> ${mode.toString(8)}`;
    }
    case 'delete-file': {
      const t = choose([...files, ...links], m.pick);
      if (!t) return skip;
      fs.unlinkSync(t.abs);
      return `delete ${t.type} ${q(t.rel)}`;
    }
    case 'delete-dir': {
      const t = choose(subDirs, m.pick);
      if (!t) return skip;
      const n = listTree(t.abs).length - 1;
      fs.rmSync(t.abs, { recursive: true });
      return `delete folder ${q(t.rel)} with ${n} items in it`;
    }
    case 'add': {
      const parent = choose(dirs, m.to)!;
      const name = freeName(parent.abs, m.name);
      materialize(path.join(parent.abs, name), m.item);
      return `add ${m.item.type} ${q(parent.rel === '' ? name : `${parent.rel}/${name}`)}`;
    }
    case 'rename': {
      const t = choose(m.kind === 'file' ? [...files, ...links] : subDirs, m.pick);
      if (!t) return skip;
      // Never into itself; anywhere else, under a name free there.
      const parent = choose(dirs.filter((d) => d.rel !== t.rel && !d.rel.startsWith(`${t.rel}/`)), m.to)!;
      const name = freeName(parent.abs, m.name);
      const rel = parent.rel === '' ? name : `${parent.rel}/${name}`;
      fs.renameSync(t.abs, path.join(parent.abs, name));
      return `rename ${t.type} ${q(t.rel)} -> ${q(rel)}`;
    }
    case 'retarget': {
      const t = choose(links, m.pick);
      if (!t) return skip;
      const st = fs.lstatSync(t.abs, { bigint: true });
      const before = fs.readlinkSync(t.abs);
      const target = m.target === before ? `${before}2` : m.target;
      fs.unlinkSync(t.abs);
      fs.symlinkSync(target, t.abs);
      setMtime(t.abs, st.mtimeNs);
      return `retarget symlink ${q(t.rel)}: ${JSON.stringify(before)} -> ${JSON.stringify(target)}, mtime kept`;
    }
    case 'replace': {
      const pool = m.from === 'file' ? files : m.from === 'symlink' ? links : subDirs;
      const t = choose(pool, m.pick);
      if (!t) return skip;
      let item = m.item;
      if (item.type === m.from) {
        // A change of type is the point: turn a same-type draw into the next type round.
        item = m.from === 'file' ? { type: 'symlink', target: 'nowhere', mtimeNs: 1_700_000_000n * NS_PER_SEC } : { type: 'file', size: 3, seed: 1, mode: 0o644, mtimeNs: 1_700_000_000n * NS_PER_SEC };
      }
      fs.rmSync(t.abs, { recursive: true });
      materialize(t.abs, item);
      return `replace ${t.type} ${q(t.rel)} with a ${item.type}`;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Looking at trees

export interface Snap {
  type: Found['type'];
  mode: number;
  size: number;
  mtimeNs: bigint;
  target?: string;
  sha256?: string;
}

export function sha256File(abs: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(abs)).digest('hex');
}

/** Everything a user could notice about each item under `root` (the root itself is ''). */
export function snapshotTree(root: string): Map<string, Snap> {
  const out = new Map<string, Snap>();
  for (const item of listTree(root)) {
    const st = fs.lstatSync(item.abs, { bigint: true });
    const snap: Snap = { type: item.type, mode: Number(st.mode & 0o7777n), size: Number(st.size), mtimeNs: st.mtimeNs };
    if (item.type === 'symlink') snap.target = fs.readlinkSync(item.abs);
    if (item.type === 'file') snap.sha256 = sha256File(item.abs);
    out.set(item.rel, snap);
  }
  return out;
}

export function describeSnap(s: Snap | undefined): string {
  if (!s) return '(absent)';
  const mtime = formatNs(s.mtimeNs);
  if (s.type === 'symlink') return `symlink -> ${JSON.stringify(s.target)} mtime ${mtime}`;
  const what = `${s.type} ${s.mode.toString(8).padStart(4, '0')} mtime ${mtime}`;
  return s.type === 'file' ? `${what} ${s.size} bytes sha256 ${s.sha256?.slice(0, 12)}` : what;
}

/** A listing of the tree for failure messages, one item a line, cut at `maxLines`. */
export function describeTree(root: string, maxLines = 80): string {
  if (!fs.existsSync(root)) return `${root}: (does not exist)`;
  const lines = [...snapshotTree(root)].map(([rel, s]) => `  ${JSON.stringify(rel === '' ? '.' : rel)}: ${describeSnap(s)}`);
  const cut = lines.length > maxLines ? [...lines.slice(0, maxLines), `  … ${lines.length - maxLines} more`] : lines;
  return `${root}:\n${cut.join('\n')}`;
}

/** The engine's temp-file name shape (see src/engine/temp-name.ts, restated so tests catch a change). */
export const TEMP_NAME = /^\.~synctray-[0-9a-f]{16}\.part$/;

/** Relative paths of every temp file anywhere under `root`. */
export function findTempFiles(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((rel) => TEMP_NAME.test(path.basename(rel)));
}
