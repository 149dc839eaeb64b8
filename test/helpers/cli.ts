/**
 * Running the compiled CLI (`dist/cli/main.js`) as a child process, the way a user runs it.
 * The tests never import the CLI: what they check is what a user would see (exit code, stdout,
 * the files left on disk).
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
export const CLI_PATH = path.join(REPO_ROOT, 'dist/cli/main.js');

/**
 * Throws a clear message when the CLI has not been compiled. `npm ci` builds it through the
 * `prepare` script; a stale build is only warned about, since src/ may be mid-edit.
 */
export function assertCliBuilt(): void {
  if (!fs.existsSync(CLI_PATH)) {
    throw new Error(`${CLI_PATH} does not exist: run \`npm run build\` first (npm ci runs it through "prepare").`);
  }
  const built = fs.statSync(CLI_PATH).mtimeMs;
  const newest = newestMtimeMs(path.join(REPO_ROOT, 'src'));
  if (newest > built) console.warn(`dist/ is older than src/: these tests run the last build; run \`npm run build\` to test the current code.`);
}

function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) newest = Math.max(newest, fs.statSync(path.join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

/** The one-line JSON summary `sync --json` prints last. */
export interface SyncSummary {
  mode: string;
  dryRun: boolean;
  copied: number;
  updated: number;
  deleted: number;
  metadata: number;
  unchanged: number;
  skipped: number;
  failed: number;
  bytes: number;
  durationMs: number;
  errors: { path: string; code: string; message: string }[];
  fatal?: { code: string; message: string };
  refused?: string;
}

export interface CliResult {
  args: string[];
  /** Exit status, or null when a signal ended the process. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunningCli {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** Resolves once the process has exited and its output is closed. */
  done: Promise<CliResult>;
}

/** Starts `node dist/cli/main.js ...args` with the Node running the tests. */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ args, code, signal, stdout, stderr }));
  });
  return { child, done };
}

/** Runs the CLI to the end; a run still going after `timeoutMs` is killed and reported as such. */
export async function runCli(args: string[], timeoutMs = 30_000): Promise<CliResult> {
  const run = startCli(args);
  const timer = setTimeout(() => run.child.kill('SIGKILL'), timeoutMs);
  try {
    const result = await run.done;
    if (result.signal === 'SIGKILL') throw new Error(`synctray ${args.join(' ')} still running after ${timeoutMs} ms; killed.\n${describeRun(result)}`);
    return result;
  } finally {
    clearTimeout(timer);
  }
}

/** `synctray sync SRC DST ...options --json`. */
export function runSync(src: string, dst: string, ...options: string[]): Promise<CliResult> {
  return runCli(['sync', src, dst, ...options, '--json']);
}

/** The summary from the last stdout line; throws with the whole output when there is none. */
export function summaryOf(result: CliResult): SyncSummary {
  const last = result.stdout.trimEnd().split('\n').pop() ?? '';
  try {
    const parsed = JSON.parse(last) as unknown;
    if (typeof parsed === 'object' && parsed !== null && 'copied' in parsed) return parsed as SyncSummary;
  } catch {
    // reported below
  }
  throw new Error(`no JSON summary on the last stdout line.\n${describeRun(result)}`);
}

/** The command and everything it printed, for failure messages. */
export function describeRun(result: CliResult): string {
  const status = result.signal ? `signal ${result.signal}` : `exit ${result.code}`;
  return [
    `$ synctray ${result.args.map(shellQuote).join(' ')}  (${status})`,
    result.stdout.trim() ? `stdout:\n${indent(result.stdout.trimEnd())}` : 'stdout: (empty)',
    result.stderr.trim() ? `stderr:\n${indent(result.stderr.trimEnd())}` : 'stderr: (empty)',
  ].join('\n');
}

export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function indent(text: string, by = '  '): string {
  return text.replace(/^/gm, by);
}
