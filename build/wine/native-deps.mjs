// What vitest needs to run under Windows' node.exe in Wine, made for each run in a folder of its
// own: the Windows builds of its native dependencies (npm installed the Linux ones) and a
// bcryptprimitives.dll, which Wine 8 lacks and Rust-built Windows addons load.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { npmPack, untar } from './npm-pack.mjs';
import { findProgram, ROOT } from './windows-node.mjs';

/**
 * The Windows x64 builds vitest loads, each at the version the lockfile holds for it: npm installs
 * only the build for the machine it runs on. Packed, never installed: the checkout's node_modules
 * is left as it is.
 */
const WIN32_PACKAGES = [
  // vite's bundler: every test file goes through it.
  '@rolldown/binding-win32-x64-msvc',
  // vite imports it at start, CSS or not.
  'lightningcss-win32-x64-msvc',
];

const STUB_SOURCE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bcryptprimitives.c');

/** The MinGW-w64 C compiler that builds the stub DLL; undefined without one. */
export function findMingw() {
  return findProgram('x86_64-w64-mingw32-gcc');
}

/**
 * Unpacks WIN32_PACKAGES into `dir`/node_modules, each checked against the lockfile's integrity:
 * the Windows run must test what the lockfile pins, not whatever the registry serves today.
 */
export function packWindowsModules(dir) {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')).packages;
  const tarballs = path.join(dir, 'tarballs');
  for (const name of WIN32_PACKAGES) {
    const locked = lock[`node_modules/${name}`];
    if (!locked) throw new Error(`${name} is not in package-lock.json: run npm install, then try again.`);
    const tarball = npmPack(`${name}@${locked.version}`, tarballs);
    const [algorithm, digest] = locked.integrity.split('-', 2);
    const got = crypto.createHash(algorithm).update(fs.readFileSync(tarball)).digest('base64');
    if (got !== digest) throw new Error(`${name}@${locked.version} does not match package-lock.json's integrity.`);
    untar(tarball, path.join(dir, 'node_modules', ...name.split('/')), 1);
  }
  fs.rmSync(tarballs, { recursive: true });
  return path.join(dir, 'node_modules');
}

/**
 * Compiles bcryptprimitives.c with `gcc` (MinGW-w64) into `system32` (a prefix's): Rust's standard
 * library asks that DLL for ProcessPrng, which Wine 8 does not have, so without it rolldown's and
 * lightningcss' Windows addons fail to load.
 */
export function buildPrngStub(gcc, system32) {
  const dll = path.join(system32, 'bcryptprimitives.dll');
  const args = ['-shared', '-O2', '-s', '-o', dll, STUB_SOURCE, '-ladvapi32'];
  const built = spawnSync(gcc, args, { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`could not build bcryptprimitives.dll: ${built.stderr}`);
  return dll;
}
