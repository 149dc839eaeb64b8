/**
 * The single executable (npm run build:binary), run as a user without Node would run it: from an
 * empty folder, with a PATH that holds no node. It syncs (judged by rsync), runs the service and
 * answers status, writes an autostart entry and a service unit that start itself, and shows the tray on a desktop.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';
import { DESKTOP_TOOLS, startDesktop, type Desktop } from '../helpers/desktop.js';
import { rsyncDiff, rsyncSkipReason } from '../helpers/oracle.js';
import { findTool, hasTool, skipReasonOutsideCi } from '../helpers/requirements.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { writeTree } from '../helpers/tree-spec.js';
import { waitFor } from '../helpers/wait-for.js';

const BINARY = path.join(REPO_ROOT, 'dist', `synctray-${process.platform}-${process.arch}`);
const skip =
  rsyncSkipReason() ??
  skipReasonOutsideCi(
    process.platform === 'linux' && process.arch === 'x64' && hasTool('strip'),
    'binary tests skipped: they build the Linux x64 binary (needs strip, from binutils)',
  );
const noDesktop = skipReasonOutsideCi(
  DESKTOP_TOOLS.every(hasTool),
  'binary tray test skipped: needs the desktop tools (see test/desktop)',
);

let root: string;
let desktop: Desktop | undefined;
const children: ReturnType<typeof spawn>[] = [];

beforeAll(() => {
  if (skip) return;
  fs.mkdirSync(path.join(REPO_ROOT, 'test-artifacts'), { recursive: true });
  // Built here from what `npm run build` made, so the test always runs the code under test.
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'build', 'build-binary.mjs')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build:binary failed:\n${r.stdout}\n${r.stderr}`);
}, 180_000);
beforeEach(() => {
  root = makeScratch('synctray-binary-');
});
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  await desktop?.stop();
  desktop = undefined;
  removeScratch(root);
});

const at = (p: string) => path.join(root, p);

/** A PATH with the tools the app may call (a shell, the dialogs, notify-send) and no node. */
function pathWithoutNode(): string {
  const bin = at('bin');
  if (fs.existsSync(bin)) return bin;
  fs.mkdirSync(bin, { recursive: true });
  for (const tool of ['sh', 'sed', 'wc', 'notify-send', 'zenity', 'xdg-open']) {
    const found = findTool(tool);
    if (found) fs.symlinkSync(found, path.join(bin, tool));
  }
  return bin;
}

function env(more: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { HOME: at('home'), PATH: pathWithoutNode(), XDG_CONFIG_HOME: at('home/.config'), ...more };
}

function binary(args: string[], extra: NodeJS.ProcessEnv = {}) {
  fs.mkdirSync(at('empty'), { recursive: true });
  return spawnSync(BINARY, args, { cwd: at('empty'), env: env(extra), encoding: 'utf8', timeout: 30_000 });
}

describe.skipIf(skip)('the single binary', () => {
  it(
    'runs with no node on the PATH: --version, a mirror checked by rsync, ' +
      'an autostart entry and a service unit that start itself',
    () => {
      expect(findTool('node', env())).toBeUndefined();
      const v = binary(['--version']);
      expect(v.status, v.stderr).toBe(0);
      expect(v.stdout).toMatch(/^synctray \d+\.\d+\.\d+\n$/);

      writeTree(at('photos'), { 'a.jpg': 'a', 'trip/b.jpg': 'b', "it's.txt": 'q' });
      const sync = binary(['sync', at('photos'), at('backup'), '--json']);
      expect(sync.status, sync.stderr).toBe(0);
      expect(JSON.parse(sync.stdout.trim().split('\n').pop()!)).toMatchObject({ copied: 4, failed: 0 });
      expect(rsyncDiff(at('photos'), at('backup'))).toEqual([]);
      // Its files were extracted once, to a folder named after the version and their contents.
      const cache = fs.readdirSync(at('home/.cache/synctray'));
      expect(cache).toEqual([expect.stringMatching(/^binary-\d+\.\d+\.\d+-[0-9a-f]{12}$/)]);
      expect(fs.statSync(at(`home/.cache/synctray/${cache[0]}/helpers/tray_linux_release`)).mode & 0o777).toBe(0o755);

      // The file worker too (it copies large files when the native library is off).
      writeTree(at('videos'), { 'big.mp4': 'v'.repeat(3 * 1024 * 1024) });
      const portable = binary(['sync', at('videos'), at('videos-backup')], { SYNCTRAY_NATIVE: '0' });
      expect(portable.status, portable.stderr).toBe(0);
      expect(rsyncDiff(at('videos'), at('videos-backup'))).toEqual([]);

      expect(binary(['autostart', 'on']).status).toBe(0);
      const entry = fs.readFileSync(at('home/.config/autostart/synctray.desktop'), 'utf8');
      expect(entry).toMatch(new RegExp(`^Exec=${BINARY.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} tray$`, 'm'));
      // No systemctl on this PATH: the unit is written, and it runs the binary itself.
      const service = binary(['service', 'install', '--config-dir', at('conf')]);
      expect(service.status, service.stderr).toBe(0);
      expect(fs.readFileSync(at('home/.config/systemd/user/synctray.service'), 'utf8')).toContain(
        `ExecStart=${BINARY} run --config-dir ${at('conf')}\n`,
      );
    },
  );

  it('says what to do when its cache folder cannot be written, without a stack trace', () => {
    fs.writeFileSync(at('not-a-folder'), '');
    writeTree(at('videos'), { 'big.mp4': 'v'.repeat(3 * 1024 * 1024) });
    const r = binary(['sync', at('videos'), at('backup')], {
      XDG_CACHE_HOME: at('not-a-folder'),
      SYNCTRAY_NATIVE: '0',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`SyncTray cannot set up its files in ${at('not-a-folder')}/synctray/binary-`);
    expect(r.stderr).toContain('point XDG_CACHE_HOME elsewhere');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('runs the service and answers status', async () => {
    writeTree(at('docs'), { 'cv.txt': 'cv' });
    const config = at('config');
    expect(binary(['pair', 'add', at('docs'), at('backup'), '--config-dir', config]).status).toBe(0);
    const run = spawn(BINARY, ['run', '--config-dir', config], { cwd: root, env: env(), stdio: 'ignore' });
    children.push(run);
    // Offline, status reads the config and says idle too: the service must say it runs.
    const synced = () =>
      /^SyncTray is running\.\ndocs: idle; last synced/m.test(binary(['status', '--config-dir', config]).stdout);
    await waitFor(synced, 'the pair synced by the running binary', { intervalMs: 100 });
    expect(rsyncDiff(at('docs'), at('backup'))).toEqual([]);
    run.kill('SIGTERM');
    await new Promise((resolve) => run.once('exit', resolve));
    expect(run.exitCode).toBe(0);
  });

  it.skipIf(noDesktop)('shows its tray icon on a desktop', async () => {
    desktop = await startDesktop(root);
    const tray = spawn(BINARY, ['tray', '--config-dir', at('config')], {
      cwd: root,
      env: { ...desktop.env, ...env() },
      stdio: 'ignore',
    });
    children.push(tray);
    const icon = () => spawnSync('xdotool', ['search', '--classname', '^systray$'], { env: desktop!.env }).status === 0;
    await waitFor(icon, 'the tray icon of the binary', { timeoutMs: 20_000, intervalMs: 100 });
    desktop.x('import', [
      '-window',
      'root',
      '-crop',
      '200x32+1200+0',
      path.join(REPO_ROOT, 'test-artifacts', 'binary-tray-icon.png'),
    ]);
    tray.kill('SIGTERM');
    await new Promise((resolve) => tray.once('exit', resolve));
    expect(tray.exitCode).toBe(0);
  });
});
