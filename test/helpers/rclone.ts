/**
 * rclone for tests: an `rclone serve sftp` over a scratch folder on 127.0.0.1 (a port of its
 * choosing), and the environment that defines a remote for it with RCLONE_CONFIG_* variables only,
 * so nothing is read from or written to the user's rclone config or home. Every process started
 * here is stopped by its own pid, and stop() waits until it has exited.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { hasTool, skipReasonOutsideCi } from './requirements.js';

/** Why the rclone tests must be skipped, or undefined when they run (always under CI=true). */
export const RCLONE_SKIP = skipReasonOutsideCi(
  hasTool('rclone'),
  'rclone tests skipped: needs rclone (apt-get install rclone)',
);

/**
 * An environment that reads no rclone config file: remotes come from RCLONE_CONFIG_* alone (`more`),
 * the rest from `base` (a test desktop's, say).
 */
export function rcloneEnv(
  root: string,
  more: Record<string, string> = {},
  base: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const name of Object.keys(env)) if (name.startsWith('RCLONE_')) delete env[name];
  return {
    ...env,
    RCLONE_CONFIG: path.join(root, 'no-rclone.conf'),
    RCLONE_CACHE_DIR: path.join(root, 'rclone-cache'),
    ...more,
  };
}

/**
 * The server reads its folder afresh at every request, as a NAS's server does: rclone's
 * own serve caches listings for 5 minutes, so files a test writes or removes behind it would go unseen.
 */
const SERVE_FLAGS = ['--dir-cache-time', '0s'];

export interface SftpServer {
  readonly port: number;
  readonly pid: number;
  /** The folder it serves. */
  readonly served: string;
  /** RCLONE_CONFIG_<NAME>_* for a remote that reaches it. */
  remoteEnv(name: string): Record<string, string>;
  /** Kills it (SIGKILL: as a server that dies would) and waits until it has exited. */
  kill(): Promise<void>;
  /** Stops it and waits until it has exited. */
  stop(): Promise<void>;
}

/** What `rclone serve` speaks: SFTP (a NAS over SSH) or WebDAV. */
export type Protocol = 'sftp' | 'webdav';

// How each server says where it listens, and how a remote of rclone reaches it.
const LISTENING: Record<Protocol, RegExp> = {
  sftp: /SFTP server listening on 127\.0\.0\.1:(\d+)/,
  webdav: /WebDav Server started on http:\/\/127\.0\.0\.1:(\d+)\//,
};
const REMOTE: Record<Protocol, (port: number) => Record<string, string>> = {
  sftp: (port) => ({ TYPE: 'sftp', HOST: '127.0.0.1', PORT: String(port) }),
  webdav: (port) => ({ TYPE: 'webdav', URL: `http://127.0.0.1:${port}/`, VENDOR: 'other' }),
};

/**
 * Starts `rclone serve sftp` over `served`, on `port` (0: one it chooses), and waits until it
 * listens; `flags` are more of its flags (`--bwlimit 10M` makes a transfer last).
 */
export function startSftpServer(
  root: string,
  served: string,
  options: { port?: number; flags?: string[] } = {},
): Promise<SftpServer> {
  return startServer('sftp', root, served, options);
}

/** Starts `rclone serve PROTOCOL` over `served` on 127.0.0.1, as startSftpServer does. */
export async function startServer(
  protocol: Protocol,
  root: string,
  served: string,
  { port = 0, flags = [] }: { port?: number; flags?: string[] } = {},
): Promise<SftpServer> {
  fs.mkdirSync(served, { recursive: true });
  const env = rcloneEnv(root);
  const pass = 'synctray-test';
  const args = ['serve', protocol, served, '--addr', `127.0.0.1:${port}`, '--user', 'tester', '--pass', pass];
  const child = spawn('rclone', [...args, ...SERVE_FLAGS, ...flags], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const listening = await new Promise<number>((resolve, reject) => {
    let said = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      said += text;
      const m = LISTENING[protocol].exec(said);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`rclone serve ${protocol} stopped (exit ${code}): ${said}`)));
  });
  const obscured = execFileSync('rclone', ['obscure', pass], { env, encoding: 'utf8' }).trim();
  const stopWith = (signal: NodeJS.Signals) => stopChild(child, signal);
  return {
    port: listening,
    pid: child.pid!,
    served,
    remoteEnv: (name) => {
      const fields = { ...REMOTE[protocol](listening), USER: 'tester', PASS: obscured };
      return Object.fromEntries(
        Object.entries(fields).map(([k, v]) => [`RCLONE_CONFIG_${name.toUpperCase()}_${k}`, v]),
      );
    },
    kill: () => stopWith('SIGKILL'),
    stop: () => stopWith('SIGTERM'),
  };
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid!, signal);
  await exited;
}

/** Whether a process with this pid is still there (not yet reaped counts as gone). */
export function processAlive(pid: number): boolean {
  try {
    const state = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    return state !== undefined && state !== 'Z';
  } catch {
    return false;
  }
}

/** The pids of the `rclone rcd` processes started with this environment's RCLONE_CONFIG (Linux). */
export function rcdsOf(env: NodeJS.ProcessEnv): number[] {
  const mark = `RCLONE_CONFIG=${env.RCLONE_CONFIG}\0`;
  const found: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (!cmd.includes('\0rcd\0')) continue;
      if (fs.readFileSync(`/proc/${name}/environ`, 'utf8').includes(mark) && processAlive(Number(name)))
        found.push(Number(name));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

/**
 * A test's teardown once its CLI or service has exited: the SFTP servers stopped (and checked
 * gone), the scratch folder removed, and then a failure if an rcd started with `env` is still
 * there (the CLI stops its own when it ends).
 */
export async function tearDown(servers: readonly SftpServer[], env: NodeJS.ProcessEnv | undefined, root: string) {
  const left = env ? rcdsOf(env) : [];
  for (const s of servers) await s.stop();
  for (const s of servers) if (processAlive(s.pid)) throw new Error(`the SFTP server ${s.pid} is still running`);
  fs.rmSync(root, { recursive: true, force: true });
  if (left.length > 0) throw new Error(`rcd ${left.join(', ')} outlived the SyncTray that started it`);
}
