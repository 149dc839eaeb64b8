/**
 * A hermetic adb server for tests: its own port (never the user's 5037), its own HOME (keys in
 * .android) and TMPDIR, so tests neither see nor disturb the user's server and phones. The server
 * runs in the foreground (`adb nodaemon server`) rather than through `adb start-server`, whose
 * daemon is nobody's child: this way stop() can wait for the very process it started.
 *
 * A server on this machine still sees the USB phones plugged into it: tests always pass -s SERIAL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { hasTool, skipReasonOutsideCi } from './requirements.js';
import { waitFor } from './wait-for.js';

/** Why the adb tests must be skipped, or undefined when they run (always under CI=true). */
export const ADB_SKIP = skipReasonOutsideCi(hasTool('adb'), 'adb tests skipped: needs adb (apt-get install adb)');

export interface AdbResult {
  /** null when the command was killed (it ran past its time). */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface AdbServer {
  port: number;
  /** The environment that reaches this server (ANDROID_ADB_SERVER_PORT, HOME, TMPDIR). */
  env: NodeJS.ProcessEnv;
  /** Runs the adb client against this server; killed after `timeoutMs` (default 10 s). */
  adb(args: string[], options?: { timeoutMs?: number }): Promise<AdbResult>;
  /** The serial's state in `adb devices` (device, offline, unauthorized…), undefined when not listed. */
  state(serial: string): Promise<string | undefined>;
  /**
   * `adb connect`, again until `adb devices` lists the serial as device or unauthorized (connect
   * exits 0 even when it failed); that state.
   */
  connect(serial: string, options?: { timeoutMs?: number }): Promise<'device' | 'unauthorized'>;
  disconnect(serial: string): Promise<AdbResult>;
  /** adb kill-server; waits until the server process has exited and nothing listens on the port. */
  stop(): Promise<void>;
}

const RESERVED = (port: number) => port === 5037 || (port >= 5555 && port <= 5585);

/** A port nothing listens on now, outside adb's own (5037, and 5555-5585 that servers scan). */
async function freePort(): Promise<number> {
  for (;;) {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    if (!RESERVED(port)) return port;
  }
}

/** Whether something accepts connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startAdbServer(root: string): Promise<AdbServer> {
  const port = await freePort();
  const home = path.join(root, 'adb-home');
  const tmp = path.join(root, 'adb-tmp');
  fs.mkdirSync(home, { recursive: true });
  fs.mkdirSync(tmp, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, ANDROID_ADB_SERVER_PORT: String(port), HOME: home, TMPDIR: tmp };
  // These would point the client at another server, device or key store than this one.
  for (const name of [
    'ANDROID_SERIAL',
    'ADB_SERVER_SOCKET',
    'ANDROID_ADB_SERVER_ADDRESS',
    'ADB_VENDOR_KEYS',
    'ANDROID_SDK_HOME',
    'ANDROID_USER_HOME',
  ])
    delete env[name];
  // For our own client calls only: a server given as 127.0.0.1 is "remote" to the client, so if
  // ours is gone the client fails instead of starting a daemon of its own that nobody would stop.
  const clientEnv: NodeJS.ProcessEnv = { ...env, ADB_SERVER_SOCKET: `tcp:127.0.0.1:${port}` };
  const running = new Set<ChildProcess>();

  const log = fs.openSync(path.join(root, 'adb-server.log'), 'a');
  const server = spawn('adb', ['nodaemon', 'server'], { env, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  let spawnError: Error | undefined;
  const serverExit = new Promise<void>((resolve) => {
    server.once('exit', () => resolve());
    server.once('error', (err) => {
      spawnError = err;
      resolve();
    });
  });

  const adb: AdbServer['adb'] = (args, { timeoutMs = 10_000 } = {}) =>
    new Promise((resolve, reject) => {
      const child = spawn('adb', args, { env: clientEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      running.add(child);
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        running.delete(child);
        resolve({ code, stdout, stderr });
      });
    });

  const state: AdbServer['state'] = async (serial) => {
    const { stdout } = await adb(['devices']);
    for (const line of stdout.split('\n')) {
      const [name, st] = line.trim().split(/\s+/);
      if (name === serial) return st;
    }
    return undefined;
  };

  const handle: AdbServer = {
    port,
    env,
    adb,
    state,
    connect: async (serial, { timeoutMs = 15_000 } = {}) => {
      let found: string | undefined;
      await waitFor(
        async () => {
          found = await state(serial);
          if (found === 'device' || found === 'unauthorized') return true;
          // Listed but offline: the server is still on it (connecting, or reconnecting by itself).
          if (found === undefined) await adb(['connect', serial]);
          return false;
        },
        `adb to list ${serial} as device or unauthorized`,
        { timeoutMs, intervalMs: 20 },
      );
      return found as 'device' | 'unauthorized';
    },
    disconnect: (serial) => adb(['disconnect', serial]),
    stop: async () => {
      for (const child of running) child.kill('SIGKILL');
      await adb(['kill-server'], { timeoutMs: 5_000 });
      const timer = setTimeout(() => server.kill('SIGKILL'), 3_000);
      await serverExit;
      clearTimeout(timer);
      // kill-server stops whatever server holds the port, even one a test's code started itself.
      await waitFor(async () => !(await listening(port)), `the adb server on port ${port} to stop`, {
        timeoutMs: 5_000,
        intervalMs: 20,
      });
    },
  };

  try {
    const ended = () => spawnError !== undefined || server.exitCode !== null || server.signalCode !== null;
    await waitFor(() => ended() || listening(port), `the adb server to listen on port ${port}`, { intervalMs: 10 });
    if (ended())
      throw new Error(
        `adb nodaemon server ended (${spawnError?.message ?? server.exitCode}): ` +
          `see ${path.join(root, 'adb-server.log')}`,
      );
  } catch (err) {
    await handle.stop();
    throw err;
  }
  return handle;
}
