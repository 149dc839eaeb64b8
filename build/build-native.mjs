// Compiles the local backend's native accelerator (src/storage/local/native/fast-fs.c) into
// dist/native/fast-fs.node with the system's C compiler ($CC, else cc) and the Node-API headers
// from node-api-headers. Nothing is downloaded. Where there is no compiler, or on a platform it
// does not support yet, it says so and exits 0: SyncTray then uses its portable code path.
// `--require` makes a missing compiler an error (CI, where the fast path must be tested).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = path.join(ROOT, 'src', 'storage', 'local', 'native', 'fast-fs.c');
const OUT = path.join(ROOT, 'dist', 'native', 'fast-fs.node');
const required = process.argv.includes('--require');

function skip(reason) {
  const text = `synctray: native file listing not built (${reason}); the portable code path is used instead.`;
  if (required) {
    console.error(`${text}\nInstall a C compiler (Debian: apt install gcc) and run npm run build again.`);
    process.exit(1);
  }
  console.warn(text);
  process.exit(0);
}

if (process.platform !== 'linux') skip(`not written for ${process.platform} yet`);

let include;
try {
  include = createRequire(import.meta.url)('node-api-headers').include_dir;
} catch {
  skip('the node-api-headers package is not installed');
}

const cc = process.env.CC || 'cc';
fs.mkdirSync(path.dirname(OUT), { recursive: true });
const temp = `${OUT}.${process.pid}.tmp`;
// Warnings fail the build only where it is required: another compiler's new warning must not
// cost a user the fast path.
const args = [
  '-std=c11',
  '-O2',
  '-Wall',
  '-Wextra',
  ...(required ? ['-Werror'] : []),
  '-fPIC',
  '-shared',
  '-fvisibility=hidden',
  '-I',
  include,
  '-o',
  temp,
  SOURCE,
];
const result = spawnSync(cc, args, { stdio: ['ignore', 'inherit', 'inherit'] });
if (result.error || result.status !== 0) {
  fs.rmSync(temp, { force: true });
  skip(result.error ? `${cc}: ${result.error.message}` : `${cc} exited with ${result.status}`);
}
// Renamed into place, so a half-written library is never loaded.
fs.renameSync(temp, OUT);
