import { spawn } from 'node:child_process';

/**
 * Why the tray's icon will not be seen, or undefined when it should be (or nothing can tell).
 * GNOME has no notification area: it shows tray icons only through a StatusNotifier host, which
 * the AppIndicator extension provides. Other desktops have a notification area (XEmbed) when they
 * have no StatusNotifier host, which cannot be asked without an X library: they are trusted.
 * `hostRegistered` is the StatusNotifier watcher's answer: true, false, or undefined (no watcher).
 */
export function trayHostMissing(desktop: string | undefined, hostRegistered: boolean | undefined): string | undefined {
  const gnome = (desktop ?? '').split(':').some((d) => d.toUpperCase() === 'GNOME');
  if (!gnome || hostRegistered === true) return undefined;
  return (
    'GNOME shows tray icons only with the AppIndicator extension (gnome-shell-extension-appindicator, or ' +
    "'AppIndicator and KStatusNotifierItem Support' from extensions.gnome.org). SyncTray runs on without " +
    "its icon; 'synctray status' shows what it does."
  );
}

/**
 * Asks the session bus whether a StatusNotifier host is registered: true, false, or undefined when
 * there is no watcher, or no `gdbus` to ask with.
 */
export function statusNotifierHost(env: NodeJS.ProcessEnv = process.env): Promise<boolean | undefined> {
  return new Promise((resolve) => {
    const args = [
      'call',
      '--session',
      '--timeout',
      '3',
      '--dest',
      'org.kde.StatusNotifierWatcher',
      '--object-path',
      '/StatusNotifierWatcher',
      '--method',
      'org.freedesktop.DBus.Properties.Get',
      'org.kde.StatusNotifierWatcher',
      'IsStatusNotifierHostRegistered',
    ];
    let out = '';
    const child = spawn('gdbus', args, { env, stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => resolve(code === 0 ? /\btrue\b/.test(out) : undefined));
  });
}
