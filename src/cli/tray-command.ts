import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import envPaths from 'env-paths';
import { RefusedError } from '../core/errors.js';
import { places, type Places } from '../config/places.js';
import type { Pair } from '../config/schema.js';
import { assetsDir } from '../desktop/assets.js';
import { platformAutostart, trayCommand as trayStartCommand } from '../desktop/autostart.js';
import { platformDialogs } from '../desktop/dialogs.js';
import { DesktopNotifier } from '../desktop/notifier.js';
import { JoinedService } from '../desktop/joined-service.js';
import { TRAY_SHOWN } from '../service/host.js';
import { Tray, type TrayDeps } from '../desktop/tray.js';
import { statusNotifierHost, trayHostMissing } from '../desktop/tray-host.js';
import { ownService, type TrayService } from '../desktop/tray-service.js';
import { installHelper, shippedHelper } from '../desktop/tray-helper.js';
import type { IconState } from '../desktop/tray-menu.js';
import { listDevices } from '../storage/adb/devices.js';
import { AdbServer } from '../storage/adb/server.js';
import { listRemotes } from '../storage/rclone/list-remotes.js';
import { startHost } from '../host.js';
import { app } from '../app.js';
import { previewPair } from '../service/pair-preview.js';
import { ExitCode } from './exit-codes.js';
import { preparePair } from './pair-options.js';
import { command, CONFIG_DIR_OPTION } from './command.js';
import type { Io } from './io.js';

const TRAY_HELP = `Usage: synctray [tray] [--config-dir DIR]

The tray icon and its menu over the service: every folder pair synced and
watched, with pause, resume, resync, adding pairs through the system's folder
picker, and start at login. Needs a desktop session; on a server use
'synctray run'. When 'synctray run' already runs for the config (started at
boot, say), the tray joins it: Quit then closes the tray only, and Stop
SyncTray stops the service. Otherwise the tray runs the service itself. One
tray per config folder.`;

/** `synctray tray` (and `synctray` alone): the service with its tray icon, until Quit or a signal. */
export const trayCommand = command({
  name: 'tray',
  usage: TRAY_HELP,
  options: CONFIG_DIR_OPTION,
  run: ({ values }, io, signal) => runTray(values, io, signal),
});

async function runTray(values: { 'config-dir'?: string }, io: Io, signal: AbortSignal): Promise<number> {
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    throw new RefusedError(
      'No desktop session here (neither DISPLAY nor WAYLAND_DISPLAY is set), so there is no tray to show an icon ' +
        "in. Run 'synctray run' for the same service without a tray.",
    );
  }
  const where = places(values['config-dir']);
  const common = trayParts(values, io);
  // A service already running for this config (`synctray run` at boot, say): the tray joins it.
  const joined = new JoinedService(where.config, {
    notify: (n) => void common.notifier.show(n),
    warn: (text) => io.stderr.write(`${text}\n`),
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
  });
  for (let tries = 0; ; tries++) {
    try {
      if (await joined.join()) return await joinedTray(joined, common, values, io, signal);
      return await ownTray(where, common, io, signal);
    } catch (err) {
      if (!(err instanceof RefusedError)) throw err;
      // Another tray shows this service already: one is enough.
      if (err.message.startsWith(TRAY_SHOWN)) {
        io.stderr.write(`${err.message} Nothing more to show.\n`);
        return ExitCode.OK;
      }
      // A service stopping or restarting as the tray starts (at login, say): looked at once more.
      if (tries > 0 || !err.message.includes('stopped before it answered')) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** What both kinds of tray are made with. */
interface TrayParts {
  notifier: DesktopNotifier;
  /** Closes the dialogs still open: they go with the tray. */
  closeDialogs(): void;
  deps: (svc: TrayService, pairs: () => Pair[], quit: () => void) => TrayDeps;
}

function trayParts(values: { 'config-dir'?: string }, io: Io): TrayParts {
  const assets = assetsDir();
  const helper = trayHelper();
  const notifier = new DesktopNotifier((why) => io.stderr.write(`${why}\n`));
  const dialogsStop = new AbortController();
  const configArgs = values['config-dir'] ? ['--config-dir', path.resolve(values['config-dir'])] : [];
  return {
    notifier,
    closeDialogs: () => dialogsStop.abort(),
    deps: (svc, pairs, quit) => ({
      helper,
      icon: (state) => icon(assets, state),
      dialogs: platformDialogs(assets, { signal: dialogsStop.signal }),
      // Started at login with the config it runs with now.
      autostart: platformAutostart([...trayStartCommand(), ...configArgs]),
      open: (target) => open(target, (why) => svc.warn(why)),
      tell: (title, body) => void notifier.show({ title, body, urgency: 'normal' }),
      phones: () => listDevices(new AdbServer()),
      // The tray's own environment, the user's: remotes defined by RCLONE_CONFIG_* variables are listed too.
      remotes: () => listRemotes(process.env),
      prepare: (source, destination, mode) => preparePair(pairs(), [source, destination], { mode }),
      preview: async (pair) => (await previewPair(pair, app)).preview,
      quit,
      now: () => performance.now(),
      startService: () => startService(configArgs, (why) => svc.warn(why)),
    }),
  };
}

/** The tray over a service of another process: Quit closes the tray only. */
async function joinedTray(
  joined: JoinedService,
  parts: TrayParts,
  values: { 'config-dir'?: string },
  io: Io,
  signal: AbortSignal,
): Promise<number> {
  let quit: () => void = () => undefined;
  const quitting = new Promise<void>((resolve) => (quit = resolve));
  const tray = new Tray(joined, {
    ...parts.deps(joined, () => joined.pairs(), quit),
    stopService: () => joined.stopService(),
  });
  try {
    await tray.start();
  } catch (err) {
    joined.close();
    throw new RefusedError(`The tray icon could not be shown: ${(err as Error).message}.`);
  }
  void sayIfUnseen(parts.notifier, (text) => io.stderr.write(`${text}\n`));
  const whose = values['config-dir'] ? path.resolve(values['config-dir']) : 'this user';
  io.stderr.write(`The tray joined the SyncTray running for ${whose} (pid ${joined.pid}).\n`);
  await untilQuitOrSignal(quitting, signal);
  parts.closeDialogs();
  await tray.stop();
  joined.close();
  io.stderr.write('The tray closed; SyncTray keeps running.\n');
  return ExitCode.OK;
}

/** The tray that runs the service itself: Quit stops both. */
async function ownTray(where: Places, parts: TrayParts, io: Io, signal: AbortSignal): Promise<number> {
  const host = await startHost(where, (_line, text, level) => {
    if (text && level !== 'debug') io.stderr.write(`${text}\n`);
  });
  host.showsTray();
  let quit: () => void = () => undefined;
  const quitting = new Promise<void>((resolve) => (quit = resolve));
  host.onStopAsked(quit);
  const svc = ownService(host);
  const tray = new Tray(
    svc,
    parts.deps(svc, () => host.store.pairs(), quit),
  );
  try {
    await tray.start();
  } catch (err) {
    await host.stop();
    throw new RefusedError(
      `The tray icon could not be shown: ${(err as Error).message}. Run 'synctray run' for the same service without ` +
        'a tray.',
    );
  }
  host.log.write('info', 'The tray icon is shown.');
  void sayIfUnseen(parts.notifier, (text) => host.log.write('warn', text));
  await untilQuitOrSignal(quitting, signal);
  parts.closeDialogs();
  await tray.stop();
  await host.stop();
  io.stderr.write('SyncTray stopped.\n');
  host.log.write('info', 'SyncTray stopped.');
  return ExitCode.OK;
}

/** Where nothing can show the icon (GNOME without the AppIndicator extension), one notification says so. */
async function sayIfUnseen(notifier: DesktopNotifier, log: (text: string) => void): Promise<void> {
  const why = trayHostMissing(process.env.XDG_CURRENT_DESKTOP, await statusNotifierHost());
  if (why === undefined) return;
  log(`The tray icon cannot be seen here: ${why}`);
  await notifier.show({ title: 'SyncTray has no tray to show its icon in', body: why, urgency: 'normal' });
}

function untilQuitOrSignal(quitting: Promise<void>, signal: AbortSignal): Promise<void> {
  return Promise.race([
    quitting,
    new Promise<void>((resolve) =>
      signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true }),
    ),
  ]);
}

/** Start SyncTray: `synctray run` in a process of its own, which outlives the tray. */
function startService(configArgs: string[], onError: (why: string) => void): void {
  const [cmd, ...args] = trayStartCommand();
  // The tray's own command with `run` for `tray`.
  const argv = [...args.slice(0, -1), 'run', ...configArgs];
  const child = spawn(cmd!, argv, { stdio: 'ignore', detached: true });
  child.on('error', (err) => onError(`could not start SyncTray (${err.message})`));
  child.unref();
}

/**
 * The tray helper: SYNCTRAY_TRAY_HELPER when set (a systray2 helper built for a platform it ships
 * none for, say), else an executable copy of the one shipped.
 */
function trayHelper(): string {
  const own = process.env.SYNCTRAY_TRAY_HELPER;
  if (own) {
    try {
      fs.accessSync(own, fs.constants.X_OK);
    } catch {
      throw new RefusedError(
        `SYNCTRAY_TRAY_HELPER is ${own}, which is not an executable file: point it at a systray2 tray helper, or ` +
          'unset it.',
      );
    }
    return own;
  }
  const shipped = shippedHelper();
  if (!shipped)
    throw new RefusedError(
      `The tray has no helper for ${process.platform} on ${process.arch}. Run 'synctray run' for the same service ` +
        'without a tray.',
    );
  return installHelper(shipped, path.join(envPaths('synctray', { suffix: '' }).cache, 'helpers'));
}

function icon(assets: string, state: IconState): { bytes: Buffer; template: boolean } {
  const name =
    process.platform === 'darwin'
      ? `${state}-template.png`
      : process.platform === 'win32'
        ? `${state}.ico`
        : `${state}.png`;
  return { bytes: fs.readFileSync(path.join(assets, 'icons', name)), template: process.platform === 'darwin' };
}

/** Opens a folder or a file with the desktop's own program, as an argument vector. */
function open(target: string, onError: (why: string) => void): void {
  const [cmd, args] =
    process.platform === 'darwin'
      ? ['open', [target]]
      : process.platform === 'win32'
        ? ['explorer.exe', [target]]
        : ['xdg-open', [target]];
  const child = spawn(cmd as string, args as string[], { stdio: 'ignore', detached: true });
  child.on('error', (err) =>
    onError(`could not open ${target} (${err.message}); install xdg-utils, or open it yourself`),
  );
  child.unref();
}
