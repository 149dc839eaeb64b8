/** `synctray service install|uninstall|status` on Linux, through the built CLI, in a temp HOME and XDG_CONFIG_HOME. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertCliBuilt, CLI_PATH, runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { hasTool, onWindows, skipReasonOutsideCi } from '../helpers/requirements.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { waitFor } from '../helpers/wait-for.js';

const noVerifier = skipReasonOutsideCi(
  hasTool('systemd-analyze'),
  'service install test skipped: needs systemd-analyze (apt-get install systemd)',
);
let dir: string;
let service: RunningCli | undefined;
beforeAll(() => assertCliBuilt());
beforeEach(() => {
  dir = makeScratch('synctray-service-');
});
afterEach(async () => {
  service?.child.kill('SIGINT');
  await service?.done;
  service = undefined;
  removeScratch(dir);
});

/** `systemd-analyze verify` on a unit: its complaints (empty when it has none) and exit status. */
function verify(unit: string): { said: string; status: number | null } {
  const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
  return { said: `${r.stdout}${r.stderr}`.trim(), status: r.status };
}

/**
 * An environment where `systemctl --user` reaches no user manager, whatever runs on this machine:
 * the tests never enable anything in the real one.
 */
function isolated(): NodeJS.ProcessEnv {
  const runtime = path.join(dir, 'runtime');
  fs.mkdirSync(runtime, { recursive: true, mode: 0o700 });
  return {
    HOME: path.join(dir, 'home'),
    XDG_CONFIG_HOME: path.join(dir, 'xdg'),
    XDG_RUNTIME_DIR: runtime,
    DBUS_SESSION_BUS_ADDRESS: `unix:path=${path.join(runtime, 'no-bus')}`,
  };
}

/** A `systemctl` first on PATH that logs its arguments and answers as a user manager would. */
function fakeSystemctl(): { env: NodeJS.ProcessEnv; calls: () => string[] } {
  const bin = path.join(dir, 'bin');
  const log = path.join(dir, 'systemctl.log');
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(
    path.join(bin, 'systemctl'),
    `#!/bin/sh\necho "$*" >> '${log}'\ncase "$2" in is-enabled) echo enabled;; is-active) echo active;; esac\n`,
    { mode: 0o755 },
  );
  return {
    env: { ...isolated(), PATH: `${bin}:${process.env.PATH}` },
    calls: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : []),
  };
}

describe('synctray service install|uninstall|status on Linux', () => {
  it.skipIf(noVerifier)(
    'writes a unit that verifies, says how to enable it without a user manager, and removes it',
    async () => {
      const env = isolated();
      const config = path.join(dir, 'config');
      const unit = path.join(dir, 'xdg', 'systemd', 'user', 'synctray.service');
      const install = await runCli(['service', 'install', '--config-dir', config], { env });
      expect(install.code, install.stderr).toBe(0);
      expect(install.stdout).toContain(`Wrote the systemd user unit ${unit}.\nNo systemd user manager answered here (`);
      expect(install.stdout).toContain(
        'In a login session of yours, run:\n  systemctl --user daemon-reload\n' +
          '  systemctl --user enable --now synctray.service\n',
      );
      expect(fs.readFileSync(unit, 'utf8')).toContain(
        `ExecStart=${process.execPath} ${CLI_PATH} run --config-dir ${config}\n`,
      );
      expect(verify(unit)).toEqual({ said: '', status: 0 });
      expect((await runCli(['service', 'status', '--json'], { env })).json).toEqual({ installed: true, where: unit });

      const uninstall = await runCli(['service', 'uninstall'], { env });
      expect(uninstall.code, uninstall.stderr).toBe(0);
      expect(uninstall.stdout).toContain(`Removed ${unit}. No systemd user manager answered here`);
      expect(fs.existsSync(unit)).toBe(false);
      expect((await runCli(['service', 'status'], { env })).stdout).toBe(
        "SyncTray's service is not installed ('synctray service install' installs it).\n",
      );
      expect((await runCli(['service', 'uninstall'], { env })).stdout).toBe(
        `SyncTray's service is not installed (no ${unit}).\n`,
      );
    },
  );

  it('enables and starts it with systemctl --user where a user manager answers, stops it on uninstall', async ({
    skip,
  }) => {
    skip(onWindows, 'needs systemd and a shell script standing in for systemctl, which Windows does not have');
    const { env, calls } = fakeSystemctl();
    const unit = path.join(dir, 'xdg', 'systemd', 'user', 'synctray.service');
    const install = await runCli(['service', 'install'], { env: { ...env, SYNCTRAY_CONFIG_DIR: dir } });
    expect(install.code, install.stderr).toBe(0);
    expect(install.stdout).toContain(`Wrote ${unit} and enabled it: SyncTray runs now and at every login`);
    expect(calls()).toEqual(['--user daemon-reload', '--user enable --now synctray.service']);
    // SYNCTRAY_CONFIG_DIR is kept: the service would not see it otherwise.
    expect(fs.readFileSync(unit, 'utf8')).toContain(` run --config-dir ${dir}\n`);
    expect((await runCli(['service', 'status'], { env })).stdout).toBe(
      `SyncTray's service is installed (${unit}): enabled, active.\n`,
    );
    expect((await runCli(['service', 'uninstall'], { env })).stdout).toBe(`Stopped and removed ${unit}.\n`);
    expect(calls().slice(-2)).toEqual(['--user disable --now synctray.service', '--user daemon-reload']);
    expect(fs.existsSync(unit)).toBe(false);
  });

  it('enables it without starting a second SyncTray where one runs already for the config', async ({ skip }) => {
    skip(onWindows, 'needs systemd and a shell script standing in for systemctl, which Windows does not have');
    const { env, calls } = fakeSystemctl();
    const config = path.join(dir, 'config');
    service = startCli(['run', '--config-dir', config]);
    await waitFor(async () => (await runCli(['status', '--config-dir', config])).code === 0, 'the service running', {
      intervalMs: 50,
    });
    const install = await runCli(['service', 'install', '--config-dir', config], { env });
    expect(install.code, install.stderr).toBe(0);
    expect(install.stdout).toContain('SyncTray is running already for this config, so it was not started now');
    expect(calls()).toEqual(['--user daemon-reload', '--user enable synctray.service']);
  });
});
