import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { RefusedError } from '../core/errors.js';

/** A request to the running service, and its answer; one JSON object a line each way. */
export interface ControlRequest {
  command: string;
  args?: unknown;
}
export type ControlReply = { ok: true; result: unknown } | { ok: false; refused: boolean; message: string };

export function socketPath(stateDir: string): string {
  return path.join(stateDir, 'control.sock');
}

/**
 * Serves requests on a Unix domain socket that only this user may use (0600, in a 0700 folder).
 * A stale socket file from a crashed instance is replaced (the caller holds the instance lock).
 */
export async function serveControl(stateDir: string, handle: (req: ControlRequest) => Promise<unknown>): Promise<{ close(): Promise<void> }> {
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = socketPath(stateDir);
  fs.rmSync(file, { force: true });
  const server = net.createServer((socket) => {
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let i; (i = buffer.indexOf('\n')) >= 0; ) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        void answer(line).then((reply) => socket.write(`${JSON.stringify(reply)}\n`));
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
  fs.chmodSync(file, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        fs.rmSync(file, { force: true });
      }),
  };
}

/**
 * Sends one request to the running service; undefined when none is running (no socket, or nobody
 * answers on it). A refusal comes back as a RefusedError, anything else as an Error.
 */
export async function askService(stateDir: string, req: ControlRequest, timeoutMs = 30_000): Promise<{ result: unknown } | undefined> {
  const file = socketPath(stateDir);
  if (!fs.existsSync(file)) return undefined;
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
  });
}
