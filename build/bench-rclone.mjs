// `npm run bench:rclone [-- --files N --rounds N]`: times `synctray sync SRC rclone:nas:DIR` against
// `rclone sync SRC nas:DIR` (rclone's own engine) to the same `rclone serve sftp` on 127.0.0.1, in
// the same run, over the same tree of small files. Scenarios: a first copy, a no-change re-run,
// and a re-run after 1% of the files changed. The remote is defined by RCLONE_CONFIG_NAS_*
// variables only; nothing is read from or written to the user's rclone config.
// It measures; it does not judge: exit 0 whatever the numbers. Run `npm run build` first.
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  formatTable,
  makeContentPool,
  makeScratchDir,
  median,
  mutateTree,
  planTree,
  removeTree,
  runCommand,
  seconds,
  writeTree,
  yieldToEventLoop,
} from './bench-lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

const USAGE = `Usage: npm run bench:rclone -- [--files N] [--rounds N]

  --files N    small files in the tree (default 2000, in folders of 20)
  --rounds N   timed runs per tool and scenario; medians are reported (default 3)`;

const { values } = parseArgs({
  options: { files: { type: 'string' }, rounds: { type: 'string' }, help: { type: 'boolean' } },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const FILES = Number(values.files ?? 2000);
const ROUNDS = Number(values.rounds ?? 3);

const { dir: scratch, warning } = makeScratchDir('synctray-bench-rclone-');
if (warning) console.warn(warning);
let server;
const cleanup = async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  removeTree(scratch);
};
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

try {
  const base = { ...process.env };
  for (const name of Object.keys(base)) if (name.startsWith('RCLONE_')) delete base[name];
  Object.assign(base, {
    RCLONE_CONFIG: path.join(scratch, 'no-rclone.conf'),
    RCLONE_CACHE_DIR: path.join(scratch, 'rclone-cache'),
  });
  const served = path.join(scratch, 'served');
  const port = await serveSftp(served, base);
  const env = {
    ...base,
    RCLONE_CONFIG_NAS_TYPE: 'sftp',
    RCLONE_CONFIG_NAS_HOST: '127.0.0.1',
    RCLONE_CONFIG_NAS_PORT: String(port),
    RCLONE_CONFIG_NAS_USER: 'bench',
    RCLONE_CONFIG_NAS_PASS: execFileSync('rclone', ['obscure', 'bench'], { env: base, encoding: 'utf8' }).trim(),
  };
  const version = execFileSync('rclone', ['version'], { env: base, encoding: 'utf8' }).split('\n')[0];

  console.log(`Writing ${FILES} files…`);
  const src = path.join(scratch, 'src');
  const tree = planTree(FILES, 0x5eed);
  const pool = makeContentPool(0xc0ffee);
  await writeTree(src, tree, pool, 0x5eed, yieldToEventLoop);
  console.log(`${version}, rclone serve sftp on 127.0.0.1:${port}; ${ROUNDS} rounds.\n`);

  const run = async (label, cmd, args) => {
    const r = await runCommand(cmd, args, { env });
    if (r.status !== 0) throw new Error(`${label} failed (exit ${r.status}): ${r.stderr || r.stdout}`);
    return r.ms;
  };
  // Each round of the first copy goes to folders of its own: removing them behind the server's
  // back would leave it (rclone's VFS) believing in files that are gone.
  let last = 0;
  /** Medians of both tools, `prepare` run before each round (both tools then see the same change). */
  const both = async (prepare, fresh = false) => {
    const times = { rclone: [], synctray: [] };
    for (let i = 0; i < ROUNDS; i++) {
      prepare(i);
      if (fresh) last++;
      times.rclone.push(await run('rclone sync', 'rclone', ['sync', src, `nas:by-rclone-${last}`]));
      times.synctray.push(
        await run('synctray sync', process.execPath, [CLI, 'sync', src, `rclone:nas:by-synctray-${last}`, '--quiet']),
      );
    }
    return [median(times.rclone), median(times.synctray)];
  };
  const row = (name, [r, s], target) => [name, seconds(r), seconds(s), (s / r).toFixed(2), target];

  const rows = [];
  rows.push(row(`first copy (${FILES} files)`, await both(() => undefined, true), '<= 1.2'));
  rows.push(row('no-change re-run', await both(() => undefined), '<= 1.0'));
  const changed = Math.max(1, Math.round(FILES / 100));
  rows.push(
    row(
      `re-run, 1% changed (${changed} files)`,
      await both((i) => mutateTree(src, tree, changed, 0xabc + i, pool)),
      '<= 1.0',
    ),
  );

  console.log(formatTable(['scenario', 'rclone sync (s)', 'synctray (s)', 'ratio', 'target'], rows));
  // Folders' times aside (rclone sets none over SFTP); files compared by content and time to the second.
  const diff = await runCommand('rsync', [
    '-anic',
    '--delete',
    '--no-perms',
    '--modify-window=1',
    `${src}/`,
    `${path.join(served, `by-synctray-${last}`)}/`,
  ]);
  const left = diff.stdout.split('\n').filter((l) => l.trim() !== '' && !/^\.d\.\.t\.* /.test(l));
  console.log(
    "\nrsync -anic between the source and synctray's copy on the server: " +
      `${left.length === 0 ? 'equal' : `DIFFERENT:\n${left.join('\n')}`}`,
  );
} finally {
  await cleanup();
}

/** `rclone serve sftp` over `dir` on a port of its choosing; resolves with that port. */
function serveSftp(dir, env) {
  return new Promise((resolve, reject) => {
    server = spawn('rclone', ['serve', 'sftp', dir, '--addr', '127.0.0.1:0', '--user', 'bench', '--pass', 'bench'], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let said = '';
    server.stderr.on('data', (d) => {
      said += d;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(said);
      if (m) resolve(Number(m[1]));
    });
    server.on('exit', (code) => reject(new Error(`rclone serve sftp stopped (exit ${code}): ${said}`)));
  });
}
