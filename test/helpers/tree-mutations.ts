/**
 * Random changes to a tree on disk: the fast-check arbitrary that draws them, and the code that
 * carries them out and says what it did, for failure messages.
 */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { formatNs, NS_PER_SEC, setMtime } from './mtimes.js';
import { DIR_MODES, FILE_MODES, type TreeArbs } from './tree-arbitraries.js';
import { listTree } from './tree-inspect.js';
import { materialize, seededBytes, type DirSpec, type NodeSpec } from './tree-spec.js';

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
    children: fc.uniqueArray(fc.tuple(arbs.name, fc.oneof(arbs.file, arbs.link)), {
      selector: ([n]) => n,
      maxLength: 3,
    }),
  });
  const item = fc.oneof({ arbitrary: arbs.file, weight: 3 }, arbs.link, smallDir);
  const ms = 1_000_000n;
  const deltaNs = fc.oneof(
    fc.constantFrom(
      2n * ms,
      -2n * ms,
      999n * ms,
      NS_PER_SEC,
      -NS_PER_SEC,
      NS_PER_SEC + 1n,
      3600n * NS_PER_SEC,
      -86_400n * NS_PER_SEC,
    ),
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
    rename: fc.record({
      op: fc.constant('rename' as const),
      pick,
      to: pick,
      name: arbs.name,
      kind: fc.constantFrom('file' as const, 'dir' as const),
    }),
    retarget: fc.record({ op: fc.constant('retarget' as const), pick, target: arbs.link.map((l) => l.target) }),
    replace: fc.record({
      op: fc.constant('replace' as const),
      pick,
      from: fc.constantFrom('file' as const, 'dir' as const, 'symlink' as const),
      item,
    }),
  };
  const chosen = Object.entries(byOp)
    .filter(([op]) => !without.includes(op as Mutation['op']))
    .map(([, arb]) => arb as fc.Arbitrary<Mutation>);
  const mutation = fc.oneof(...chosen);
  return fc.array(mutation, { minLength: 1, maxLength });
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
  if (now !== st.mtimeNs)
    throw new Error(`test helper: could not restore mtime ${formatNs(st.mtimeNs)} of ${abs} (got ${formatNs(now)})`);
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
      const f = choose(
        files.filter((i) => fs.lstatSync(i.abs).size > 0),
        m.pick,
      );
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
      return (
        `resize ${q(f.rel)}: ${old.length} -> ${size} bytes, ` +
        `mtime ${m.keepMtime ? 'kept at ' : ''}${formatNs(mtime)}`
      );
    }
    case 'touch': {
      const t = choose(
        items.filter((i) => i.type !== 'other'),
        m.pick,
      );
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
      const parent = choose(
        dirs.filter((d) => d.rel !== t.rel && !d.rel.startsWith(`${t.rel}/`)),
        m.to,
      )!;
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
        item =
          m.from === 'file'
            ? { type: 'symlink', target: 'nowhere', mtimeNs: 1_700_000_000n * NS_PER_SEC }
            : { type: 'file', size: 3, seed: 1, mode: 0o644, mtimeNs: 1_700_000_000n * NS_PER_SEC };
      }
      fs.rmSync(t.abs, { recursive: true });
      materialize(t.abs, item);
      return `replace ${t.type} ${q(t.rel)} with a ${item.type}`;
    }
  }
}
