/**
 * The phone backend through the storage conformance suite: the real adb server, a fake phone
 * (test/helpers/fake-adb) reached with `adb connect`, and a fresh folder on it for every test.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdbStorage } from '../../../src/storage/adb/adb-storage.js';
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
    fs.ftruncateSync(fd, big);
    fs.closeSync(fd);
    fs.writeFileSync(path.join(dir, 'Movies', 'small.jpg'), 'x');
    const storage = new AdbStorage({ serial: device.serial, path: dir }, new AdbServerClient({ port: server.port, env: server.env }));
    try {
      const listed = await storage.list('Movies');
      expect(listed.find((e) => e.name === "it's big.mp4")?.size).toBe(big);
      expect(listed.find((e) => e.name === 'small.jpg')?.size).toBe(1);
      expect((await storage.stat("Movies/it's big.mp4")).size).toBe(big);
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
    const storage = new AdbStorage({ serial: device.serial, path: dir }, new AdbServerClient({ port: server.port, env: server.env }));
    return { storage, cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  });
});
