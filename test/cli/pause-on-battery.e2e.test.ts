/**
 * `synctray settings pause-on-battery on`: the real service reads a fake power supply folder
 * (SYNCTRAY_POWER_SUPPLY_DIR, laid out as /sys/class/power_supply) switched between mains and battery.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertCliBuilt, runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { writeTree } from '../helpers/tree-spec.js';
import { waitFor } from '../helpers/wait-for.js';
import { onWindows } from '../helpers/requirements.js';

let root: string;
let configDir: string;
let supplies: string;
let service: RunningCli | undefined;
beforeAll(() => assertCliBuilt());
beforeEach(() => {
  root = makeScratch('synctray-battery-');
  configDir = path.join(root, 'config');
  supplies = path.join(root, 'power_supply');
  writeTree(path.join(root, 'photos'), { 'a.jpg': 'a' });
});
afterEach(async () => {
  service?.child.kill('SIGINT');
  await service?.done;
  service = undefined;
  removeScratch(root);
});

const at = (p: string) => path.join(root, p);
const env = () => ({ SYNCTRAY_POWER_SUPPLY_DIR: supplies, SYNCTRAY_POWER_CHECK_MS: '100' });
const cli = (...args: string[]) => runCli([...args, '--config-dir', configDir], { env: env() });
type Pair = { name: string; state: string; reason?: string };
const photos = async () =>
  (JSON.parse((await cli('status', '--json')).stdout) as { pairs: Pair[] }).pairs.find((p) => p.name === 'photos');

/** The laptop as the kernel shows it: its charger plugged in or not, its battery charging or not. */
function plugged(on: boolean): void {
  writeTree(supplies, {
    'AC/type': 'Mains\n',
    'AC/online': on ? '1\n' : '0\n',
    'BAT0/type': 'Battery\n',
    'BAT0/status': on ? 'Charging\n' : 'Discharging\n',
  });
}

async function startService(): Promise<void> {
  service = startCli(['run', '--config-dir', configDir], { env: env() });
  await waitFor(async () => (await photos())?.state !== 'stopped', 'the service running', { intervalMs: 50 });
}

describe('pause on battery', () => {
  it('makes pairs wait on battery and go on when plugged in, through the running service', async ({ skip }) => {
    // Windows' battery is read through PowerShell, not from a folder.
    skip(onWindows, "needs Linux's power supply folder, which Windows does not have");
    plugged(true);
    const on = await cli('settings', 'pause-on-battery', 'on');
    expect(on.code, on.stderr).toBe(0);
    expect(on.stdout).toBe(
      'notifications errors\nlog-level info\npause-on-battery on\nSaved; SyncTray uses it when it starts.\n',
    );
    expect((await cli('pair', 'add', at('photos'), at('backup/photos'))).code).toBe(0);
    await startService();
    await waitFor(async () => (await photos())?.state === 'idle', 'photos synced on mains', { intervalMs: 50 });

    plugged(false);
    await waitFor(async () => (await photos())?.state === 'paused', 'photos waiting on battery', { intervalMs: 50 });
    expect(await photos()).toMatchObject({ state: 'paused', reason: 'paused: on battery' });
    expect((await cli('status')).stdout).toMatch(/^photos: paused; .*\n {2}paused: on battery\n/m);
    // Not paused by the user: the config is as it was.
    expect(JSON.parse((await cli('pair', 'list', '--json')).stdout)[0].paused).toBe(false);
    const resync = await cli('pair', 'resync', 'photos');
    expect(resync.code).toBe(2);
    expect(resync.stderr).toContain('waits while the computer runs on battery: plug it in');
    fs.writeFileSync(at('photos/on-battery.jpg'), 'b');
    expect(fs.existsSync(at('backup/photos/on-battery.jpg'))).toBe(false);

    plugged(true);
    await waitFor(() => fs.existsSync(at('backup/photos/on-battery.jpg')), 'the change backed up on mains', {
      intervalMs: 50,
    });
    await waitFor(async () => (await photos())?.state === 'idle', 'photos idle again', { intervalMs: 50 });
    expect((await photos())?.reason).toBeUndefined();

    // On battery again, the setting turned off while it runs: the pair goes on at once.
    plugged(false);
    await waitFor(async () => (await photos())?.state === 'paused', 'photos waiting again', { intervalMs: 50 });
    const off = await cli('settings', 'pause-on-battery', 'off');
    expect(off.stdout).toBe(
      'notifications errors\nlog-level info\npause-on-battery off\nSyncTray is running: the change applies now.\n',
    );
    await waitFor(async () => (await photos())?.state === 'idle', 'photos syncing on battery once off', {
      intervalMs: 50,
    });
  });

  it('keeps pairs waiting from the start when the service starts on battery', async ({ skip }) => {
    // Windows' battery is read through PowerShell, not from a folder.
    skip(onWindows, "needs Linux's power supply folder, which Windows does not have");
    plugged(false);
    expect((await cli('settings', 'pause-on-battery', 'on')).code).toBe(0);
    expect((await cli('pair', 'add', at('photos'), at('backup/photos'))).code).toBe(0);
    await startService();
    expect(await photos()).toMatchObject({ state: 'paused', reason: 'paused: on battery' });
    expect(fs.existsSync(at('backup/photos/a.jpg'))).toBe(false);
    plugged(true);
    await waitFor(() => fs.existsSync(at('backup/photos/a.jpg')), 'the pair synced once plugged in', {
      intervalMs: 50,
    });
  });

  it('refuses a value that is not on or off, and changes nothing', async () => {
    const bad = await cli('settings', 'pause-on-battery', 'yes');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('The setting pause-on-battery is on or off (got "yes").');
    expect(JSON.parse((await cli('settings', '--json')).stdout)).toEqual({
      notifications: 'errors',
      logLevel: 'info',
      pauseOnBattery: false,
    });
  });
});
