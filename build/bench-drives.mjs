// `npm run bench:drives [-- --files N --rounds N]`: SyncTray against rsync on a real exFAT drive
// (exfat-fuse on a loop device, so it needs root), in the two scenarios of issue 14's speed target:
// the first copy of a generated tree, and a no-op re-run of it, which should take at most 1.2x
// `rsync -a --modify-window=1 --no-perms`. Both tools write to the same drive, one folder each, in
// alternating order; medians are reported. It measures; it does not judge: the exit status is 0
// whatever the numbers, 1 when something broke, 130 when interrupted. The mount, the loop device
// and every file are removed whatever happens. Run `npm run build` first.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  parseFilesAndRounds,
  describeCommand,
  exitText,
  formatBytes,
  formatTable,
  killRunningChild,
  makeContentPool,
  makeRng,
  median,
  randInt,
  removeTree,
  runCommand,
  seconds,
  yieldToEventLoop,
} from './bench-lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

const TREE_SEED = 0xd15c;
const CONTENT_SEED = 0xe8fa7;
const TOP_FOLDERS = 5;
const SUBFOLDERS = 5;
const NO_OP_TARGET = 1.2;
const IMAGE_MIB = 1024;
const SETUP_TIMEOUT_MS = 30_000;
/** A timed run that takes longer than this is stuck (a hung FUSE daemon, say), not slow. */
const RUN_TIMEOUT_MS = 10 * 60_000;
const RSYNC_FLAGS = ['-a', '--modify-window=1', '--no-perms'];
/**
 * The kernel keeps a FUSE file system's names and attributes for 1 s (libfuse's default
 * entry_timeout and attr_timeout, which exfat-fuse keeps). A run that starts within that second of
 * a run over the same folder skips most trips to the daemon: rsync measured twice as fast straight
 * after itself. A rescan comes much later than that, so every timed run waits it out first.
 */
const FUSE_CACHE_PAUSE_MS = 1_500;

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

class Interrupted extends Error {}

let interruptedBy;
/** What exists and must go: scratch folders, the loop device, the mount. */
const made = { folders: [], device: undefined, image: undefined, mountPoint: undefined, daemons: [] };

function onSignal(signal) {
  if (interruptedBy !== undefined) {
    killRunningChild();
    cleanUp();
    process.exit(130);
  }
  interruptedBy = signal;
  process.stderr.write(`\n${signal}: stopping, unmounting the drive and removing the scratch files...\n`);
  killRunningChild();
}

async function checkpoint() {
  await yieldToEventLoop();
  if (interruptedBy !== undefined) throw new Interrupted();
}

/** Blocking, so that it also runs from the 'exit' handler; each step is tried whatever the others did. */
function cleanUp() {
  const steps = [unmountDrive, detachDrive, () => made.folders.splice(0).reverse().forEach((f) => removeTree(f))];
  for (const step of steps) {
    try {
      step();
    } catch (err) {
      process.stderr.write(`bench: cleaning up: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
}

function unmountDrive() {
  const mountPoint = made.mountPoint;
  if (mountPoint === undefined) return;
  if (!mountedDevice(mountPoint, made.device)) {
    made.mountPoint = undefined;
    return;
  }
  // A hung daemon holds fusermount in the kernel where no signal reaches it; killing the daemon
  // aborts the connection and lets the unmount finish.
  const watched =
    '"$@" & job=$!; sleep "$SECS" & nap=$!; wait -n $job $nap; ' +
    'if kill -0 $job 2>/dev/null; then kill -KILL $DAEMONS 2>/dev/null; kill $nap 2>/dev/null; wait $job; exit 124; fi; ' +
    'kill $nap 2>/dev/null; wait $job';
  const r = spawnSync('bash', ['-c', watched, 'unmount', 'fusermount', '-u', mountPoint], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, SECS: String(SETUP_TIMEOUT_MS / 1000), DAEMONS: made.daemons.join(' ') },
    timeout: 2 * SETUP_TIMEOUT_MS,
  });
  if (r.status !== 0 && mountedDevice(mountPoint, made.device)) {
    // Still busy: detach it now; the kernel lets the device go when the last user does.
    spawnSync('umount', ['-l', mountPoint], { stdio: 'ignore', timeout: SETUP_TIMEOUT_MS });
  }
  // Detaching the loop device while the daemon still flushes would leave it attached.
  waitUntil(() => made.daemons.every((pid) => !holdsDevice(pid, made.device)), SETUP_TIMEOUT_MS);
  made.mountPoint = undefined;
  if (r.status === 124) throw new Error(`the exfat-fuse daemon did not answer the unmount within ${SETUP_TIMEOUT_MS / 1000} s and was killed`);
}

function detachDrive() {
  const { device, image } = made;
  if (device === undefined) return;
  made.device = undefined;
  // Only ours: after a detach the number can be someone else's device.
  if (backingFile(device) !== image) return;
  spawnSync('losetup', ['-d', device], { stdio: 'ignore', timeout: SETUP_TIMEOUT_MS });
}

// ---------------------------------------------------------------------------------------------
// The system's tables

const pause = new Int32Array(new SharedArrayBuffer(4));

function waitUntil(done, timeoutMs) {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) return false;
    Atomics.wait(pause, 0, 0, 10);
  }
  return true;
}

function mountTable() {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const fields = line.split(' ');
      const rest = fields.slice(fields.indexOf('-') + 1);
      return {
        devNumber: fields[2],
        mountPoint: fields[4].replace(/\\([0-7]{3})/g, (_, octal) => String.fromCharCode(parseInt(octal, 8))),
        type: rest[0],
        source: rest[1],
      };
    });
}

function mountedDevice(mountPoint, device) {
  return mountTable().some((m) => m.mountPoint === mountPoint && m.source === device);
}

/** The mount a folder lives on: the entry with its device number and the longest matching path. */
function mountOf(dir) {
  const real = fs.realpathSync(dir);
  const dev = fs.statSync(real).dev;
  const devNumber = `${Math.floor(dev / 256) & 0xfff}:${(dev & 0xff) | ((Math.floor(dev / 4096) & 0xfff00) >>> 0)}`;
  const candidates = mountTable().filter(
    (m) => m.devNumber === devNumber && (m.mountPoint === '/' || real === m.mountPoint || real.startsWith(`${m.mountPoint}/`)),
  );
  return candidates.sort((a, b) => b.mountPoint.length - a.mountPoint.length)[0];
}

function backingFile(device) {
  try {
    return fs.readFileSync(`/sys/class/block/${path.basename(device)}/loop/backing_file`, 'utf8').trim().replace(/ \(deleted\)$/, '');
  } catch {
    return undefined;
  }
}

function holdsDevice(pid, device) {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === device;
      } catch {
        return false;
      }
    });
  } catch {
    return false; // gone
  }
}

/** Setup and teardown commands: bounded in time, their output kept for the error message. */
function runSetup(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: SETUP_TIMEOUT_MS, killSignal: 'SIGKILL' });
  if (r.error) throw new Error(`${describeCommand(cmd, args)}: ${r.error.code === 'ETIMEDOUT' ? `no answer within ${SETUP_TIMEOUT_MS / 1000} s` : r.error.message}`);
  if (r.status !== 0) throw new Error(`${describeCommand(cmd, args)} failed (exit status ${r.status}): ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

const hasTool = (name) => spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;

// ---------------------------------------------------------------------------------------------
// Setup


function checkMachine() {
  if (process.platform !== 'linux') throw new Error('this benchmark makes a loop device: it needs Linux');
  if (process.getuid?.() !== 0) throw new Error('this benchmark makes a loop device and mounts it: run it as root');
  if (!fs.existsSync('/dev/fuse')) throw new Error('/dev/fuse is missing: exfat-fuse needs FUSE');
  const packages = { rsync: 'rsync', losetup: 'mount', truncate: 'coreutils', 'mkfs.exfat': 'exfatprogs', 'mount.exfat-fuse': 'exfat-fuse', fusermount: 'fuse3', bash: 'bash' };
  const absent = Object.keys(packages).filter((t) => !hasTool(t));
  if (absent.length > 0) throw new Error(`${absent.join(', ')} not found: install ${[...new Set(absent.map((t) => packages[t]))].join(' ')}`);
  if (!fs.existsSync(CLI)) throw new Error(`${path.relative(ROOT, CLI)} is missing: run \`npm run build\` first`);
}

/** A warning when src/ is newer than the build, which is what gets measured. */
function staleBuildWarning() {
  const newest = (dir, ext) =>
    fs
      .readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith(ext))
      .reduce((t, e) => Math.max(t, fs.statSync(path.join(e.parentPath, e.name)).mtimeMs), 0);
  return newest(path.join(ROOT, 'src'), '.ts') > newest(path.join(ROOT, 'dist'), '.js')
    ? 'src/ has changes newer than dist/: this measures the last build (run `npm run build` to include them).'
    : undefined;
}

/**
 * The source goes on the system disk, as a user's files would be: the first of the temp folders
 * that is not a tmpfs. The drive's image goes on tmpfs when there is one, so that what is timed is
 * the path through exfat-fuse rather than the disk's writeback behind the loop device.
 */
function pickPlaces() {
  const described = (dir) => {
    const m = mountOf(dir);
    return { dir, tmpfs: m?.type === 'tmpfs', text: `${dir} (${m ? `${m.type} on ${m.source}` : 'unknown file system'})` };
  };
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
  return { source, image: shm, warning: onDisk ? undefined : `no temp folder on a disk: the source is on ${source.text}` };
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
  for (let t = 0; t < TOP_FOLDERS; t++) for (let s = 0; s < SUBFOLDERS; s++) leaves.push(path.join(`album-${t}`, `day-${s}`));
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

/** A loop device holding a fresh exFAT file system, mounted through exfat-fuse. */
function makeDrive(parent) {
  const folder = fs.mkdtempSync(path.join(parent, 'synctray-bench-drive-'));
  made.folders.push(folder);
  const image = path.join(folder, 'exfat.img');
  runSetup('truncate', ['-s', `${IMAGE_MIB}M`, image]);
  made.image = image;
  made.device = runSetup('losetup', ['-f', '--show', image]).trim();
  runSetup('mkfs.exfat', ['-n', 'SYNCBENCH', made.device]);
  const mountPoint = path.join(folder, 'drive');
  fs.mkdirSync(mountPoint);
  runSetup('mount.exfat-fuse', [made.device, mountPoint]);
  made.mountPoint = mountPoint;
  made.daemons = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p) && holdsDevice(p, made.device)).map(Number);
  const entry = mountTable().find((m) => m.mountPoint === mountPoint);
  if (entry?.source !== made.device) throw new Error(`${made.device} is not mounted at ${mountPoint} although mount.exfat-fuse succeeded`);
  return { device: made.device, image, mountPoint, type: entry.type };
}

// ---------------------------------------------------------------------------------------------
// Measuring

/**
 * What `rsync -n` would still change in `dst`, by checksum with `checksum`, otherwise by size and
 * time within a second (the exFAT window), as the no-op rsync itself decides.
 */
async function itemizedDifferences(src, dst, { checksum }) {
  const r = await runCommand('rsync', ['-ni', ...RSYNC_FLAGS, ...(checksum ? ['-c'] : []), '--delete', `${src}/`, `${dst}/`]);
  if (r.status !== 0) throw new Error(`rsync -ni failed (${exitText(r)}): ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean);
}

async function timedRun(ws, scenario, tool, round) {
  const dst = ws.dst[tool];
  scenario.prepare(dst);
  await sleep(FUSE_CACHE_PAUSE_MS);
  await checkpoint();
  const [cmd, args] = TOOLS[tool](ws.src, dst);
  const guard = setTimeout(killRunningChild, RUN_TIMEOUT_MS);
  const r = await runCommand(cmd, args).finally(() => clearTimeout(guard));
  await checkpoint();
  const what = `${tool}, ${scenario.name}, round ${round + 1}`;
  if (r.status !== 0) throw new Error(`${what}: ${describeCommand(cmd, args)} failed (${exitText(r)})\n${r.stderr}${r.stdout}`);
  let counts = '';
  let summary;
  if (tool === 'synctray') {
    summary = JSON.parse(r.stdout.trim().split('\n').pop());
    counts = `  copied ${summary.copied}, updated ${summary.updated}, metadata ${summary.metadata}, failed ${summary.failed}`;
  }
  console.log(`  ${scenario.name.padEnd(10)}  round ${round + 1}  ${tool.padEnd(8)}  ${seconds(r.ms).padStart(8)} s${counts}`);
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
    const diff = await itemizedDifferences(ws.src, ws.dst[tool], { checksum: true });
    const wrong = diff.filter((line) => !/^\.d/.test(line));
    if (wrong.length > 0) {
      throw new Error(`after the first copy, ${tool}'s copy differs from the source; rsync -nic itemizes:\n    ${wrong.slice(0, 20).join('\n    ')}`);
    }
    if (diff.length > 0) console.log(`  note: rsync still itemizes ${diff.length} folder(s) in ${tool}'s copy (folder times), e.g. ${diff[0]}`);
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
    return [s.name, seconds(median(times('synctray'))), range('synctray'), seconds(median(times('rsync'))), range('rsync'), ratio.toFixed(2), target, verdict];
  });
  // The run's own time (durationMs in --json): what a running service's periodic rescan takes,
  // with no process to start. rsync has none to speak of, so its whole run is compared.
  for (const s of SCENARIOS) {
    const inside = results[s.name].synctray.map((r) => r.summary.durationMs);
    const ratio = median(inside) / median(results[s.name].rsync.map((r) => r.ms));
    const target = s.name === 'no-op' ? `<= ${NO_OP_TARGET.toFixed(1)}` : '-';
    const verdict = s.name === 'no-op' ? (ratio <= NO_OP_TARGET ? 'PASS' : 'MISS') : '-';
    rows.push([`${s.name}, in the service`, seconds(median(inside)), `${seconds(Math.min(...inside))}-${seconds(Math.max(...inside))}`, seconds(median(results[s.name].rsync.map((r) => r.ms))), '', ratio.toFixed(2), target, verdict]);
  }
  console.log(formatTable(['scenario', 'synctray s', '(min-max)', 'rsync s', '(min-max)', 'ratio', 'target', 'result'], rows));
  console.log('(ratio = synctray median / rsync median; "in the service": the run\'s own time from --json, no process start)\n');

  const noOps = results['no-op'].synctray.map((r) => r.summary);
  const idle = noOps.every((s) => s.copied === 0 && s.updated === 0 && s.metadata === 0 && s.deleted === 0 && s.failed === 0);
  const per = noOps.map((s) => `${s.copied}/${s.updated}/${s.metadata}`).join(', ');
  console.log(`SyncTray's no-op runs did nothing (0 copied, updated, metadata, deleted, failed): ${idle ? 'yes' : 'NO'}`);
  console.log(`  copied/updated/metadata per round: ${per}`);
  console.log(`rsync's no-op, checked afterwards with -n: ${ws.rsyncLeft.length} item(s) it would still change`);
  console.log(`SyncTray's copy as rsync sees it afterwards: ${ws.synctrayLeft.length} item(s) differ${ws.synctrayLeft.length ? `, e.g. ${ws.synctrayLeft[0]}` : ''}`);
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
  const staleWarning = staleBuildWarning();
  const places = pickPlaces();

  const sourceFolder = fs.mkdtempSync(path.join(places.source.dir, 'synctray-bench-source-'));
  made.folders.push(sourceFolder);
  const drive = makeDrive(places.image.dir);

  const version = (cmd, args) => spawnSync(cmd, args, { encoding: 'utf8', timeout: SETUP_TIMEOUT_MS }).stdout?.split('\n')[0].trim();
  console.log(`SyncTray on an exFAT drive, against rsync, ${new Date().toString()}`);
  console.log(`Machine: nproc ${os.availableParallelism()}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${formatBytes(os.totalmem())} RAM, kernel ${os.release()}, load average ${os.loadavg()[0].toFixed(2)} at the start`);
  console.log(`Node ${process.version}, ${version('rsync', ['--version'])}, ${version('mount.exfat-fuse', ['-V'])}`);
  console.log(`Source: ${sourceFolder}, on ${places.source.text}`);
  console.log(`Drive: ${drive.device} mounted at ${drive.mountPoint} (${drive.type}, exfat-fuse), image of ${IMAGE_MIB} MiB (sparse) on ${places.image.text}`);
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
  console.log(`${options.rounds} round(s) per scenario, alternating which tool goes first; ${FUSE_CACHE_PAUSE_MS / 1000} s before each run, so that none starts with the kernel's FUSE caches warm\n`);

  const results = await runScenarios(ws, options.rounds);
  ws.rsyncLeft = await itemizedDifferences(ws.src, ws.dst.rsync, { checksum: false });
  ws.synctrayLeft = await itemizedDifferences(ws.src, ws.dst.synctray, { checksum: false });
  console.log('');
  report(results, ws);
  console.log(`\nTotal time: ${seconds(performance.now() - started)} s`);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, onSignal);
process.on('exit', cleanUp);

try {
  await main();
} catch (err) {
  if (err instanceof Interrupted || interruptedBy !== undefined) {
    console.error(`bench:drives: interrupted by ${interruptedBy}`);
    process.exitCode = 130;
  } else {
    console.error(`bench:drives: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
} finally {
  killRunningChild();
  cleanUp();
}
