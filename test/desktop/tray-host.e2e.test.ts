/**
 * The tray on a desktop with nothing to show its icon in (GNOME without the AppIndicator
 * extension): it says so once, in a notification seen on the bus, and runs on.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertCliBuilt, runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { DESKTOP_PACKAGES, DESKTOP_TOOLS, startDesktop, type Desktop } from '../helpers/desktop.js';
import { hasTool, skipReasonOutsideCi } from '../helpers/requirements.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { waitFor } from '../helpers/wait-for.js';

const TOOLS = [...DESKTOP_TOOLS, 'dbus-monitor'];
const missing = skipReasonOutsideCi(
  TOOLS.every(hasTool),
  `tray host test skipped: needs ${TOOLS.join(', ')} (apt-get install ${DESKTOP_PACKAGES})`,
);

let root: string;
let desktop: Desktop | undefined;
let tray: RunningCli | undefined;
let monitor: ChildProcess | undefined;
beforeAll(() => assertCliBuilt());
beforeEach(() => {
  root = makeScratch('synctray-trayhost-');
});
afterEach(async () => {
  tray?.child.kill('SIGTERM');
  await tray?.done;
  tray = undefined;
  monitor?.kill('SIGTERM');
  monitor = undefined;
  await desktop?.stop();
  desktop = undefined;
  removeScratch(root);
});

const TITLE = 'SyncTray has no tray to show its icon in';

/** A desktop without a tray host, a monitor of its Notify calls, and the tray started on it as `desktopName`. */
async function trayOn(desktopName: string): Promise<() => string[]> {
  desktop = await startDesktop(root, { tray: false });
  const calls = path.join(root, 'monitor.txt');
  const out = fs.openSync(calls, 'w');
  monitor = spawn(
    'dbus-monitor',
    ['--session', "type='method_call',interface='org.freedesktop.Notifications',member='Notify'"],
    { env: desktop.env, stdio: ['ignore', out, out] },
  );
  fs.closeSync(out);
  tray = startCli(['tray', '--config-dir', path.join(root, 'config')], {
    env: { ...desktop.env, XDG_CURRENT_DESKTOP: desktopName },
  });
  await waitFor(
    async () =>
      (await runCli(['status', '--json', '--config-dir', path.join(root, 'config')])).stdout.includes('"running":true'),
    'SyncTray running',
    { timeoutMs: 15_000 },
  );
  return () =>
    fs
      .readFileSync(calls, 'utf8')
      .split('member=Notify')
      .filter((c) => c.includes(TITLE));
}

describe.skipIf(missing)('a desktop with nothing to show the icon in', () => {
  it('GNOME without the AppIndicator extension: one notification says so, and SyncTray runs on', async () => {
    const told = await trayOn('GNOME');
    await waitFor(() => told().length > 0, 'the notification', { timeoutMs: 15_000 });
    await new Promise((r) => setTimeout(r, 1500));
    expect(told()).toHaveLength(1);
    expect(told()[0]).toContain('AppIndicator extension');
    expect(told()[0]).toContain("'synctray status'");
    expect(tray!.child.exitCode).toBeNull();
    expect(fs.readFileSync(path.join(root, 'config', 'logs', 'synctray.log'), 'utf8')).toContain(
      'The tray icon cannot be seen here',
    );
  }, 40_000);

  it('another desktop is trusted to have a notification area: nothing is said', async () => {
    const told = await trayOn('XFCE');
    await new Promise((r) => setTimeout(r, 2500));
    expect(told()).toEqual([]);
  }, 40_000);
});
