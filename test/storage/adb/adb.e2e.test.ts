/**
 * The phone backend through the storage conformance suite: the real adb server, a fake phone
 * (test/helpers/fake-adb) reached with `adb connect`, and a fresh folder on it for every test.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdbStorage } from '../../../src/storage/adb/adb-storage.js';
import { bytesSource } from '../../../src/storage/sources.js';
import { AdbServer as AdbServerClient } from '../../../src/storage/adb/server.js';
import { ADB_SKIP, startAdbServer, type AdbServer } from '../../helpers/adb-server.js';
import { FakeDevice } from '../../helpers/fake-adb/device.js';
import { makeScratch, removeScratch } from '../../helpers/scratch.js';
import { describeStorageConformance } from '../conformance.js';

let root: string;
let server: AdbServer;
let device: FakeDevice;
let n = 0;

describe.skipIf(ADB_SKIP)('the phone backend', () => {
  beforeAll(async () => {
    root = makeScratch('synctray-adb-');
    server = await startAdbServer(root);
    device = await FakeDevice.start();
    await server.connect(device.serial);
  });
  afterAll(async () => {
    await device?.close();
    await server?.stop();
    removeScratch(root);
  });

  it('lists a file of 4 GiB or more with its true size, though sync v1 carries 32 bits', async () => {
    const dir = path.join(root, 'phone', 'big');
    fs.mkdirSync(path.join(dir, 'Movies'), { recursive: true });
    const big = 5 * 1024 ** 3 + 123;
    // Sparse: no memory is used for it.
    const fd = fs.openSync(path.join(dir, 'Movies', "it's big.mp4"), 'w');
    // A name that looks like what the backend's scripts print when something is wrong.
    fs.closeSync(fs.openSync(path.join(dir, 'Movies', '__E=NOT_FOUND'), 'w'));
    fs.truncateSync(path.join(dir, 'Movies', '__E=NOT_FOUND'), big);
    fs.ftruncateSync(fd, big);
    fs.closeSync(fd);
    fs.writeFileSync(path.join(dir, 'Movies', 'small.jpg'), 'x');
    const storage = new AdbStorage(
      { serial: device.serial, path: dir },
      new AdbServerClient({ port: server.port, env: server.env }),
    );
    try {
      const listed = await storage.list('Movies');
      expect(listed.find((e) => e.name === "it's big.mp4")?.size).toBe(big);
      expect(listed.find((e) => e.name === 'small.jpg')?.size).toBe(1);
      expect((await storage.stat("Movies/it's big.mp4")).size).toBe(big);
      expect(listed.find((e) => e.name === '__E=NOT_FOUND')?.size).toBe(big);
    } finally {
      await storage.close();
    }
  });

  it('works through a root that is a symlink, as /sdcard is on Android', async () => {
    const real = path.join(root, 'phone', 'storage-emulated-0');
    fs.mkdirSync(path.join(real, 'DCIM'), { recursive: true });
    const link = path.join(root, 'phone', 'sdcard');
    fs.symlinkSync(real, link);
    const storage = new AdbStorage(
      { serial: device.serial, path: link },
      new AdbServerClient({ port: server.port, env: server.env }),
    );
    try {
      expect((await storage.stat('')).type).toBe('dir');
      await storage.write('top.txt', bytesSource('at the top'), { mtimeNs: 1_600_000_000n * 1_000_000_000n });
      expect(fs.readFileSync(path.join(real, 'top.txt'), 'utf8')).toBe('at the top');
      expect((await storage.list('')).map((e) => e.name).sort()).toEqual(['DCIM', 'top.txt']);
    } finally {
      await storage.close();
    }
  });

  it('refuses what the protocol cannot carry by name, and goes on working', async () => {
    const dir = path.join(root, 'phone', 'limits');
    fs.mkdirSync(dir, { recursive: true });
    const storage = new AdbStorage(
      { serial: device.serial, path: dir },
      new AdbServerClient({ port: server.port, env: server.env }),
    );
    try {
      // A path just under 1,024 bytes, which `path,mode` pushes over the device's limit.
      const name = 'n'.repeat(1020 - dir.length - 1);
      await expect(storage.write(name, bytesSource('x'))).rejects.toMatchObject({ code: 'NAME_TOO_LONG' });
      await expect(
        storage.write('old', bytesSource('x'), { mtimeNs: -86_400n * 1_000_000_000n }),
      ).rejects.toMatchObject({ code: 'UNSUPPORTED' });
      await storage.write('fine', bytesSource('x'));
      expect(fs.readdirSync(dir)).toEqual(['fine']);
    } finally {
      await storage.close();
    }
  });

  it('starts the adb server when none is running', async () => {
    const home = path.join(root, 'own-server');
    fs.mkdirSync(path.join(home, 'tmp'), { recursive: true });
    const port = server.port + 1;
    const env = { ...process.env, HOME: home, TMPDIR: path.join(home, 'tmp'), ANDROID_ADB_SERVER_PORT: String(port) };
    const client = new AdbServerClient({ port, env });
    try {
      expect(await client.query('host:version')).toMatch(/^[0-9a-f]{4}$/);
    } finally {
      spawnSync('adb', ['kill-server'], { env });
    }
  });

  describeStorageConformance('AdbStorage (fake phone)', async () => {
    const dir = path.join(root, 'phone', `t${n++}`);
    fs.mkdirSync(dir, { recursive: true });
    const storage = new AdbStorage(
      { serial: device.serial, path: dir },
      new AdbServerClient({ port: server.port, env: server.env }),
    );
    return { storage, cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  });
});
