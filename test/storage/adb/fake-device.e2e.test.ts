/**
 * The fake Android device (test/helpers/fake-adb) against the real `adb` client and server: this
 * checks the fake itself, so that tests of the adb backend can trust what it stands in for. Each
 * test gets its own adb server (test/helpers/adb-server.ts) and devices on ephemeral ports.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADB_SKIP, startAdbServer, type AdbServer } from '../../helpers/adb-server.js';
import { FakeDevice, type FakeDeviceOptions } from '../../helpers/fake-adb/device.js';
import { rsyncDiff, rsyncSkipReason } from '../../helpers/oracle.js';
import { makeScratch, removeScratch } from '../../helpers/scratch.js';
import { waitFor } from '../../helpers/wait-for.js';

let root: string;
let server: AdbServer;
let devices: FakeDevice[];

async function startDevice(options: FakeDeviceOptions = {}): Promise<FakeDevice> {
  const device = await FakeDevice.start(options);
  devices.push(device);
  return device;
}

/** A device, connected and listed as `device`. */
async function connected(options: FakeDeviceOptions = {}): Promise<FakeDevice> {
  const device = await startDevice(options);
  expect(await server.connect(device.serial)).toBe('device');
  return device;
}

/** Writes a file with a mode and a whole-second mtime (v1 sync carries seconds only). */
function put(file: string, content: string | Buffer, { mode = 0o644, mtime = 1_600_000_000 } = {}): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  fs.chmodSync(file, mode);
  fs.utimesSync(file, mtime, mtime);
}

/**
 * rsync's differences, less directories' mtimes: sync v1 has no way to carry those (adb sets
 * none, on either side), so they always differ and say nothing about the fake.
 */
function treeDiff(a: string, b: string): string[] {
  return rsyncDiff(a, b).filter((line) => !/^\.d\.\.t\.{6} /.test(line));
}

const HOSTILE_NAMES = [
  'with space.txt',
  `it's "q".txt`,
  '$(x)',
  'back`tick`',
  'new\nline.txt',
  'ünïcödé-файл-文件',
  '-leading-dash.txt',
];

beforeEach(async () => {
  root = makeScratch('synctray-fake-adb-');
  devices = [];
  if (!ADB_SKIP) server = await startAdbServer(root);
});

afterEach(async () => {
  await Promise.all(devices.map((d) => d.close()));
  await server?.stop();
  removeScratch(root);
});

describe.skipIf(ADB_SKIP)('the fake device, through the real adb', () => {
  it('refuses the ports an adb server claims by itself as emulators', async () => {
    await expect(FakeDevice.start({ port: 5555 })).rejects.toThrow(/5555/);
    await expect(FakeDevice.start({ port: 5585 })).rejects.toThrow(/5585/);
  });

  it('connects, and `devices -l` lists it as a device with its model', async () => {
    const device = await connected();
    const { code, stdout } = await server.adb(['devices', '-l']);
    expect(code).toBe(0);
    const line = stdout.split('\n').find((l) => l.startsWith(`${device.serial} `));
    expect(line).toMatch(/\sdevice product:fakeprod model:FakePhone device:fakedev\b/);
  });

  it('runs legacy shell commands under sh: stderr merged in order, the exit status lost', async () => {
    const device = await connected();
    expect(await server.adb(['-s', device.serial, 'shell', 'echo', 'hi'])).toEqual({
      code: 0,
      stdout: 'hi\n',
      stderr: '',
    });
    const mixed = await server.adb(['-s', device.serial, 'shell', 'echo out; echo err >&2; echo __RC=$?; exit 3']);
    expect(mixed).toEqual({ code: 0, stdout: 'out\nerr\n__RC=0\n', stderr: '' });
    // `shell:` with no command wants an interactive pty, which the fake does not offer.
    expect((await server.adb(['-s', device.serial, 'shell'])).code).toBe(1);
    expect(device.stats.shells).toBe(2);
  });

  it('lists a folder with `ls`: ., .. and each entry as mode, size and mtime (lstat)', async () => {
    const device = await connected();
    const dir = path.join(root, 'phone', 'DCIM');
    put(path.join(dir, 'a.txt'), 'hello\n', { mode: 0o640, mtime: 1_600_000_000 });
    fs.symlinkSync('a.txt', path.join(dir, 'link'));
    const { code, stdout } = await server.adb(['-s', device.serial, 'ls', dir]);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines.map((l) => l.split(' ').slice(3).join(' ')).sort()).toEqual(['.', '..', 'a.txt', 'link']);
    expect(lines).toContain(`000081a0 00000006 ${(1_600_000_000).toString(16)} a.txt`);
    expect(lines.find((l) => l.endsWith(' link'))).toMatch(/^0000a1ff 00000005 /);
    expect(device.stats.lists).toBe(1);
  });

  it.skipIf(rsyncSkipReason())(
    'pushes and pulls (-a) a tree of hostile names and a 20 MB file, keeping content, modes and mtimes',
    async () => {
      const device = await connected();
      const src = path.join(root, 'local', 'src');
      for (const [i, name] of HOSTILE_NAMES.entries())
        put(path.join(src, name), `${name}\n`, { mtime: 1_500_000_000 + i });
      put(path.join(src, 'sub dir', 'deeper', 'nested.txt'), 'nested\n');
      put(path.join(src, 'sub dir', 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
      put(path.join(src, 'secret.txt'), 'shh\n', { mode: 0o600, mtime: 1_234_567_890 });
      put(path.join(src, 'big.bin'), randomBytes(20 * 1024 * 1024), { mtime: 1_700_000_000 });
      // Device paths are local paths; DCIM does not exist yet, so push makes it the copy of src.
      const phone = path.join(root, 'phone', 'DCIM');
      const pushed = await server.adb(['-s', device.serial, 'push', src, phone]);
      expect(pushed.stderr).toBe('');
      expect(pushed.code).toBe(0);
      expect(treeDiff(src, phone)).toEqual([]);

      // --sync pipelines one STAT per file (several in one WRTE) and sends nothing unchanged.
      const again = await server.adb(['-s', device.serial, 'push', '--sync', `${src}/.`, phone]);
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/0 files pushed, 11 skipped/);

      const back = path.join(root, 'local', 'back');
      const pulled = await server.adb(['-s', device.serial, 'pull', '-a', phone, back]);
      expect(pulled.stderr).toBe('');
      expect(pulled.code).toBe(0);
      expect(treeDiff(src, back)).toEqual([]);
      expect(device.stats.sends).toBe(11);
      expect(device.stats.recvs).toBe(11);
    },
  );

  it.skipIf(rsyncSkipReason())('pushes a symlink as a symlink, with its own mtime', async () => {
    const device = await connected();
    const src = path.join(root, 'local', 'links');
    put(path.join(src, 'target.txt'), 'target\n');
    fs.symlinkSync('target.txt', path.join(src, 'link'));
    fs.lutimesSync(path.join(src, 'link'), 1_400_000_000, 1_400_000_000);
    const phone = path.join(root, 'phone', 'links');
    expect((await server.adb(['-s', device.serial, 'push', src, phone])).code).toBe(0);
    expect(fs.readlinkSync(path.join(phone, 'link'))).toBe('target.txt');
    expect(treeDiff(src, phone)).toEqual([]);
  });

  it('answers a denied path with FAIL "Permission denied" (adb exits 1), while STAT still answers', async () => {
    const device = await connected({ deny: /\/DENY(\/|$)/ });
    const local = path.join(root, 'local', 'f.txt');
    put(local, 'data\n');
    const denied = path.join(root, 'phone', 'DENY');
    put(path.join(denied, 'there.txt'), 'there\n');

    const push = await server.adb(['-s', device.serial, 'push', local, path.join(denied, 'f.txt')]);
    expect(push.code).toBe(1);
    // adb 29 prints a failed copy on stdout when that is not a terminal: look at both.
    expect(push.stdout + push.stderr).toContain("remote couldn't create file: Permission denied");
    expect(fs.existsSync(path.join(denied, 'f.txt'))).toBe(false);

    // "open failed", not "does not exist": the STAT before the RECV was answered.
    const pull = await server.adb([
      '-s',
      device.serial,
      'pull',
      path.join(denied, 'there.txt'),
      path.join(root, 'local', 'there.txt'),
    ]);
    expect(pull.code).toBe(1);
    expect(pull.stdout + pull.stderr).toContain('remote open failed: Permission denied');
    expect(fs.existsSync(path.join(root, 'local', 'there.txt'))).toBe(false);

    expect((await server.adb(['-s', device.serial, 'ls', denied])).code).toBe(1);
    // The stream was closed after each FAIL, and the device still serves.
    expect((await server.adb(['-s', device.serial, 'shell', 'echo', 'still here'])).stdout).toBe('still here\n');
  });

  it('dies mid-pull after dieAfterBytes: adb fails, leaves no file, and the device is offline or gone', async () => {
    const device = await connected({ dieAfterBytes: 2 * 1024 * 1024 });
    const big = path.join(root, 'phone', 'big.bin');
    put(big, randomBytes(8 * 1024 * 1024));
    const local = path.join(root, 'local', 'big.bin');
    fs.mkdirSync(path.dirname(local));
    const pull = await server.adb(['-s', device.serial, 'pull', '-a', big, local]);
    expect(pull.code).toBe(1);
    await device.unplugged;
    expect(fs.existsSync(local)).toBe(false);
    await waitFor(
      async () => (await server.state(device.serial)) !== 'device',
      'the dead device to leave the `device` state',
    );
    const shell = await server.adb(['-s', device.serial, 'shell', 'echo', 'hi']);
    expect(shell.code).toBe(1);
    expect(shell.stdout).toBe('');
  });

  it('with auth "never" shows as unauthorized, and refuses the shell', async () => {
    const device = await startDevice({ auth: 'never' });
    expect(await server.connect(device.serial)).toBe('unauthorized');
    expect(await server.state(device.serial)).toBe('unauthorized');
    const shell = await server.adb(['-s', device.serial, 'shell', 'echo', 'hi']);
    expect(shell.code).toBe(1);
    expect(shell.stderr).toContain('unauthorized');
    expect(device.stats.shells).toBe(0);
  });
});
