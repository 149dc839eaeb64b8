/**
 * Add folder pair… onto a remote of rclone's, on a real headless desktop (helpers/desktop.ts):
 * zenity's dialogs answered with xdotool, the remotes defined by RCLONE_CONFIG_* variables alone
 * (no rclone config file anywhere), the tray joined to a service that syncs the new pair.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertCliBuilt, runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { DESKTOP_PACKAGES, DESKTOP_TOOLS, startDesktop, type Desktop } from '../helpers/desktop.js';
import { answer, dialogArgs, focus, paste, pick, windowNamed, windowShown } from '../helpers/dialog-ui.js';
import { rsyncDiff } from '../helpers/oracle.js';
import { rcdsOf, rcloneEnv } from '../helpers/rclone.js';
import { findTool, hasTool, skipReasonOutsideCi } from '../helpers/requirements.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { ARTIFACTS, iconWindow, menu } from '../helpers/tray-ui.js';
import { writeTree } from '../helpers/tree-spec.js';
import { waitFor } from '../helpers/wait-for.js';

const TOOLS = [...DESKTOP_TOOLS, 'rclone', 'rsync'];
const missing = skipReasonOutsideCi(
  TOOLS.every(hasTool),
  `tray remote test skipped: needs ${TOOLS.join(', ')} (apt-get install ${DESKTOP_PACKAGES} rclone rsync)`,
);

let root: string;
let desktop: Desktop | undefined;
const running: RunningCli[] = [];
let rcloneUsers: NodeJS.ProcessEnv | undefined;
beforeAll(() => {
  assertCliBuilt();
  fs.mkdirSync(ARTIFACTS, { recursive: true });
});
beforeEach(() => {
  root = makeScratch('synctray-tray-remote-');
});
afterEach(async () => {
  for (const r of running.splice(0)) {
    r.child.kill('SIGTERM');
    await r.done;
  }
  await desktop?.stop();
  desktop = undefined;
  // The service and the tray stop the rclone they started as they end.
  const left = rcloneUsers ? rcdsOf(rcloneUsers) : [];
  rcloneUsers = undefined;
  removeScratch(root);
  expect(left, 'an rclone rcd outlived the SyncTray that started it').toEqual([]);
});

const at = (p: string) => path.join(root, p);
const config = () => at('config');
const cli = (...args: string[]) => runCli([...args, '--config-dir', config()]);
type Listed = { name: string; source: string; destination: string; mode: string };
const pairs = async () => JSON.parse((await cli('pair', 'list', '--json')).stdout) as Listed[];
const status = async () =>
  JSON.parse((await cli('status', '--json')).stdout) as {
    running: boolean;
    pairs: { name: string; state: string; lastSyncAt?: string }[];
  };

function start(args: string[], env: NodeJS.ProcessEnv): RunningCli {
  const r = startCli([...args, '--config-dir', config()], { env });
  running.push(r);
  return r;
}

/** From the menu (no pairs yet: Add folder pair… is its first item) to the remotes, past the source picker. */
async function toRemotes(d: Desktop, source: string): Promise<void> {
  await menu(d, ['Down', 'Return']);
  await pick(d, source, 'remote-source.png');
  // A remote: the second choice.
  await answer(d, 'SyncTray: where to back up', ['Down', 'Return']);
}

describe.skipIf(missing)('Add folder pair… onto an rclone remote', () => {
  it('lists the remotes of RCLONE_CONFIG_* variables, and adds the one chosen to the joined service', async () => {
    writeTree(at('music'), { 'song.mp3': 's', 'album/track.mp3': 't' });
    fs.mkdirSync(at('nas'));
    desktop = await startDesktop(root);
    // Two remotes, neither in a config file: an alias over a folder here, and the local backend.
    const env = rcloneEnv(
      root,
      { RCLONE_CONFIG_NAS_TYPE: 'alias', RCLONE_CONFIG_NAS_REMOTE: at('nas'), RCLONE_CONFIG_ATTIC_TYPE: 'local' },
      desktop.env,
    );
    rcloneUsers = env;
    start(['run'], env);
    await waitFor(async () => (await status()).running, 'the service running', { timeoutMs: 15_000 });
    const tray = start(['tray'], env);
    await waitFor(() => tray.stderrSoFar().includes('The tray joined'), 'the tray joined', { timeoutMs: 15_000 });
    await waitFor(() => iconWindow(desktop!) !== undefined, 'the tray icon', { timeoutMs: 15_000, intervalMs: 50 });

    // A path rclone locations refuse: refused as pair add refuses it, and nothing is added.
    await toRemotes(desktop, at('music'));
    await chooseNas(desktop);
    await typeFolder(desktop, 'backups/../music');
    await answer(desktop, 'SyncTray: how to sync', ['Down', 'Up', 'Return']);
    const refused = 'SyncTray: this pair cannot be added';
    await waitFor(() => windowShown(desktop!, refused), 'the refusal', { timeoutMs: 15_000, intervalMs: 50 });
    expect(dialogArgs(desktop, refused)).toContain('rclone:nas:backups/../music: the path may not contain . or ..');
    await answer(desktop, refused, ['Return']);
    await waitFor(() => !windowNamed(desktop!, refused), 'the refusal closed', { intervalMs: 50 });
    expect(await pairs()).toEqual([]);

    await toRemotes(desktop, at('music'));
    await chooseNas(desktop, 'remote-list.png');
    await typeFolder(desktop, 'backups/music');
    await answer(desktop, 'SyncTray: how to sync', ['Down', 'Up', 'Return']);
    await waitFor(async () => (await pairs()).length === 1, 'the pair added', { timeoutMs: 15_000, intervalMs: 100 });
    expect(await pairs()).toEqual([
      expect.objectContaining({ source: at('music'), destination: 'rclone:nas:backups/music', mode: 'mirror' }),
    ]);
    // Added to the service, which syncs it to the remote, as `pair add` would have.
    await waitFor(
      async () => (await status()).pairs.some((p) => p.state === 'idle' && p.lastSyncAt !== undefined),
      'the new pair synced by the service',
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    // Folders' times aside: rclone sets none.
    const diff = rsyncDiff(at('music'), at('nas/backups/music'), { drive: true });
    expect(diff.filter((line) => !/^\.d\.\.t\.* /.test(line))).toEqual([]);
    // The remotes came from the variables alone: the config file they point rclone at is never written.
    expect(fs.existsSync(env.RCLONE_CONFIG!)).toBe(false);
  }, 120_000);

  it('says how to install rclone when there is none, and adds nothing', async () => {
    writeTree(at('music'), { 'song.mp3': 's' });
    desktop = await startDesktop(root);
    // A PATH with what the tray and its dialogs use, and no rclone.
    const bin = at('bin');
    fs.mkdirSync(bin);
    for (const tool of ['sh', 'sed', 'wc', 'zenity', 'notify-send']) {
      const found = findTool(tool);
      if (!found) throw new Error(`${tool} is not on the PATH`);
      fs.symlinkSync(found, path.join(bin, tool));
    }
    const { SYNCTRAY_RCLONE: _unset, ...env } = desktop.env;
    start(['tray'], { ...env, PATH: bin });
    await waitFor(() => iconWindow(desktop!) !== undefined, 'the tray icon', { timeoutMs: 15_000, intervalMs: 50 });
    await toRemotes(desktop, at('music'));
    const title = 'SyncTray: rclone';
    await waitFor(() => windowShown(desktop!, title), 'the message', { timeoutMs: 15_000, intervalMs: 50 });
    desktop.x('import', ['-window', 'root', path.join(ARTIFACTS, 'remote-no-rclone.png')]);
    const said = dialogArgs(desktop, title);
    expect(said).toContain('rclone is not installed (not found on the PATH)');
    expect(said).toContain('apt install rclone');
    expect(said).toContain('SYNCTRAY_RCLONE');
    await answer(desktop, title, ['Return']);
    await waitFor(() => !windowNamed(desktop!, title), 'the message closed', { intervalMs: 50 });
    expect(await pairs()).toEqual([]);
  }, 60_000);
});

/** The remotes list: both remotes offered (rclone lists them by name: attic, nas); nas taken. */
async function chooseNas(d: Desktop, shot?: string): Promise<void> {
  const title = 'SyncTray: which remote';
  await waitFor(() => windowShown(d, title), 'the remotes', { timeoutMs: 15_000, intervalMs: 50 });
  expect(dialogArgs(d, title)).toContain(' attic local nas alias');
  await answer(d, title, ['Down', 'Return'], shot);
}

/** The folder on the remote: what the entry offers (the source's name) replaced by `folder`. */
async function typeFolder(d: Desktop, folder: string): Promise<void> {
  const title = 'SyncTray: a folder on nas';
  await waitFor(() => windowShown(d, title), 'the folder entry', { timeoutMs: 15_000, intervalMs: 50 });
  expect(dialogArgs(d, title)).toContain(' --entry-text=music ');
  focus(d, title);
  await paste(d, folder, ['ctrl+a', 'ctrl+v']);
  d.x('xdotool', ['key', 'Return']);
  await waitFor(() => !windowNamed(d, title), 'the folder entry closed', { intervalMs: 50 });
}
