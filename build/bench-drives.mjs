// `npm run bench:drives [-- --files N --rounds N]`: SyncTray against rsync on a real exFAT drive
// (exfat-fuse on a loop device, so it needs root), in the two scenarios of issue 14's speed target:
// the first copy of a generated tree, and a no-op re-run of it, which should take at most 1.2x
// `rsync -a --modify-window=1 --no-perms`. Both tools write to the same drive, one folder each, in
// alternating order; medians are reported. It measures; it does not judge: the exit status is 0
// whatever the numbers, 1 when something broke, 130 when interrupted. The mount, the loop device
// and every file are removed whatever happens. Run `npm run build` first.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  EXFAT_DRIVE_TOOLS,
  ExfatLoopDrive,
  FUSE_CACHE_PAUSE_MS,
  benchFrame,
  describeCommand,
  describePlace,
  exitText,
  formatBytes,
  formatTable,
  itemizedDifferences,
  makeContentPool,
  makeRng,
  median,
  missingTools,
  mountOf,
  parseFilesAndRounds,
  randInt,
  removeTree,
  runCommand,
  seconds,
  staleBuildWarning,
  toolVersion,
} from './bench-lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

const TREE_SEED = 0xd15c;
const CONTENT_SEED = 0xe8fa7;
const TOP_FOLDERS = 5;
const SUBFOLDERS = 5;
const NO_OP_TARGET = 1.2;
const IMAGE_MIB = 1024;
/** A timed run that takes longer than this is stuck (a hung FUSE daemon, say), not slow. */
const RUN_TIMEOUT_MS = 10 * 60_000;
const RSYNC_FLAGS = ['-a', '--modify-window=1', '--no-perms'];

const USAGE = `Usage: npm run bench:drives -- [--files N] [--rounds N]

  --files N    files in the generated tree (default 5000, 1-8 KiB each, in ${TOP_FOLDERS * SUBFOLDERS} folders)
  --rounds N   timed runs per tool and scenario; medians are reported (default 5)

Needs root, /dev/fuse, exfat-fuse, exfatprogs and rsync.`;

/** The commands timed; `dst` is the tool's own folder on the drive. */
const TOOLS = {
  synctray: (src, dst) => [process.execPath, [CLI, 'sync', src, dst, '--quiet', '--json']],
  rsync: (src, dst) => ['rsync', [...RSYNC_FLAGS, `${src}/`, `${dst}/`]],
};

const SCENARIOS = [
  // A fresh destination each round: the folder is removed (untimed) first.
  { name: 'first copy', prepare: (dst) => removeTree(dst) },
  // Starts from what the first copy left, verified equal to the source.
  { name: 'no-op', prepare: () => {} },
];

// ---------------------------------------------------------------------------------------------
// Interruption and cleanup

/** What exists and must go: the source's scratch folder and the drive. */
const made = { source: undefined, drive: undefined };

/** Blocking, so that it also runs from the 'exit' handler; reports what it cannot remove rather than throw. */
function cleanUp() {
  made.drive?.remove();
  made.drive = undefined;
  try {
    if (made.source !== undefined) removeTree(made.source);
  } catch (err) {
    process.stderr.write(`bench: cleaning up: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  made.source = undefined;
}

const { checkpoint, run } = benchFrame('bench:drives', {
  cleanUp,
  stopping: 'stopping, unmounting the drive and removing the scratch files',
});

// ---------------------------------------------------------------------------------------------
// Setup

function checkMachine() {
  if (process.platform !== 'linux') throw new Error('this benchmark makes a loop device: it needs Linux');
  if (process.getuid?.() !== 0) throw new Error('this benchmark makes a loop device and mounts it: run it as root');
  if (!fs.existsSync('/dev/fuse')) throw new Error('/dev/fuse is missing: exfat-fuse needs FUSE');
  const missing = missingTools({ rsync: 'rsync', ...EXFAT_DRIVE_TOOLS });
  if (missing) throw new Error(missing);
  if (!fs.existsSync(CLI)) throw new Error(`${path.relative(ROOT, CLI)} is missing: run \`npm run build\` first`);
}

/**
 * The source goes on the system disk, as a user's files would be: the first of the temp folders
 * that is not a tmpfs. The drive's image goes on tmpfs when there is one, so that what is timed is
 * the path through exfat-fuse rather than the disk's writeback behind the loop device.
 */
function pickPlaces() {
  const described = (dir) => ({ dir, tmpfs: mountOf(dir)?.type === 'tmpfs', text: describePlace(dir) });
  const candidates = [...new Set([os.tmpdir(), '/var/tmp'])].filter((d) => {
    try {
      fs.accessSync(d, fs.constants.W_OK);
      return true;
    } catch {
      return false;
    }
  });
  const onDisk = candidates.map(described).find((c) => !c.tmpfs);
  const source = onDisk ?? described(candidates[0] ?? os.tmpdir());
  const shm = fs.existsSync('/dev/shm') && mountOf('/dev/shm')?.type === 'tmpfs' ? described('/dev/shm') : source;
  return {
    source,
    image: shm,
    warning: onDisk ? undefined : `no temp folder on a disk: the source is on ${source.text}`,
  };
}

/**
 * `count` files of 1-8 KiB, spread evenly over TOP_FOLDERS x SUBFOLDERS folders, each with a
 * different sub-second mtime, which exFAT will round to whole seconds.
 */
async function writeSource(root, count) {
  const rng = makeRng(TREE_SEED);
  const pool = makeContentPool(CONTENT_SEED);
  const base = Date.UTC(2024, 4, 1) / 1000;
  const leaves = [];
  for (let t = 0; t < TOP_FOLDERS; t++)
    for (let s = 0; s < SUBFOLDERS; s++) leaves.push(path.join(`album-${t}`, `day-${s}`));
  for (const leaf of leaves) fs.mkdirSync(path.join(root, leaf), { recursive: true });
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const size = randInt(rng, 1024, 8192);
    const offset = randInt(rng, 0, pool.length - size);
    const file = path.join(root, leaves[i % leaves.length], `img-${String(i).padStart(5, '0')}.jpg`);
    fs.writeFileSync(file, pool.subarray(offset, offset + size));
    const mtime = base + i * 3 + 0.001 + rng() * 0.998;
    fs.utimesSync(file, mtime, mtime);
    bytes += size;
    if (i % 500 === 0) await checkpoint();
  }
  return { files: count, folders: leaves.length + TOP_FOLDERS, bytes };
}

// ---------------------------------------------------------------------------------------------
// Measuring

async function timedRun(ws, scenario, tool, round) {
  const dst = ws.dst[tool];
  scenario.prepare(dst);
  await sleep(FUSE_CACHE_PAUSE_MS);
  await checkpoint();
  const [cmd, args] = TOOLS[tool](ws.src, dst);
  const r = await runCommand(cmd, args, { timeoutMs: RUN_TIMEOUT_MS });
  await checkpoint();
  const what = `${tool}, ${scenario.name}, round ${round + 1}`;
  if (r.status !== 0)
    throw new Error(`${what}: ${describeCommand(cmd, args)} failed (${exitText(r)})\n${r.stderr}${r.stdout}`);
  let counts = '';
  let summary;
  if (tool === 'synctray') {
    summary = JSON.parse(r.stdout.trim().split('\n').pop());
    counts =
      `  copied ${summary.copied}, updated ${summary.updated}, ` +
      `metadata ${summary.metadata}, failed ${summary.failed}`;
  }
  console.log(
    `  ${scenario.name.padEnd(10)}  round ${round + 1}  ${tool.padEnd(8)}  ${seconds(r.ms).padStart(8)} s${counts}`,
  );
  return { ms: r.ms, summary };
}

async function runScenarios(ws, rounds) {
  const results = {};
  for (const scenario of SCENARIOS) {
    results[scenario.name] = { synctray: [], rsync: [] };
    for (let round = 0; round < rounds; round++) {
      // Alternating who goes first, so that neither always runs right after the other's writes.
      const order = round % 2 === 0 ? ['synctray', 'rsync'] : ['rsync', 'synctray'];
      for (const tool of order) results[scenario.name][tool].push(await timedRun(ws, scenario, tool, round));
    }
    if (scenario.name === 'first copy') await checkCopies(ws);
  }
  return results;
}

/** Both copies must hold the source's bytes, or the no-op runs compare different work. */
async function checkCopies(ws) {
  for (const tool of Object.keys(TOOLS)) {
    const diff = await itemizedDifferences(ws.src, ws.dst[tool], [...RSYNC_FLAGS, '-c']);
    const wrong = diff.filter((line) => !/^\.d/.test(line));
    if (wrong.length > 0) {
      throw new Error(
        `after the first copy, ${tool}'s copy differs from the source; rsync -nic itemizes:\n    ` +
          `${wrong.slice(0, 20).join('\n    ')}`,
      );
    }
    if (diff.length > 0)
      console.log(
        `  note: rsync still itemizes ${diff.length} folder(s) in ${tool}'s copy (folder times), e.g. ${diff[0]}`,
      );
  }
  console.log('  both copies checked against the source by checksum\n');
}

// ---------------------------------------------------------------------------------------------
// Report

function report(results, ws) {
  const rows = SCENARIOS.map((s) => {
    const times = (tool) => results[s.name][tool].map((r) => r.ms);
    const range = (tool) => `${seconds(Math.min(...times(tool)))}-${seconds(Math.max(...times(tool)))}`;
    const ratio = median(times('synctray')) / median(times('rsync'));
    const target = s.name === 'no-op' ? `<= ${NO_OP_TARGET.toFixed(1)}` : '-';
    const verdict = s.name === 'no-op' ? (ratio <= NO_OP_TARGET ? 'PASS' : 'MISS') : '-';
    return [
      s.name,
      seconds(median(times('synctray'))),
      range('synctray'),
      seconds(median(times('rsync'))),
      range('rsync'),
      ratio.toFixed(2),
      target,
      verdict,
    ];
  });
  // The run's own time (durationMs in --json): what a running service's periodic rescan takes,
  // with no process to start. rsync has none to speak of, so its whole run is compared.
  for (const s of SCENARIOS) {
    const inside = results[s.name].synctray.map((r) => r.summary.durationMs);
    const ratio = median(inside) / median(results[s.name].rsync.map((r) => r.ms));
    const target = s.name === 'no-op' ? `<= ${NO_OP_TARGET.toFixed(1)}` : '-';
    const verdict = s.name === 'no-op' ? (ratio <= NO_OP_TARGET ? 'PASS' : 'MISS') : '-';
    rows.push([
      `${s.name}, in the service`,
      seconds(median(inside)),
      `${seconds(Math.min(...inside))}-${seconds(Math.max(...inside))}`,
      seconds(median(results[s.name].rsync.map((r) => r.ms))),
      '',
      ratio.toFixed(2),
      target,
      verdict,
    ]);
  }
  console.log(
    formatTable(['scenario', 'synctray s', '(min-max)', 'rsync s', '(min-max)', 'ratio', 'target', 'result'], rows),
  );
  console.log(
    '(ratio = synctray median / rsync median; "in the service": the run\'s own time from --json, no process start)\n',
  );

  const noOps = results['no-op'].synctray.map((r) => r.summary);
  const idle = noOps.every(
    (s) => s.copied === 0 && s.updated === 0 && s.metadata === 0 && s.deleted === 0 && s.failed === 0,
  );
  const per = noOps.map((s) => `${s.copied}/${s.updated}/${s.metadata}`).join(', ');
  console.log(
    `SyncTray's no-op runs did nothing (0 copied, updated, metadata, deleted, failed): ${idle ? 'yes' : 'NO'}`,
  );
  console.log(`  copied/updated/metadata per round: ${per}`);
  console.log(`rsync's no-op, checked afterwards with -n: ${ws.rsyncLeft.length} item(s) it would still change`);
  console.log(
    "SyncTray's copy as rsync sees it afterwards: " +
      `${ws.synctrayLeft.length} item(s) differ${ws.synctrayLeft.length ? `, e.g. ${ws.synctrayLeft[0]}` : ''}`,
  );
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const options = parseFilesAndRounds(process.argv.slice(2), { files: 5000, rounds: 5 });
  if (options === 'help') {
    console.log(USAGE);
    return;
  }
  const started = performance.now();
  checkMachine();
  const staleWarning = staleBuildWarning(ROOT);
  const places = pickPlaces();

  made.source = fs.mkdtempSync(path.join(places.source.dir, 'synctray-bench-source-'));
  const sourceFolder = made.source;
  // Kept where the cleanup finds it before make() starts: remove() undoes a half-made drive too.
  made.drive = new ExfatLoopDrive();
  const drive = made.drive.make(places.image.dir, IMAGE_MIB);

  console.log(`SyncTray on an exFAT drive, against rsync, ${new Date().toString()}`);
  console.log(
    `Machine: nproc ${os.availableParallelism()}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ` +
      `${formatBytes(os.totalmem())} RAM, kernel ${os.release()}, ` +
      `load average ${os.loadavg()[0].toFixed(2)} at the start`,
  );
  console.log(
    `Node ${process.version}, ${toolVersion('rsync', ['--version'])}, ${toolVersion('mount.exfat-fuse', ['-V'])}`,
  );
  console.log(`Source: ${sourceFolder}, on ${places.source.text}`);
  console.log(
    `Drive: ${drive.device} mounted at ${drive.mountPoint} (${drive.type}, exfat-fuse), image of ${IMAGE_MIB} MiB ` +
      `(sparse) on ${places.image.text}`,
  );
  for (const warning of [places.warning, staleWarning]) if (warning) console.log(`WARNING: ${warning}`);

  const ws = {
    src: path.join(sourceFolder, 'photos'),
    dst: { synctray: path.join(drive.mountPoint, 'a'), rsync: path.join(drive.mountPoint, 'b') },
  };
  const setupStarted = performance.now();
  const tree = await writeSource(ws.src, options.files);
  console.log(
    `Tree: ${tree.files} files of 1-8 KiB in ${tree.folders} folders, ${formatBytes(tree.bytes)}, sub-second mtimes; ` +
      `written in ${seconds(performance.now() - setupStarted)} s`,
  );
  console.log(`synctray: node dist/cli/main.js sync SRC DRIVE/a --quiet --json`);
  console.log(`rsync:    rsync ${RSYNC_FLAGS.join(' ')} SRC/ DRIVE/b/`);
  console.log(
    `${options.rounds} round(s) per scenario, alternating which tool goes first; ${FUSE_CACHE_PAUSE_MS / 1000} s ` +
      "before each run, so that none starts with the kernel's FUSE caches warm\n",
  );

  const results = await runScenarios(ws, options.rounds);
  // By size and time within a second (the exFAT window), as the no-op rsync itself decides.
  ws.rsyncLeft = await itemizedDifferences(ws.src, ws.dst.rsync, RSYNC_FLAGS);
  ws.synctrayLeft = await itemizedDifferences(ws.src, ws.dst.synctray, RSYNC_FLAGS);
  console.log('');
  report(results, ws);
  console.log(`\nTotal time: ${seconds(performance.now() - started)} s`);
}

await run(main);
