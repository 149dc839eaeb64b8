import { formatBytes, formatCountOf } from '../core/format.js';
import type { RelPath } from '../core/rel-path.js';
import { doomedFiles, type Plan } from './plan.js';

/** How many names of each kind a preview lists; the rest are counted. */
export const PREVIEW_NAMES = 10;

/**
 * What a run would do to the destination, told before it is done (issue 17): what it copies, and
 * what it takes away from the destination, replaced by another version or deleted.
 */
export interface Preview {
  /** Files and links written (new ones and new versions of existing ones), and their bytes. */
  copied: number;
  bytes: number;
  /** Destination files a newer version from the source replaces; the first PREVIEW_NAMES of them. */
  replaced: number;
  replacedNames: RelPath[];
  /** Destination files deleted, or replaced by an item of another type (a folder, a link); the first names. */
  deleted: number;
  deletedNames: RelPath[];
}

/** The preview of a plan (a dry run's `plan`). */
export function previewOf(plan: Plan): Preview {
  let copied = 0;
  const replaced: RelPath[] = [];
  for (const a of plan.transfers) {
    if (a.op !== 'copy') continue;
    copied++;
    if (a.replace.some((d) => d.path === a.path && d.entry.type === a.src.type)) replaced.push(a.path);
  }
  const deleted = doomedFiles(plan);
  // Sorted, so that the names shown are the same from one preview to the next.
  const first = (paths: RelPath[]) => paths.sort(byName).slice(0, PREVIEW_NAMES);
  return {
    copied,
    bytes: plan.bytes,
    replaced: replaced.length,
    replacedNames: first(replaced),
    deleted: deleted.length,
    deletedNames: first(deleted),
  };
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Whether the run would take nothing away from the destination: then there is nothing to ask. */
export function losesNothing(p: Preview): boolean {
  return p.replaced === 0 && p.deleted === 0;
}

/**
 * The preview for people, a line each, for a terminal or a dialog. `versions` is where what goes
 * is kept; undefined when the pair keeps no versions (it is lost).
 */
export function previewText(p: Preview, versions: string | undefined): string {
  const lines = [`  copy ${formatCountOf(p.copied, 'file')} (${formatBytes(p.bytes)})`];
  const names = (count: number, shown: RelPath[]) => {
    for (const n of shown) lines.push(`      ${n}`);
    if (count > shown.length) lines.push(`      … and ${count - shown.length} more`);
  };
  if (p.replaced > 0) {
    lines.push(`  replace ${formatCountOf(p.replaced, 'existing file')} with the source's version:`);
    names(p.replaced, p.replacedNames);
  }
  if (p.deleted > 0) {
    lines.push(`  delete ${formatCountOf(p.deleted, 'file')} the source does not have:`);
    names(p.deleted, p.deletedNames);
  }
  if (!losesNothing(p))
    lines.push(
      versions !== undefined
        ? `What it replaces or deletes is moved to the versions folder ${versions}, not destroyed.`
        : 'What it replaces or deletes is lost: no versions are kept.',
    );
  return lines.join('\n');
}

/**
 * Refuses (RefusedError from the caller's side: the message) a plan that takes away more than the
 * user agreed to after a preview: the destination changed between the two.
 */
export function grewBeyond(plan: Plan, agreed: Pick<Preview, 'replaced' | 'deleted'>): string | undefined {
  const now = previewOf(plan);
  if (now.deleted <= agreed.deleted && now.replaced <= agreed.replaced) return undefined;
  return (
    `The folders changed since the preview: this run would now replace ${formatCountOf(now.replaced, 'file')} ` +
    `and delete ${formatCountOf(now.deleted, 'file')}, where you agreed to ${agreed.replaced} and ${agreed.deleted}.`
  );
}
