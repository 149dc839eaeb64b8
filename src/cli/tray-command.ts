import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import envPaths from 'env-paths';
import { RefusedError } from '../core/errors.js';
import { places } from '../config/places.js';
import { assetsDir } from '../desktop/assets.js';
import { platformAutostart, trayCommand as trayStartCommand } from '../desktop/autostart.js';
import { platformDialogs } from '../desktop/dialogs.js';
import { DesktopNotifier } from '../desktop/notifier.js';
import { Tray } from '../desktop/tray.js';
import { installHelper, shippedHelper } from '../desktop/tray-helper.js';
import type { IconState } from '../desktop/tray-menu.js';
import { listDevices } from '../storage/adb/devices.js';
import { AdbServer } from '../storage/adb/server.js';
import { startHost } from '../host.js';
import { app } from '../app.js';
import { previewPair } from '../service/pair-preview.js';
import { ExitCode } from './exit-codes.js';
import { preparePair } from './pair-options.js';
import { command, CONFIG_DIR_OPTION } from './command.js';
import type { Io } from './io.js';

const TRAY_HELP = `Usage: synctray [tray] [--config-dir DIR]

The tray icon and its menu over the service that 'synctray run' starts: every
folder pair synced and watched, with pause, resume, resync, adding pairs through
the system's folder picker, and start at login. Needs a desktop session; on a
server use 'synctray run'. One instance per config folder.`;

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
  const assets = assetsDir();
  const helper = trayHelper();

  const host = await startHost(places(values['config-dir']), (_line, text, level) => {
    if (text && level !== 'debug') io.stderr.write(`${text}\n`);
  });
  const notifier = new DesktopNotifier((why) => host.log.write('warn', why));
  // Dialogs still open when SyncTray stops are closed with it.
  const dialogsStop = new AbortController();
  let quit: () => void = () => undefined;
  const quitting = new Promise<void>((resolve) => (quit = resolve));
  const tray = new Tray(host, {
    helper,
    icon: (state) => icon(assets, state),
    dialogs: platformDialogs(assets, { signal: dialogsStop.signal }),
    // Started at login with the config it runs with now.
    autostart: platformAutostart([
      ...trayStartCommand(),
      ...(values['config-dir'] ? ['--config-dir', path.resolve(values['config-dir'])] : []),
    ]),
    open: (target) => open(target, (why) => host.log.write('warn', why)),
    tell: (title, body) => void notifier.show({ title, body, urgency: 'normal' }),
    phones: () => listDevices(new AdbServer()),
    prepare: (source, destination, mode) => preparePair(host.store.pairs(), [source, destination], { mode }),
    preview: async (pair) => (await previewPair(pair, app)).preview,
    quit: () => quit(),
    now: () => performance.now(),
  });
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
  await Promise.race([
    quitting,
    new Promise<void>((resolve) =>
      signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true }),
    ),
  ]);
  dialogsStop.abort();
  await tray.stop();
  await host.stop();
  io.stderr.write('SyncTray stopped.\n');
  host.log.write('info', 'SyncTray stopped.');
  return ExitCode.OK;
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
