// `npm run bench:watch [-- --files N --big-files N --writes N]`: measures `synctray watch` on a
// generated tree (20,000 files unless told), beside an `inotifywait -m` + `cp` + `mv` shell loop on
// one folder, the floor of what watching can do:
//   - latency from a writer closing a 4 KiB file to the whole file under its final name in the
//     destination (p50 and p99 over 100 writes), synctray and the shell loop side by side, and the
//     steps synctray made per write (over 1: writes that took two, as when one step caught a file
//     half written and the next finished it);
//   - the watching process's RSS, and its CPU over 10 s of idling;
//   - a burst of 10,000 new files, against a one-shot `synctray sync` of the same files (medians of 3);
//   - the RSS again at 100,000 files (--big-files 0 skips it).
// It measures and prints; it does not judge by its exit status (0 unless something broke).
// Run `npm run build` first; inotifywait comes with inotify-tools (apt-get install inotify-tools).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  formatTable,
  makeContentPool,
  makeScratchDir,
  median,
  planTree,
  removeTree,
  runChecked,
} from './bench-lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const TARGETS = { p50: 10, p99: 50, rssMb: 150, idleCpuS: 0.2, burstRatio: 1.5 };
const NOTE_SIZE = 4096;

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '20000' },
    'big-files': { type: 'string', default: '100000' },
    writes: { type: 'string', default: '100' },
    burst: { type: 'string', default: '10000' },
  },
});
const FILES = Number(values.files);
const BIG_FILES = Number(values['big-files']);
const WRITES = Number(values.writes);
const BURST = Number(values.burst);

if (!fs.existsSync(CLI)) fail(`${CLI} is missing: run npm run build first.`);
if (spawnSync('sh', ['-c', 'command -v inotifywait'], { stdio: 'ignore' }).status !== 0) {
  fail('inotifywait is missing (the floor this is measured against): apt-get install inotify-tools');
}

const { dir: scratch } = makeScratchDir('synctray-bench-watch-');
const children = [];
process.on('exit', () => {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  removeTree(scratch);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

function fail(message) {
  console.error(`bench:watch: ${message}`);
  process.exit(1);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

async function makeTree(root, count) {
  const tree = planTree(count, 0x5eed);
  const pool = makeContentPool(0xc0ffee);
  for (const f of tree.folders) fs.mkdirSync(path.join(root, f), { recursive: true });
  for (const f of tree.files) fs.writeFileSync(path.join(root, f.rel), pool.subarray(0, Math.min(f.size, 4096)));
  return tree;
}

/** Starts `synctray watch --json`; resolves once its first sync is done. */
async function startWatch(src, dst) {
  const child = spawn(process.execPath, [CLI, 'watch', src, dst, '--json', '--rescan-interval', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const lines = [];
  let buffer = '';
  child.stdout.setEncoding('utf8').on('data', (d) => {
    buffer += d;
    for (let i; (i = buffer.indexOf('\n')) >= 0; ) {
      lines.push(JSON.parse(buffer.slice(0, i)));
      buffer = buffer.slice(i + 1);
    }
  });
  const started = performance.now();
  while (!lines.some((l) => l.event === 'ready')) {
    if (child.exitCode !== null) fail('synctray watch exited before it was ready');
    await sleep(5);
  }
  return { child, lines, readyMs: performance.now() - started };
}

async function stop(child) {
  child.kill('SIGINT');
  await new Promise((r) => child.once('exit', r));
}

/** VmRSS and the peak VmHWM of a process, in MB. */
function rssOf(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** User + system CPU seconds a process has used (all its threads). */
function cpuOf(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / Number(spawnSync('getconf', ['CLK_TCK']).stdout.toString().trim() || 100);
}

/** Writes `count` 4 KiB files one after another into `from`, timing each until it is whole in `to`. */
async function latencies(from, to, count, prefix) {
  const content = Buffer.alloc(NOTE_SIZE, 0x61);
  const times = [];
  for (let i = 0; i < count; i++) {
    const name = `${prefix}-${i}.txt`;
    const target = path.join(to, name);
    fs.writeFileSync(path.join(from, name), content);
    const closed = performance.now();
    for (;;) {
      let size = -1;
      try {
        size = fs.statSync(target).size;
      } catch {}
      if (size === NOTE_SIZE) break;
      if (performance.now() - closed > 10_000) fail(`${name} did not arrive within 10 s`);
      await new Promise((r) => setImmediate(r));
    }
    times.push(performance.now() - closed);
    await sleep(20); // writes apart, as a person saving files makes them
  }
  return times.sort((a, b) => a - b);
}

/** The inotifywait + cp + mv loop on one folder; resolves once it is listening. */
async function startShellLoop(from, to) {
  const script =
    `inotifywait -m -q -e close_write --format '%f' "$0" | while IFS= read -r f; do ` +
    `cp -p "$0/$f" "$1/.tmp.$f" && mv -f "$1/.tmp.$f" "$1/$f"; done`;
  const child = spawn('sh', ['-c', script, from, to], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  children.push({ kill: (s) => process.kill(-child.pid, s) });
  await new Promise((resolve) => {
    // inotifywait prints "Watches established." on stderr unless -q: use a probe write instead.
    const probe = path.join(from, 'probe.txt');
    const tryOnce = async () => {
      fs.writeFileSync(probe, 'p');
      for (let i = 0; i < 50; i++) {
        if (fs.existsSync(path.join(to, 'probe.txt'))) return resolve();
        await sleep(10);
      }
      tryOnce();
    };
    setTimeout(tryOnce, 100);
  });
  return child;
}

function countFiles(root) {
  let n = 0;
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else n++;
    }
  };
  if (fs.existsSync(root)) walk(root);
  return n;
}

async function main() {
  const rows = [];
  const say = (...a) => console.log(...a);
  say(`Tree of ${FILES} files in ${scratch} ...`);
  const src = path.join(scratch, 'src');
  const dst = path.join(scratch, 'dst');
  const tree = await makeTree(src, FILES);
  const folder = tree.folders[tree.folders.length - 1];

  const w = await startWatch(src, dst);
  say(`synctray watch ready after ${(w.readyMs / 1000).toFixed(2)} s (first sync of ${FILES} files included)`);
  const afterReady = rssOf(w.child.pid);

  // Latency: synctray into a folder of the tree; the shell loop between two folders of its own.
  const stepsBefore = w.lines.filter((l) => l.event === 'batch').length;
  const ours = await latencies(path.join(src, folder), path.join(dst, folder), WRITES, 'note');
  await sleep(100); // a step finishing a write after it was seen whole is counted too
  const stepsPerWrite = (w.lines.filter((l) => l.event === 'batch').length - stepsBefore) / WRITES;
  const loopFrom = path.join(scratch, 'loop-src');
  const loopTo = path.join(scratch, 'loop-dst');
  fs.mkdirSync(loopFrom);
  fs.mkdirSync(loopTo);
  const loop = await startShellLoop(loopFrom, loopTo);
  const floor = await latencies(loopFrom, loopTo, WRITES, 'note');
  process.kill(-loop.pid, 'SIGKILL');
  const p = (t, q) => quantile(t, q).toFixed(1);
  rows.push([
    'latency p50, ms',
    p(ours, 0.5),
    p(floor, 0.5),
    `<= ${TARGETS.p50}`,
    quantile(ours, 0.5) <= TARGETS.p50 ? 'PASS' : 'MISS',
  ]);
  rows.push([
    'latency p99, ms',
    p(ours, 0.99),
    p(floor, 0.99),
    `<= ${TARGETS.p99}`,
    quantile(ours, 0.99) <= TARGETS.p99 ? 'PASS' : 'MISS',
  ]);
  rows.push(['  steps per write', stepsPerWrite.toFixed(2), '', 'reported', '']);

  // Idle CPU over 10 s.
  await sleep(1000);
  const cpu0 = cpuOf(w.child.pid);
  await sleep(10_000);
  const idle = cpuOf(w.child.pid) - cpu0;
  rows.push([
    'CPU idle, s per 10 s',
    idle.toFixed(2),
    '',
    `<= ${TARGETS.idleCpuS}`,
    idle <= TARGETS.idleCpuS ? 'PASS' : 'MISS',
  ]);

  // Burst of new files while watching, then the same files synced once into an empty folder;
  // three rounds of each, medians (timings here swing by a third from one run to the next).
  const content = Buffer.alloc(1024, 0x62);
  const watchedMs = [];
  const syncedMs = [];
  const writtenMs = [];
  for (let round = 0; round < 3; round++) {
    const burstDir = path.join(src, `burst-${round}`);
    const t0 = performance.now();
    for (let d = 0; d < Math.ceil(BURST / 100); d++) {
      fs.mkdirSync(path.join(burstDir, `b${d}`), { recursive: true });
      for (let f = 0; f < 100 && d * 100 + f < BURST; f++)
        fs.writeFileSync(path.join(burstDir, `b${d}`, `f${f}`), content);
    }
    writtenMs.push(performance.now() - t0);
    while (countFiles(path.join(dst, `burst-${round}`)) < BURST) await sleep(10);
    watchedMs.push(performance.now() - t0);
    const s0 = performance.now();
    await runChecked(process.execPath, [CLI, 'sync', burstDir, path.join(scratch, `once-${round}`), '--quiet']);
    syncedMs.push(performance.now() - s0);
  }
  const [watched, synced, written] = [median(watchedMs), median(syncedMs), median(writtenMs)];
  const ratio = watched / synced;
  rows.push([`burst of ${BURST}: watch, s`, (watched / 1000).toFixed(2), '', '', '']);
  rows.push([`  one-shot sync, s`, (synced / 1000).toFixed(2), '', '', '']);
  rows.push([
    `  ratio (watch / sync)`,
    ratio.toFixed(2),
    '',
    `<= ${TARGETS.burstRatio}`,
    ratio <= TARGETS.burstRatio ? 'PASS' : 'MISS',
  ]);
  const peak = rssOf(w.child.pid).peak;
  rows.push([
    `RSS at ${FILES} files, MB`,
    `${afterReady.rss.toFixed(0)} (peak ${peak.toFixed(0)})`,
    '',
    `<= ${TARGETS.rssMb}`,
    peak <= TARGETS.rssMb ? 'PASS' : 'MISS',
  ]);
  await stop(w.child);

  if (BIG_FILES > 0) {
    say(`Tree of ${BIG_FILES} files ...`);
    const bigSrc = path.join(scratch, 'big-src');
    await makeTree(bigSrc, BIG_FILES);
    const big = await startWatch(bigSrc, path.join(scratch, 'big-dst'));
    const r = rssOf(big.child.pid);
    rows.push([`RSS at ${BIG_FILES} files, MB`, `${r.rss.toFixed(0)} (peak ${r.peak.toFixed(0)})`, '', 'reported', '']);
    rows.push([`  ready after, s`, (big.readyMs / 1000).toFixed(2), '', '', '']);
    await stop(big.child);
  }

  say('');
  say(formatTable(['measure', 'synctray', 'inotifywait+cp', 'target', 'result'], rows));
  say(
    `\n(medians of 3 bursts; writing a burst took ${(written / 1000).toFixed(2)} s of its watch time, which counts ` +
      'from the first',
  );
  say(`file written to the last one whole in the destination; latencies over ${WRITES} writes of 4 KiB)`);
}

await main();
