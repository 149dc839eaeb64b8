/**
 * The dialogs the tray opens on a test desktop (helpers/desktop.ts), as a user answers them: found
 * by their title, focused by the pointer (no window manager), keys pressed with xdotool, text
 * pasted through the clipboard. Screenshots go to test-artifacts/.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Desktop } from './desktop.js';
import { ARTIFACTS } from './tray-ui.js';
import { waitFor } from './wait-for.js';

/** Closes the dialog called `title` with Escape, as a user cancelling it would. */
export async function cancel(d: Desktop, title: string): Promise<void> {
  await waitFor(() => windowShown(d, title), title, { timeoutMs: 15_000, intervalMs: 50 });
  focus(d, title);
  d.x('xdotool', ['key', 'Escape']);
  await waitFor(() => !windowNamed(d, title), `${title} closed`, { intervalMs: 50 });
}

export function windowNamed(d: Desktop, name: string): boolean {
  return spawnSync('xdotool', ['search', '--name', `^${name}`], { env: d.env, stdio: 'ignore' }).status === 0;
}

/** A window called `name` is mapped (shown, so it takes the keys pressed over it). */
export function windowShown(d: Desktop, name: string): boolean {
  return (
    spawnSync('xdotool', ['search', '--onlyvisible', '--name', `^${name}`], { env: d.env, stdio: 'ignore' }).status ===
    0
  );
}

/** What the dialog called `title` was started with (its text among them), read from its process. */
export function dialogArgs(d: Desktop, title: string): string {
  const pid = d
    .x('xdotool', ['search', '--name', `^${title}`, 'getwindowpid'])
    .trim()
    .split('\n')[0]!;
  return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
}

/** Puts the pointer over the window (no window manager: focus follows the pointer). */
export function focus(d: Desktop, name: string): void {
  const win = d
    .x('xdotool', ['search', '--name', `^${name}`])
    .trim()
    .split('\n')[0]!;
  d.x('xdotool', ['mousemove', '--window', win, '40', '40']);
}

/** What the X selection `selection` holds now, or undefined when nothing offers it as text. */
export function selectionText(d: Desktop, selection: 'clipboard' | 'primary'): string | undefined {
  const r = spawnSync('xclip', ['-o', '-selection', selection], { env: d.env, encoding: 'utf8' });
  return r.status === 0 ? r.stdout : undefined;
}

/**
 * Puts `text` on the clipboard and presses `keys` (ending in a paste); the clipboard is let go
 * once the paste has taken the text. xclip -verbose numbers the requests it waits for, so the
 * number it is at says how many times it has handed the text out.
 */
export async function paste(d: Desktop, text: string, keys: string[]): Promise<void> {
  const clip = spawn('xclip', ['-verbose', '-selection', 'clipboard'], { env: d.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let said = '';
  for (const out of [clip.stdout, clip.stderr]) out.setEncoding('utf8').on('data', (s: string) => (said += s));
  const handedOut = () =>
    Math.max(0, ...[...said.matchAll(/selection request number (\d+)/g)].map((m) => Number(m[1]) - 1));
  clip.stdin.end(text);
  try {
    await waitFor(() => selectionText(d, 'clipboard') === text, 'the text on the clipboard', { intervalMs: 20 });
    await waitFor(() => handedOut() === 1, 'xclip counting the read that checked it', { intervalMs: 20 });
    d.x('xdotool', ['key', '--delay', '100', ...keys]);
    await waitFor(() => handedOut() > 1, 'the paste to take the text from the clipboard', { intervalMs: 20 });
  } finally {
    clip.kill();
  }
}

/** Chooses `folder` in the open zenity folder picker: pasted (typing is garbled by GTK's completion). */
export async function pick(d: Desktop, folder: string, shot: string): Promise<void> {
  await waitFor(() => windowShown(d, 'SyncTray: choose'), 'the folder picker', { timeoutMs: 15_000, intervalMs: 50 });
  focus(d, 'SyncTray: choose');
  await paste(d, folder, ['ctrl+l', 'ctrl+a', 'ctrl+v']);
  // GTK completes a folder's name inline with a "/", selected (so it is the primary selection):
  // Delete drops it, and Return chooses the folder as pasted.
  await waitFor(() => selectionText(d, 'primary') === '/', "GTK's completion of the folder name", { intervalMs: 20 });
  d.x('xdotool', ['key', 'Delete']);
  await waitFor(() => selectionText(d, 'primary') !== '/', 'the completion dropped', { intervalMs: 20 });
  d.x('import', ['-window', 'root', path.join(ARTIFACTS, shot)]);
  d.x('xdotool', ['key', 'Return']);
  await waitFor(
    () => !windowNamed(d, 'SyncTray: choose the folder to back up') || shot.includes('destination'),
    'the picker closed',
    { intervalMs: 50 },
  );
}

/** Waits for the dialog called `title` to show, then presses `keys` over it, as a user answering it. */
export async function answer(d: Desktop, title: string, keys: string[], shot?: string): Promise<void> {
  await waitFor(() => windowShown(d, title), title, { timeoutMs: 15_000, intervalMs: 50 });
  if (shot) d.x('import', ['-window', 'root', path.join(ARTIFACTS, shot)]);
  focus(d, title);
  d.x('xdotool', ['key', '--delay', '100', ...keys]);
}
