import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const CLI = path.resolve(import.meta.dirname, '../../dist/cli/main.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The last stdout line parsed as JSON, when there is one. */
  json?: Record<string, unknown> & { errors?: { path: string; code: string; message: string }[] };
}

/** Runs the compiled CLI with the same Node as the tests. */
export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /**
   * Run as an ordinary user even when the tests run as root (as CI does), so that permission bits
   * mean something; the files involved must belong to NOBODY (see `giveToNobody`).
   */
  unprivileged?: boolean;
}

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

export function runCli(args: string[], options: RunOptions = {}): Promise<CliResult> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm ci does it through "prepare").`);
  return new Promise((resolve, reject) => {
    const drop = options.unprivileged && isRoot ? { uid: NOBODY, gid: NOBODY } : {};
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: { ...process.env, ...options.env }, ...drop });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = stdout.trimEnd().split('\n').pop() ?? '';
      let json: CliResult['json'];
      try {
        json = last.startsWith('{') ? JSON.parse(last) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ code, stdout, stderr, json });
    });
  });
}

/** A fresh temp folder; remove it with `fs.rmSync(dir, { recursive: true, force: true })`. */
export function tempDir(prefix = 'synctray-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Creates files from a `{ 'a/b.txt': 'content' }` map (parents made as needed). */
export function writeTree(root: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(root, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
  }
}

/**
 * Everything a user could notice about a tree: types, content, link targets, modes, mtimes (ns).
 * Two equal snapshots mean nothing was changed.
 */
export function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!fs.existsSync(root)) return out;
  const walk = (rel: string) => {
    const abs = rel ? path.join(root, rel) : root;
    const st = fs.lstatSync(abs, { bigint: true });
    const mode = (st.mode & 0o7777n).toString(8);
    if (st.isDirectory()) {
      out[rel || '.'] = `dir ${mode} ${st.mtimeNs}`;
      for (const name of fs.readdirSync(abs).sort()) walk(rel ? `${rel}/${name}` : name);
    } else if (st.isSymbolicLink()) {
      out[rel] = `link ${fs.readlinkSync(abs)} ${st.mtimeNs}`;
    } else {
      const hash = crypto.createHash('sha256').update(fs.readFileSync(abs)).digest('hex');
      out[rel] = `file ${mode} ${st.size} ${st.mtimeNs} ${hash}`;
    }
  };
  walk('');
  return out;
}
