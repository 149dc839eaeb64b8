/**
 * Running the compiled CLI (`dist/cli/main.js`) as a child process, the way a user runs it.
 * The tests never import the CLI: what they check is what a user would see (exit code, stdout,
 * the files left on disk).
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { isRoot, NOBODY, nobodyRuntime } from './privilege.js';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
export const CLI_PATH = path.join(REPO_ROOT, 'dist/cli/main.js');

/** Throws a clear message when the CLI has not been compiled (every run checks this). */
function assertCliExists(cli = CLI_PATH): void {
  if (!fs.existsSync(cli)) {
    throw new Error(`${cli} does not exist: run \`npm run build\` first (npm ci runs it through "prepare").`);
  }
}

/**
 * Throws a clear message when the CLI has not been compiled. `npm ci` builds it through the
 * `prepare` script; a stale build is only warned about, since src/ may be mid-edit.
 */
export function assertCliBuilt(): void {
  assertCliExists();
  const built = fs.statSync(CLI_PATH).mtimeMs;
  const newest = newestMtimeMs(path.join(REPO_ROOT, 'src'));
  if (newest > built)
    console.warn(
      `dist/ is older than src/: these tests run the last build; run \`npm run build\` to test the current code.`,
    );
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

/** A JSON object printed as the last stdout line, whatever its shape. */
export type CliJson = Record<string, unknown> & { errors?: { path: string; code: string; message: string }[] };

export interface CliResult {
  args: string[];
  /** Exit status, or null when a signal ended the process. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The last stdout line parsed as JSON, when it is a JSON object. */
  json?: CliJson;
}

export interface StartOptions {
  cwd?: string;
  /** Added to the tests' own environment. */
  env?: NodeJS.ProcessEnv;
  /**
   * Run as an ordinary user even when the tests run as root (as CI does), so that permission bits
   * mean something; the files involved must belong to NOBODY (see `giveToNobody`).
   */
  unprivileged?: boolean;
  /**
   * The compiled CLI to run instead of this repository's CLI_PATH: another build of SyncTray, e.g.
   * one broken on purpose to see a test fail (the power-cut test takes it from SYNCTRAY_TEST_CLI).
   */
  cli?: string;
}

export interface RunOptions extends StartOptions {
  /** A run still going after this long is killed and reported as such; 30 s unless given. */
  timeoutMs?: number;
}

export interface RunningCli {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** Resolves once the process has exited and its output is closed. */
  done: Promise<CliResult>;
  /** What it wrote to stderr so far. */
  stderrSoFar(): string;
}

/** Starts `node dist/cli/main.js ...args` with the Node running the tests. */
export function startCli(args: string[], options: StartOptions = {}): RunningCli {
  const cliPath = options.cli ?? CLI_PATH;
  assertCliExists(cliPath);
  const unprivileged = options.unprivileged === true && isRoot;
  const drop = unprivileged ? { uid: NOBODY, gid: NOBODY } : {};
  // Another build's repository holds its CLI at dist/cli/main.js, as this one does.
  const repoRoot = options.cli === undefined ? REPO_ROOT : path.resolve(cliPath, '../../..');
  const { node, cli } = unprivileged ? nobodyRuntime(repoRoot, cliPath) : { node: process.execPath, cli: cliPath };
  const child = spawn(node, [cli, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    ...drop,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ args, code, signal, stdout, stderr, json: lastLineJson(stdout) }));
  });
  return { child, done, stderrSoFar: () => stderr };
}

/** Runs the CLI to the end; a run still going after `timeoutMs` is killed and reported as such. */
export async function runCli(args: string[], { timeoutMs = 30_000, ...options }: RunOptions = {}): Promise<CliResult> {
  const run = startCli(args, options);
  const timer = setTimeout(() => run.child.kill('SIGKILL'), timeoutMs);
  try {
    const result = await run.done;
    if (result.signal === 'SIGKILL')
      throw new Error(
        `synctray ${args.join(' ')} still running after ${timeoutMs} ms; killed.\n${describeRun(result)}`,
      );
    return result;
  } finally {
    clearTimeout(timer);
  }
}

/** `synctray sync SRC DST ...options --json`. */
export function runSync(src: string, dst: string, ...options: string[]): Promise<CliResult> {
  return runCli(['sync', src, dst, ...options, '--json']);
}

/** The last line of `stdout` parsed as JSON when it is a JSON object, else undefined. */
function lastLineJson(stdout: string): CliJson | undefined {
  const last = stdout.trimEnd().split('\n').pop() ?? '';
  if (!last.startsWith('{')) return undefined;
  try {
    return JSON.parse(last) as CliJson;
  } catch {
    return undefined;
  }
}

/** The summary from the last stdout line; throws with the whole output when there is none. */
export function summaryOf(result: CliResult): SyncSummary {
  if (result.json && 'copied' in result.json) return result.json as unknown as SyncSummary;
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

/**
 * Runs the CLI with its standard output on a terminal (a pseudo-terminal made by util-linux's
 * `script`), as a user at a shell sees it. Output lines end in CRLF there; they come back with LF.
 * `typed` is what the user types into the terminal (the terminal echoes it into stdout): at once,
 * or with `once`, after the output shows `once.shown` and `once.meanwhile` has run (what changes while
 * the user reads a question).
 */
export async function runCliOnTerminal(
  args: string[],
  options: RunOptions & { typed?: string; once?: { shown: string; meanwhile: () => void } } = {},
): Promise<CliResult> {
  const command = [process.execPath, CLI_PATH, ...args].map(shellQuote).join(' ');
  const run = spawn('script', ['-qefc', command, '/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  let stdout = '';
  run.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  const { once } = options;
  // Nothing typed: the terminal's input ends at once, as a closed one would.
  if (!once) run.stdin.end(options.typed ?? '');
  else {
    const onData = () => {
      if (!stdout.includes(once.shown)) return;
      run.stdout.off('data', onData);
      once.meanwhile();
      run.stdin.end(options.typed ?? '');
    };
    run.stdout.on('data', onData);
  }
  const timer = setTimeout(() => run.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    run.on('close', (c, s) => resolve([c, s])),
  );
  clearTimeout(timer);
  const text = stdout.replace(/\r\n/g, '\n');
  return { args, code, signal, stdout: text, stderr: '', json: lastLineJson(text) };
}
