import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { RefusedError, ServiceError } from '../core/errors.js';
import type { Pair, PairChange, Settings } from '../config/schema.js';
import type { HeldDeletions } from './held.js';
import type { ListedVersion, RestoreRequest, RestoreResult } from './pair-versions.js';
import type { PairStatus, ServiceEvent } from './service.js';

/**
 * The version of the messages below. Raised whenever a command, its args or its result change in
 * a way the other side would misread: a command line and a running service of different versions
 * then refuse to talk, and say which one to restart.
 */
export const PROTOCOL_VERSION = 2;

/** Which pairs a command acts on: one by name or id, or all of them. */
export type PairsChosen = { pair: string } | { all: true };

/** Every request the service answers: what it takes, and what it answers. */
export interface ControlCommands {
  status: { args: Record<string, never>; result: PairStatus[] };
  list: { args: Record<string, never>; result: Pair[] };
  add: { args: { add: Omit<Pair, 'id'> }; result: PairStatus };
  set: { args: { pair: string; change: PairChange }; result: Pair };
  remove: { args: { pair: string }; result: Pair };
  /** `untilMs`: paused for a time, until then (wall-clock ms); absent: until resumed. */
  pause: { args: PairsChosen & { untilMs?: number }; result: PairStatus[] };
  resume: { args: PairsChosen; result: PairStatus[] };
  resync: { args: PairsChosen; result: PairStatus[] };
  held: { args: { pair: string }; result: HeldDeletions };
  'apply-deletions': { args: { pair: string; token: string }; result: PairStatus };
  restore: { args: { pair: string }; result: { restored: number; failed: number; errors: string[] } };
  settings: { args: { settings?: Partial<Settings> }; result: Settings };
  /** A pair's versions under a path ('' for all), newest first. */
  versions: { args: { pair: string; prefix: string }; result: ListedVersion[] };
  /** Brings versions back (not `restore`, which answers a guard's held deletions). */
  'restore-version': { args: { pair: string } & RestoreRequest; result: RestoreResult };
  /**
   * A tray joining the service: the answer is the state now, and the connection then stays open,
   * carrying a Pushed line each time something happens, until either side closes it. With
   * `notifications`, the tray shows the desktop notifications instead of the service. Refused
   * while another tray is shown.
   */
  subscribe: { args: { notifications: boolean }; result: Joined };
  /** Stops the service (its process ends; a tray that runs it quits). */
  stop: { args: Record<string, never>; result: { pid: number } };
}

/** What a joining tray needs first. */
export interface Joined {
  pid: number;
  status: PairStatus[];
  pairs: Pair[];
  settings: Settings;
  /** The service's log file, for the tray's Open log. */
  logFile: string;
}

/** A line the service sends a joined tray unasked. */
export type Pushed =
  | { type: 'event'; event: ServiceEvent }
  /** The config's pairs changed (added, removed, paused, set): the list as it is now. */
  | { type: 'pairs'; pairs: Pair[] }
  /** A desktop notification for the tray to show. */
  | { type: 'notification'; title: string; body: string; urgency: 'normal' | 'critical' };

/** The connection a request came on, for a request that stays (subscribe). */
export interface Peer {
  /** Sends a line unasked; false once the connection is gone. */
  push(message: Pushed): boolean;
  /** Called once when the connection closes, from either side. */
  onClose(fn: () => void): void;
}
export type ControlCommand = keyof ControlCommands;
export type ArgsOf<C extends ControlCommand> = ControlCommands[C]['args'];
export type ResultOf<C extends ControlCommand> = ControlCommands[C]['result'];

/** The service's side: one function per command. */
export type ControlHandlers = {
  [C in ControlCommand]: (args: ArgsOf<C>, peer: Peer) => Promise<ResultOf<C>> | ResultOf<C>;
};

/**
 * Turns a request line's command and args, as another process sent them, into a request, or
 * refuses them saying what is wrong (control-args.ts checks them against a schema).
 */
export type CheckArgs = (
  command: string,
  args: unknown,
) => { [C in ControlCommand]: { command: C; args: ArgsOf<C> } }[ControlCommand];

/** One JSON object a line each way. */
export interface ControlRequest {
  version: number;
  command: string;
  args: unknown;
}
export type ControlReply = { version: number } & (
  | { ok: true; result: unknown }
  | { ok: false; refused: boolean; message: string }
);

/** A request line longer than this is refused: a pair's args are a few kilobytes. */
export const MAX_REQUEST_CHARS = 1 << 20;

/** Where a running service says its socket is: a small file beside the config it serves. */
const SERVICE_FILE = 'service.json';

/** Unix socket paths longer than this do not fit in sun_path (108 bytes on Linux, 104 on macOS). */
const MAX_SOCKET_PATH = 100;

/**
 * The socket for a service whose run-time folder is `stateDir`; where that path is too long for a
 * socket, a short one in a private folder of this user's under the system's temp folder.
 */
export function socketPath(stateDir: string): string {
  // Windows has named pipes instead; a pipe's default access lets only its creator (and the
  // system's administrators) write to it, so others cannot send commands.
  if (process.platform === 'win32')
    return `\\\\.\\pipe\\synctray-${createHash('sha256').update(stateDir.toLowerCase()).digest('hex').slice(0, 16)}`;
  const preferred = path.join(stateDir, 'control.sock');
  if (Buffer.byteLength(preferred) <= MAX_SOCKET_PATH) return preferred;
  const dir = path.join(os.tmpdir(), `synctray-${process.getuid?.() ?? 'user'}`);
  return path.join(dir, `${createHash('sha256').update(stateDir).digest('hex').slice(0, 16)}.sock`);
}

/** Makes `dir` (0700) or checks that it is this user's alone: a shared one could hold another's socket. */
export function privateFolder(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) {
    throw new RefusedError(
      `The folder \`${dir}\` must belong to you alone (mode 0700): other users could reach SyncTray's control ` +
        'socket in it. Fix its owner and mode, or choose another --config-dir.',
    );
  }
}

/** Records (or, with undefined, removes) where the service serving `configDir` listens. */
export function announce(configDir: string, socket: string | undefined): void {
  const file = path.join(configDir, SERVICE_FILE);
  if (socket === undefined) return fs.rmSync(file, { force: true });
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, JSON.stringify({ pid: process.pid, socket }), { mode: 0o600 });
  fs.renameSync(temp, file);
}

export function announced(configDir: string): { socket: string; pid?: number } | undefined {
  try {
    const { socket, pid } = JSON.parse(fs.readFileSync(path.join(configDir, SERVICE_FILE), 'utf8')) as {
      socket?: unknown;
      pid?: unknown;
    };
    return typeof socket === 'string' ? { socket, ...(typeof pid === 'number' ? { pid } : {}) } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Serves requests on a Unix domain socket that only this user may use (0600, in a 0700 folder).
 * A stale socket file from a crashed instance is replaced (the caller holds the instance lock).
 * Every request is checked before it is handled: its protocol version, its command and, by
 * `checkArgs`, its args, which come from another process.
 */
export async function serveControl(
  stateDir: string,
  handlers: ControlHandlers,
  checkArgs: CheckArgs,
): Promise<{ socket: string; close(): Promise<void> }> {
  const file = socketPath(stateDir);
  const pipe = process.platform === 'win32';
  if (!pipe) {
    privateFolder(path.dirname(file));
    fs.rmSync(file, { force: true });
  }
  const connections = new Set<net.Socket>();
  const reply = (socket: net.Socket, r: ControlReply) => {
    if (!socket.destroyed) socket.write(`${JSON.stringify(r)}\n`);
  };
  const server = net.createServer((socket) => {
    connections.add(socket);
    const closed: (() => void)[] = [];
    socket.on('close', () => {
      connections.delete(socket);
      for (const fn of closed.splice(0)) fn();
    });
    const peer: Peer = {
      push: (message) => {
        if (socket.destroyed || !socket.writable) return false;
        socket.write(`${JSON.stringify({ version: PROTOCOL_VERSION, pushed: message })}\n`);
        return true;
      },
      onClose: (fn) => (socket.destroyed ? fn() : void closed.push(fn)),
    };
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let i: number; (i = buffer.indexOf('\n')) >= 0; ) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        void answer(line, handlers, checkArgs, peer).then((r) => reply(socket, r));
      }
      if (buffer.length > MAX_REQUEST_CHARS) {
        buffer = '';
        reply(
          socket,
          refusal(`A request to SyncTray is longer than ${MAX_REQUEST_CHARS} characters; nothing was done.`),
        );
        socket.end();
      }
    });
  });
  // The socket is created private: nobody else may even connect while it is being set up.
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(file, () => resolve());
    });
  } finally {
    process.umask(umask);
  }
  if (!pipe) fs.chmodSync(file, 0o600);
  return {
    socket: file,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Asking clients are told by the closed connection, not left waiting.
        for (const c of connections) c.destroy();
        if (!pipe) fs.rmSync(file, { force: true });
      }),
  };
}

function refusal(message: string): ControlReply {
  return { version: PROTOCOL_VERSION, ok: false, refused: true, message };
}

/** One request line's answer: a refusal for what is not a request of this version, else the handler's. */
async function answer(
  line: string,
  handlers: ControlHandlers,
  checkArgs: CheckArgs,
  peer: Peer,
): Promise<ControlReply> {
  let req: Partial<ControlRequest>;
  try {
    req = JSON.parse(line) as Partial<ControlRequest>;
  } catch {
    return refusal('A request to SyncTray is not JSON; nothing was done.');
  }
  if (typeof req !== 'object' || req === null)
    return refusal('A request to SyncTray is not a JSON object; nothing was done.');
  if (req.version !== PROTOCOL_VERSION) return refusal(versionMismatch(req.version));
  try {
    const checked = checkArgs(String(req.command), req.args ?? {});
    // checkArgs pairs each command with its own args; TypeScript cannot follow that pairing
    // through the lookup, so the handler is called as one taking what checkArgs gave.
    const handle = handlers[checked.command] as (args: typeof checked.args, peer: Peer) => Promise<unknown> | unknown;
    return { version: PROTOCOL_VERSION, ok: true, result: await handle(checked.args, peer) };
  } catch (err) {
    return {
      version: PROTOCOL_VERSION,
      ok: false,
      refused: err instanceof RefusedError,
      message: err instanceof Error ? err.message : String(err),
    };
  }
}

/** The service's word on a request of another protocol version than its own. */
function versionMismatch(theirs: unknown): string {
  const which = typeof theirs === 'number' ? `version ${theirs}` : 'no version';
  const newer = typeof theirs === 'number' && theirs > PROTOCOL_VERSION;
  return (
    `This command line speaks ${which} of SyncTray's control protocol ` +
    `and the running SyncTray version ${PROTOCOL_VERSION}: ` +
    (newer
      ? "the command line is newer. Restart SyncTray (Quit in the tray, or stop 'synctray run', then start it again) " +
        'so that both are the same version.'
      : 'the command line is older. Use the synctray that started the running one, or restart SyncTray with this one.')
  );
}

/**
 * Sends one request to the service running for the config in `configDir`; undefined when none is
 * (nothing announced, or nobody answers on the socket). A refusal comes back as a RefusedError,
 * anything else as a ServiceError; a reply of another protocol version as a RefusedError saying
 * which side to restart.
 */
export function askService<C extends ControlCommand>(
  configDir: string,
  command: C,
  args: ArgsOf<C>,
  timeoutMs = 30_000,
): Promise<{ result: ResultOf<C> } | undefined> {
  const request: ControlRequest = { version: PROTOCOL_VERSION, command, args };
  const stopped = 'SyncTray stopped before it answered; run the command again.';
  return converse<{ result: ResultOf<C> }>(configDir, request, { timeoutMs, stopped }, (line, talk) => {
    talk.socket.end();
    const reply = readReply(line, talk.running);
    if (!(reply instanceof Error) && reply.ok) talk.resolve({ result: reply.result as ResultOf<C> });
    else talk.reject(failureOf(reply));
  });
}

/** What a conversation with the service gives the reader of its lines. */
export interface Talk<T> {
  /** Who answers, for messages: "the running SyncTray (pid N)". */
  running: string;
  socket: net.Socket;
  /** Settle the conversation (the first of these, or of its own failures, counts). */
  resolve(value: T): void;
  reject(err: Error): void;
}

/**
 * Connects to the service running for the config in `configDir`, sends `request` and hands every
 * line that comes back to `onLine`, which settles the conversation; undefined when no service is
 * there (nothing announced, or nobody on the socket). It fails on its own when the service takes
 * longer than `timeoutMs` to settle it, cannot be reached, or goes away first (`stopped`).
 * `onClose` hears of the connection's end, whenever that comes.
 */
export function converse<T>(
  configDir: string,
  request: ControlRequest,
  options: { timeoutMs: number; stopped: string },
  onLine: (line: string, talk: Talk<T>) => void,
  onClose?: () => void,
): Promise<T | undefined> {
  const service = announced(configDir);
  if (service === undefined || (process.platform !== 'win32' && !fs.existsSync(service.socket)))
    return Promise.resolve(undefined);
  const running = `the running SyncTray${service.pid !== undefined ? ` (pid ${service.pid})` : ''}`;
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(service.socket);
    let buffer = '';
    let connected = false;
    let settled = false;
    const settle = (then: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      then();
    };
    const talk: Talk<T> = {
      running,
      socket,
      resolve: (value) => settle(() => resolve(value)),
      reject: (err) => settle(() => reject(err)),
    };
    const timer = setTimeout(() => {
      socket.destroy();
      const seconds = Math.round(options.timeoutMs / 1000);
      talk.reject(new ServiceError(`SyncTray did not answer within ${seconds} s; see its log ('synctray log').`));
    }, options.timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      connected = true;
      socket.write(`${JSON.stringify(request)}\n`);
    });
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let i: number; (i = buffer.indexOf('\n')) >= 0; ) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        onLine(line, talk);
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      settle(() => (nobodyThere(err, connected) ? resolve(undefined) : reject(cannotAsk(err))));
    });
    socket.on('close', () => {
      if (connected) talk.reject(new RefusedError(options.stopped));
      onClose?.();
    });
  });
}

/** A reply line as read, or the error it is: not JSON, not a reply, or not this protocol version's. */
export function readReply(line: string, running: string): ControlReply | Error {
  let reply: Partial<ControlReply>;
  try {
    reply = JSON.parse(line) as Partial<ControlReply>;
  } catch {
    return new ServiceError(
      `${capitalized(running)} answered with something that is not JSON (${JSON.stringify(line.slice(0, 80))}); see ` +
        "its log ('synctray log').",
    );
  }
  if (typeof reply !== 'object' || reply === null || typeof reply.ok !== 'boolean') {
    return new ServiceError(
      `${capitalized(running)} answered with something that is not a reply (${JSON.stringify(line.slice(0, 80))}).`,
    );
  }
  // A refusal of our version says itself which side to restart.
  if (reply.version !== PROTOCOL_VERSION && (reply.ok || reply.version === undefined)) {
    const older = reply.version === undefined || reply.version < PROTOCOL_VERSION;
    return new RefusedError(
      `${capitalized(running)} speaks ` +
        `${reply.version === undefined ? 'an older version' : `version ${reply.version}`} of the control protocol ` +
        `and this command line version ${PROTOCOL_VERSION}: ` +
        (older
          ? "SyncTray is older. Restart it (Quit in the tray, or stop 'synctray run', then start it again) so that " +
            'both are the same version.'
          : 'this command line is older. Use the synctray that started it, or restart SyncTray with this one.'),
    );
  }
  return reply as ControlReply;
}

function capitalized(s: string): string {
  return `${s[0]!.toUpperCase()}${s.slice(1)}`;
}

/** A reply that is not an answer, as the error the asker gets: a refusal, or the service's failure. */
export function failureOf(reply: ControlReply | Error): Error {
  if (reply instanceof Error) return reply;
  if (reply.ok) return new ServiceError('SyncTray answered where it should have refused.');
  return reply.refused ? new RefusedError(reply.message) : new ServiceError(reply.message);
}

/** A socket file left by an instance that crashed: nobody is running there. */
export function nobodyThere(err: NodeJS.ErrnoException, connected: boolean): boolean {
  return !connected && (err.code === 'ECONNREFUSED' || err.code === 'ENOENT');
}

export function cannotAsk(err: Error): ServiceError {
  return new ServiceError(`SyncTray could not be asked: ${err.message}.`);
}
