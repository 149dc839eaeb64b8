/**
 * The tray as a user sees it on a test desktop (helpers/desktop.ts): its icon's window in trayer,
 * its menus, which icon it shows. Screenshots go to test-artifacts/ to look at.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './cli.js';
import type { Desktop } from './desktop.js';
import { waitFor } from './wait-for.js';

export const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The tray icon's window in trayer, once the helper has put it there. */
export function iconWindow(d: Desktop): string | undefined {
  const r = spawnSync('xdotool', ['search', '--classname', '^systray$'], { env: d.env, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim().split('\n')[0] : undefined;
}

/** How many of the helper's menus are shown (the menu, and a submenu opened from it). */
export function menusShown(d: Desktop): number {
  const r = spawnSync('xdotool', ['search', '--onlyvisible', '--classname', '^tray_linux_release'], {
    env: d.env,
    encoding: 'utf8',
  });
  return r.status === 0 ? r.stdout.trim().split('\n').length : 0;
}

/**
 * Opens the menu with a right-click on the icon (again, if a click came before the icon took
 * clicks) and presses `keys`.
 */
export async function menu(d: Desktop, keys: string[], shot?: string): Promise<void> {
  await waitFor(() => menusShown(d) === 0, 'no menu shown', { intervalMs: 20 });
  await waitFor(
    async () => {
      d.x('xdotool', ['mousemove', '--window', iconWindow(d)!, '8', '8', 'click', '3']);
      for (const giveUp = performance.now() + 1000; performance.now() < giveUp; await sleep(20))
        if (menusShown(d) > 0) return true;
      return false;
    },
    'the menu',
    { timeoutMs: 15_000 },
  );
  if (shot) d.x('import', ['-window', 'root', '-crop', '600x420+800+0', path.join(ARTIFACTS, shot)]);
  if (keys.length > 0) d.x('xdotool', ['key', '--delay', '80', ...keys]);
}

/** Pixels of the tray area (RGB, a byte each), to see which icon it shows. */
function trayPixels(d: Desktop): Buffer {
  const r = spawnSync('import', ['-window', 'root', '-crop', '64x32+1336+0', '-depth', '8', 'rgb:-'], { env: d.env });
  if (r.status !== 0) throw new Error(`import failed (${r.status}): ${r.stderr.toString()}`);
  return r.stdout;
}

type IconColour = { rgb: number; pixels: number };
const iconColours = new Map<string, IconColour>();

/** The colour most of an icon is drawn in (each state has its own), and how many of its pixels have it. */
function iconColour(state: 'idle' | 'paused' | 'attention'): IconColour {
  const known = iconColours.get(state);
  if (known) return known;
  const rgba = spawnSync('convert', [
    path.join(REPO_ROOT, 'assets/icons', `${state}.png`),
    '-depth',
    '8',
    'rgba:-',
  ]).stdout;
  const counts = new Map<number, number>();
  for (let i = 0; i + 3 < rgba.length; i += 4) {
    const rgb = rgba.readUIntBE(i, 3);
    if (rgba[i + 3] === 255) counts.set(rgb, (counts.get(rgb) ?? 0) + 1);
  }
  const [rgb, pixels] = [...counts].sort((a, b) => b[1] - a[1])[0]!;
  iconColours.set(state, { rgb, pixels });
  return { rgb, pixels };
}

/**
 * The tray shows the icon of `state`: trayer draws it at its own 32 px, so its colour covers as
 * many pixels (half will do).
 */
export function iconShows(d: Desktop, state: 'idle' | 'paused' | 'attention'): boolean {
  const { rgb, pixels } = iconColour(state);
  const shown = trayPixels(d);
  let seen = 0;
  for (let i = 0; i + 2 < shown.length; i += 3) if (shown.readUIntBE(i, 3) === rgb) seen++;
  return seen >= pixels / 2;
}
