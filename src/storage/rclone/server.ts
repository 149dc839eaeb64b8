import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ErrorCode, StorageError } from '../../core/errors.js';
import { checkRclone, locateRclone, type RcloneProgram } from './find-rclone.js';
import { Lanes } from './lanes.js';

/**
 * rclone's own retries, kept short: a remote that refuses connections fails a call within a second
 * or two (rclone's default, ten tries with a growing pause, takes 11 s a call), and the run or the
 * pair's retries with backoff take it from there. A host that answers nothing is given up on after
 * 10 s; a transfer that stalls, after 2 minutes.
 */
const BOUNDED = ['--low-level-retries', '3', '--contimeout', '10s', '--timeout', '2m'];

/** How long rcd may take to answer once started. */
const START_TIMEOUT_MS = 20_000;

/** A failed call as rclone's remote control answers it: its message and HTTP status. */
export class RcError extends Error {
  override readonly name = 'RcError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface RcloneServerOptions {
  /** What rcd runs with: the user's rclone config comes from it (RCLONE_CONFIG, RCLONE_CONFIG_<REMOTE>_*). */
  env?: NodeJS.ProcessEnv;
  /** More rcd flags. */
  flags?: readonly string[];
  /** What rclone transfers at most a second, as rclone writes rates (`512K`, `10M`); absent: no limit. */
  bwlimit?: string;
  /**
   * Transfers (uploads, downloads, folder moves) under way at once; 4 unless given. rcd is told
   * too (`--transfers`), for the jobs it runs itself (a folder's files copied in one sync/copy).
   */
  transfers?: number;
  /** Other calls (listings, checks, moves of a file) under way at once; 4 unless given; rcd's `--checkers`. */
  checkers?: number;
}

/**
 * Calls under way at once, transfers apart from the rest so that long uploads never hold up the
 * listings and checks: over SFTP each call at once needs an SSH connection of its own, whose
 * handshake costs more than the many small calls it would overlap (100 listings: 0.22 s one at a
 * time, 0.7 s eight at a time). 2,000 small files to rclone serve sftp took 12.7 s through 4 lanes
 * in all, 8.3 s through 4 and 4 apart, 9.0 s through 8 and 4.
 */
const TRANSFERS = 4;
const CHECKERS = 4;
const TRANSFER_CALLS = new Set(['operations/copyfile', 'sync/move']);

/** What core/stats tells of a job under way, as far as it is used here. */
export interface JobStats {
  bytes: number;
  /** Files transferred to the end. */
  transfers: number;
}

export interface JobOptions {
  signal?: AbortSignal;
  /** Looks at the job's stats while it runs; an error it returns stops the job, as the job's error. */
  watch?: (stats: JobStats) => Promise<string | undefined>;
}

interface Running {
  child: ChildProcess;
  program: RcloneProgram;
  port: number;
  auth: string;
  agent: http.Agent;
  /** A private folder for files on their way to a remote. */
  spool: string;
  killOnExit: () => void;
}

/**
 * One `rclone rcd` for the whole process, started at the first call and stopped when the last
 * storage using it closes: every remote is reached through its HTTP API, never one rclone per
 * file. It listens on 127.0.0.1 on a port of its choosing, behind a user and password made up
 * for it and handed over in its environment (so no other user sees them in a process list);
 * rclone 1.60 has no Unix socket for it.
 */
export class RcloneServer {
  private running: Promise<Running> | undefined;
  private users = 0;
  private lastWords: string[] = [];
  private readonly transfers: Lanes;
  private readonly checkers: Lanes;

  constructor(private readonly options: RcloneServerOptions = {}) {
    this.transfers = new Lanes(options.transfers ?? TRANSFERS);
    this.checkers = new Lanes(options.checkers ?? CHECKERS);
  }

  /** Counts one more storage using the server (see release). */
  use(): void {
    this.users++;
  }

  /** One storage less; with none left the server stops. */
  async release(): Promise<void> {
    this.users = Math.max(0, this.users - 1);
    if (this.users === 0) await this.stop();
  }

  /** The rcd's process id, once it runs. */
  async pid(): Promise<number | undefined> {
    return (await this.start()).child.pid;
  }

  /** The rclone found, and its version. */
  async program(): Promise<RcloneProgram> {
    return (await this.start()).program;
  }

  /** A private folder of this machine where files wait to be copied to a remote. */
  async spool(): Promise<string> {
    return (await this.start()).spool;
  }

  /** Calls `method` (`operations/list`) with `params`; rejects RcError with rclone's message. */
  call<T = Record<string, unknown>>(method: string, params: Record<string, unknown>): Promise<T> {
    const lanes = TRANSFER_CALLS.has(method) ? this.transfers : this.checkers;
    return lanes.run(() => this.callNow<T>(method, params));
  }

  /**
   * Runs `method` as an rclone job (`_async`), asked to stop (job/stop) once `signal` aborts or
   * `watch`, shown the job's stats as it runs, names an error to stop it for; resolves with its
   * stats when it ended well, rejects RcError with its error (or that one), or the abort's reason.
   */
  job(method: string, params: Record<string, unknown>, options: JobOptions = {}): Promise<JobStats> {
    // A transfer holds its lane until its job ends, as a call would.
    if (TRANSFER_CALLS.has(method)) return this.transfers.run(() => this.jobNow(method, params, options));
    return this.jobNow(method, params, options);
  }

  private async jobNow(method: string, params: Record<string, unknown>, options: JobOptions): Promise<JobStats> {
    const { signal, watch } = options;
    const { jobid } = await this.callNow<{ jobid: number }>(method, { ...params, _async: true });
    let stopping = false;
    let reason: string | undefined;
    // rclone's own group for the job's stats.
    const group = `job/${jobid}`;
    try {
      // Polled often at first, for the many short jobs (a few hundred small files), then every 50 ms.
      for (let wait = 5; ; wait = Math.min(wait * 2, 50)) {
        if (!stopping && (signal?.aborted || reason !== undefined)) {
          stopping = true;
          await this.call('job/stop', { jobid }).catch(() => undefined);
        }
        const job = await this.call<{ finished: boolean; success: boolean; error: string }>('job/status', { jobid });
        if (job.finished) {
          stopping = true;
          signal?.throwIfAborted();
          if (reason !== undefined) throw new RcError(reason, 500);
          if (!job.success) throw new RcError(job.error, 500);
          return await this.call<JobStats>('core/stats', { group });
        }
        if (watch && !stopping) reason = await watch(await this.call<JobStats>('core/stats', { group }));
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    } finally {
      // A job whose end was not seen (a call about it failed) is not left running behind its caller.
      if (!stopping) await this.call('job/stop', { jobid }).catch(() => undefined);
    }
  }

  private async callNow<T>(method: string, params: Record<string, unknown>): Promise<T> {
    const r = await this.start();
    const body = Buffer.from(JSON.stringify(params));
    const res = await this.request(r, 'POST', `/${method}`, body);
    const text = (await readBody(res).catch((err: Error) => Promise.reject(this.gone(err)))).toString('utf8');
    let answer: Record<string, unknown>;
    try {
      answer = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new RcError(`rclone answered ${method} with something else than JSON: ${text.slice(0, 200)}`, 500);
    }
    if (res.statusCode !== 200) throw new RcError(String(answer.error ?? text), res.statusCode ?? 500);
    return answer as T;
  }

  /** The content of `remote` in the root `fsName`, as rclone serves it; rejects RcError. */
  open(fsName: string, remote: string): Promise<http.IncomingMessage> {
    return this.transfers.run(() => this.openNow(fsName, remote));
  }

  private async openNow(fsName: string, remote: string): Promise<http.IncomingMessage> {
    const r = await this.start();
    const url = `/${encodeURIComponent(`[${fsName}]`)}/${remote.split('/').map(encodeURIComponent).join('/')}`;
    const res = await this.request(r, 'GET', url);
    if (res.statusCode === 200) return res;
    const text = (await readBody(res)).toString('utf8');
    let message = text;
    try {
      message = String((JSON.parse(text) as { error?: unknown }).error ?? text);
    } catch {
      // Not JSON: the text is the message.
    }
    throw new RcError(message, res.statusCode ?? 500);
  }

  /** Stops the rcd (waiting for it to exit) and removes its spool folder. */
  async stop(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    const r = await running?.catch(() => undefined);
    if (!r) return;
    await stopChild(r.child);
    forget(r);
  }

  private start(): Promise<Running> {
    if (this.running) return this.running;
    const launching = this.launch();
    this.running = launching;
    launching.then(
      // An rcd that stopped by itself is started again at the next call.
      (r) =>
        r.child.once('exit', () => {
          if (this.running !== launching) return;
          this.running = undefined;
          forget(r);
        }),
      () => {
        if (this.running === launching) this.running = undefined;
      },
    );
    return launching;
  }

  private async launch(): Promise<Running> {
    const env = this.options.env ?? process.env;
    const located = locateRclone(env);
    // Its version is asked while rcd starts (`rclone version` takes 50 ms): not one after the other.
    const checked = checkRclone(located, env);
    checked.catch(() => undefined);
    const spool = fs.mkdtempSync(path.join(os.tmpdir(), 'synctray-rclone-'));
    const [user, pass] = [randomBytes(12).toString('hex'), randomBytes(24).toString('hex')];
    // Chosen here rather than read from rcd's log, which the user's RCLONE_LOG_FILE may send elsewhere.
    const port = await freePort();
    const args = [
      'rcd',
      '--rc-addr',
      `127.0.0.1:${port}`,
      '--rc-serve',
      '--ask-password=false',
      ...BOUNDED,
      ...['--transfers', String(this.options.transfers ?? TRANSFERS)],
      ...['--checkers', String(this.options.checkers ?? CHECKERS)],
      ...(this.options.bwlimit === undefined ? [] : ['--bwlimit', this.options.bwlimit]),
      ...(this.options.flags ?? []),
    ];
    // Its own process group: a Ctrl+C at the terminal stops SyncTray, which finishes what is under
    // way through rcd before stopping it.
    const child = spawn(located, args, {
      env: { ...env, RCLONE_RC_USER: user, RCLONE_RC_PASS: pass },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: process.platform !== 'win32',
      windowsHide: true,
    });
    const killOnExit = () => child.kill('SIGKILL');
    process.on('exit', killOnExit);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    try {
      const auth = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
      const up = this.ready(child, port, auth, agent);
      up.catch(() => undefined);
      // One that is too old, or cannot run, is said so, rather than how rcd failed.
      const program = await checked;
      await up;
      return { child, program, port, auth, agent, spool, killOnExit };
    } catch (err) {
      process.off('exit', killOnExit);
      agent.destroy();
      await stopChild(child);
      fs.rmSync(spool, { recursive: true, force: true });
      throw err;
    }
  }

  /** Resolves once rcd answers on `port`; rejects DEVICE_GONE with what it said when it stops first. */
  private async ready(child: ChildProcess, port: number, auth: string, agent: http.Agent): Promise<void> {
    this.lastWords = [];
    let stopped: string | undefined;
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      // Kept for a message if rcd stops; a line naming the rc password (rclone -vv says it) never is.
      const lines = text.split('\n').filter((l) => l.trim() !== '' && !/rc-pass|RC_PASS/i.test(l));
      this.lastWords = [
        ...this.lastWords,
        ...lines.map((l) => l.replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /, '')),
      ].slice(-5);
    });
    child.once('error', (err) => (stopped = err.message));
    child.once('exit', (code, signal) => (stopped = `it stopped (${signal ?? `exit ${code}`})`));
    const probe: Running = { child, port, auth, agent } as Running;
    const deadline = performance.now() + START_TIMEOUT_MS;
    for (;;) {
      if (stopped !== undefined || performance.now() > deadline) {
        const said = this.lastWords.join(' ').trim();
        throw new StorageError(
          ErrorCode.DEVICE_GONE,
          `rclone rcd could not be started: ${said || stopped || 'it did not answer in time'}.`,
        );
      }
      const answered = await this.request(probe, 'POST', '/rc/noopauth', Buffer.from('{}')).then(
        async (res) => (await readBody(res), res.statusCode === 200),
        () => false,
      );
      if (answered) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  private request(r: Running, method: string, url: string, body?: Buffer): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: r.port,
          method,
          path: url,
          agent: r.agent,
          headers: {
            authorization: r.auth,
            ...(body ? { 'content-type': 'application/json', 'content-length': body.length } : {}),
          },
        },
        resolve,
      );
      req.once('error', (err) => reject(this.gone(err)));
      req.end(body);
    });
  }

  /** rcd itself could not be reached: it stopped, and what it last said says why. */
  gone(err: Error): StorageError {
    const said = this.lastWords.at(-1)?.trim();
    return new StorageError(
      ErrorCode.DEVICE_GONE,
      `rclone stopped answering (${(err as NodeJS.ErrnoException).code ?? err.message})${said ? `: ${said}` : ''}`,
    );
  }
}

/** What a stopped rcd leaves: its exit handler, its connections, its spool folder. */
function forget(r: Running): void {
  process.off('exit', r.killOnExit);
  r.agent.destroy();
  fs.rmSync(r.spool, { recursive: true, force: true });
}

async function readBody(res: http.IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of res) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** SIGTERM, then SIGKILL if it has not exited within 5 s; resolves once it has exited. */
async function stopChild(child: ChildProcess): Promise<void> {
  // One that never started (no such program) has nothing to stop, and never tells of an exit.
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** A port nothing listens on now on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The server every RcloneStorage of this process shares unless given its own. */
export const sharedRcloneServer = new RcloneServer();
