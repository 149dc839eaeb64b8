// `npm run bench [-- --files N --rounds N]`: times `synctray sync --mode mirror` against
// `rsync -a --delete` on a generated tree, in three scenarios (first copy, no-op re-run, re-run
// after 1% of the files changed), and prints medians, ratios against the targets and peak RSS.
// It measures; it does not judge: the exit status is 0 whatever the numbers, non-zero only when
// something broke (1) or it was interrupted (130). Run `npm run build` first.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import {
  benchFrame,
  describeCommand,
  exitText,
  formatBytes,
  formatTable,
  freeBytes,
  makeContentPool,
  makeScratchDir,
  median,
  megabytes,
  mutateTree,
  parseFilesAndRounds,
  planTree,
  probeGnuTime,
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

const TREE_SEED = 0x5eed;
const CONTENT_SEED = 0xc0ffee;
const MUTATION_SEED = 0xbadc0de;
const CHANGED_SHARE = 0.01;
const RSS_TARGET_MB = 200;

const USAGE = `Usage: npm run bench -- [--files N] [--rounds N]

  --files N    files in the generated tree (default 20000, in folders of 20)
  --rounds N   timed runs per tool and scenario; medians are reported (default 3)`;

/** The tools timed; `cp -a` only as the floor of the first copy. */
const TOOLS = {
  synctray: (src, dst) => [process.execPath, [CLI, 'sync', src, dst, '--mode', 'mirror', '--quiet']],
  rsync: (src, dst) => ['rsync', ['-a', '--delete', `${src}/`, `${dst}/`]],
  'cp -a': (src, dst) => ['cp', ['-a', src, dst]],
};

/**
 * Each scenario brings a tool's destination (and the source) into its starting state, untimed.
 * The no-op scenario starts from what the first copy left, which was verified equal.
 */
const SCENARIOS = [
  {
    name: 'first copy',
    target: 0.6,
    tools: ['synctray', 'rsync', 'cp -a'],
    prepare: async (ws, tool) => removeTree(ws.dst[tool]),
  },
  {
    name: 'no-op',
    target: 0.6,
    tools: ['synctray', 'rsync'],
    prepare: async () => {},
  },
  {
    name: '1% changed',
    target: 0.8,
    tools: ['synctray', 'rsync'],
    // Every tool and round gets the same change set against an exact copy of the synced state.
    prepare: async (ws, tool) => {
      removeTree(ws.dst[tool]);
      await runChecked('cp', ['-a', ws.pristine, ws.dst[tool]]);
      removeTree(ws.src);
      await runChecked('cp', ['-a', ws.pristine, ws.src]);
      const changed = mutateTree(ws.src, ws.tree, ws.changedFiles, MUTATION_SEED, ws.pool);
      if (changed.files !== ws.changedFiles)
        throw new Error(`changed ${changed.files} files, expected ${ws.changedFiles}`);
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Interruption and cleanup

let scratchDir;

function cleanUp() {
  if (scratchDir === undefined) return;
  removeTree(scratchDir);
  scratchDir = undefined;
}

const { checkpoint, run } = benchFrame('bench', { cleanUp, stopping: 'stopping and removing the scratch files' });

// ---------------------------------------------------------------------------------------------
// Setup

/** The working tree: the generated source and one destination per tool, in the scratch dir. */
async function makeWorkspace(dir, files) {
  const tree = planTree(files, TREE_SEED);
  // Source, pristine copy and three destinations; tmpfs rounds each small file up to a page.
  const needed = 5 * (tree.totalBytes + (tree.files.length + tree.folders.length) * 4096);
  if (freeBytes(dir) < needed) {
    throw new Error(`${formatBytes(needed)} of free space needed in ${dir}, only ${formatBytes(freeBytes(dir))} free`);
  }
  const pool = makeContentPool(CONTENT_SEED);
  const ws = {
    tree,
    pool,
    src: path.join(dir, 'src'),
    pristine: path.join(dir, 'pristine'),
    dst: Object.fromEntries(Object.keys(TOOLS).map((t) => [t, path.join(dir, `dst-${t.replace(/\W+/g, '')}`)])),
    changedFiles: Math.max(1, Math.round(files * CHANGED_SHARE)),
  };
  const started = performance.now();
  await writeTree(ws.src, tree, pool, CONTENT_SEED, checkpoint);
  await runChecked('cp', ['-a', ws.src, ws.pristine]);
  // Untimed: fill every destination once, so that round 1 of the first copy, like every later
  // round, reuses the kernel inode and dentry caches freed by deleting the destination. Without
  // this, round 1 ran about 2x slower for every tool, cp -a included.
  for (const dst of Object.values(ws.dst)) await runChecked('cp', ['-a', ws.src, dst]);
  return { ws, setupMs: performance.now() - started };
}

// ---------------------------------------------------------------------------------------------
// Measuring

/** `rsync -anic` itemizes every difference (content by checksum, times, modes, extras). */
async function verifyEqual(src, dst, what) {
  const r = await runChecked('rsync', ['-anic', '--delete', `${src}/`, `${dst}/`]);
  const diff = r.stdout.trim();
  if (diff) {
    const lines = diff.split('\n');
    const shown =
      lines.slice(0, 20).join('\n    ') + (lines.length > 20 ? `\n    ... and ${lines.length - 20} more` : '');
    throw new Error(
      `${what}: the destination does not match the source; rsync -anic --delete reports ${lines.length} ` +
        `difference(s):\n    ${shown}`,
    );
  }
}

async function timedRun(ws, scenario, tool, round, rssDir) {
  await scenario.prepare(ws, tool);
  await checkpoint();
  const [cmd, args] = TOOLS[tool](ws.src, ws.dst[tool]);
  const rssFile = rssDir && path.join(rssDir, 'rss');
  const r = await timeCommand(cmd, args, rssFile);
  await checkpoint();
  const what = `${tool}, ${scenario.name}, round ${round + 1}`;
  if (r.status !== 0)
    throw new Error(`${what}: ${describeCommand(cmd, args)} failed (${exitText(r)})\n${r.stderr}${r.stdout}`);
  if (tool === 'synctray') await verifyEqual(ws.src, ws.dst[tool], what);
  const rss = r.rssKb === undefined ? '' : `  ${megabytes(r.rssKb).padStart(6)} MB`;
  console.log(
    `  ${scenario.name.padEnd(10)}  round ${round + 1}  ${tool.padEnd(8)}  ${seconds(r.ms).padStart(8)} s${rss}`,
  );
  return { ms: r.ms, rssKb: r.rssKb };
}

/** Alternates which of synctray and rsync goes first, round by round; `cp -a` comes last. */
function orderFor(scenario, round) {
  const pair = round % 2 === 0 ? ['synctray', 'rsync'] : ['rsync', 'synctray'];
  return [...pair, ...scenario.tools.filter((t) => !pair.includes(t))];
}

async function runScenarios(ws, rounds, rssDir) {
  const results = {};
  for (const scenario of SCENARIOS) {
    results[scenario.name] = Object.fromEntries(scenario.tools.map((t) => [t, []]));
    for (let round = 0; round < rounds; round++) {
      for (const tool of orderFor(scenario, round)) {
        results[scenario.name][tool].push(await timedRun(ws, scenario, tool, round, rssDir));
      }
    }
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// Report

const peakKb = (runs) => (runs.some((r) => r.rssKb === undefined) ? undefined : Math.max(...runs.map((r) => r.rssKb)));
const mb = (kb) => (kb === undefined ? 'n/a' : megabytes(kb));

function report(results, rssMeasured) {
  const rows = SCENARIOS.map((s) => {
    const mine = median(results[s.name].synctray.map((r) => r.ms));
    const theirs = median(results[s.name].rsync.map((r) => r.ms));
    const ratio = mine / theirs;
    return [
      s.name,
      seconds(mine),
      seconds(theirs),
      ratio.toFixed(2),
      `<= ${s.target.toFixed(1)}`,
      ratio <= s.target ? 'PASS' : 'MISS',
      mb(peakKb(results[s.name].synctray)),
      mb(peakKb(results[s.name].rsync)),
    ];
  });
  console.log(
    formatTable(
      ['scenario', 'synctray s', 'rsync s', 'ratio', 'target', 'result', 'synctray RSS MB', 'rsync RSS MB'],
      rows,
    ),
  );
  console.log(
    `\nFloor for the first copy: cp -a, median ${seconds(median(results['first copy']['cp -a'].map((r) => r.ms)))} s`,
  );
  if (rssMeasured) {
    const peak = Math.max(...SCENARIOS.map((s) => peakKb(results[s.name].synctray)));
    const rsyncPeak = Math.max(...SCENARIOS.map((s) => peakKb(results[s.name].rsync)));
    const verdict = peak / 1024 <= RSS_TARGET_MB ? 'PASS' : 'MISS';
    console.log(`Peak RSS of synctray: ${megabytes(peak)} MB (target <= ${RSS_TARGET_MB} MB): ${verdict}`);
    console.log(`Peak RSS of rsync, for reference: ${megabytes(rsyncPeak)} MB (its largest single process)`);
  } else {
    console.log('Peak RSS: not measured (GNU time is not at /usr/bin/time; `apt-get install time` provides it).');
  }
  console.log('(ratio = synctray median / rsync median; RSS = max over the rounds, MB = 1024 KiB)');
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const options = parseFilesAndRounds(process.argv.slice(2), { files: 20000, rounds: 3 });
  if (options === 'help') {
    console.log(USAGE);
    return;
  }
  const started = performance.now();
  if (!fs.existsSync(CLI)) throw new Error(`${path.relative(ROOT, CLI)} is missing: run \`npm run build\` first`);
  const staleWarning = staleBuildWarning(ROOT);
  const rsyncVersion = toolVersion('rsync', ['--version']);
  if (!rsyncVersion)
    throw new Error('rsync is needed to compare against and to verify results: install it (apt-get install rsync)');

  const scratch = makeScratchDir();
  scratchDir = scratch.dir;
  const rssMeasured = probeGnuTime(scratch.dir);

  console.log(`SyncTray benchmark, ${new Date().toString()}`);
  console.log(
    `Machine: nproc ${os.availableParallelism()}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ` +
      `${formatBytes(os.totalmem())} RAM`,
  );
  console.log(`Node ${process.version} (${process.execPath}), ${rsyncVersion}`);
  console.log(`Working in ${scratch.dir}`);
  for (const warning of [scratch.warning, staleWarning]) if (warning) console.log(`WARNING: ${warning}`);
  if (!rssMeasured) console.log('WARNING: GNU time not found at /usr/bin/time: peak RSS will not be measured.');

  const { ws, setupMs } = await makeWorkspace(scratch.dir, options.files);
  const { tree } = ws;
  console.log(
    `Tree: ${tree.files.length} files (${tree.bigFiles} of 64 KiB-1 MiB) in ${tree.folders.length} folders, ` +
      `${formatBytes(tree.totalBytes)}; generated and copied (untimed) in ${seconds(setupMs)} s`,
  );
  console.log(`${options.rounds} round(s) per scenario; 1% changed = ${ws.changedFiles} files\n`);

  const results = await runScenarios(ws, options.rounds, rssMeasured ? scratch.dir : undefined);
  console.log('');
  report(results, rssMeasured);
  console.log(`\nTotal time: ${seconds(performance.now() - started)} s`);
}

await run(main);
