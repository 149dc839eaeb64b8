import { EventEmitter } from 'node:events';
import { StorageError } from '../../core/errors.js';
import { listDevices, parseDevices, type AdbDevice } from './devices.js';
import type { AdbServer } from './server.js';

export type TrackerState = { ok: true; devices: AdbDevice[] } | { ok: false; why: string; adbMissing: boolean };

const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30_000;
/**
 * The server does not always tell its trackers when a device drops (a network device going
 * offline, seen with adb 29): the list is also asked for this often, and whenever refresh() is called.
 */
const POLL_MS = 5000;

/**
 * The devices the adb server sees, as they come and go (`host:track-devices`): a `state` event
 * with the whole list on every change. When the server cannot be reached (adb not installed,
 * killed) it says why and tries again, waiting longer each time.
 */
export class DeviceTracker extends EventEmitter<{ state: [TrackerState] }> {
  private stopped = false;
  private socket: { destroy(): void } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private retryMs = RETRY_FIRST_MS;
  private last: TrackerState | undefined;
  private poll: NodeJS.Timeout | undefined;

  constructor(private readonly server: AdbServer) {
    super();
  }

  get current(): TrackerState | undefined {
    return this.last;
  }

  start(): void {
    void this.connect();
    this.poll = setInterval(() => void this.refresh(), POLL_MS);
    this.poll.unref();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.poll);
    this.socket?.destroy();
  }

  /** Asks the server for the list now (a sync just failed: has the phone gone?). */
  async refresh(): Promise<void> {
    if (this.stopped || !this.last?.ok) return;
    try {
      const devices = await listDevices(this.server);
      if (!this.stopped) this.publish({ ok: true, devices });
    } catch {
      // the tracking connection reports what is wrong with the server
    }
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    try {
      const c = await this.server.stream('host:track-devices');
      if (this.stopped) return void c.socket.destroy();
      this.socket = c.socket;
      this.retryMs = RETRY_FIRST_MS;
      for (;;) {
        const len = parseInt((await c.reader.read(4)).toString('ascii'), 16);
        const text = len > 0 ? (await c.reader.read(len)).toString('utf8') : '';
        const devices = parseDevices(text);
        // The short list has no models: ask for them once something is connected.
        const named = devices.some((d) => d.state === 'device')
          ? await listDevices(this.server).catch(() => devices)
          : devices;
        this.publish({ ok: true, devices: named.filter((d) => devices.some((x) => x.serial === d.serial)) });
      }
    } catch (err) {
      if (this.stopped) return;
      const adbMissing = err instanceof StorageError && err.native === 'ADB_MISSING';
      this.publish({ ok: false, why: (err as Error).message, adbMissing });
      this.timer = setTimeout(() => void this.connect(), this.retryMs);
      this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
    }
  }

  private publish(state: TrackerState): void {
    if (JSON.stringify(state) === JSON.stringify(this.last)) return;
    this.last = state;
    this.emit('state', state);
  }
}
