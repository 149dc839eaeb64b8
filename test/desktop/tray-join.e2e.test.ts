/**
 * The tray joining a service that runs already (`synctray run`, as started at boot): on a real
 * headless desktop (helpers/desktop.ts), through the real tray helper and menu, the real control
 * socket, and a D-Bus monitor counting the notifications on the bus.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertCliBuilt, runCli, shellQuote, startCli, type RunningCli } from '../helpers/cli.js';
import { DESKTOP_PACKAGES, DESKTOP_TOOLS, startDesktop, type Desktop } from '../helpers/desktop.js';
import { findTool, hasTool, skipReasonOutsideCi } from '../helpers/requirements.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { ARTIFACTS, iconShows, iconWindow, menu, menusShown } from '../helpers/tray-ui.js';
import { writeTree } from '../helpers/tree-spec.js';
import { waitFor } from '../helpers/wait-for.js';
import { answer } from '../helpers/dialog-ui.js';
import { runStamp } from '../../src/storage/versions.js';

const TOOLS = [...DESKTOP_TOOLS, 'dbus-monitor', 'notify-send'];
const missing = skipReasonOutsideCi(
  TOOLS.every(hasTool),
  `joined tray test skipped: needs ${TOOLS.join(', ')} (apt-get install ${DESKTOP_PACKAGES})`,
);

let root: string;
let desktop: Desktop | undefined;
const running: RunningCli[] = [];
let monitor: ChildProcess | undefined;
beforeAll(() => {
  assertCliBuilt();
  fs.mkdirSync(ARTIFACTS, { recursive: true });
});
beforeEach(() => {
  root = makeScratch('synctray-join-');
});
afterEach(async () => {
  // A service started from the menu (Start SyncTray) runs on its own: stopped by the pid it announced.
  const announced = servicePid();
  for (const r of running.splice(0)) {
    r.child.kill('SIGTERM');
    await r.done;
  }
  if (announced !== undefined && alive(announced)) {
    process.kill(announced, 'SIGTERM');
    await waitFor(() => !alive(announced), 'the service started from the menu stopped');
  }
  monitor?.kill('SIGTERM');
  monitor = undefined;
  await desktop?.stop();
  desktop = undefined;
  removeScratch(root);
});

const at = (p: string) => path.join(root, p);
const config = () => at('config');
const cli = (...args: string[]) => runCli([...args, '--config-dir', config()]);
type Status = { running: boolean; pairs: { name: string; state: string; pausedUntil?: string }[] };
const status = async () => JSON.parse((await cli('status', '--json')).stdout) as Status;
const pairOf = async (name: string) => (await status()).pairs.find((p) => p.name === name);
const stateOf = async (name: string) => (await pairOf(name))?.state;

function servicePid(): number | undefined {
  try {
    return (JSON.parse(fs.readFileSync(path.join(config(), 'service.json'), 'utf8')) as { pid: number }).pid;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function start(args: string[], env?: NodeJS.ProcessEnv): RunningCli {
  const r = startCli([...args, '--config-dir', config()], env ? { env } : {});
  running.push(r);
  return r;
}

async function startService(env?: NodeJS.ProcessEnv): Promise<RunningCli> {
  const service = start(['run'], env);
  await waitFor(async () => (await status()).running && (await stateOf('photos')) === 'idle', 'the service synced', {
    timeoutMs: 15_000,
    intervalMs: 50,
  });
  return service;
}

async function stopped(r: RunningCli): Promise<number | null> {
  const result = await r.done;
  running.splice(running.indexOf(r), 1);
  return result.code;
}

describe.skipIf(missing)('the tray over a service that runs already', () => {
  it('joins it, acts through it, closes without stopping it, and follows it going and coming back', async () => {
    writeTree(at('photos'), { 'a.jpg': 'a' });
    expect((await cli('pair', 'add', at('photos'), at('backup/photos'))).code).toBe(0);
    // As at boot: no desktop for the service.
    const service = await startService();
    desktop = await startDesktop(root);
    const tray = start(['tray'], desktop.env);
    await waitFor(() => iconWindow(desktop!) !== undefined, 'the tray icon', { timeoutMs: 15_000, intervalMs: 50 });
    await waitFor(() => tray.stderrSoFar().includes('The tray joined'), 'the tray joined');
    await waitFor(() => iconShows(desktop!, 'idle'), 'the idle icon', { intervalMs: 100 });

    // Down: the pair; then Add folder pair…, Add phone pair…, Pause all; Right: into its submenu,
    // on For 30 minutes; Down: For 1 hour.
    await menu(desktop, ['Down', 'Down', 'Down', 'Down'], 'joined-menu.png');
    desktop.x('xdotool', ['key', '--delay', '80', 'Right']);
    await waitFor(() => menusShown(desktop!) === 2, 'the Pause all submenu', { intervalMs: 20 });
    desktop.x('import', ['-window', 'root', '-crop', '900x420+500+0', path.join(ARTIFACTS, 'joined-pause-all.png')]);
    const clicked = Date.now();
    desktop.x('xdotool', ['key', '--delay', '80', 'Down', 'Return']);
    await waitFor(async () => (await stateOf('photos')) === 'paused', 'the service paused from the menu', {
      intervalMs: 50,
    });
    const until = Date.parse((await pairOf('photos'))?.pausedUntil ?? '');
    expect(until - clicked).toBeGreaterThan(59 * 60_000);
    expect(until - clicked).toBeLessThan(61 * 60_000);
    await waitFor(() => iconShows(desktop!, 'paused'), 'the paused icon', { intervalMs: 100 });

    // The last item is Stop SyncTray…; the one before it closes the tray alone.
    await menu(desktop, ['Up', 'Up', 'Return']);
    expect(await stopped(tray)).toBe(0);
    expect(tray.stderrSoFar()).toContain('The tray closed; SyncTray keeps running.');
    expect((await status()).running).toBe(true);
    await waitFor(() => iconWindow(desktop!) === undefined, 'the icon gone');

    // Again; then the service goes: the tray says so, and joins it again once it is back.
    const again = start(['tray'], desktop.env);
    await waitFor(() => iconShows(desktop!, 'paused'), 'the tray back, joined', { timeoutMs: 15_000, intervalMs: 100 });
    // Killed, as a crash would end it: no goodbye on the socket, its files left behind.
    service.child.kill('SIGKILL');
    await stopped(service);
    await waitFor(() => iconShows(desktop!, 'attention'), 'the tray showing SyncTray not running', {
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    await menu(desktop, [], 'joined-menu-gone.png');
    // Start SyncTray: the first item that can be clicked.
    desktop.x('xdotool', ['key', '--delay', '80', 'Down', 'Return']);
    await waitFor(async () => (await status()).running, 'the service started from the menu', {
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    await waitFor(() => iconShows(desktop!, 'paused'), 'the tray joined again', { timeoutMs: 15_000, intervalMs: 100 });
    expect(again.child.exitCode).toBeNull();
    // The timed pause outlived the restart; Resume all (after Pause all) ends it.
    expect((await pairOf('photos'))?.pausedUntil).toBe(new Date(until).toISOString());
    await menu(desktop, ['Down', 'Down', 'Down', 'Down', 'Down', 'Return']);
    await waitFor(async () => (await stateOf('photos')) === 'idle', 'the service resumed from the menu', {
      timeoutMs: 15_000,
      intervalMs: 50,
    });
    expect((await pairOf('photos'))?.pausedUntil).toBeUndefined();
    await waitFor(() => iconShows(desktop!, 'idle'), 'the idle icon again', { intervalMs: 100 });
  }, 90_000);

  it('has one process show each notification: the tray while joined, the service once it left', async () => {
    writeTree(at('photos'), { 'a.jpg': 'a' });
    writeTree(at('docs'), { 'cv.txt': 'cv' });
    expect((await cli('pair', 'add', at('photos'), at('backup/photos'))).code).toBe(0);
    expect((await cli('pair', 'add', at('docs'), at('backup/docs'))).code).toBe(0);
    desktop = await startDesktop(root);
    const calls = at('monitor.txt');
    const out = fs.openSync(calls, 'w');
    monitor = spawn(
      'dbus-monitor',
      ['--session', "type='method_call',interface='org.freedesktop.Notifications',member='Notify'"],
      { env: desktop.env, stdio: ['ignore', out, out] },
    );
    fs.closeSync(out);
    const senders = at('senders.txt');
    const env = { ...desktop.env, PATH: `${recordingNotifySend(at('bin'), senders)}:${desktop.env.PATH}` };
    // This time the service could show notifications itself: it must leave them to the tray.
    const service = await startService(env);
    await waitFor(async () => (await stateOf('docs')) === 'idle', 'docs synced');
    const tray = start(['tray'], env);
    await waitFor(() => tray.stderrSoFar().includes('The tray joined'), 'the tray joined', { timeoutMs: 15_000 });
    const notified = (what: string) =>
      fs
        .readFileSync(calls, 'utf8')
        .split('member=Notify')
        .filter((c) => c.includes(what));
    const log = () => fs.readFileSync(path.join(config(), 'logs', 'synctray.log'), 'utf8');
    const tellers = (title: string) => sentBy(senders, title, { tray: tray.child.pid!, service: service.child.pid! });

    fs.renameSync(at('photos'), at('photos-away'));
    await waitFor(() => notified('photos: source folder is gone').length > 0, 'the notification', {
      timeoutMs: 15_000,
    });
    // Whoever else might show it has had time to.
    await new Promise((r) => setTimeout(r, 2000));
    expect(notified('photos: source folder is gone')).toHaveLength(1);
    expect(tellers('SyncTray: photos: source folder is gone')).toEqual(['tray']);
    expect(log()).toContain('A tray joined; it shows the notifications.');

    // The tray closed: the service shows the next one itself, once (another pair: one a minute each).
    tray.child.kill('SIGTERM');
    expect(await stopped(tray)).toBe(0);
    await waitFor(() => log().includes('The tray left'), 'the service told the tray left');
    fs.renameSync(at('docs'), at('docs-away'));
    await waitFor(() => notified('docs: source folder is gone').length > 0, 'the next notification', {
      timeoutMs: 15_000,
    });
    await new Promise((r) => setTimeout(r, 2000));
    expect(notified('docs: source folder is gone')).toHaveLength(1);
    expect(tellers('SyncTray: docs: source folder is gone')).toEqual(['service']);
  }, 90_000);

  it('leaves a second tray nothing to do: it says one is shown, and exits 0', async () => {
    writeTree(at('photos'), { 'a.jpg': 'a' });
    expect((await cli('pair', 'add', at('photos'), at('backup/photos'))).code).toBe(0);
    await startService();
    desktop = await startDesktop(root);
    const first = start(['tray'], desktop.env);
    await waitFor(() => first.stderrSoFar().includes('The tray joined'), 'the first tray joined', {
      timeoutMs: 15_000,
    });
    const second = start(['tray'], desktop.env);
    expect(await stopped(second)).toBe(0);
    expect(second.stderrSoFar()).toMatch(
      /A tray is already shown for this SyncTray \(pid \d+\)\. Nothing more to show\./,
    );
    expect(first.child.exitCode).toBeNull();
  }, 60_000);

  it('stops the service from Stop SyncTray…, once confirmed, and stays to start it again', async () => {
    writeTree(at('photos'), { 'a.jpg': 'a' });
    expect((await cli('pair', 'add', at('photos'), at('backup/photos'))).code).toBe(0);
    const service = await startService();
    desktop = await startDesktop(root);
    const tray = start(['tray'], desktop.env);
    await waitFor(() => tray.stderrSoFar().includes('The tray joined'), 'the tray joined', { timeoutMs: 15_000 });
    await waitFor(() => iconShows(desktop!, 'idle'), 'the idle icon', { intervalMs: 100 });
    const question = 'SyncTray: stop SyncTray';
    const shown = () => spawnSync('xdotool', ['search', '--name', `^${question}`], { env: desktop!.env }).status === 0;

    // Cancel leaves it running.
    await menu(desktop, ['Up', 'Return']);
    await waitFor(shown, 'the question', { timeoutMs: 15_000, intervalMs: 50 });
    desktop.x('import', ['-window', 'root', path.join(ARTIFACTS, 'joined-stop-question.png')]);
    desktop.x('xdotool', ['mousemove', '--window', windowOf(question), '40', '40']);
    desktop.x('xdotool', ['key', 'Escape']);
    await waitFor(() => !shown(), 'the question closed', { intervalMs: 50 });
    expect((await status()).running).toBe(true);

    await menu(desktop, ['Up', 'Return']);
    await waitFor(shown, 'the question again', { timeoutMs: 15_000, intervalMs: 50 });
    desktop.x('xdotool', ['mousemove', '--window', windowOf(question), '40', '40']);
    desktop.x('xdotool', ['key', 'Return']);
    expect(await stopped(service)).toBe(0);
    expect((await status()).running).toBe(false);
    await waitFor(() => iconShows(desktop!, 'attention'), 'the tray showing SyncTray not running', {
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    expect(tray.child.exitCode).toBeNull();
  }, 60_000);
  it('restores a version from Restore… through the service', async () => {
    writeTree(at('photos'), { 'keep.jpg': 'k' });
    const versions = at('backup/photos/.synctray-versions');
    expect((await cli('pair', 'add', at('photos'), at('backup/photos'), '--versions', versions)).code).toBe(0);
    // Set aside by an earlier run: a photo deleted an hour ago.
    const deleted = path.join(versions, runStamp(new Date(Date.now() - 3600_000)), 'deleted');
    writeTree(deleted, { 'trip/a.jpg': 'the photo as it was' });
    await startService();
    desktop = await startDesktop(root);
    const tray = start(['tray'], desktop.env);
    await waitFor(() => tray.stderrSoFar().includes('The tray joined'), 'the tray joined', { timeoutMs: 15_000 });
    // Down: the pair; Right: into its submenu, on Pause; Restore… is four items down.
    await menu(desktop, ['Down', 'Right']);
    await waitFor(() => menusShown(desktop!) === 2, 'the submenu', { intervalMs: 20 });
    desktop.x('xdotool', ['key', '--delay', '80', 'Down', 'Down', 'Down', 'Down', 'Return']);
    // The one version, chosen (Down, Up), then Source (the first choice).
    await answer(desktop, 'SyncTray: photos: restore', ['Down', 'Up', 'Return'], 'joined-restore.png');
    await answer(desktop, 'SyncTray: photos: where to restore', ['Down', 'Up', 'Return']);
    const restored = at('photos/trip/a.jpg');
    await waitFor(() => fs.existsSync(restored), 'the photo back in the source', { timeoutMs: 15_000, intervalMs: 50 });
    await waitFor(() => fs.readFileSync(restored, 'utf8') === 'the photo as it was', 'its bytes', { intervalMs: 50 });
  }, 60_000);

  it('asks about a mass deletion the service holds, and applies it through the service', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 12; i++) files[`note ${i}.txt`] = `${i}`;
    writeTree(at('photos'), files);
    expect((await cli('pair', 'add', at('photos'), at('backup/photos'))).code).toBe(0);
    await startService();
    desktop = await startDesktop(root);
    const tray = start(['tray'], desktop.env);
    await waitFor(() => tray.stderrSoFar().includes('The tray joined'), 'the tray joined', { timeoutMs: 15_000 });
    for (let i = 0; i < 8; i++) fs.rmSync(at(`photos/note ${i}.txt`));
    const title = 'SyncTray: photos: deletions held back';
    const shown = () =>
      spawnSync('xdotool', ['search', '--onlyvisible', '--name', `^${title}`], { env: desktop!.env }).status === 0;
    await waitFor(shown, 'the held-deletions question from the joined tray', { timeoutMs: 15_000, intervalMs: 50 });
    desktop.x('import', ['-window', 'root', path.join(ARTIFACTS, 'joined-held.png')]);
    desktop.x('xdotool', ['mousemove', '--window', windowOf(title), '40', '40']);
    // Apply: the second choice.
    desktop.x('xdotool', ['key', '--delay', '100', 'Down', 'Return']);
    const left = () => fs.readdirSync(at('backup/photos')).filter((n) => n.startsWith('note ')).length;
    await waitFor(() => left() === 4, 'the deletions applied by the service', { timeoutMs: 15_000, intervalMs: 100 });
  }, 60_000);
});

function windowOf(name: string): string {
  return desktop!
    .x('xdotool', ['search', '--name', `^${name}`])
    .trim()
    .split('\n')[0]!;
}

/**
 * A folder holding a notify-send that writes down which processes it was started under (its
 * parent, that one's parent, and so on: node-notifier runs it through a shell) with the title it
 * was given, and then becomes the real notify-send, which sends the notification on the bus.
 */
function recordingNotifySend(bin: string, record: string): string {
  const real = findTool('notify-send');
  if (!real) throw new Error('notify-send is not on the PATH');
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(
    path.join(bin, 'notify-send'),
    `#!/bin/sh
chain=
p=$PPID
while [ "$p" -gt 1 ]; do
  chain="$chain $p"
  p=$(sed 's/.*) //' "/proc/$p/stat" | cut -d' ' -f2)
done
printf '%s\t%s\n' "$chain" "$1" >> ${shellQuote(record)}
exec ${shellQuote(real)} "$@"
`,
    { mode: 0o755 },
  );
  return bin;
}

/** Which of `who` each notify-send titled `title` was started under, as recordingNotifySend wrote. */
function sentBy(record: string, title: string, who: Record<string, number>): string[] {
  const lines = fs.existsSync(record) ? fs.readFileSync(record, 'utf8').split('\n') : [];
  return lines.flatMap((line) => {
    const [chain, said] = line.split('\t');
    if (said !== title) return [];
    const pids = chain!.trim().split(' ').map(Number);
    return [
      Object.keys(who)
        .filter((name) => pids.includes(who[name]!))
        .join('+') || 'another process',
    ];
  });
}
