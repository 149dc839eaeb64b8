import { spawn } from 'node:child_process';
import net from 'node:net';
import { ErrorCode, StorageError } from '../../core/errors.js';
import { SocketReader } from './socket-reader.js';

/**
 * The local adb server (the user's platform-tools `adb`), spoken to over its socket: the "smart
 * socket" requests `host:…`, and `host:transport:SERIAL` followed by a device service (`sync:`,
 * `shell:…`) on the same connection. Started with `adb start-server` when nothing listens.
 */

export interface AdbServerOptions {
  /** Default: ANDROID_ADB_SERVER_PORT, else 5037. */
  port?: number;
  /** The adb program to start the server with. */
  adb?: string;
  env?: NodeJS.ProcessEnv;
}

/** A connection carrying one device service, and its reader. */
export interface ServiceConnection {
  socket: net.Socket;
  reader: SocketReader;
}

export const INSTALL_ADB =
  'Install Android platform-tools (Debian, Ubuntu: apt install adb; Fedora: dnf install android-tools; ' +
  'macOS: brew install android-platform-tools; Windows: the platform-tools zip from developer.android.com) and make ' +
  'sure adb is on the PATH.';

export class AdbServer {
  readonly port: number;
  private readonly adb: string;
  private readonly env: NodeJS.ProcessEnv;
  private starting: Promise<void> | undefined;

  constructor(options: AdbServerOptions = {}) {
    this.env = options.env ?? process.env;
    this.port = options.port ?? (Number(this.env.ANDROID_ADB_SERVER_PORT) || 5037);
    this.adb = options.adb ?? 'adb';
  }

  /** Sends a `host:` request and returns its length-prefixed answer (`host:devices-l`, `host:version`). */
  async query(request: string): Promise<string> {
    const c = await this.open(request);
    try {
      const len = parseInt((await c.reader.read(4)).toString('ascii'), 16);
      return (await c.reader.read(len)).toString('utf8');
    } finally {
      c.socket.destroy();
    }
  }

  /** A connection that stays open for a `host:` stream (`host:track-devices`). */
  stream(request: string): Promise<ServiceConnection> {
    return this.open(request);
  }

  /**
   * A connection to `service` on the device `serial` (`sync:`, `shell:CMD`). Fails DEVICE_GONE when
   * the device is not there, offline or unauthorized, with what to do.
   */
  async service(serial: string, service: string): Promise<ServiceConnection> {
    return requestOrClose(await this.open(`host:transport:${serial}`, serial), service, serial);
  }

  private async open(first: string, serial?: string): Promise<ServiceConnection> {
    let c: ServiceConnection;
    try {
      c = await connect(this.port);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ECONNREFUSED')
        throw gone(`The adb server on port ${this.port} cannot be reached: ${(err as Error).message}.`);
      await this.startServer();
      c = await connect(this.port).catch((e: Error) => {
        throw gone(`The adb server did not start on port ${this.port}: ${e.message}.`);
      });
    }
    return requestOrClose(c, first, serial);
  }

  /** `adb start-server`, once however many ask at the same time. */
  private startServer(): Promise<void> {
    this.starting ??= new Promise<void>((resolve, reject) => {
      const child = spawn(this.adb, ['start-server'], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...this.env, ANDROID_ADB_SERVER_PORT: String(this.port) },
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', (err) => {
        const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
        reject(
          new StorageError(
            ErrorCode.DEVICE_GONE,
            missing ? `adb is not installed. ${INSTALL_ADB}` : `adb could not be started: ${err.message}`,
            undefined,
            false,
            'ADB_MISSING',
          ),
        );
      });
      child.on('close', (code) =>
        code === 0 ? resolve() : reject(gone(`adb start-server failed (exit ${code}): ${stderr.trim()}`)),
      );
    }).finally(() => (this.starting = undefined));
    return this.starting;
  }
}

function connect(port: number): Promise<ServiceConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setNoDelay(true);
    const fail = (err: Error) => reject(err);
    socket.once('error', fail);
    socket.once('connect', () => {
      socket.off('error', fail);
      resolve({
        socket,
        reader: new SocketReader(socket, (cause) =>
          gone(
            'the connection through adb was lost (phone unplugged, or the adb server stopped)' +
              `${cause ? `: ${cause.message}` : ''}`,
          ),
        ),
      });
    });
  });
}

/** One smart-socket request: 4 hex digits of length, the text; the answer OKAY, or FAIL and why. */
async function request(c: ServiceConnection, text: string, serial?: string): Promise<void> {
  const body = Buffer.from(text, 'utf8');
  c.socket.write(Buffer.concat([Buffer.from(body.length.toString(16).padStart(4, '0'), 'ascii'), body]));
  const status = (await c.reader.read(4)).toString('ascii');
  if (status === 'OKAY') return;
  if (status !== 'FAIL') throw gone(`The adb server answered "${status}" to ${text}.`);
  const len = parseInt((await c.reader.read(4)).toString('ascii'), 16);
  throw refusal((await c.reader.read(len)).toString('utf8'), serial);
}

/** A request on `c`; on any failure the connection is closed, since it cannot be used again. */
async function requestOrClose(c: ServiceConnection, text: string, serial?: string): Promise<ServiceConnection> {
  try {
    await request(c, text, serial);
    return c;
  } catch (err) {
    c.socket.destroy();
    throw err;
  }
}

/** What the server refused, in words for the user. */
function refusal(message: string, serial?: string): StorageError {
  const phone = serial ? `Phone ${serial}` : 'The phone';
  if (/unauthorized/i.test(message)) {
    return new StorageError(
      ErrorCode.DEVICE_GONE,
      `${phone} has not allowed this computer: unlock the phone and allow USB debugging.`,
      undefined,
      false,
      'UNAUTHORIZED',
    );
  }
  if (/not found/i.test(message))
    return new StorageError(ErrorCode.DEVICE_GONE, `${phone} is not connected.`, undefined, false, 'NOT_CONNECTED');
  if (/offline/i.test(message))
    return new StorageError(
      ErrorCode.DEVICE_GONE,
      `${phone} is offline: unplug it and plug it in again.`,
      undefined,
      false,
      'OFFLINE',
    );
  return new StorageError(ErrorCode.IO, `adb: ${message}`);
}

function gone(message: string): StorageError {
  return new StorageError(ErrorCode.DEVICE_GONE, message);
}
