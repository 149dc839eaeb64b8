/**
 * Ordinary-user runs when the tests run as root (as CI does), so that permission bits mean
 * something: the CLI runs as NOBODY (see `unprivileged` in cli.ts) on folders handed to NOBODY.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The uid/gid that `unprivileged` runs use when the tests run as root. */
export const NOBODY = 65534;
export const isRoot = process.getuid?.() === 0;

/** Hands a test folder to NOBODY when running as root, so an unprivileged CLI can work in it. */
export function giveToNobody(dir: string): void {
  if (!isRoot) return;
  fs.chmodSync(dir, 0o755);
  const walk = (p: string) => {
    fs.lchownSync(p, NOBODY, NOBODY);
    if (fs.lstatSync(p).isDirectory()) for (const n of fs.readdirSync(p)) walk(path.join(p, n));
  };
  walk(dir);
}

/** Whether NOBODY can reach `file` (every folder above it searchable by others) and read it. */
function nobodyCanRead(file: string): boolean {
  const others = (p: string, bits: number) => (fs.statSync(p).mode & bits) === bits;
  if (!others(file, 0o004)) return false;
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    if (!others(dir, 0o001)) return false;
    if (path.dirname(dir) === dir) return true;
  }
}

let nobodyInstall: { node: string; cli: string } | undefined;

/**
 * The Node binary and CLI an unprivileged run uses. Normally the tests' own; when the checkout
 * lies where NOBODY cannot reach it (under /root, say), a copy of the runtime, the compiled CLI
 * and its dependencies in a world-readable temp folder, made once per test process.
 */
export function nobodyRuntime(repoRoot: string, cli: string): { node: string; cli: string } {
  if (nobodyCanRead(process.execPath) && nobodyCanRead(cli)) return { node: process.execPath, cli };
  if (nobodyInstall) return nobodyInstall;
  // One copy per build, reused by every test file and run; copies of older builds are removed.
  const stamp = (p: string) => `${fs.statSync(p).size}-${fs.statSync(p).mtimeMs}`;
  const key = createHash('sha256')
    .update(`${stamp(process.execPath)} ${stamp(cli)} ${repoRoot}`)
    .digest('hex')
    .slice(0, 16);
  const base = path.join(os.tmpdir(), `synctray-nobody-${key}`);
  const result = { node: path.join(base, 'node'), cli: path.join(base, path.relative(repoRoot, cli)) };
  if (fs.existsSync(result.cli)) return (nobodyInstall = result);
  for (const old of fs.readdirSync(os.tmpdir())) {
    if (old.startsWith('synctray-nobody-') && !old.startsWith(`synctray-nobody-${key}`)) {
      fs.rmSync(path.join(os.tmpdir(), old), { recursive: true, force: true });
    }
  }
  const building = `${base}.${process.pid}`;
  fs.mkdirSync(building, { mode: 0o755 });
  fs.chmodSync(building, 0o755);
  fs.copyFileSync(process.execPath, path.join(building, 'node'));
  fs.cpSync(path.join(repoRoot, 'dist'), path.join(building, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(repoRoot, 'package.json'), path.join(building, 'package.json'));
  const deps = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).dependencies as Record<
    string,
    string
  >;
  const copyDep = (name: string) => {
    const target = path.join(building, 'node_modules', name);
    if (fs.existsSync(target)) return;
    const from = path.join(repoRoot, 'node_modules', name);
    fs.cpSync(from, target, { recursive: true });
    const own = JSON.parse(fs.readFileSync(path.join(from, 'package.json'), 'utf8')).dependencies ?? {};
    for (const dep of Object.keys(own)) copyDep(dep);
  };
  for (const dep of Object.keys(deps)) copyDep(dep);
  for (const p of fs.readdirSync(building, { recursive: true, encoding: 'utf8' })) {
    const abs = path.join(building, p);
    fs.chmodSync(abs, fs.statSync(abs).isDirectory() || p === 'node' ? 0o755 : 0o644);
  }
  // Test files run in parallel: the first to finish its copy puts it in place, the others' go.
  try {
    fs.renameSync(building, base);
  } catch {
    fs.rmSync(building, { recursive: true, force: true });
  }
  return (nobodyInstall = result);
}
