// `npm run bench:disk [-- options]` (issue 15): `synctray sync --mode mirror` against rsync where
// writes really land: on the machine's disk (a scratch folder under /var/tmp, refused when that is
// a tmpfs) and on an exFAT drive (exfat-fuse on a loop device; root needed, skipped without it).
// Cases: disk first copy, no-op and a change spread over every folder (one file in each: issue
// 15's "1% spread"); exFAT first copy and re-run. SyncTray fsyncs what it writes, so rsync's first
// copies are timed as `rsync ...; sync`.
// Rounds are interleaved (who goes first alternates), medians are reported with ratios, targets
// and SyncTray's peak RSS. Every first copy is checked against the source by checksum.
// It measures; it does not judge: the exit status is 0 whatever the numbers, 2 for a bad command
// line, 1 when something broke, 130 when interrupted. The scratch folder, the mount, the loop
// device and the image are removed whatever happens. Run `npm run build` first.
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
  freeBytes,
  isMemoryFs,
  itemizedDifferences,
  makeContentPool,
  median,
  megabytes,
  missingTools,
  mountOf,
  mutateSpread,
  parseBenchOptions,
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

const DISK_PARENT = '/var/tmp';
const TREE_SEED = 0xd15c0;
const CONTENT_SEED = 0xd15c1;
const SPREAD_SEED = 0xd15c2;
const FILE_SIZES = { min: 1024, max: 8 * 1024 };
const SWEEP = [1, 2, 4, 8, 16, 64];
const CONCURRENCY_VARIABLE = 'SYNCTRAY_COPY_CONCURRENCY';
/** A timed run that takes longer than this is stuck (a hung FUSE daemon, say), not slow. */
const RUN_TIMEOUT_MS = 10 * 60_000;
/** exFAT's cluster for a drive of 256 MiB-32 GiB: what each small file takes on the drive. */
const EXFAT_CLUSTER = 32 * 1024;
const MIN_IMAGE_MIB = 1024;

const USAGE =
  'Usage: npm run bench:disk -- [--files N] [--drive-files N] [--rounds N] [--only ext4|exfat] ' +
  `[--concurrency-sweep]

  --files N             files for the disk cases (default 20000; 1-8 KiB each, in folders of 20)
  --drive-files N       files for the exFAT cases (default 5000)
  --rounds N            timed runs per tool and case, interleaved; medians are reported (default 3)
  --only ext4|exfat     only the disk cases (a scratch folder under ${DISK_PARENT}, which must not
                        be a tmpfs) or only the exFAT drive cases (a loop device: needs root)
  --concurrency-sweep   also time SyncTray's first copies with ${CONCURRENCY_VARIABLE} set to
                        ${SWEEP.join(', ')}

Needs rsync and dist/ (npm run build); GNU time (/usr/bin/time) for peak RSS; for the exFAT
cases root, /dev/fuse, exfatprogs, exfat-fuse and fuse3. Exit status: 0 whatever the numbers,
2 for a bad command line, 1 when something broke, 130 when interrupted.`;

const synctrayCommand = (src, dst) => [process.execPath, [CLI, 'sync', src, dst, '--mode', 'mirror', '--quiet']];

/** rsync, followed by `sync` in the same timed unit when the case asks for durability. */
function rsyncCommand(flags, withSync, src, dst) {
  const args = [...flags, `${src}/`, `${dst}/`];
  if (!withSync) return ['rsync', args];
  return ['sh', ['-c', 'rsync "$@" && sync', 'rsync-then-sync', ...args]];
}

const describeRsync = (c) => `rsync ${c.rsyncFlags.join(' ')} SRC/ DST/${c.rsyncSync ? '; sync' : ''}`;

/**
 * The cases, in the order they run. Each `prepare` brings one tool's destination (and the source)
 * into the case's starting state, untimed; `sync` follows it, untimed, so that no run pays for
 * the writeback of what came before it. A no-op starts from what the first copy left, checked.
 */
const CASES = [
  {
    place: 'ext4',
    name: 'first copy',
    target: 0.8,
    rsyncFlags: ['-a', '--delete'],
    rsyncSync: true,
    firstCopy: true,
    prepare: async (_p, dst) => removeTree(dst),
  },
  {
    place: 'ext4',
    name: 'no-op',
    target: 0.8,
    rsyncFlags: ['-a', '--delete'],
    prepare: async () => {},
  },
  {
    place: 'ext4',
    name: 'spread',
    target: 0.8,
    rsyncFlags: ['-a', '--delete'],
    checkSynctray: true,
    // The same change every round: the destination and the source back to the synced tree, then
    // one file changed in each folder.
    prepare: async (p, dst) => {
      await runChecked('rsync', ['-a', '--delete', `${p.pristine}/`, `${dst}/`]);
      await runChecked('rsync', ['-a', '--delete', `${p.pristine}/`, `${p.src}/`]);
      const changed = mutateSpread(p.src, p.tree, SPREAD_SEED, p.pool);
      if (changed.files !== p.tree.leafCount)
        throw new Error(`changed ${changed.files} files, expected ${p.tree.leafCount}`);
    },
  },
  {
    place: 'exfat',
    name: 'first copy',
    target: 1.0,
    rsyncFlags: ['-rt', '--delete'],
    rsyncSync: true,
    firstCopy: true,
    prepare: async (_p, dst) => removeTree(dst),
  },
  {
    place: 'exfat',
    name: 're-run',
    target: 1.0,
    rsyncFlags: ['-rt', '--delete', '--modify-window=1'],
    prepare: async () => {},
  },
];

// ---------------------------------------------------------------------------------------------
// Interruption and cleanup

/** What exists and must go: the scratch folder and the drive. */
const made = { scratch: undefined, drive: undefined };

function cleanUp() {
  made.drive?.remove();
  made.drive = undefined;
  if (made.scratch !== undefined) removeTree(made.scratch);
  made.scratch = undefined;
}

const { checkpoint, run } = benchFrame('bench:disk', {
  cleanUp,
  hint: '`npm run bench:disk -- --help` lists the options.',
});

// ---------------------------------------------------------------------------------------------
// The two places

/** Why the exFAT cases cannot run here, or undefined when they can. */
function exfatUnavailable() {
  if (process.platform !== 'linux') return 'they make a loop device, which needs Linux';
  if (process.getuid?.() !== 0)
    return 'not running as root (they make a loop device and mount it): run as root to include them';
  if (!fs.existsSync('/dev/fuse')) return '/dev/fuse is missing: exfat-fuse needs FUSE';
  return missingTools(EXFAT_DRIVE_TOOLS);
}

/** The scratch folder on the disk; a tmpfs there is refused when the disk cases are to run. */
function makeDiskScratch(diskCases) {
  const m = mountOf(DISK_PARENT);
  if (diskCases && (!m || isMemoryFs(m.type))) {
    throw new Error(
      `${DISK_PARENT} is ${m ? `a ${m.type} (in memory)` : 'on an unknown file system'}, not a disk: ` +
        'the disk cases must write to a real disk. ' +
        `Mount a disk there, or run only the exFAT cases with --only exfat.`,
    );
  }
  made.scratch = fs.mkdtempSync(path.join(DISK_PARENT, 'synctray-bench-disk-'));
  return { dir: made.scratch, type: m?.type ?? 'unknown', text: describePlace(made.scratch) };
}

function needSpace(dir, bytes) {
  if (freeBytes(dir) < bytes)
    throw new Error(`${formatBytes(bytes)} of free space needed in ${dir}, only ${formatBytes(freeBytes(dir))} free`);
}

/** On-disk size of a tree whose every file and folder takes whole blocks of `block` bytes. */
const footprint = (tree, block) =>
  tree.files.reduce((t, f) => t + Math.ceil(Math.max(f.size, 1) / block) * block, 0) + tree.folders.length * block;

/** The disk cases' tree: the source, a pristine copy to restore from, one destination per tool. */
async function setUpDisk(scratch, files) {
  const tree = planTree(files, TREE_SEED, FILE_SIZES);
  needSpace(scratch.dir, 4 * footprint(tree, 4096));
  const p = {
    place: 'ext4',
    label: scratch.type,
    tree,
    pool: makeContentPool(CONTENT_SEED),
    src: path.join(scratch.dir, 'src'),
    pristine: path.join(scratch.dir, 'pristine'),
    dst: { synctray: path.join(scratch.dir, 'dst-synctray'), rsync: path.join(scratch.dir, 'dst-rsync') },
    checkFlags: ['-ac'],
    pauseMs: 0,
  };
  const started = performance.now();
  await writeTree(p.src, tree, p.pool, CONTENT_SEED, checkpoint);
  await runChecked('cp', ['-a', p.src, p.pristine]);
  // Untimed: fill each destination once, so that round 1, like every later round, deletes a full
  // tree before it starts and finds the kernel's caches in the same state.
  for (const dst of Object.values(p.dst)) await runChecked('cp', ['-a', p.src, dst]);
  await runChecked('sync', []);
  p.setupMs = performance.now() - started;
  return p;
}

/**
 * The exFAT cases: the source on the disk, as a user's files would be; the drive's image on a
 * tmpfs when there is one (as bench:drives does), so that what is timed is the path through
 * exfat-fuse and the loop device rather than the disk's writeback behind the image.
 */
async function setUpDrive(scratch, files) {
  const tree = planTree(files, TREE_SEED, FILE_SIZES);
  needSpace(scratch.dir, footprint(tree, 4096));
  const imageParent = fs.existsSync('/dev/shm') && isMemoryFs(mountOf('/dev/shm')?.type) ? '/dev/shm' : scratch.dir;
  const imageMiB = Math.max(MIN_IMAGE_MIB, Math.ceil((2.5 * footprint(tree, EXFAT_CLUSTER)) / 2 ** 20) + 64);
  needSpace(imageParent, 2 * footprint(tree, EXFAT_CLUSTER));
  made.drive = new ExfatLoopDrive();
  made.drive.make(imageParent, imageMiB);
  const drive = made.drive;
  const p = {
    place: 'exfat',
    label: 'exFAT',
    tree,
    pool: makeContentPool(CONTENT_SEED),
    src: path.join(scratch.dir, 'drive-src'),
    dst: { synctray: path.join(drive.mountPoint, 'synctray'), rsync: path.join(drive.mountPoint, 'rsync') },
    // No modes or owners on exFAT; its times are kept to the second at best.
    checkFlags: ['-rtc', '--modify-window=1'],
    pauseMs: FUSE_CACHE_PAUSE_MS,
    where:
      `${drive.device} (${drive.type}, exfat-fuse) at ${drive.mountPoint}, image of ${imageMiB} MiB (sparse) on ` +
      `${describePlace(imageParent)}`,
  };
  const started = performance.now();
  await writeTree(p.src, tree, p.pool, CONTENT_SEED, checkpoint);
  await runChecked('sync', []);
  p.setupMs = performance.now() - started;
  return p;
}

// ---------------------------------------------------------------------------------------------
// Measuring

/** The destination must hold exactly the source: `rsync -ni CHECK --delete` itemizes nothing. */
async function checkCopy(p, dst, what) {
  const diff = await itemizedDifferences(p.src, dst, p.checkFlags);
  if (diff.length === 0) return;
  const shown = diff.slice(0, 20).join('\n    ') + (diff.length > 20 ? `\n    ... and ${diff.length - 20} more` : '');
  throw new Error(
    `${what}: the copy does not match the source; rsync -ni ${p.checkFlags.join(' ')} --delete itemizes ` +
      `${diff.length} difference(s):\n    ${shown}`,
  );
}

/**
 * One timed run: the starting state (untimed), the run, the check. `env` adds variables to
 * SyncTray's environment (the concurrency sweep).
 */
async function timedRun(p, c, tool, round, rssFile, env) {
  const dst = p.dst[tool];
  await c.prepare(p, dst);
  await runChecked('sync', []);
  if (p.pauseMs) await sleep(p.pauseMs);
  await checkpoint();
  const [cmd, args] =
    tool === 'synctray' ? synctrayCommand(p.src, dst) : rsyncCommand(c.rsyncFlags, c.rsyncSync, p.src, dst);
  const r = await timeCommand(cmd, args, rssFile, { env, timeoutMs: RUN_TIMEOUT_MS });
  await checkpoint();
  const label = env ? `synctray, ${CONCURRENCY_VARIABLE}=${env[CONCURRENCY_VARIABLE]}` : tool;
  const what = `${p.label} ${c.name}, round ${round + 1}, ${label}`;
  if (r.status !== 0)
    throw new Error(`${what}: ${describeCommand(cmd, args)} failed (${exitText(r)})\n${r.stderr}${r.stdout}`);
  if (c.firstCopy || (c.checkSynctray && tool === 'synctray')) await checkCopy(p, dst, what);
  const rss = r.rssKb === undefined ? '' : `  ${megabytes(r.rssKb).padStart(6)} MB`;
  console.log(
    `  ${`${p.label} ${c.name}`.padEnd(17)}  round ${round + 1}  ` +
      `${label.padEnd(env ? `synctray, ${CONCURRENCY_VARIABLE}=${Math.max(...SWEEP)}`.length : 8)}  ` +
      `${seconds(r.ms).padStart(8)} s${rss}`,
  );
  return { ms: r.ms, rssKb: r.rssKb };
}

async function runCase(p, c, rounds, rssFile) {
  const runs = { synctray: [], rsync: [] };
  for (let round = 0; round < rounds; round++) {
    // Interleaved, and who goes first alternates, so that machine noise hits both tools.
    const order = round % 2 === 0 ? ['synctray', 'rsync'] : ['rsync', 'synctray'];
    for (const tool of order) runs[tool].push(await timedRun(p, c, tool, round, rssFile));
  }
  return runs;
}

/** SyncTray's first copy with each concurrency; the values take turns, starting one later each round. */
async function runSweep(p, c, rounds, rssFile) {
  const runs = new Map(SWEEP.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < SWEEP.length; k++) {
      const n = SWEEP[(k + round) % SWEEP.length];
      runs.get(n).push(await timedRun(p, c, 'synctray', round, rssFile, { [CONCURRENCY_VARIABLE]: String(n) }));
    }
  }
  return runs;
}

// ---------------------------------------------------------------------------------------------
// Report

const times = (runs) => runs.map((r) => r.ms);
const range = (runs) => `${seconds(Math.min(...times(runs)))}-${seconds(Math.max(...times(runs)))}`;
const peakRss = (runs) =>
  runs.some((r) => r.rssKb === undefined) ? 'n/a' : megabytes(Math.max(...runs.map((r) => r.rssKb)));

function resultRow(p, c, runs) {
  const mine = median(times(runs.synctray));
  const theirs = median(times(runs.rsync));
  const ratio = mine / theirs;
  return [
    `${p.label} ${c.name}`,
    seconds(mine),
    range(runs.synctray),
    seconds(theirs),
    range(runs.rsync),
    ratio.toFixed(2),
    `<= ${c.target.toFixed(1)}`,
    ratio <= c.target ? 'PASS' : 'MISS',
    peakRss(runs.synctray),
    peakRss(runs.rsync),
  ];
}

const RESULT_HEADER = [
  'case',
  'synctray s',
  '(min-max)',
  'rsync s',
  '(min-max)',
  'ratio',
  'target',
  'result',
  'synctray RSS MB',
  'rsync RSS MB',
];

function printSweep(p, runs, sweep) {
  const base = median(times(runs.synctray));
  const theirs = median(times(runs.rsync));
  const rows = [
    ['(not set)', seconds(base), range(runs.synctray), '1.00', (base / theirs).toFixed(2), peakRss(runs.synctray)],
    ...SWEEP.map((n) => {
      const m = median(times(sweep.get(n)));
      return [
        String(n),
        seconds(m),
        range(sweep.get(n)),
        (m / base).toFixed(2),
        (m / theirs).toFixed(2),
        peakRss(sweep.get(n)),
      ];
    }),
  ];
  console.log(
    `\nConcurrency sweep, ${p.label} first copy (${p.tree.files.length} files; rsync + sync median ` +
      `${seconds(theirs)} s):`,
  );
  console.log(formatTable([CONCURRENCY_VARIABLE, 'synctray s', '(min-max)', 'vs not set', 'vs rsync', 'RSS MB'], rows));
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const options = parseBenchOptions(process.argv.slice(2), {
    files: 20000,
    'drive-files': 5000,
    rounds: 3,
    only: ['ext4', 'exfat'],
    'concurrency-sweep': false,
  });
  if (options === 'help') {
    console.log(USAGE);
    return;
  }
  const started = performance.now();
  if (!fs.existsSync(CLI)) throw new Error(`${path.relative(ROOT, CLI)} is missing: run \`npm run build\` first`);
  const rsyncVersion = toolVersion('rsync', ['--version']);
  if (!rsyncVersion)
    throw new Error('rsync is needed to compare against and to check the copies: install it (apt-get install rsync)');

  const wantDisk = options.only !== 'exfat';
  const wantDrive = options.only !== 'ext4';
  const driveSkipped = wantDrive ? exfatUnavailable() : undefined;
  const scratch = makeDiskScratch(wantDisk);
  const rssFile = probeGnuTime(scratch.dir) ? path.join(scratch.dir, 'rss') : undefined;

  console.log(`SyncTray on a real disk and an exFAT drive, against rsync (issue 15), ${new Date().toString()}`);
  console.log(
    `Machine: nproc ${os.availableParallelism()}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ` +
      `${formatBytes(os.totalmem())} RAM, kernel ${os.release()}, ` +
      `load average ${os.loadavg()[0].toFixed(2)} at the start`,
  );
  console.log(
    `Node ${process.version}, ` +
      `${rsyncVersion}${wantDrive && !driveSkipped ? `, ${toolVersion('mount.exfat-fuse', ['-V'])}` : ''}`,
  );
  console.log(`Scratch folder: ${scratch.text}`);
  const warnings = [staleBuildWarning(ROOT)];
  if (!rssFile)
    warnings.push('GNU time not found at /usr/bin/time: peak RSS will not be measured (apt-get install time).');
  if (wantDisk && scratch.type !== 'ext4')
    warnings.push(`the disk is ${scratch.type}, not ext4: the "ext4" cases run on it all the same.`);
  if (process.env[CONCURRENCY_VARIABLE] !== undefined)
    warnings.push(`${CONCURRENCY_VARIABLE}=${process.env[CONCURRENCY_VARIABLE]} is set for every SyncTray run.`);
  if (driveSkipped) warnings.push(`exFAT cases skipped: ${driveSkipped}.`);
  for (const w of warnings) if (w) console.log(`WARNING: ${w}`);
  console.log(`synctray: node dist/cli/main.js sync SRC DST --mode mirror --quiet (it fsyncs what it writes)`);
  console.log(
    `${options.rounds} round(s) per tool and case, interleaved, alternating which tool goes first; each destination ` +
      `brought to the case's starting state and \`sync\` run before each timed run (untimed)`,
  );

  const places = [];
  if (wantDisk) places.push(() => setUpDisk(scratch, options.files));
  if (wantDrive && !driveSkipped) places.push(() => setUpDrive(scratch, options['drive-files']));

  const rows = [];
  for (const setUp of places) {
    const p = await setUp();
    const cases = CASES.filter((c) => c.place === p.place);
    console.log(
      `\n${p.label}: ${p.tree.files.length} files of 1-8 KiB in ${p.tree.folders.length} folders ` +
        `(${p.tree.leafCount} of 20 files), ${formatBytes(p.tree.totalBytes)}; ` +
        `source ${p.src}; set up (untimed) in ${seconds(p.setupMs)} s`,
    );
    if (p.where)
      console.log(
        `  drive: ${p.where}; ${FUSE_CACHE_PAUSE_MS / 1000} s pause before each run, so that none starts with the ` +
          "kernel's FUSE caches warm",
      );
    const spread =
      `; one file changed in each of the ${p.tree.leafCount} folders ` +
      `(${((100 * p.tree.leafCount) / p.tree.files.length).toFixed(1)}% of the files)`;
    for (const c of cases)
      console.log(`  ${c.name}: rsync is \`${describeRsync(c)}\`${c.name === 'spread' ? spread : ''}`);
    console.log(
      `  copies checked after each first copy with \`rsync -ni ${p.checkFlags.join(' ')} --delete SRC/ DST/\`, ` +
        'which must itemize nothing\n',
    );

    for (const c of cases) {
      const runs = await runCase(p, c, options.rounds, rssFile);
      rows.push(resultRow(p, c, runs));
      if (options['concurrency-sweep'] && c.firstCopy) {
        printSweep(p, runs, await runSweep(p, c, options.rounds, rssFile));
        console.log('');
      }
    }
    if (p.place === 'exfat') {
      made.drive.remove();
      made.drive = undefined;
    }
  }

  console.log('');
  if (rows.length > 0) console.log(formatTable(RESULT_HEADER, rows));
  console.log(
    '(ratio = synctray median / rsync median; RSS = peak over the rounds, largest single process, MB = 1024 KiB)',
  );
  if (driveSkipped) console.log(`exFAT cases skipped: ${driveSkipped}.`);
  console.log(`\nTotal time: ${seconds(performance.now() - started)} s`);
}

await run(main);
