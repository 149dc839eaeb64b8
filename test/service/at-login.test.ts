import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  schtasksCreate,
  serviceCommand,
  serviceLaunchAgent,
  systemdUnit,
  windowsCommandLine,
} from '../../src/service/at-login.js';
import { hasTool, skipReasonOutsideCi } from '../helpers/requirements.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';

const noPlistReader = skipReasonOutsideCi(
  hasTool('python3'),
  'LaunchAgent parse check skipped: needs python3, whose plistlib reads plists as macOS writes them',
);
const noVerifier = skipReasonOutsideCi(
  hasTool('systemd-analyze'),
  'service unit check skipped: needs systemd-analyze (apt-get install systemd)',
);
let dir: string;
beforeEach(() => {
  dir = makeScratch('synctray-at-login-');
});
afterEach(() => removeScratch(dir));

/** A path with everything ExecStart's quoting must get right. */
const HOSTILE = '/home/me/My "Sync" $HOME 100% back\\slash/main.js';

/** `systemd-analyze verify` on a unit: its complaints (empty when it has none) and exit status. */
function verify(unit: string): { said: string; status: number | null } {
  const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
  return { said: `${r.stdout}${r.stderr}`.trim(), status: r.status };
}

describe('the service at login, as generated text', () => {
  it.skipIf(noVerifier)('writes a systemd user unit that systemd-analyze verify accepts, whatever the path', () => {
    const unit = path.join(dir, 'synctray.service');
    fs.writeFileSync(unit, systemdUnit([process.execPath, HOSTILE, 'run', '--config-dir', '/home/me/.sync tray']));
    expect(verify(unit)).toEqual({ said: '', status: 0 });
    const text = fs.readFileSync(unit, 'utf8');
    expect(text).toContain(
      `ExecStart=${process.execPath} "/home/me/My \\"Sync\\" $$HOME 100%% back\\\\slash/main.js" run ` +
        '--config-dir "/home/me/.sync tray"\n',
    );
    expect(text).toContain('Restart=on-failure\n');
    expect(text).toContain('[Install]\nWantedBy=default.target\n');
    // The check can fail: a unit whose program is not there is refused.
    fs.writeFileSync(unit, systemdUnit(['/nonexistent/synctray', 'run']));
    expect(verify(unit).status).not.toBe(0);
  });

  it('runs the binary itself, or node with the script, with run and the config folder when one was chosen', () => {
    expect(serviceCommand(undefined, ['/opt/synctray/synctray-linux-x64'])).toEqual([
      '/opt/synctray/synctray-linux-x64',
      'run',
    ]);
    expect(serviceCommand('conf', ['/usr/bin/node', '/opt/synctray/main.js'])).toEqual([
      '/usr/bin/node',
      '/opt/synctray/main.js',
      'run',
      '--config-dir',
      path.resolve('conf'),
    ]);
    expect(() => systemdUnit(['/usr/bin/synctray', 'run', '--config-dir', '/a\nb'])).toThrow(/holds a line break/);
  });

  it('writes a macOS LaunchAgent that runs the service at load and keeps it alive after a failure', () => {
    const plist = serviceLaunchAgent(['/Applications/SyncTray <beta> & co', 'run', '--config-dir', '/Users/me/s']);
    expect(plist).toContain('<key>Label</key>\n  <string>com.synctray.service</string>');
    expect(plist).toContain(
      '<array>\n    <string>/Applications/SyncTray &lt;beta&gt; &amp; co</string>\n    <string>run</string>\n' +
        '    <string>--config-dir</string>\n    <string>/Users/me/s</string>\n  </array>',
    );
    expect(plist).toContain('<key>RunAtLoad</key>\n  <true/>');
    expect(plist).toContain('<key>KeepAlive</key>\n  <dict>\n    <key>SuccessfulExit</key>\n    <false/>\n  </dict>');
    expect(plist.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist')).toBe(true);
  });

  it.skipIf(noPlistReader)('writes a LaunchAgent a plist reader takes whole, the command word for word', () => {
    const command = ['/Applications/SyncTray <beta> & "co"', 'run', '--config-dir', "/Users/me/l'été]]>"];
    expect(readPlist(serviceLaunchAgent(command))).toEqual({
      Label: 'com.synctray.service',
      ProgramArguments: command,
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      ProcessType: 'Background',
    });
    // The reader can fail: a plist with a name left unescaped is refused.
    expect(() => readPlist(serviceLaunchAgent(['/a']).replace('/a', 'a & b'))).toThrow(/not well-formed|plist/i);
  });

  it('makes a Windows task at logon with the whole command line, and refuses one schtasks cannot take', () => {
    const command = ['C:\\Program Files\\SyncTray\\synctray.exe', 'run', '--config-dir', 'C:\\Users\\me\\sync "x"'];
    expect(schtasksCreate(command)).toEqual([
      '/Create',
      '/TN',
      'SyncTray Service',
      '/TR',
      '"C:\\Program Files\\SyncTray\\synctray.exe" "run" "--config-dir" "C:\\Users\\me\\sync \\"x\\""',
      '/SC',
      'ONLOGON',
      '/RL',
      'LIMITED',
      '/IT',
      '/F',
    ]);
    expect(windowsCommandLine(['C:\\a\\', 'b'])).toBe('"C:\\a\\\\" "b"');
    expect(() => schtasksCreate(['C:\\synctray.exe', 'run', '--config-dir', `C:\\${'d'.repeat(240)}`])).toThrow(
      /more than the 261 a scheduled task takes/,
    );
  });
});

/** A plist as Python's plistlib reads it (the XML format macOS writes), as JSON; throws what it said. */
function readPlist(text: string): unknown {
  const read = 'import json, plistlib, sys; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))';
  const r = spawnSync('python3', ['-c', read], { input: text, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr.trim().split('\n').at(-1));
  return JSON.parse(r.stdout);
}
