/**
 * A private headless desktop for tests: a virtual display (Xvfb), a D-Bus session bus of its own,
 * a tray host (trayer, XEmbed: the icon is a real window xdotool can click) and a notification
 * daemon (dunst). Every process started is recorded and stopped, and waited for, by stop().
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { waitFor } from './wait-for.js';

export const DESKTOP_TOOLS = [
  'Xvfb',
  'dbus-daemon',
  'gdbus',
  'trayer',
  'dunst',
  'xdotool',
  'xwininfo',
  'import',
  'xclip',
  'zenity',
];
export const DESKTOP_PACKAGES =
  'xvfb dbus libglib2.0-bin trayer dunst xdotool x11-utils imagemagick xclip zenity ' +
  'libayatana-appindicator3-1 libgtk-3-0';

export interface Desktop {
  env: NodeJS.ProcessEnv;
  display: string;
  /** Runs an X tool (xdotool, xwininfo, import) against this display; its stdout. */
  x(cmd: string, args: string[]): string;
  stop(): Promise<void>;
}

let displays = 0;
const TRAYER_ARGS = [
  '--edge',
  'top',
  '--align',
  'right',
  '--widthtype',
  'request',
  '--height',
  '32',
  '--SetDockType',
  'true',
  '--transparent',
  'false',
  '--tint',
  '0xFFFFFF',
];

export async function startDesktop(root: string, { tray = true }: { tray?: boolean } = {}): Promise<Desktop> {
  const started: ChildProcess[] = [];
  // A display of its own per desktop: the last one's may not be gone from the X server's lock yet.
  const display = `:${100 + (process.pid % 100) * 8 + (displays++ % 8)}`;
  const runtime = path.join(root, 'runtime');
  fs.mkdirSync(runtime, { recursive: true, mode: 0o700 });
  const bus = `unix:path=${path.join(runtime, 'bus')}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DISPLAY: display,
    DBUS_SESSION_BUS_ADDRESS: bus,
    NO_AT_BRIDGE: '1',
    XDG_RUNTIME_DIR: runtime,
    XDG_CONFIG_HOME: path.join(root, 'xdg-config'),
    XDG_CACHE_HOME: path.join(root, 'xdg-cache'),
    XDG_DATA_HOME: path.join(root, 'xdg-data'),
  };
  const start = (cmd: string, args: string[]) => {
    const child = spawn(cmd, args, { env, stdio: 'ignore' });
    started.push(child);
    return child;
  };
  const desktop: Desktop = {
    env,
    display,
    x: (cmd, args) => {
      const r = spawnSync(cmd, args, { env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
      return r.stdout;
    },
    stop: async () => {
      for (const child of started.reverse()) {
        if (child.exitCode !== null || child.signalCode !== null) continue;
        child.kill('SIGTERM');
        const gone = new Promise((r) => child.once('exit', r));
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await gone;
        clearTimeout(timer);
      }
    },
  };
  try {
    start('Xvfb', [display, '-screen', '0', '1400x1050x24', '-nolisten', 'tcp']);
    await waitFor(() => spawnSync('xwininfo', ['-root'], { env, stdio: 'ignore' }).status === 0, 'the virtual display');
    start('dbus-daemon', ['--session', '--nofork', '--nopidfile', `--address=${bus}`]);
    const has = (name: string) =>
      spawnSync(
        'gdbus',
        [
          'call',
          '--session',
          '--dest',
          'org.freedesktop.DBus',
          '--object-path',
          '/org/freedesktop/DBus',
          '--method',
          'org.freedesktop.DBus.NameHasOwner',
          name,
        ],
        { env, encoding: 'utf8' },
      ).stdout?.includes('true');
    await waitFor(() => has('org.freedesktop.DBus'), 'the session bus');
    if (tray) {
      // trayer has been seen to exit at start on a busy machine (the display just up): try again.
      const panel = () => spawnSync('xdotool', ['search', '--name', '^panel$'], { env, stdio: 'ignore' }).status === 0;
      let host = start('trayer', TRAYER_ARGS);
      let tries = 0;
      await waitFor(
        () => {
          if (panel()) return true;
          if (host.exitCode !== null && tries++ < 3) host = start('trayer', TRAYER_ARGS);
          return false;
        },
        'the tray host (trayer)',
        { timeoutMs: 20_000, intervalMs: 20 },
      );
    }
    start('dunst', []);
    await waitFor(() => has('org.freedesktop.Notifications'), 'the notification daemon');
    // GTK's file chooser opens in the current folder, not the empty "Recent" view where OK is disabled.
    spawnSync('gsettings', ['set', 'org.gtk.Settings.FileChooser', 'startup-mode', 'cwd'], { env });
    return desktop;
  } catch (err) {
    await desktop.stop();
    throw err;
  }
}
