import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  desktopEntry,
  launchAgent,
  platformAutostart,
  trayCommand,
  windowsCommandLine,
} from '../../src/desktop/autostart.js';
import { runCli } from '../helpers/cli.js';
import { hasTool, posixOnly, skipReasonOutsideCi } from '../helpers/requirements.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';

const noValidator = skipReasonOutsideCi(
  hasTool('desktop-file-validate'),
  'autostart entry check skipped: needs desktop-file-validate (apt-get install desktop-file-utils)',
);
let dir: string;
beforeEach(() => {
  dir = makeScratch('synctray-autostart-');
});
afterEach(() => removeScratch(dir));

/** A path with everything the Exec key's quoting must get right. */
const HOSTILE = '/home/me/My "Sync" $HOME `x` 100% back\\slash/main.js';

describe('start at login', () => {
  it.skipIf(noValidator)('writes a Linux autostart entry that desktop-file-validate accepts, whatever the path', () => {
    const file = path.join(dir, 'synctray.desktop');
    fs.writeFileSync(file, desktopEntry(['/usr/bin/node', HOSTILE, 'tray']));
    const r = spawnSync('desktop-file-validate', [file], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toContain(
      'Exec=/usr/bin/node "/home/me/My \\\\"Sync\\\\" \\\\$HOME \\\\`x\\\\` 100%% back\\\\\\\\slash/main.js" tray\n',
    );
  });

  it('writes a macOS LaunchAgent and a Windows command line that carry the arguments whole', () => {
    const plist = launchAgent(['/Applications/SyncTray <beta> & co', 'tray']);
    expect(plist).toContain('<string>/Applications/SyncTray &lt;beta&gt; &amp; co</string>\n    <string>tray</string>');
    expect(plist).toContain('<key>RunAtLoad</key>\n  <true/>');
    expect(windowsCommandLine(['C:\\Program Files\\SyncTray\\synctray.exe', 'tray'])).toBe(
      '"C:\\Program Files\\SyncTray\\synctray.exe" "tray"',
    );
    expect(windowsCommandLine(['C:\\a "b"\\', 'x'])).toBe('"C:\\a \\"b\\"\\\\" "x"');
  });

  it('starts the binary itself, or node with the script when run from source', () => {
    expect(trayCommand('/opt/synctray/synctray-linux-x64', '/opt/synctray/synctray-linux-x64')).toEqual([
      '/opt/synctray/synctray-linux-x64',
      'tray',
    ]);
    expect(trayCommand('/usr/bin/node', 'dist/cli/main.js')).toEqual([
      '/usr/bin/node',
      path.resolve('dist/cli/main.js'),
      'tray',
    ]);
  });

  it.skipIf(posixOnly('the XDG autostart folder (Windows has the Run key, tested by the Wine lane)'))(
    'is turned on and off in the XDG config folder, and reports what is there',
    async () => {
      const home = path.join(dir, 'home');
      const a = platformAutostart(['/usr/bin/synctray', 'tray'], { platform: 'linux', home, env: {} });
      expect(a.where).toBe(path.join(home, '.config', 'autostart', 'synctray.desktop'));
      expect(a.enabled()).toBe(false);
      a.set(true);
      expect(a.enabled()).toBe(true);
      a.set(false);
      expect(fs.existsSync(a.where)).toBe(false);

      const env = { XDG_CONFIG_HOME: path.join(dir, 'xdg') };
      const on = await runCli(['autostart', 'on'], { env });
      expect(on.code, on.stderr).toBe(0);
      const entry = path.join(dir, 'xdg', 'autostart', 'synctray.desktop');
      expect(on.stdout).toBe(`SyncTray starts at login (${entry}).\n`);
      expect(fs.readFileSync(entry, 'utf8')).toMatch(/^Exec=\S+node\S* \S+\/dist\/cli\/main\.js tray$/m);
      expect((await runCli(['autostart', 'status'], { env })).stdout).toBe(`SyncTray starts at login (${entry}).\n`);
      expect((await runCli(['autostart', 'off'], { env })).stdout).toBe('SyncTray does not start at login.\n');
      expect(fs.existsSync(entry)).toBe(false);
      const wrong = await runCli(['autostart', 'maybe'], { env });
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toContain('Unknown autostart command "maybe" (commands: on, off, status)');
    },
  );

  it.skipIf(posixOnly('a session that can lack a desktop (DISPLAY, WAYLAND_DISPLAY)'))(
    'refuses to start the tray without a desktop session, pointing to run',
    async () => {
      const r = await runCli(['tray', '--config-dir', path.join(dir, 'config')], {
        env: { DISPLAY: '', WAYLAND_DISPLAY: '' },
      });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        'No desktop session here (neither DISPLAY nor WAYLAND_DISPLAY is set), ' +
          "so there is no tray to show an icon in. Run 'synctray run'",
      );
      expect(fs.existsSync(path.join(dir, 'config', 'synctray.lock'))).toBe(false);
    },
  );
});
