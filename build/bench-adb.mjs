// `npm run bench:adb [-- --files N --big-mb N --rounds N]`: times backing a phone folder up with
// `synctray sync adb:SERIAL:/DIR` against `adb pull -a` of the same folder, in the same run, through
// the real adb server and the fake phone of test/helpers/fake-adb (its own process). Scenarios:
// the small files plus one big file copied fresh, and a no-change re-run of the small files.
// It measures; it does not judge: exit 0 whatever the numbers. Run `npm run build` first.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
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
  runCommand,
  seconds,
  writeTree,
  yieldToEventLoop,
} from './bench-lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
// The fake phone is TypeScript run by the Node the project pins (type stripping needs Node 23.6+).
const NODE24 = path.join(ROOT, 'node_modules', '.bin', 'node');
const FAKE = path.join(ROOT, 'test', 'helpers', 'fake-adb', 'main.ts');
const HOOKS = path.join(ROOT, 'test', 'helpers', 'ts-hooks.mjs');

const USAGE = `Usage: npm run bench:adb -- [--files N] [--big-mb N] [--rounds N]

  --files N    small files on the phone (default 2000, in folders of 20)
  --big-mb N   size of the one big file, in MB (default 200)
  --rounds N   timed runs per tool and scenario; medians are reported (default 3)`;

const { values } = parseArgs({
  options: {
    files: { type: 'string' },
    'big-mb': { type: 'string' },
    rounds: { type: 'string' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const FILES = Number(values.files ?? 2000);
const BIG_MB = Number(values['big-mb'] ?? 200);
const ROUNDS = Number(values.rounds ?? 3);

const { dir: scratch, warning } = makeScratchDir('synctray-bench-adb-');
if (warning) console.warn(warning);
const started = [];
const cleanup = async () => {
  for (const child of started) if (child.exitCode === null) child.kill('SIGTERM');
  await runCommand('adb', ['kill-server']).catch(() => undefined);
  removeTree(scratch);
};
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

try {
  const env = {
    ...process.env,
    HOME: path.join(scratch, 'home'),
    TMPDIR: path.join(scratch, 'tmp'),
    ANDROID_ADB_SERVER_PORT: String(await freePort()),
  };
  fs.mkdirSync(env.HOME);
  fs.mkdirSync(env.TMPDIR);
  Object.assign(process.env, env);

  console.log(`Writing ${FILES} small files and one ${BIG_MB} MB file for the phone…`);
  const phone = path.join(scratch, 'phone');
  const tree = planTree(FILES, 0x5eed);
  await writeTree(phone, tree, makeContentPool(0xc0ffee), 0x5eed, yieldToEventLoop);
  const small = path.join(phone, 'small');
  fs.renameSync(phone, `${phone}-tmp`);
  fs.mkdirSync(phone);
  fs.renameSync(`${phone}-tmp`, small);
  writeBig(path.join(phone, 'video.mp4'), BIG_MB * 1_000_000);

  await runChecked('adb', ['start-server']);
  const device = await startFake();
  await runChecked('adb', ['connect', device]);
  console.log(`Fake phone at ${device}, adb server on port ${env.ANDROID_ADB_SERVER_PORT}; ${ROUNDS} rounds.\n`);

  const rows = [];
  const time = async (label, prepare, cmd, args) => {
    const ms = [];
    for (let i = 0; i < ROUNDS; i++) {
      prepare();
      const r = await runCommand(cmd, args);
      if (r.status !== 0) throw new Error(`${label} failed (exit ${r.status}): ${r.stderr || r.stdout}`);
      ms.push(r.ms);
    }
    return median(ms);
  };
  const fresh = (dir) => () => removeTree(dir);
  const out = (name) => path.join(scratch, name);

  const pullAll = await time('adb pull', fresh(out('pulled')), 'adb', [
    '-s',
    device,
    'pull',
    '-a',
    phone,
    out('pulled'),
  ]);
  const syncAll = await time('synctray sync', fresh(out('synced')), process.execPath, [
    CLI,
    'sync',
    `adb:${device}:${phone}`,
    out('synced'),
    '--quiet',
  ]);
  rows.push([
    'first copy (small files + big file)',
    seconds(pullAll),
    seconds(syncAll),
    (syncAll / pullAll).toFixed(2),
    '<= 1.5',
  ]);

  const smallPull = await time('adb pull (small)', fresh(out('pulled-small')), 'adb', [
    '-s',
    device,
    'pull',
    '-a',
    small,
    out('pulled-small'),
  ]);
  await runChecked(process.execPath, [CLI, 'sync', `adb:${device}:${small}`, out('synced-small'), '--quiet']);
  const again = await time('synctray re-run', () => undefined, process.execPath, [
    CLI,
    'sync',
    `adb:${device}:${small}`,
    out('synced-small'),
    '--quiet',
  ]);
  rows.push([
    `no-change re-run (${FILES} small files)`,
    seconds(smallPull),
    seconds(again),
    (again / smallPull).toFixed(2),
    'synctray <= 0.5 s',
  ]);

  const diff = await runCommand('rsync', ['-anic', '--delete', `${phone}/`, `${out('synced')}/`]);
  console.log(formatTable(['scenario', 'adb pull -a (s)', 'synctray (s)', 'ratio', 'target'], rows));
  console.log(
    "\nrsync -anic between the phone folder and synctray's copy: " +
      `${diff.stdout.trim() === '' ? 'equal' : `DIFFERENT:\n${diff.stdout}`}`,
  );
} finally {
  await cleanup();
}

/** A big file of pseudo-random bytes, written a block at a time. */
function writeBig(file, bytes) {
  const block = makeContentPool(0xb16, 4 * 1024 * 1024);
  const fd = fs.openSync(file, 'w');
  for (let left = bytes; left > 0; left -= block.length) fs.writeSync(fd, block, 0, Math.min(left, block.length));
  fs.closeSync(fd);
  fs.utimesSync(file, 1_700_000_000, 1_700_000_000);
}

/** The fake phone in a process of its own; resolves with its serial once it listens. */
function startFake() {
  return new Promise((resolve, reject) => {
    const child = spawn(
      NODE24,
      ['--experimental-transform-types', '--no-warnings', '--import', HOOKS, FAKE, '--model', 'BenchPhone'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    started.push(child);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`the fake phone exited (${code}) before listening`)));
  });
}

/** A port for the adb server: not 5037 (the user's) and not 5555-5585 (scanned for emulators). */
async function freePort() {
  for (;;) {
    const server = net.createServer();
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address();
    await new Promise((resolve) => server.close(resolve));
    if (port !== 5037 && (port < 5555 || port > 5585)) return port;
  }
}
