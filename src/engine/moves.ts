import type { Entry } from '../core/entry.js';
import { baseName, isSameOrInside, parentOf, type RelPath } from '../core/rel-path.js';
import { sameTime } from './compare.js';
import type { Move, Plan } from './plan.js';
import type { Tree } from './tree.js';

/** A file renamed (not only moved to another folder) is matched from this size up; smaller ones are copied again. */
export const MIN_RENAMED_SIZE = 1024 * 1024;

export type { Move };

/**
 * Renames and moves in the source, found in a mirror's plan as an item to delete in the destination
 * and a new one to copy that are the same:
 * - a folder with the same mtime (moving or renaming a folder keeps it) and the same name or the
 *   same item names; what it holds is then compared at its new place like anything else, so a wrong
 *   match costs copies, never content;
 * - a file with the same size and the very same mtime, to the nanosecond, and either the same name
 *   (moved to another folder) or at least MIN_RENAMED_SIZE: two small files written in the same
 *   instant are common, and their content is never compared again once one is moved over the other.
 * Only a match that is the one of its kind counts: when two candidates fit equally well, nothing is
 * moved and the plan's copies and deletions stand. Pure.
 */
export function findMoves(plan: Plan, trees: { src: Tree; dst: Tree }, windowNs: bigint): Move[] {
  const gone: Gone[] = [];
  for (const a of plan.deletes) if (a.op === 'delete' && !a.temp) gone.push({ path: a.path, entry: a.entry });
  const newFolders: New[] = [];
  for (const a of plan.mkdirs)
    if (a.op === 'mkdir' && a.replace.length === 0) newFolders.push({ path: a.path, src: a.src });
  const goneFolders = gone.filter((g) => g.entry.type === 'dir');
  const children =
    goneFolders.length > 0 && newFolders.length > 0
      ? { src: childNames(trees.src), dst: childNames(trees.dst) }
      : undefined;
  const sameItems = (g: Gone, n: New) => {
    const a = children?.dst.get(g.path);
    const b = children?.src.get(n.path);
    return a !== undefined && b !== undefined && a.length === b.length && a.every((name, i) => name === b[i]);
  };
  const folders = outermost(
    matches(
      goneFolders,
      newFolders,
      // By the millisecond of the mtime: a folder keeps it when it is moved or renamed.
      (item) => String(('entry' in item ? item.entry : item.src).mtimeNs / 1_000_000n),
      (g, n) =>
        sameTime(g.entry.mtimeNs, n.src.mtimeNs, windowNs) &&
        (baseName(g.path) === baseName(n.path) || sameItems(g, n)),
      (g, n) => baseName(g.path) === baseName(n.path),
    ),
  );
  // Whatever lies below a moved folder moves with it.
  const inMoved = (path: RelPath, side: 'from' | 'to') =>
    folders.some((m) => isSameOrInside(path, m[side]) && path !== m[side]);
  const newFiles: New[] = [];
  for (const a of plan.transfers) {
    if (a.op === 'copy' && a.replace.length === 0 && a.src.type === 'file' && !inMoved(a.path, 'to'))
      newFiles.push({ path: a.path, src: a.src });
  }
  const files = matches(
    gone.filter((g) => g.entry.type === 'file' && !inMoved(g.path, 'from')),
    newFiles,
    // By size and exact mtime: files of one size (empty ones, say) would otherwise all be compared.
    (item) => {
      const e = 'entry' in item ? item.entry : item.src;
      return `${e.size}:${e.mtimeNs}`;
    },
    (g, n) =>
      g.entry.mtimeNs === n.src.mtimeNs && (n.src.size >= MIN_RENAMED_SIZE || baseName(g.path) === baseName(n.path)),
    (g, n) => baseName(g.path) === baseName(n.path),
  );
  return [...folders, ...files];
}

/** The folder moves not already carried by another (a folder inside a moved one moves with it). */
function outermost(moves: Move[]): Move[] {
  const inside = (m: Move, other: Move) =>
    m !== other && (isSameOrInside(m.from, other.from) || isSameOrInside(m.to, other.to));
  return moves.filter((m) => !moves.some((other) => inside(m, other)));
}

/** Every folder's item names, sorted. */
function childNames(tree: Tree): Map<RelPath, string[]> {
  const names = new Map<RelPath, string[]>();
  for (const [path, entry] of tree.entries) {
    if (path === '') continue;
    const parent = parentOf(path);
    const list = names.get(parent);
    if (list) list.push(entry.name);
    else names.set(parent, [entry.name]);
  }
  for (const list of names.values()) list.sort();
  return names;
}

type Gone = { path: RelPath; entry: Entry };
type New = { path: RelPath; src: Entry };

/**
 * Pairs each new item with the one gone item that fits it (among those with the same `key`),
 * `closer` settling ties; unique pairs only.
 */
function matches(
  gone: Gone[],
  added: New[],
  key: (item: Gone | New) => string | number,
  fits: (g: Gone, n: New) => boolean,
  closer: (g: Gone, n: New) => boolean,
): Move[] {
  const out: Move[] = [];
  if (gone.length === 0 || added.length === 0) return out;
  const byKey = new Map<string | number, Gone[]>();
  for (const g of gone) {
    const k = key(g);
    const bucket = byKey.get(k);
    if (bucket) bucket.push(g);
    else byKey.set(k, [g]);
  }
  const claimed = new Map<Gone, number>();
  const choice = new Map<New, Gone>();
  for (const n of added) {
    let candidates = (byKey.get(key(n)) ?? []).filter((g) => fits(g, n));
    if (candidates.length > 1) candidates = candidates.filter((g) => closer(g, n));
    if (candidates.length !== 1) continue;
    const g = candidates[0]!;
    choice.set(n, g);
    claimed.set(g, (claimed.get(g) ?? 0) + 1);
  }
  for (const [n, g] of choice) if (claimed.get(g) === 1) out.push({ from: g.path, to: n.path, entry: g.entry });
  return out;
}

/** The destination's listing as it will be once `moves` are made: moved items (and what they hold) re-keyed. */
export function afterMoves(dst: Tree, moves: readonly Move[]): Tree {
  if (moves.length === 0) return dst;
  const byFrom = new Map(moves.map((m) => [m.from, m]));
  const movedBy = (path: RelPath): Move | undefined => {
    for (let p = path; p !== ''; p = parentOf(p)) {
      const m = byFrom.get(p);
      if (m) return m;
    }
    return undefined;
  };
  const entries = new Map<RelPath, Entry>();
  for (const [path, entry] of dst.entries) {
    const m = movedBy(path);
    if (!m) entries.set(path, entry);
    else if (path === m.from) entries.set(m.to, { ...entry, name: baseName(m.to) });
    else entries.set(m.to + path.slice(m.from.length), entry);
  }
  return { ...dst, entries };
}
