// `npm run bench:versions [-- --files N --rounds N]`: what keeping versions costs. A mirror
// run that deletes half of a generated tree (10,000 of 20,000 files by default, every other file
// of every folder) is timed with versions kept on the same drive (`--versions`, inside the
// destination, as a pair keeps them) and without, side by side, with rsync doing the same both
// ways (`--backup --backup-dir`) for reference. Target: with versions at most 1.2x without.
// It measures; it does not judge: exit 0 whatever the numbers. Run `npm run build` first.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import {
  benchFrame,
  describeCommand,
  describePlace,
  exitText,
  formatBytes,
  formatTable,
  makeContentPool,
  makeScratchDir,
  median,
  parseFilesAndRounds,
  planTree,
  removeTree,
  runChecked,
  seconds,
  staleBuildWarning,
  timeCommand,
  toolVersion,
  writeTree,
} from './bench-lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const TREE_SEED = 0x7e25;
const CONTENT_SEED = 0xfeed;
const TARGET = 1.2;
const VERSIONS = '.versions';

const USAGE = `Usage: npm run bench:versions -- [--files N] [--rounds N]

  --files N    files in the generated tree; the run deletes half of them (default 20000)
  --rounds N   timed runs per variant; medians are reported (default 5)

It works on a tmpfs where there is one (/dev/shm), as npm run bench does.`;

/** The variants timed, each a command given the source and destination. */
const VARIANTS = {
  'synctray, no versions': (src, dst) => [process.execPath, [CLI, ...syncArgs(src, dst)]],
  'synctray, versions': (src, dst) => [
    process.execPath,
    [CLI, ...syncArgs(src, dst), '--versions', path.join(dst, VERSIONS)],
  ],
  'rsync, no backup': (src, dst) => ['rsync', ['-a', '--delete', `${src}/`, `${dst}/`]],
  'rsync, --backup-dir': (src, dst) => [
    'rsync',
    [
      '-a',
      '--delete',
      '--backup',
      `--backup-dir=${path.join(dst, VERSIONS, 'run')}`,
      `--exclude=/${VERSIONS}`,
      `${src}/`,
      `${dst}/`,
    ],
  ],
};
// --force: half the files going trips the mass-deletion guard, which is not what is timed.
const syncArgs = (src, dst) => ['sync', src, dst, '--mode', 'mirror', '--force', '--quiet'];

let scratchDir;
function cleanUp() {
  if (scratchDir === undefined) return;
  removeTree(scratchDir);
  scratchDir = undefined;
}
const { checkpoint, run } = benchFrame('bench:versions', {
  cleanUp,
  stopping: 'stopping and removing the scratch files',
});

/** The full tree (pristine, the destination's state before each run) and the source with half gone. */
async function makeWorkspace(dir, files) {
  const tree = planTree(files, TREE_SEED);
  const pool = makeContentPool(CONTENT_SEED);
  const ws = { pristine: path.join(dir, 'pristine'), src: path.join(dir, 'src'), dst: path.join(dir, 'dst') };
  await writeTree(ws.pristine, tree, pool, CONTENT_SEED, checkpoint);
  await runChecked('cp', ['-a', ws.pristine, ws.src]);
  const gone = tree.files.filter((_, i) => i % 2 === 1);
  for (const f of gone) fs.rmSync(path.join(ws.src, f.rel));
  // Removing files moved the folders' times: back to the pristine ones, so only deletions differ.
  for (const folder of tree.folders) {
    const st = fs.statSync(path.join(ws.pristine, folder));
    fs.utimesSync(path.join(ws.src, folder), st.atime, st.mtime);
  }
  return { ws, tree, deleted: gone.length };
}

/** Files under `dir`, counted. */
function countFiles(dir) {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) n++;
  return n;
}

async function timedRun(ws, variant, round, deleted) {
  removeTree(ws.dst);
  await runChecked('cp', ['-a', ws.pristine, ws.dst]);
  await checkpoint();
  const [cmd, args] = VARIANTS[variant](ws.src, ws.dst);
  const r = await timeCommand(cmd, args);
  await checkpoint();
  const what = `${variant}, round ${round + 1}`;
  if (r.status !== 0)
    throw new Error(`${what}: ${describeCommand(cmd, args)} failed (${exitText(r)})\n${r.stderr}${r.stdout}`);
  const itemized = (
    await runChecked('rsync', ['-anic', '--delete', `--exclude=/${VERSIONS}`, `${ws.src}/`, `${ws.dst}/`])
  ).stdout.trim();
  // rsync makes its --backup-dir after it has set the root's time back: the root's time is its own.
  const diff = variant.startsWith('rsync')
    ? itemized
        .split('\n')
        .filter((l) => l !== '.d..t...... ./')
        .join('\n')
    : itemized;
  if (diff)
    throw new Error(`${what}: the destination does not match the source:\n${diff.split('\n').slice(0, 10).join('\n')}`);
  const kept = fs.existsSync(path.join(ws.dst, VERSIONS)) ? countFiles(path.join(ws.dst, VERSIONS)) : 0;
  const expected = variant.endsWith('no versions') || variant.endsWith('no backup') ? 0 : deleted;
  if (kept !== expected) throw new Error(`${what}: ${kept} files kept as versions, expected ${expected}`);
  console.log(`  round ${round + 1}  ${variant.padEnd(22)}  ${seconds(r.ms).padStart(8)} s`);
  return r.ms;
}

async function main() {
  const options = parseFilesAndRounds(process.argv.slice(2), { files: 20000, rounds: 5 });
  if (options === 'help') {
    console.log(USAGE);
    return;
  }
  const started = performance.now();
  if (!fs.existsSync(CLI)) throw new Error(`${path.relative(ROOT, CLI)} is missing: run \`npm run build\` first`);
  const rsyncVersion = toolVersion('rsync', ['--version']);
  if (!rsyncVersion)
    throw new Error('rsync is needed to compare against and to verify results: install it (apt-get install rsync)');
  const scratch = makeScratchDir('synctray-bench-versions-');
  scratchDir = scratch.dir;
  console.log(`SyncTray versions benchmark, ${new Date().toString()}`);
  console.log(
    `Machine: nproc ${os.availableParallelism()}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ` +
      `${formatBytes(os.totalmem())} RAM`,
  );
  console.log(`Node ${process.version}, ${rsyncVersion}`);
  console.log(`Working in ${describePlace(scratch.dir)}`);
  for (const warning of [scratch.warning, staleBuildWarning(ROOT)]) if (warning) console.log(`WARNING: ${warning}`);

  const { ws, tree, deleted } = await makeWorkspace(scratch.dir, options.files);
  console.log(`Tree: ${tree.files.length} files in ${tree.folders.length} folders; each run deletes ${deleted}\n`);
  const times = Object.fromEntries(Object.keys(VARIANTS).map((v) => [v, []]));
  for (let round = 0; round < options.rounds; round++) {
    // Alternated, so that neither variant always runs on a warmer cache.
    const order = round % 2 === 0 ? Object.keys(VARIANTS) : Object.keys(VARIANTS).reverse();
    for (const variant of order) times[variant].push(await timedRun(ws, variant, round, deleted));
  }
  const med = Object.fromEntries(Object.entries(times).map(([v, ms]) => [v, median(ms)]));
  const ratio = med['synctray, versions'] / med['synctray, no versions'];
  const rsyncRatio = med['rsync, --backup-dir'] / med['rsync, no backup'];
  console.log('');
  console.log(
    formatTable(
      ['variant', 'median s', 'min-max s'],
      Object.entries(times).map(([v, ms]) => [
        v,
        seconds(med[v]),
        `${seconds(Math.min(...ms))}-${seconds(Math.max(...ms))}`,
      ]),
    ),
  );
  console.log('');
  console.log(
    formatTable(
      ['measure', 'ratio', 'target', 'result'],
      [
        ['synctray: versions / none', ratio.toFixed(2), `<= ${TARGET}`, ratio <= TARGET ? 'PASS' : 'MISS'],
        ['rsync: --backup-dir / none', rsyncRatio.toFixed(2), 'reported', ''],
        [
          'synctray versions / rsync --backup-dir',
          (med['synctray, versions'] / med['rsync, --backup-dir']).toFixed(2),
          'reported',
          '',
        ],
      ],
    ),
  );
  console.log(`\nTotal time: ${seconds(performance.now() - started)} s`);
}

await run(main);
