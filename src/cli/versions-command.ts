import path from 'node:path';
import { formatBytes } from '../core/format.js';
import { versionPath, type ListedVersion } from '../service/pair-versions.js';
import { formatLocalTime } from './at-time.js';
import { command, CONFIG_DIR_OPTION } from './command.js';
import { ExitCode } from './exit-codes.js';
import { findPair, openPairOps } from './pair-ops.js';
import type { Pair } from '../config/schema.js';

const VERSIONS_HELP = `Usage: synctray versions <name|id> [PATH] [--json] [--config-dir DIR]

What a pair's syncs set aside instead of deleting or overwriting it, newest
first: each version's path, when it was set aside, why (deleted or replaced),
its size and its modification time. PATH picks a file, or everything under a
folder, as the pair's folders name it (docs/cv.txt, docs).

      --json                  one JSON array: [{"path", "setAside", "reason",
                              "size", "mtime"}, ...], times in ISO 8601
      --config-dir DIR        the config whose pair it is

Bring one back with 'synctray restore <name|id> <PATH>'.`;

/** `synctray versions PAIR [PATH]`: the versions kept for a pair, through the running service or offline. */
export const versionsCommand = command({
  name: 'versions',
  usage: VERSIONS_HELP,
  options: { ...CONFIG_DIR_OPTION, json: { type: 'boolean' } },
  takes: { min: 1, max: 2, what: 'a pair, by name or id, and a path in it if you like' },
  async run({ values: v, positionals }, io) {
    const ops = await openPairOps(v['config-dir'], io);
    const pair = findPair(ops, positionals[0]!);
    const prefix = pathInPair(pair, positionals[1] ?? '');
    const versions = await ops.versions(pair.id, prefix);
    if (v.json) io.stdout.write(`${JSON.stringify(versions)}\n`);
    else io.stdout.write(versionsText(pair, prefix, versions));
    return ExitCode.OK;
  },
});

/**
 * A path the user gave for a pair: relative to its folders, or an absolute one inside its source
 * (what a file manager copies).
 */
export function pathInPair(pair: Pair, typed: string): string {
  if (path.isAbsolute(typed)) {
    const rel = path.relative(pair.source, path.resolve(typed));
    if (!rel.startsWith('..') && !path.isAbsolute(rel)) return versionPath(rel.split(path.sep).join('/'));
  }
  return versionPath(typed);
}

const HEADS = ['SET ASIDE', 'WHY', 'SIZE', 'MODIFIED', 'PATH'] as const;

/** The versions as an aligned table, or a sentence when there are none. */
export function versionsText(pair: Pair, prefix: string, versions: readonly ListedVersion[]): string {
  const under = prefix === '' ? '' : ` under ${prefix}`;
  if (versions.length === 0) return `Pair "${pair.name}" has no versions${under}.\n`;
  const rows = versions.map((x) => [
    formatLocalTime(x.setAside),
    x.reason,
    formatBytes(x.size),
    formatLocalTime(x.mtime),
    x.path,
  ]);
  const widths = HEADS.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === 2 ? c.padStart(widths[i]!) : i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ');
  const count = versions.length === 1 ? '1 version' : `${versions.length} versions`;
  return (
    `${count} of pair "${pair.name}"${under}, newest first (times local):\n` +
    `${[line(HEADS), ...rows.map(line)].join('\n')}\n`
  );
}
