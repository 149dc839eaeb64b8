/**
 * A real desktop notification from `synctray run`, captured on a private D-Bus session bus with a
 * notification daemon (dunst) on a virtual display (Xvfb): what the user would see pop up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertCliBuilt, CLI_PATH, runCli } from '../helpers/cli.js';
import { hasTool, skipReasonOutsideCi } from '../helpers/requirements.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { writeTree } from '../helpers/tree-spec.js';
import { waitFor } from '../helpers/wait-for.js';

const tools = ['Xvfb', 'dbus-run-session', 'dbus-monitor', 'dunst', 'notify-send'];
const missing = skipReasonOutsideCi(
  tools.every(hasTool),
  `notification test skipped: needs ${tools.join(', ')} (apt-get install xvfb dbus dunst libnotify-bin)`,
);

let root: string;
let xvfb: ChildProcess | undefined;
let session: ChildProcess | undefined;
beforeAll(() => assertCliBuilt());
beforeEach(() => {
  root = makeScratch('synctray-notify-');
});
afterEach(async () => {
  fs.writeFileSync(path.join(root, 'stop'), '');
  if (session && session.exitCode === null) await new Promise((r) => session!.once('exit', r));
  xvfb?.kill('SIGKILL');
  session = undefined;
  xvfb = undefined;
  removeScratch(root);
});

describe.skipIf(missing)('desktop notifications', () => {
  it('pops up when the source folder of a pair is gone, with its title and body', async () => {
    const display = `:${90 + (process.pid % 9)}`;
    xvfb = spawn('Xvfb', [display, '-screen', '0', '640x480x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
    await waitFor(() => fs.existsSync(`/tmp/.X11-unix/X${display.slice(1)}`), 'the virtual display');
    const config = path.join(root, 'config');
    writeTree(path.join(root, 'photos'), { 'a.jpg': 'a' });
    expect(
      (await runCli(['pair', 'add', path.join(root, 'photos'), path.join(root, 'backup'), '--config-dir', config]))
        .code,
    ).toBe(0);
    const monitor = path.join(root, 'monitor.txt');
    const out = path.join(root, 'run.out');
    // Everything on one private session bus: the monitor, the daemon and SyncTray.
    const script = [
      'dbus-monitor --session ' +
        `"type='method_call',interface='org.freedesktop.Notifications',member='Notify'" > "${monitor}" 2>&1 &`,
      'dunst >/dev/null 2>&1 &',
      `"${process.execPath}" "${CLI_PATH}" run --json --config-dir "${config}" > "${out}" 2>&1 &`,
      'run=$!',
      `while [ ! -e "${root}/stop" ]; do sleep 0.05; done`,
      'kill -INT $run; wait $run',
    ].join('\n');
    session = spawn('dbus-run-session', ['--', 'sh', '-c', script], {
      env: { ...process.env, DISPLAY: display },
      stdio: 'ignore',
    });
    await waitFor(
      () => fs.existsSync(out) && fs.readFileSync(out, 'utf8').includes('"state":"idle"'),
      'the pair synced',
      { timeoutMs: 15_000, intervalMs: 20 },
    );
    fs.renameSync(path.join(root, 'photos'), path.join(root, 'photos-away'));
    await waitFor(() => fs.readFileSync(monitor, 'utf8').includes('member=Notify'), 'a Notify call on the bus', {
      timeoutMs: 15_000,
      intervalMs: 20,
    });
    const call = fs.readFileSync(monitor, 'utf8');
    expect(call).toContain('string "SyncTray: photos: source folder is gone"');
    expect(call).toMatch(
      /string ".*photos is gone \(drive unplugged, folder renamed or deleted\?\); nothing is deleted until it is back"/,
    );
  });
});
