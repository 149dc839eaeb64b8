/**
 * The tray on a real headless desktop: Xvfb, a private session bus, trayer as the tray host, dunst,
 * and zenity for the pickers. The real systray2 helper shows the icon; xdotool opens the real menu
 * and picks items with the keyboard, as a user would. Screenshots of the icon, the menu and the
 * picker are kept in test-artifacts/ to look at.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertCliBuilt, REPO_ROOT, runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { platformDialogs } from '../../src/desktop/dialogs.js';
import { ADB_SKIP, startAdbServer } from '../helpers/adb-server.js';
import { FakeDevice } from '../helpers/fake-adb/device.js';
import { DESKTOP_PACKAGES, DESKTOP_TOOLS, startDesktop, type Desktop } from '../helpers/desktop.js';
import { rsyncDiff } from '../helpers/oracle.js';
import { runStamp } from '../../src/storage/versions.js';
import { findTool, hasTool, skipReasonOutsideCi } from '../helpers/requirements.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { writeTree } from '../helpers/tree-spec.js';
import { waitFor } from '../helpers/wait-for.js';
import { ARTIFACTS, iconShows, iconWindow, menu, menusShown } from '../helpers/tray-ui.js';
import { answer, cancel, dialogArgs, focus, paste, pick, windowNamed, windowShown } from '../helpers/dialog-ui.js';
import { DEFAULT_VERSIONS_FOLDER } from '../../src/config/schema.js';

const missing = skipReasonOutsideCi(
  DESKTOP_TOOLS.every(hasTool),
  `tray test skipped: needs ${DESKTOP_TOOLS.join(', ')} (apt-get install ${DESKTOP_PACKAGES})`,
);

let root: string;
let desktop: Desktop | undefined;
let tray: RunningCli | undefined;
beforeAll(() => {
  assertCliBuilt();
  fs.mkdirSync(ARTIFACTS, { recursive: true });
});
beforeEach(() => {
  root = makeScratch('synctray-tray-');
});
afterEach(async () => {
  tray?.child.kill('SIGTERM');
  await tray?.done;
  tray = undefined;
  await desktop?.stop();
  desktop = undefined;
  removeScratch(root);
});

const at = (p: string) => path.join(root, p);
/** The backup's files, the pair's marker aside. */
// SyncTray's own: the pair's marker and its versions (kept by default) are not backed-up files.
const backedUp = () =>
  fs.readdirSync(at('backup/notes')).filter((n) => n !== '.synctray-pair' && n !== DEFAULT_VERSIONS_FOLDER);
const config = () => at('config');
const cli = (...args: string[]) => runCli([...args, '--config-dir', config()]);
const pairStatus = async (name: string) =>
  (
    JSON.parse((await cli('status', '--json')).stdout) as {
      pairs: { name: string; state: string; held?: string; lastSyncAt?: string }[];
    }
  ).pairs.find((p) => p.name === name);
const stateOf = async (name: string) => (await pairStatus(name))?.state;
/** A pair added while SyncTray runs is idle before its first sync too: synced is idle after one. */
const synced = async (name: string) => {
  const p = await pairStatus(name);
  return p?.state === 'idle' && p.lastSyncAt !== undefined;
};
const heldAndIdle = (p: { state: string; held?: string } | undefined) => p?.state === 'idle' && p.held !== undefined;

function startTray(d: Desktop): RunningCli {
  return startCli(['tray', '--config-dir', config()], { env: d.env });
}

describe.skipIf(missing)('the tray on a desktop', () => {
  it('shows its icon, pauses a pair from the real menu, and quits cleanly', async () => {
    writeTree(at('photos'), { 'a.jpg': 'a', 'b/c.jpg': 'c' });
    expect((await cli('pair', 'add', at('photos'), at('backup/photos'))).code).toBe(0);
    desktop = await startDesktop(root);
    tray = startTray(desktop);
    await waitFor(() => iconWindow(desktop!) !== undefined, 'the tray icon', { timeoutMs: 15_000, intervalMs: 50 });
    await waitFor(async () => (await stateOf('photos')) === 'idle', 'the pair synced', { intervalMs: 50 });
    expect(rsyncDiff(at('photos'), at('backup/photos'))).toEqual([]);
    // The icon follows the state at most twice a second: it may still show syncing for a moment.
    await waitFor(() => iconShows(desktop!, 'idle'), 'the idle icon', { intervalMs: 100 });
    desktop.x('import', ['-window', 'root', '-crop', '200x32+1200+0', path.join(ARTIFACTS, 'tray-icon.png')]);

    // Down: the pair's submenu; Right: into it, on its first item that can be clicked: Pause; Right
    // again: into the Pause submenu, on For 30 minutes.
    await menu(desktop, ['Down'], 'tray-menu.png');
    desktop.x('xdotool', ['key', '--delay', '80', 'Right']);
    await waitFor(() => menusShown(desktop!) === 2, 'the submenu', { intervalMs: 20 });
    desktop.x('import', ['-window', 'root', '-crop', '900x420+500+0', path.join(ARTIFACTS, 'tray-submenu.png')]);
    desktop.x('xdotool', ['key', '--delay', '80', 'Right']);
    await waitFor(() => menusShown(desktop!) === 3, 'the pause submenu', { intervalMs: 20 });
    desktop.x('import', ['-window', 'root', '-crop', '900x420+500+0', path.join(ARTIFACTS, 'tray-pause-submenu.png')]);
    const clicked = Date.now();
    desktop.x('xdotool', ['key', 'Return']);
    await waitFor(async () => (await stateOf('photos')) === 'paused', 'the pair paused from the menu', {
      intervalMs: 50,
    });
    const status = JSON.parse((await cli('status', '--json')).stdout) as { pairs: { pausedUntil?: string }[] };
    const until = Date.parse(status.pairs[0]!.pausedUntil ?? '');
    expect(until - clicked).toBeGreaterThan(29 * 60_000);
    expect(until - clicked).toBeLessThan(31 * 60_000);
    // The icon follows: all pairs paused shows the paused icon.
    await waitFor(() => iconShows(desktop!, 'paused'), 'the icon changed to paused', { intervalMs: 100 });
    await menu(desktop, [], 'tray-menu-paused.png');
    desktop.x('xdotool', ['key', 'Escape']);

    // Quit: the last item (Up from the top wraps to it).
    await menu(desktop, ['Up', 'Return']);
    const r = await tray.done;
    tray = undefined;
    expect(r.code, r.stderr).toBe(0);
    expect((await runCli(['status', '--json', '--config-dir', config()])).stdout).toContain('"running":false');
    await waitFor(() => iconWindow(desktop!) === undefined, 'the icon gone');
  });

  it('starts its helper again when it is killed from outside', async () => {
    desktop = await startDesktop(root);
    tray = startTray(desktop);
    await waitFor(() => iconWindow(desktop!) !== undefined, 'the tray icon', { timeoutMs: 15_000, intervalMs: 50 });
    // This desktop's helper only: other tests on the machine may run trays of their own.
    const onDisplay = (pid: string) => {
      try {
        return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`DISPLAY=${desktop!.display}`);
      } catch {
        return false; // gone meanwhile
      }
    };
    const helperPid = () =>
      spawnSync('pgrep', ['-f', 'tray_linux_release-'], { encoding: 'utf8' })
        .stdout.trim()
        .split('\n')
        .filter((pid) => pid !== '' && onDisplay(pid));
    const [first] = helperPid();
    expect(first).toBeDefined();
    process.kill(Number(first), 'SIGKILL');
    await waitFor(() => iconWindow(desktop!) === undefined, 'the icon gone with its helper', { intervalMs: 50 });
    await waitFor(() => iconWindow(desktop!) !== undefined, 'the icon back', { timeoutMs: 15_000, intervalMs: 50 });
    expect(helperPid()).not.toContain(first);
    expect(fs.readFileSync(path.join(config(), 'logs', 'synctray.log'), 'utf8')).toMatch(
      /The tray icon's helper ended \(killed by SIGKILL\); starting it again in 1 s/,
    );
  });

  it('adds a pair through the real folder pickers and the mode list', async () => {
    writeTree(at('music'), { 'song.mp3': 's', 'album/track.mp3': 't' });
    fs.mkdirSync(at('backups'));
    desktop = await startDesktop(root);
    tray = startTray(desktop);
    await waitFor(() => iconWindow(desktop!) !== undefined, 'the tray icon', { timeoutMs: 15_000, intervalMs: 50 });
    // Cancel at either picker adds nothing. (No pairs: the first item that can be clicked is Add folder pair….)
    await menu(desktop, ['Down', 'Return']);
    await cancel(desktop, 'SyncTray: choose the folder to back up');
    await menu(desktop, ['Down', 'Return']);
    await pick(desktop, at('music'), 'picker-source.png');
    // Where: a folder (the list's first choice: Down and Up select it), or a remote.
    await answer(desktop, 'SyncTray: where to back up', ['Down', 'Up', 'Return'], 'picker-where.png');
    await cancel(desktop, 'SyncTray: choose where to back up');
    expect(JSON.parse((await cli('pair', 'list', '--json')).stdout)).toEqual([]);

    await menu(desktop, ['Down', 'Return']);
    await pick(desktop, at('music'), 'picker-source.png');
    await answer(desktop, 'SyncTray: where to back up', ['Down', 'Up', 'Return']);
    await pick(desktop, at('backups'), 'picker-destination.png');
    await waitFor(() => windowNamed(desktop!, 'SyncTray: how to sync'), 'the mode list', {
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    desktop.x('import', ['-window', 'root', path.join(ARTIFACTS, 'picker-mode.png')]);
    // The list's cursor starts on mirror: Down takes update.
    focus(desktop, 'SyncTray: how to sync');
    desktop.x('xdotool', ['key', 'Down', 'Return']);
    await waitFor(() => synced('music'), 'the new pair synced', {
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    expect(rsyncDiff(at('music'), at('backups'))).toEqual([]);
    const pairs = JSON.parse((await cli('pair', 'list', '--json')).stdout) as {
      name: string;
      mode: string;
      source: string;
    }[];
    expect(pairs).toEqual([
      expect.objectContaining({ name: 'music', mode: 'update', source: at('music'), destination: at('backups') }),
    ]);
  });

  it('restores a deleted file from the submenu: into the source, never over one, or a chosen folder', async () => {
    writeTree(at('photos'), { 'keep.jpg': 'k' });
    const versions = at('backup/photos/.synctray-versions');
    expect((await cli('pair', 'add', at('photos'), at('backup/photos'), '--versions', versions)).code).toBe(0);
    // Set aside by earlier runs: a deleted photo an hour ago (the newest: the list's first row), a
    // replaced note three days ago.
    const stamp = (agoMs: number) => runStamp(new Date(Date.now() - agoMs));
    const deleted = path.join(versions, stamp(3600_000), 'deleted');
    writeTree(deleted, { 'trip/a & <b>.jpg': 'the photo as it was' });
    writeTree(path.join(versions, stamp(3 * 86400_000), 'replaced'), { 'note.txt': 'an old note' });
    const mtime = new Date('2026-06-01T10:00:00.123Z');
    fs.utimesSync(path.join(deleted, 'trip/a & <b>.jpg'), mtime, mtime);
    desktop = await startDesktop(root);
    tray = startTray(desktop);
    await waitFor(() => iconWindow(desktop!) !== undefined, 'the tray icon', { timeoutMs: 15_000, intervalMs: 50 });
    await waitFor(async () => (await stateOf('photos')) === 'idle', 'the pair synced', { intervalMs: 50 });

    const list = 'SyncTray: photos: restore';
    const openRestore = async (whereKeys: string[], shot?: string) => {
      // Right: into the submenu, on Pause; Restore… is four items down.
      await menu(desktop!, ['Down', 'Right']);
      await waitFor(() => menusShown(desktop!) === 2, 'the submenu', { intervalMs: 20 });
      desktop!.x('xdotool', ['key', '--delay', '80', 'Down', 'Down', 'Down', 'Down']);
      if (shot) desktop!.x('import', ['-window', 'root', '-crop', '900x420+500+0', path.join(ARTIFACTS, shot)]);
      desktop!.x('xdotool', ['key', 'Return']);
      await waitFor(() => windowShown(desktop!, list), 'the list of versions', { timeoutMs: 15_000, intervalMs: 50 });
      desktop!.x('import', ['-window', 'root', path.join(ARTIFACTS, 'restore-list.png')]);
      // The cursor starts on the first row without choosing it: Down, Up chooses it (it alone).
      focus(desktop!, list);
      desktop!.x('xdotool', ['key', '--delay', '100', 'Down', 'Up', 'Return']);
      const where = 'SyncTray: photos: where to restore';
      await waitFor(() => windowShown(desktop!, where), 'where to restore', { timeoutMs: 15_000, intervalMs: 50 });
      desktop!.x('import', ['-window', 'root', path.join(ARTIFACTS, 'restore-where.png')]);
      focus(desktop!, where);
      desktop!.x('xdotool', ['key', '--delay', '100', ...whereKeys]);
    };
    const restored = at('photos/trip/a & <b>.jpg');
    const backInSource = ['Down', 'Up', 'Return'];
    await openRestore(backInSource, 'restore-submenu.png');
    await waitFor(() => fs.existsSync(restored), 'the photo back in the source', { intervalMs: 50 });
    await waitFor(() => fs.readFileSync(restored, 'utf8') === 'the photo as it was', 'its bytes', { intervalMs: 50 });
    expect(fs.statSync(restored).mtime.toISOString()).toBe(mtime.toISOString());
    expect(fs.existsSync(at('photos/note.txt'))).toBe(false);

    // Again: the photo is there now, so the restore is refused, naming it, and nothing is overwritten.
    fs.writeFileSync(restored, 'a new photo');
    await openRestore(backInSource);
    const refused = 'SyncTray: photos: not restored';
    await waitFor(() => windowShown(desktop!, refused), 'the refusal', { timeoutMs: 15_000, intervalMs: 50 });
    desktop.x('import', ['-window', 'root', path.join(ARTIFACTS, 'restore-refused.png')]);
    expect(dialogArgs(desktop, refused)).toContain(`A file is already in ${at('photos')}: trip/a & <b>.jpg.`);
    expect(fs.readFileSync(restored, 'utf8')).toBe('a new photo');
    focus(desktop, refused);
    desktop.x('xdotool', ['key', 'Return']);
    await waitFor(() => !windowNamed(desktop!, refused), 'the refusal closed', { intervalMs: 50 });

    // Into a folder chosen with the picker (the second choice): there it is free.
    fs.mkdirSync(at('restored'));
    await openRestore(['Down', 'Return']);
    await pick(desktop, at('restored'), 'restore-picker.png');
    const elsewhere = at('restored/trip/a & <b>.jpg');
    await waitFor(() => fs.existsSync(elsewhere), 'the photo in the chosen folder', { intervalMs: 50 });
    await waitFor(() => fs.readFileSync(elsewhere, 'utf8') === 'the photo as it was', 'its bytes', { intervalMs: 50 });
    expect(fs.statSync(elsewhere).mtime.toISOString()).toBe(mtime.toISOString());
    expect(fs.readFileSync(restored, 'utf8')).toBe('a new photo');
  });

  it('previews Add folder pair… onto a folder with other files: update mode, another folder, continue', async () => {
    writeTree(at('music'), { 'song.mp3': 's' });
    writeTree(at('backups'), { 'extra.txt': 'not in the source' });
    writeTree(at('tunes'), { 'tune.mp3': 't' });
    writeTree(at('copy'), { 'other.txt': 'not in the source either' });
    writeTree(at('busy'), { 'taken.txt': 'someone else’s' });
    desktop = await startDesktop(root);
    tray = startTray(desktop);
    await waitFor(() => iconWindow(desktop!) !== undefined, 'the tray icon', { timeoutMs: 15_000, intervalMs: 50 });
    const preview = 'SyncTray: the first sync would replace or delete files';
    const addMirror = async (source: string, destination: string, choice: string[], toAdd: string[]) => {
      await menu(desktop!, [...toAdd, 'Return']);
      await pick(desktop!, source, 'picker-source.png');
      await answer(desktop!, 'SyncTray: where to back up', ['Down', 'Up', 'Return']);
      await pick(desktop!, destination, 'picker-destination.png');
      await waitFor(() => windowShown(desktop!, 'SyncTray: how to sync'), 'the mode list', {
        timeoutMs: 15_000,
        intervalMs: 100,
      });
      focus(desktop!, 'SyncTray: how to sync');
      desktop!.x('xdotool', ['key', '--delay', '100', 'Down', 'Up', 'Return']); // mirror
      await waitFor(() => windowShown(desktop!, preview), 'the preview', { timeoutMs: 15_000, intervalMs: 50 });
      desktop!.x('import', ['-window', 'root', path.join(ARTIFACTS, 'add-preview.png')]);
      const shown = dialogArgs(desktop!, preview);
      focus(desktop!, preview);
      desktop!.x('xdotool', ['key', '--delay', '100', ...choice]);
      await waitFor(() => !windowNamed(desktop!, preview), 'the preview closed', { intervalMs: 50 });
      return shown;
    };
    const pairs = async () =>
      JSON.parse((await cli('pair', 'list', '--json')).stdout) as { name: string; mode: string; destination: string }[];

    // Use update mode instead (the third choice): added in update mode, the extra file kept.
    // Add folder pair… is the first item that can be clicked; with a pair, the one after it.
    const shown = await addMirror(at('music'), at('backups'), ['Down', 'Down', 'Return'], ['Down']);
    expect(shown).toContain('delete 1 file the source does not have');
    expect(shown).toContain('extra.txt');
    await waitFor(() => synced('music'), 'the pair synced', { timeoutMs: 15_000 });
    expect(await pairs()).toEqual([expect.objectContaining({ name: 'music', mode: 'update' })]);
    expect(fs.readFileSync(at('backups/song.mp3'), 'utf8')).toBe('s');
    expect(fs.readFileSync(at('backups/extra.txt'), 'utf8')).toBe('not in the source');

    // Choose another destination (the second choice): the picker again, and the new one previewed.
    await addMirror(at('tunes'), at('busy'), ['Down', 'Return'], ['Down', 'Down']);
    await pick(desktop, at('copy'), 'picker-destination.png');
    await waitFor(() => windowShown(desktop!, preview), 'the new one previewed', { timeoutMs: 15_000, intervalMs: 50 });
    expect(dialogArgs(desktop, preview)).toContain('other.txt');
    // Continue (the first choice): added as a mirror, which deletes what the source lacks.
    focus(desktop, preview);
    desktop.x('xdotool', ['key', '--delay', '100', 'Down', 'Up', 'Return']);
    await waitFor(() => synced('tunes'), 'the mirror synced', { timeoutMs: 15_000 });
    expect((await pairs()).find((p) => p.name === 'tunes')).toEqual(
      expect.objectContaining({ mode: 'mirror', destination: at('copy') }),
    );
    await waitFor(() => !fs.existsSync(at('copy/other.txt')), 'the file the preview named deleted');
    expect(rsyncDiff(at('tunes'), at('copy'))).toEqual([]);
    expect(fs.readFileSync(at('busy/taken.txt'), 'utf8')).toBe('someone else’s');
  });

  it('asks about a held mass deletion: keep waiting, then restore from the menu, then apply', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 12; i++) files[`note ${i} & <more>.txt`] = `${i}`;
    writeTree(at('notes'), files);
    expect((await cli('pair', 'add', at('notes'), at('backup/notes'))).code).toBe(0);
    desktop = await startDesktop(root);
    tray = startTray(desktop);
    // Not running yet, status reads the config and says idle: the icon first.
    await waitFor(() => iconWindow(desktop!) !== undefined, 'the tray icon', { timeoutMs: 15_000, intervalMs: 50 });
    await waitFor(async () => (await stateOf('notes')) === 'idle', 'the pair synced', {
      timeoutMs: 15_000,
      intervalMs: 50,
    });
    expect(rsyncDiff(at('notes'), at('backup/notes'))).toEqual([]);
    const title = 'SyncTray: notes: deletions held back';
    const remove = () => {
      for (let i = 0; i < 8; i++) fs.rmSync(at(`notes/note ${i} & <more>.txt`));
    };

    // Asked at once; the first choice keeps waiting: nothing is deleted. (The list's cursor starts
    // on the first row without choosing it: Down, Up chooses it.)
    remove();
    await waitFor(() => windowShown(desktop!, title), 'the held-deletions dialog', {
      timeoutMs: 15_000,
      intervalMs: 50,
    });
    desktop.x('import', ['-window', 'root', path.join(ARTIFACTS, 'held-deletions.png')]);
    focus(desktop, title);
    desktop.x('xdotool', ['key', '--delay', '100', 'Down', 'Up', 'Return']);
    await waitFor(() => !windowNamed(desktop!, title), 'the dialog closed', { intervalMs: 50 });
    // The answer is taken once the pair still holds its deletions and no step runs: only then is
    // "nothing deleted" worth saying.
    await waitFor(async () => heldAndIdle(await pairStatus('notes')), 'the pair idle, still holding', {
      intervalMs: 50,
    });
    expect(backedUp()).toHaveLength(12);
    expect(windowNamed(desktop, title)).toBe(false); // not asked again by itself

    // The pair's submenu starts with "Deletions held back: review…"; Restore is the third choice.
    await menu(desktop, ['Down', 'Right'], 'held-menu.png');
    await waitFor(() => menusShown(desktop!) === 2, 'the submenu', { intervalMs: 20 });
    desktop.x('import', ['-window', 'root', '-crop', '900x420+500+0', path.join(ARTIFACTS, 'held-submenu.png')]);
    desktop.x('xdotool', ['key', 'Return']);
    await waitFor(() => windowShown(desktop!, title), 'the dialog from the menu', {
      timeoutMs: 15_000,
      intervalMs: 50,
    });
    focus(desktop, title);
    desktop.x('xdotool', ['key', '--delay', '100', 'Down', 'Down', 'Return']);
    await waitFor(() => fs.readdirSync(at('notes')).length === 12, 'the files restored into the source', {
      intervalMs: 100,
    });
    await waitFor(async () => (await stateOf('notes')) === 'idle', 'synced after the restore', { intervalMs: 50 });
    expect(rsyncDiff(at('notes'), at('backup/notes'))).toEqual([]);

    // Once clear, a new hold asks again; Apply (the second choice) makes the deletions.
    remove();
    await waitFor(() => windowShown(desktop!, title), 'asked again', { timeoutMs: 15_000, intervalMs: 50 });
    focus(desktop, title);
    desktop.x('xdotool', ['key', '--delay', '100', 'Down', 'Return']);
    await waitFor(() => backedUp().length === 4, 'the deletions made', { timeoutMs: 15_000, intervalMs: 100 });
    expect(rsyncDiff(at('notes'), at('backup/notes'))).toEqual([]);
  });

  it.skipIf(ADB_SKIP)(
    'adds a phone pair: the folder on the phone typed in, where to back it up, the mode',
    async () => {
      const adb = await startAdbServer(root);
      const device = await FakeDevice.start({ model: 'Pixel_8' });
      try {
        await adb.connect(device.serial);
        const onPhone = at('phone/Recordings');
        writeTree(onPhone, { 'memo 1.m4a': 'one', 'old/memo 0.m4a': 'zero' });
        fs.mkdirSync(at('memos'));
        desktop = await startDesktop(root);
        tray = startCli(['tray', '--config-dir', config()], {
          env: { ...desktop.env, ANDROID_ADB_SERVER_PORT: String(adb.port) },
        });
        await waitFor(() => iconWindow(desktop!) !== undefined, 'the tray icon', { timeoutMs: 15_000, intervalMs: 50 });
        // No pairs: Add folder pair…, then Add phone pair….
        await menu(desktop, ['Down', 'Down', 'Return']);
        const presets = 'SyncTray: Pixel 8';
        await waitFor(() => windowShown(desktop!, presets), 'what to sync', { timeoutMs: 15_000, intervalMs: 50 });
        desktop.x('import', ['-window', 'root', path.join(ARTIFACTS, 'phone-presets.png')]);
        focus(desktop, presets);
        // The fifth choice: another folder of the phone (the cursor starts on the first, unchosen).
        desktop.x('xdotool', ['key', '--delay', '100', 'Down', 'Down', 'Down', 'Down', 'Return']);
        const entry = 'SyncTray: a folder on Pixel 8';
        await waitFor(() => windowShown(desktop!, entry), 'the folder on the phone', {
          timeoutMs: 15_000,
          intervalMs: 50,
        });
        focus(desktop, entry);
        await paste(desktop, onPhone, ['ctrl+a', 'ctrl+v']);
        desktop.x('import', ['-window', 'root', path.join(ARTIFACTS, 'phone-entry.png')]);
        desktop.x('xdotool', ['key', 'Return']);
        await pick(desktop, at('memos'), 'phone-destination.png');
        await waitFor(() => windowShown(desktop!, 'SyncTray: how to sync'), 'the mode list', {
          timeoutMs: 15_000,
          intervalMs: 50,
        });
        focus(desktop, 'SyncTray: how to sync');
        // For a phone backup the list starts with update: Down, Up chooses it.
        desktop.x('xdotool', ['key', '--delay', '100', 'Down', 'Up', 'Return']);
        await waitFor(() => synced('Recordings'), 'the phone pair synced', {
          timeoutMs: 20_000,
          intervalMs: 100,
        });
        expect(rsyncDiff(onPhone, at('memos'))).toEqual([]);
        const pairs = JSON.parse((await cli('pair', 'list', '--json')).stdout) as { source: string; mode: string }[];
        expect(pairs).toEqual([
          expect.objectContaining({
            source: `adb:${device.serial}:${onPhone}`,
            destination: at('memos'),
            mode: 'update',
          }),
        ]);
      } finally {
        tray?.child.kill('SIGTERM');
        await tray?.done;
        tray = undefined;
        await device.close();
        await adb.stop();
      }
    },
  );

  it('kills a dialog left open past its time, counting it as cancelled', async () => {
    desktop = await startDesktop(root, { tray: false });
    const dialogs = platformDialogs(path.join(REPO_ROOT, 'assets'), { timeoutMs: 1500, env: desktop.env });
    const started = performance.now();
    const answer = dialogs.folder('SyncTray: left open', root);
    await waitFor(() => windowNamed(desktop!, 'SyncTray: left open'), 'the picker', {
      timeoutMs: 15_000,
      intervalMs: 50,
    });
    expect(await answer).toEqual({ ok: false, cancelled: true });
    expect(performance.now() - started).toBeLessThan(5000);
    await waitFor(() => !windowNamed(desktop!, 'SyncTray: left open'), 'the picker gone', { intervalMs: 50 });
  });

  it('says which package to install, and the command to use, when no dialog tool is installed', async () => {
    desktop = await startDesktop(root);
    // A PATH with what the tray uses except zenity, kdialog and yad.
    const bin = at('bin');
    fs.mkdirSync(bin);
    for (const tool of ['sh', 'sed', 'wc', 'notify-send']) fs.symlinkSync(which(tool), path.join(bin, tool));
    const monitor = spawn(
      'dbus-monitor',
      ['--session', "type='method_call',interface='org.freedesktop.Notifications',member='Notify'"],
      { env: desktop.env, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let calls = '';
    monitor.stdout.setEncoding('utf8').on('data', (d: string) => (calls += d));
    try {
      tray = startCli(['tray', '--config-dir', config()], { env: { ...desktop.env, PATH: bin } });
      await waitFor(() => iconWindow(desktop!) !== undefined, 'the tray icon', { timeoutMs: 15_000, intervalMs: 50 });
      await menu(desktop, ['Down', 'Return']); // Add folder pair…
      await waitFor(() => calls.includes('SyncTray needs a dialog tool'), 'the notification', {
        timeoutMs: 15_000,
        intervalMs: 50,
      });
      expect(calls).toContain('apt install zenity');
      expect(calls).toContain('synctray pair add SOURCE DESTINATION');
      await waitFor(() => notificationShown(desktop!), 'the notification on screen', { intervalMs: 50 });
      desktop.x('import', ['-window', 'root', path.join(ARTIFACTS, 'no-dialog-tool.png')]);
      expect(JSON.parse((await cli('pair', 'list', '--json')).stdout)).toEqual([]);
    } finally {
      monitor.kill();
    }
  });

  it('applies a burst of changes to the menu at most twice a second, ending on the last state', async () => {
    writeTree(at('docs'), { 'a.txt': 'a' });
    expect((await cli('pair', 'add', at('docs'), at('backup/docs'))).code).toBe(0);
    desktop = await startDesktop(root);
    const log = at('helper-input.jsonl');
    tray = startCli(['tray', '--config-dir', config()], {
      env: { ...desktop.env, SYNCTRAY_TRAY_HELPER: recordingHelper(log) },
    });
    await waitFor(() => iconWindow(desktop!) !== undefined, 'the tray icon', { timeoutMs: 15_000, intervalMs: 50 });
    await waitFor(async () => (await stateOf('docs')) === 'idle', 'the pair synced', { intervalMs: 50 });
    // The updates for the first sync are done with before the burst starts.
    const before = await sentStopped(log);
    const started = Date.now();
    for (let i = 0; i < 10; i++) expect((await cli('pair', i % 2 === 0 ? 'pause' : 'resume', 'docs')).code).toBe(0);
    const took = Date.now() - started;
    // Resumed, the pair syncs again; once it is idle and the menu has caught up, every update is in the log.
    await waitFor(async () => (await stateOf('docs')) === 'idle', 'the pair synced after the burst', {
      intervalMs: 50,
    });
    const after = await sentStopped(log);

    const sent = sentLines(log)
      .slice(before, after)
      .map((l) => JSON.parse(l) as { t: number; type: string; title?: string; hidden?: boolean });
    const updates = sent.filter((m) => m.type === 'update-item');
    // Items changed by one update leave together: a gap of more than 50 ms starts the next update.
    const bursts = updates.filter((m, i) => i === 0 || m.t - updates[i - 1]!.t > 50).map((m) => m.t);
    const gaps = bursts.slice(1).map((t, i) => t - bursts[i]!);
    expect(bursts.length).toBeGreaterThan(1);
    expect(Math.min(...gaps), `gaps between updates: ${gaps.join(', ')} ms`).toBeGreaterThanOrEqual(450);
    expect(bursts.length).toBeLessThanOrEqual(Math.ceil(took / 500) + 2);
    // The last word on the Resume item is the state after the tenth command: resumed, so it is hidden.
    expect(updates.filter((m) => m.title === 'Resume').at(-1)?.hidden).toBe(true);
    expect(await stateOf('docs')).not.toBe('paused');
  });
});

/**
 * The real tray helper behind a recorder: every line SyncTray sends it is logged with the time it
 * arrived (its type and item title), then passed on unchanged.
 */
function recordingHelper(log: string): string {
  const real = at('tray-helper');
  fs.copyFileSync(path.join(REPO_ROOT, 'node_modules/systray2/traybin/tray_linux_release'), real);
  fs.chmodSync(real, 0o755);
  const script = at('recording-helper');
  fs.writeFileSync(
    script,
    `#!${process.execPath}
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const child = spawn(${JSON.stringify(real)}, [], { stdio: ['pipe', 'inherit', 'inherit'] });
let buffer = '';
process.stdin.on('data', (d) => {
  child.stdin.write(d);
  buffer += d;
  for (let i = buffer.indexOf('\\n'); i >= 0; i = buffer.indexOf('\\n')) {
    const line = buffer.slice(0, i);
    buffer = buffer.slice(i + 1);
    let m = {};
    try { m = JSON.parse(line); } catch {}
    const entry = { t: Date.now(), type: m.type, title: m.item && m.item.title, hidden: m.item && m.item.hidden };
    fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify(entry) + '\\n');
  }
});
process.stdin.on('end', () => child.stdin.end());
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('exit', (code) => process.exit(code ?? 1));
`,
    { mode: 0o755 },
  );
  return script;
}

function sentLines(log: string): string[] {
  return fs.readFileSync(log, 'utf8').split('\n').filter(Boolean);
}

/**
 * Waits until the tray has sent its helper nothing new for a while, and says how many lines it
 * sent by then. The tray passes changes on at most every 500 ms, so once the state it shows is
 * final, a silence well past that means it has caught up.
 */
async function sentStopped(log: string, quietMs = 1200): Promise<number> {
  let count = -1;
  let since = 0;
  await waitFor(
    () => {
      const now = sentLines(log).length;
      if (now !== count) [count, since] = [now, performance.now()];
      return performance.now() - since >= quietMs;
    },
    `the tray to stop updating its menu (nothing sent for ${quietMs} ms)`,
    { timeoutMs: 20_000, intervalMs: 50 },
  );
  return count;
}

function which(tool: string): string {
  const found = findTool(tool);
  if (!found) throw new Error(`${tool} is not on the PATH`);
  return found;
}

/** dunst shows a notification: its window is mapped only while there is one to show. */
function notificationShown(d: Desktop): boolean {
  return (
    spawnSync('xdotool', ['search', '--onlyvisible', '--class', '^Dunst$'], { env: d.env, stdio: 'ignore' }).status ===
    0
  );
}
