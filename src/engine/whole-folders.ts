import { parentOf, type RelPath } from '../core/rel-path.js';
import type { Action } from './plan.js';

type MkdirAction = Extract<Action, { op: 'mkdir' }>;
type CopyAction = Extract<Action, { op: 'copy' }>;

/**
 * New folders of one parent with what goes in them, and new files directly in that parent, put by
 * one call of the destination's putFolders.
 */
export interface WholeFolderGroup {
  parent: RelPath;
  /** The new folders themselves (none inside another); none where the group holds files only. */
  tops: MkdirAction[];
  /** The new folders inside them, parents first. */
  inner: MkdirAction[];
  copies: CopyAction[];
}

export interface WholeFolderLimits {
  /** Files in one group: what a failed group costs to copy again, and how often progress moves. */
  files: number;
  /** Bytes in one group, for the same reasons. */
  bytes: number;
  /** Larger files go one by one, where a round trip is little beside the transfer. */
  fileBytes: number;
}

// On 2,000 small files to an SFTP server, one call a file took 3.4 ms a file and groups of 1,000
// about 1 ms. 64 MiB is a few seconds on a home uplink, and the most a failed group copies again.
export const WHOLE_FOLDER_LIMITS: WholeFolderLimits = { files: 4000, bytes: 64 * 1024 * 1024, fileBytes: 4 << 20 };

export interface WholeFolderChoice {
  groups: WholeFolderGroup[];
  /** The folders still to make one by one. */
  mkdirs: Action[];
  /** The copies still to make one by one. */
  copies: Action[];
}

/**
 * Fewer new files than this directly in a folder that is there go one by one: a group costs a few
 * calls of its own (the upload job, a listing, removing the temp folder), one file about four.
 */
const MIN_LOOSE = 16;

/**
 * What goes in groups to a destination that offers putFolders. New folders go whole: each
 * outermost new folder holding at least one file that can go with it (`takes`), and no more files
 * and bytes than a group holds; a folder holding more is made on its own and the folders in it are
 * looked at the same way. New files directly in a folder that is there by the time groups are put
 * (not one a move brings, `later`) go in groups too, where there are enough of them. Groups hold
 * one parent's, up to the limits, in the plan's order.
 */
export function chooseWholeFolders(
  mkdirs: readonly Action[],
  copies: readonly Action[],
  takes: (copy: CopyAction) => boolean,
  limits: WholeFolderLimits = WHOLE_FOLDER_LIMITS,
  later: (dir: RelPath) => boolean = () => false,
): WholeFolderChoice {
  // Only a folder with nothing at its path is new; one replacing a file goes the usual way.
  const fresh = new Map<RelPath, MkdirAction>();
  for (const a of mkdirs) if (a.op === 'mkdir' && a.replace.length === 0 && a.path !== '') fresh.set(a.path, a);
  const size = new Map<RelPath, { files: number; bytes: number }>();
  const taken = new Map<RelPath, CopyAction[]>();
  for (const a of copies) {
    if (a.op !== 'copy' || a.replace.length > 0 || a.src.type !== 'file' || a.src.size > limits.fileBytes) continue;
    if (later(parentOf(a.path)) || !takes(a)) continue;
    for (let dir = parentOf(a.path); fresh.has(dir); dir = parentOf(dir)) {
      const s = size.get(dir) ?? { files: 0, bytes: 0 };
      s.files++;
      s.bytes += a.src.size;
      size.set(dir, s);
    }
    const list = taken.get(parentOf(a.path)) ?? [];
    list.push(a);
    taken.set(parentOf(a.path), list);
  }

  const children = new Map<RelPath, RelPath[]>();
  for (const path of fresh.keys()) {
    const up = parentOf(path);
    const list = children.get(up);
    if (list) list.push(path);
    else children.set(up, [path]);
  }
  const chosen: RelPath[] = [];
  const visit = (dir: RelPath) => {
    const s = size.get(dir);
    if (s === undefined) return;
    if (s.files <= limits.files && s.bytes <= limits.bytes) chosen.push(dir);
    else for (const child of children.get(dir) ?? []) visit(child);
  };
  for (const path of fresh.keys()) if (!fresh.has(parentOf(path))) visit(path);

  const under = new Set<RelPath>();
  const groups: WholeFolderGroup[] = [];
  const open = new Map<RelPath, { group: WholeFolderGroup; files: number; bytes: number }>();
  /** The open group of `parent` with room for files and bytes more, or a new one. */
  const groupFor = (parent: RelPath, files: number, bytes: number) => {
    let o = open.get(parent);
    if (o === undefined || o.files + files > limits.files || o.bytes + bytes > limits.bytes) {
      o = { group: { parent, tops: [], inner: [], copies: [] }, files: 0, bytes: 0 };
      open.set(parent, o);
      groups.push(o.group);
    }
    o.files += files;
    o.bytes += bytes;
    return o.group;
  };
  for (const top of chosen) {
    const dirs = inside(top, children);
    for (const dir of dirs) under.add(dir);
    const s = size.get(top)!;
    const group = groupFor(parentOf(top), s.files, s.bytes);
    group.tops.push(fresh.get(top)!);
    group.inner.push(...dirs.slice(1).map((dir) => fresh.get(dir)!));
    group.copies.push(...dirs.flatMap((dir) => taken.get(dir) ?? []));
  }
  for (const [dir, loose] of taken) {
    if (under.has(dir) || loose.length < MIN_LOOSE) continue;
    for (const a of loose) groupFor(dir, 1, a.src.size).copies.push(a);
  }
  const grouped = new Set<Action>(groups.flatMap((g) => g.copies));
  return {
    groups,
    mkdirs: mkdirs.filter((a) => !under.has(a.path)),
    copies: copies.filter((a) => !grouped.has(a)),
  };
}

/** `top` and the new folders inside it, parents first. */
function inside(top: RelPath, children: ReadonlyMap<RelPath, RelPath[]>): RelPath[] {
  const out: RelPath[] = [];
  const stack = [top];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    out.push(dir);
    stack.push(...(children.get(dir) ?? []));
  }
  return out;
}
