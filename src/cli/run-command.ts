import { parseArgs } from 'node:util';
import { RefusedError } from '../core/errors.js';
import { places } from '../config/places.js';
import type { Pair } from '../config/schema.js';
import { ConfigStore } from '../config/store.js';
import { serveControl, type ControlRequest } from '../service/control.js';
import { InstanceLock } from '../service/instance-lock.js';
import { Service, type ServiceEvent } from '../service/service.js';
import { folderWatcher } from '../watch/folder-watcher.js';
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
  const lock = InstanceLock.acquire(where.state);
  try {
    const { store, problems } = ConfigStore.open(where.config);
    const say = (line: Record<string, unknown>, text: string) => {
      if (values.json) io.stdout.write(`${JSON.stringify(line)}\n`);
      else io.stderr.write(`${text}\n`);
    };
    for (const p of problems) say({ event: 'problem', message: p.message, keptAt: p.keptAt }, `synctray: ${p.message}${p.keptAt ? ` It is kept as ${p.keptAt}.` : ''}`);
    const service = new Service(store, { openStorage: app.openStorage, openVersions: app.openVersions, watchFolder: folderWatcher, now: () => performance.now() });
    // A line when a pair's state changes (JSON: every status change, progress included).
    const shown = new Map<string, string>();
    service.on('event', (e: ServiceEvent) => {
      if (e.type === 'problem') return say({ event: 'problem', pair: e.pair.name, message: e.message }, `${e.pair.name}: ${e.message}`);
      if (values.json) return say({ event: 'status', ...e.status }, '');
      if (shown.get(e.status.id) === e.status.state) return;
      shown.set(e.status.id, e.status.state);
      say({}, `${e.status.name}: ${e.status.state}`);
    });
    const control = await serveControl(where.state, (req) => handle(service, store, req));
    say({ event: 'running', pid: process.pid, pairs: store.pairs().length }, `SyncTray is running (pid ${process.pid}) with ${store.pairs().length} pairs; Ctrl+C stops it.`);
    const started = service.start().catch((err: unknown) => say({ event: 'problem', message: String(err) }, `synctray: ${String(err)}`));
    await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
    await control.close();
    await service.stop();
    await started;
    say({ event: 'stopped' }, 'SyncTray stopped.');
    return ExitCode.OK;
  } finally {
    lock.release();
  }
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
