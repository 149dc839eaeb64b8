/**
 * A fake Android device for the real `adb`: it listens on 127.0.0.1 and is reached with
 * `adb connect 127.0.0.1:PORT`. Its storage is the local file system itself (device paths are
 * local absolute paths), with legacy shell and sync v1 and no features advertised, so the client
 * keeps to those. Faults on demand: denied paths, an unanswered authorization, a sudden unplug.
 */
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { Connection, type Service, type StreamIo } from './connection.js';
import { ShellService, stopGroup } from './shell-service.js';
import { SyncService, type SyncContext, type SyncStats } from './sync-service.js';

export interface FakeDeviceOptions {
  /** 0 (the default) for a free one. 5555-5585 are refused: an adb server claims those by itself as emulators. */
  port?: number;
  /** 'never': ask for authorization and never grant it, so `adb devices` shows `unauthorized`. */
  auth?: 'none' | 'never';
  /** ro.product.model, shown by `adb devices -l` (default FakePhone). */
  model?: string;
  /** Paths matching it get FAIL "Permission denied" on SEND, RECV and LIST; STAT still answers. */
  deny?: RegExp;
  /**
   * Unplugs the device (see unplug) instead of moving the file data byte that would take the
   * total of SEND and RECV data past this: at most this many bytes get through.
   */
  dieAfterBytes?: number;
}

export interface DeviceStats extends SyncStats {
  shells: number;
}

export class FakeDevice {
  readonly stats: DeviceStats = { sends: 0, recvs: 0, lists: 0, stats: 0, shells: 0 };
  /** Settles when the device is unplugged: by unplug(), close() or dieAfterBytes. */
  readonly unplugged: Promise<void>;
  #server = net.createServer();
  #options: FakeDeviceOptions;
  #banner: string;
  #connections = new Set<Connection>();
  #children = new Set<ChildProcess>();
  #transferred = 0;
  #gone = false;
  #serverClosed: Promise<void> | undefined;
  #markUnplugged: () => void = () => {};
  #syncContext: SyncContext;

  static async start(options: FakeDeviceOptions = {}): Promise<FakeDevice> {
    const port = options.port ?? 0;
    if (port >= 5555 && port <= 5585)
      throw new Error(`port ${port} is in 5555-5585, which an adb server claims by itself as an emulator`);
    const device = new FakeDevice(options);
    await new Promise<void>((resolve, reject) => {
      device.#server.once('error', reject);
      device.#server.listen(port, '127.0.0.1', () => {
        device.#server.off('error', reject);
        resolve();
      });
    });
    return device;
  }

  private constructor(options: FakeDeviceOptions) {
    this.#options = options;
    const model = options.model ?? 'FakePhone';
    // The banner is `;`-separated key=value pairs: a model holding `;` or `=` would corrupt it.
    if (!/^[^;=\s]+$/.test(model)) throw new Error(`model ${JSON.stringify(model)} must not hold ';', '=' or spaces`);
    // No features: the client then stays on legacy shell and sync v1, all that is served here.
    this.#banner = `device::ro.product.name=fakeprod;ro.product.model=${model};ro.product.device=fakedev;features=`;
    this.unplugged = new Promise((resolve) => (this.#markUnplugged = resolve));
    this.#syncContext = { deny: options.deny, stats: this.stats, transfer: (bytes) => this.#transfer(bytes) };
    this.#server.on('connection', (socket) => {
      if (this.#gone) return socket.destroy();
      const conn = new Connection(socket, {
        auth: options.auth ?? 'none',
        banner: this.#banner,
        openService: (name, io) => this.#openService(name, io),
      });
      this.#connections.add(conn);
      socket.on('close', () => this.#connections.delete(conn));
    });
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo | null)?.port ?? 0;
  }

  /** What adb calls the device once connected. */
  get serial(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** As a pulled cable: every connection reset at once, shell commands killed, no longer listening. */
  unplug(): void {
    this.#shutdown(true);
  }

  /** Stops listening, ends every connection and waits for the shell commands it started to exit. */
  async close(): Promise<void> {
    this.#shutdown(false);
    await this.#serverClosed;
    await Promise.all(
      [...this.#children].map((child) =>
        child.exitCode !== null || child.signalCode !== null ? undefined : new Promise((r) => child.once('exit', r)),
      ),
    );
  }

  #shutdown(abrupt: boolean): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#serverClosed = new Promise((resolve) => this.#server.close(() => resolve()));
    for (const conn of this.#connections) conn.destroy(abrupt);
    for (const child of this.#children) stopGroup(child);
    this.#markUnplugged();
  }

  #openService(name: string, io: StreamIo): Service | undefined {
    if (name === 'sync:') return new SyncService(io, this.#syncContext);
    // `shell:` alone asks for an interactive shell (a pty on a phone): not offered, so refused.
    if (name.startsWith('shell:') && name.length > 'shell:'.length) {
      this.stats.shells++;
      return new ShellService(io, name.slice('shell:'.length), (child) => {
        this.#children.add(child);
        child.once('exit', () => this.#children.delete(child));
      });
    }
    return undefined;
  }

  #transfer(bytes: number): boolean {
    if (this.#gone) return false;
    const limit = this.#options.dieAfterBytes;
    if (limit !== undefined && this.#transferred + bytes > limit) {
      this.unplug();
      return false;
    }
    this.#transferred += bytes;
    return true;
  }
}
