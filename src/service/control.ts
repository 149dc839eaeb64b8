import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { RefusedError } from '../core/errors.js';

/** A request to the running service, and its answer; one JSON object a line each way. */
export interface ControlRequest {
  command: string;
  args?: unknown;
}
export type ControlReply = { ok: true; result: unknown } | { ok: false; refused: boolean; message: string };

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
  if (process.platform === 'win32') return `\\\\.\\pipe\\synctray-${createHash('sha256').update(stateDir.toLowerCase()).digest('hex').slice(0, 16)}`;
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
    throw new RefusedError(`The folder \`${dir}\` must belong to you alone (mode 0700): other users could reach SyncTray's control socket in it. Fix its owner and mode, or choose another --config-dir.`);
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

function announcedSocket(configDir: string): string | undefined {
  try {
    const { socket } = JSON.parse(fs.readFileSync(path.join(configDir, SERVICE_FILE), 'utf8')) as { socket?: unknown };
    return typeof socket === 'string' ? socket : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Serves requests on a Unix domain socket that only this user may use (0600, in a 0700 folder).
 * A stale socket file from a crashed instance is replaced (the caller holds the instance lock).
 */
export async function serveControl(stateDir: string, handle: (req: ControlRequest) => Promise<unknown>): Promise<{ socket: string; close(): Promise<void> }> {
  const file = socketPath(stateDir);
  const pipe = process.platform === 'win32';
  if (!pipe) {
    privateFolder(path.dirname(file));
    fs.rmSync(file, { force: true });
  }
  const connections = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let i; (i = buffer.indexOf('\n')) >= 0; ) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        void answer(line).then((reply) => {
          if (!socket.destroyed) socket.write(`${JSON.stringify(reply)}\n`);
        });
      }
    });
  });
  const answer = async (line: string): Promise<ControlReply> => {
    try {
      const req = JSON.parse(line) as ControlRequest;
      return { ok: true, result: await handle(req) };
    } catch (err) {
      return { ok: false, refused: err instanceof RefusedError, message: err instanceof Error ? err.message : String(err) };
    }
  };
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

/**
 * Sends one request to the service running for the config in `configDir`; undefined when none is
 * (nothing announced, or nobody answers on the socket). A refusal comes back as a RefusedError,
 * anything else as an Error.
 */
export async function askService(configDir: string, req: ControlRequest, timeoutMs = 30_000): Promise<{ result: unknown } | undefined> {
  const file = announcedSocket(configDir);
  if (file === undefined || (process.platform !== 'win32' && !fs.existsSync(file))) return undefined;
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(file);
    let buffer = '';
    let connected = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`SyncTray did not answer within ${Math.round(timeoutMs / 1000)} s.`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      connected = true;
      socket.write(`${JSON.stringify(req)}\n`);
    });
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const i = buffer.indexOf('\n');
      if (i < 0) return;
      clearTimeout(timer);
      socket.end();
      const reply = JSON.parse(buffer.slice(0, i)) as ControlReply;
      if (reply.ok) resolve({ result: reply.result });
      else reject(reply.refused ? new RefusedError(reply.message) : new Error(reply.message));
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // A socket file left by an instance that crashed: nobody is running.
      if (!connected && (err.code === 'ECONNREFUSED' || err.code === 'ENOENT')) resolve(undefined);
      else reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      // The service stopped before it answered.
      if (connected && buffer.indexOf('\n') < 0) reject(new RefusedError('SyncTray stopped before it answered; run the command again.'));
    });
  });
}
