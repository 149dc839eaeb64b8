import { parseArgs } from 'node:util';
import { RefusedError } from '../core/errors.js';
import { places } from '../config/places.js';
import type { Pair } from '../config/schema.js';
import { ConfigStore } from '../config/store.js';
import { announce, serveControl, type ControlRequest } from '../service/control.js';
import { InstanceLock } from '../service/instance-lock.js';
import { RotatingLog } from '../service/log.js';
import { Service, type ServiceEvent } from '../service/service.js';
import { folderWatcher } from '../watch/folder-watcher.js';
import { DesktopNotifier } from '../desktop/notifier.js';
import { NotifyPolicy, type Happening } from '../desktop/notify-policy.js';
import { app } from '../app.js';
import { ExitCode } from './exit-codes.js';
import type { Io } from './sync-command.js';
import { UsageError } from './usage-error.js';

const RUN_HELP = `Usage: synctray run [--config-dir DIR] [--json]

The headless service: every folder pair that is not paused is synced, then
watched, until Ctrl+C (or SIGTERM). 'synctray pair …' and 'synctray status'
talk to it while it runs. One instance per config folder.

  --json   one JSON object per line on stdout: running, status, problem`;

/** `synctray run`: the service, its lock and its control socket, until a signal. */
export async function runCommand(argv: string[], io: Io, signal: AbortSignal): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, options: { 'config-dir': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) {
    io.stdout.write(`${RUN_HELP}\n`);
    return ExitCode.OK;
  }
  const where = places(values['config-dir']);
  // The lock lives with the config it guards, whatever the environment says about run-time folders.
  const lock = InstanceLock.acquire(where.config);
  const released = () => {
    announce(where.config, undefined);
    lock.release();
  };
  // However the process ends, nothing is left claiming it runs.
  process.once('exit', released);
  try {
    const { store, problems } = ConfigStore.open(where.config);
    // Settings read once: a config edited by hand while running must not break logging.
    const settings = store.settings();
    const log = new RotatingLog(where.logs, () => settings.logLevel);
    const say = (line: Record<string, unknown>, text: string, level: 'info' | 'warn' | 'debug' = 'info') => {
      if (text) log.write(level, text);
      if (values.json) io.stdout.write(`${JSON.stringify(line)}\n`);
      else if (text && level !== 'debug') io.stderr.write(`${text}\n`);
    };
    for (const p of problems) say({ event: 'problem', message: p.message, keptAt: p.keptAt }, `${p.message}${p.keptAt ? ` It is kept as ${p.keptAt}.` : ''}`, 'warn');
    const service = new Service(store, { openStorage: app.openStorage, openVersions: app.openVersions, watchFolder: folderWatcher, now: () => performance.now() });
    const notify = notifications(store, (why) => say({ event: 'problem', message: why }, why, 'warn'));
    for (const p of problems) notify.add({ kind: 'config', message: `${p.message}${p.keptAt ? ` It is kept as ${p.keptAt}.` : ''}` });
    // A line when a pair's state changes (JSON: every status change, progress included).
    const shown = new Map<string, string>();
    service.on('event', (e: ServiceEvent) => {
      if (e.type === 'synced') {
        if (e.clean) notify.ok(e.pair.id);
        // A long first sync is worth saying when it is over.
        if (e.first && e.clean && e.durationMs > LONG_SYNC_MS) notify.add({ pairId: e.pair.id, pairName: e.pair.name, kind: 'synced', message: `The first sync of ${e.pair.name} is complete.` });
        return;
      }
      if (e.type === 'problem') {
        notify.add({ pairId: e.pair.id, pairName: e.pair.name, kind: e.kind, message: e.message });
        return say({ event: 'problem', pair: e.pair.name, kind: e.kind, message: e.message }, `${e.pair.name}: ${e.message}`, 'warn');
      }
      const changed = shown.get(e.status.id) !== e.status.state;
      shown.set(e.status.id, e.status.state);
      if (values.json) say({ event: 'status', ...e.status }, changed ? `${e.status.name}: ${e.status.state}` : '');
      else if (changed) say({}, `${e.status.name}: ${e.status.state}`);
    });
    const control = await serveControl(where.state, (req) => handle(service, store, req));
    announce(where.config, control.socket);
    say({ event: 'running', pid: process.pid, pairs: store.pairs().length }, `SyncTray is running (pid ${process.pid}) with ${store.pairs().length} pairs; Ctrl+C stops it.`);
    service.start();
    await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
    // The pairs stop first (a request under way still gets its answer), then the socket closes.
    await service.stop();
    await control.close();
    notify.stop();
    say({ event: 'stopped' }, 'SyncTray stopped.');
    return ExitCode.OK;
  } finally {
    released();
    process.removeListener('exit', released);
  }
}

/** A first sync that took longer than this gets a notification when it is done. */
const LONG_SYNC_MS = 30_000;

/** The notification policy in front of the desktop notifier, with the timer for what had to wait. */
function notifications(store: ConfigStore, onUnavailable: (why: string) => void) {
  const level = store.settings().notifications;
  const pairLevel = (id: string) => {
    try {
      return store.find(id)?.notify ?? 'all';
    } catch {
      return 'all'; // a config edited by hand while running: say too much rather than too little
    }
  };
  const policy = new NotifyPolicy(() => level, pairLevel);
  const desktop = new DesktopNotifier(onUnavailable);
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const at = policy.nextFlushAt();
    if (at === undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      for (const n of policy.flush(Date.now())) void desktop.show(n);
      schedule();
    }, Math.max(0, at - Date.now()));
    timer.unref();
  };
  return {
    add(h: Happening) {
      const n = policy.add(h, Date.now());
      if (n) void desktop.show(n);
      schedule();
    },
    ok: (pairId: string) => policy.ok(pairId),
    stop: () => timer && clearTimeout(timer),
  };
}

/** One request from `synctray pair …` or `synctray status` in another process. */
async function handle(service: Service, store: ConfigStore, req: ControlRequest): Promise<unknown> {
  const args = (req.args ?? {}) as { pair?: string; all?: boolean; add?: Omit<Pair, 'id'> };
  const each = async (act: (nameOrId: string) => unknown) => {
    const names = args.all ? store.pairs().map((p) => p.id) : [args.pair ?? ''];
    const out = [];
    for (const n of names) out.push(await act(n));
    return out;
  };
  switch (req.command) {
    case 'status':
      return service.status();
    case 'list':
      return store.pairs();
    case 'add':
      if (!args.add) throw new RefusedError('add needs a pair.');
      return service.add(args.add);
    case 'remove':
      return service.remove(args.pair ?? '');
    case 'pause':
      return each((n) => service.pause(n));
    case 'resume':
      return each((n) => service.resume(n));
    case 'resync':
      return each((n) => service.resync(n));
    default:
      throw new RefusedError(`Unknown request "${req.command}".`);
  }
}
