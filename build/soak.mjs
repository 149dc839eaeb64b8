// `npm run soak [-- --files N --minutes M --rate R]`: SyncTray under load, on a tmpfs.
//   1. a first mirror of N files (default 200,000) with `synctray sync`, timed;
//   2. `synctray watch` on the pair for M minutes (default 10) while the source takes about R
//      changes a second (default 50: creates, edits, renames, deletes), sampling the watcher's
//      memory and CPU; then the trees must be equal (rsync -anic --delete);
//   3. a burst of 10,000 new files while watching, timed until the last one is replicated;
//   4. a 2 GiB file copied by `synctray sync` and checked byte for byte.
// It prints what it measured; exit 1 only when the trees end up different or something broke.
// Run `npm run build` first.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  formatTable,
  makeContentPool,
  makeRng,
  makeScratchDir,
  planTree,
  removeTree,
  runCommand,
  yieldToEventLoop,
  writeTree,
} from './bench-lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const { values } = parseArgs({
  options: { files: { type: 'string' }, minutes: { type: 'string' }, rate: { type: 'string' } },
});
const FILES = Number(values.files ?? 200_000);
const MINUTES = Number(values.minutes ?? 10);
const RATE = Number(values.rate ?? 50);
const { dir: scratch, warning } = makeScratchDir('synctray-soak-');
if (warning) console.warn(warning);
const src = path.join(scratch, 'src');
const dst = path.join(scratch, 'dst');
const rows = [];
let watcher;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const mb = (kb) => (kb / 1024).toFixed(0);

/** Peak RSS (VmHWM) and CPU seconds so far of a process, from /proc. */
function usage(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)[1]);
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]);
  return { hwmKb: hwm, rssKb: rss, cpuS: ticks / 100 };
}

async function equalTrees() {
  const r = await runCommand('rsync', ['-anic', '--delete', `${src}/`, `${dst}/`]);
  return r.stdout.trim() === '' ? true : r.stdout.split('\n').slice(0, 5).join('\n');
}

/** Waits until rsync finds the trees equal (the watcher has caught up), or `ms` pass. */
async function settle(ms) {
  const started = performance.now();
  for (;;) {
    const eq = await equalTrees();
    if (eq === true) return performance.now() - started;
    if (performance.now() - started > ms) throw new Error(`the trees still differ after ${ms / 1000} s:\n${eq}`);
    await sleep(250);
  }
}

try {
  console.log(`Writing ${FILES.toLocaleString('en-US')} files…`);
  const tree = planTree(FILES, 0x50a1);
  await writeTree(src, tree, makeContentPool(0xfeed), 0x50a1, yieldToEventLoop);

  const first = await runCommand(process.execPath, [CLI, 'sync', src, dst, '--mode', 'mirror', '--quiet']);
  if (first.status !== 0) throw new Error(`the first mirror failed: ${first.stderr}`);
  rows.push(['first mirror', `${(first.ms / 1000).toFixed(1)} s`, `${FILES.toLocaleString('en-US')} files`]);

  watcher = spawn(process.execPath, [CLI, 'watch', src, dst, '--mode', 'mirror', '--quiet', '--rescan-interval', '0'], {
    stdio: 'ignore',
  });
  await sleep(3000);
  const before = usage(watcher.pid);

  // The churn: creates, edits, renames and deletes at about RATE a second.
  const rng = makeRng(0xc4a5);
  const live = tree.files.map((f) => f.rel);
  const pool = makeContentPool(0xabc, 1024 * 1024);
  let ops = 0;
  let peakHwm = 0;
  let peakRss = 0;
  const until = performance.now() + MINUTES * 60_000;
  let nextSample = performance.now();
  while (performance.now() < until) {
    const pick = rng();
    const i = Math.floor(rng() * live.length);
    const rel = live[i];
    try {
      if (pick < 0.35) {
        const fresh = `${path.dirname(rel)}/soak-${ops}.dat`;
        fs.writeFileSync(path.join(src, fresh), pool.subarray(0, Math.floor(rng() * 16_000)));
        live.push(fresh);
      } else if (pick < 0.7) {
        fs.writeFileSync(path.join(src, rel), pool.subarray(ops % 1000, (ops % 1000) + Math.floor(rng() * 16_000)));
      } else if (pick < 0.85) {
        const renamed = `${path.dirname(rel)}/renamed-${ops}.dat`;
        fs.renameSync(path.join(src, rel), path.join(src, renamed));
        live[i] = renamed;
      } else {
        fs.rmSync(path.join(src, rel));
        live[i] = live[live.length - 1];
        live.pop();
      }
      ops++;
    } catch {
      // a file renamed or removed a moment ago
    }
    if (performance.now() >= nextSample) {
      const u = usage(watcher.pid);
      peakHwm = Math.max(peakHwm, u.hwmKb);
      peakRss = Math.max(peakRss, u.rssKb);
      nextSample = performance.now() + 1000;
    }
    await sleep(1000 / RATE);
  }
  const caughtUp = await settle(120_000);
  const after = usage(watcher.pid);
  const cpu = after.cpuS - before.cpuS;
  rows.push([
    `watch under changes, ${MINUTES} min`,
    `${ops.toLocaleString('en-US')} changes (${(ops / (MINUTES * 60)).toFixed(0)}/s)`,
    `equal ${(caughtUp / 1000).toFixed(1)} s after the last change`,
  ]);
  rows.push([
    'watcher memory',
    `peak RSS ${mb(Math.max(peakHwm, after.hwmKb))} MB`,
    `RSS at the end ${mb(after.rssKb)} MB`,
  ]);
  rows.push([
    'watcher CPU',
    `${cpu.toFixed(1)} s over ${MINUTES} min`,
    `${((100 * cpu) / (MINUTES * 60)).toFixed(1)}% of one core`,
  ]);

  // A burst of 10,000 new files.
  fs.mkdirSync(path.join(src, 'burst'));
  const burstStart = performance.now();
  for (let i = 0; i < 10_000; i++)
    fs.writeFileSync(path.join(src, 'burst', `b${i}.dat`), pool.subarray(i % 1000, (i % 1000) + 2048));
  const written = performance.now() - burstStart;
  const replicated = await settle(120_000);
  rows.push([
    'burst of 10,000 new files',
    `written in ${(written / 1000).toFixed(1)} s`,
    `all replicated ${((written + replicated) / 1000).toFixed(1)} s after the first`,
  ]);
  watcher.kill('SIGINT');
  await new Promise((r) => watcher.once('exit', r));
  watcher = undefined;

  // A 2 GiB file, copied and checked.
  const bigSrc = path.join(scratch, 'big-src');
  const bigDst = path.join(scratch, 'big-dst');
  fs.mkdirSync(bigSrc);
  const fd = fs.openSync(path.join(bigSrc, 'big.bin'), 'w');
  const block = crypto.randomBytes(8 * 1024 * 1024);
  for (let i = 0; i < 256; i++) fs.writeSync(fd, block);
  fs.closeSync(fd);
  const big = await runCommand(process.execPath, [CLI, 'sync', bigSrc, bigDst, '--quiet']);
  if (big.status !== 0) throw new Error(`the 2 GiB copy failed: ${big.stderr}`);
  const same = (await runCommand('cmp', [path.join(bigSrc, 'big.bin'), path.join(bigDst, 'big.bin')])).status === 0;
  rows.push(['a 2 GiB file', `copied in ${(big.ms / 1000).toFixed(1)} s`, same ? 'identical (cmp)' : 'DIFFERENT']);
  if (!same) process.exitCode = 1;

  console.log(`\n${formatTable(['what', 'measured', ''], rows)}`);
} catch (err) {
  console.error(`soak: ${err.message}`);
  if (rows.length) console.log(`\n${formatTable(['what', 'measured', ''], rows)}`);
  process.exitCode = 1;
} finally {
  watcher?.kill('SIGKILL');
  removeTree(scratch);
}
