/**
 * The phone backend through the storage conformance suite: the real adb server, a fake phone
 * (test/helpers/fake-adb) reached with `adb connect`, and a fresh folder on it for every test.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
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

  describeStorageConformance('AdbStorage (fake phone)', async () => {
    const dir = path.join(root, 'phone', `t${n++}`);
    fs.mkdirSync(dir, { recursive: true });
    const storage = new AdbStorage({ serial: device.serial, path: dir }, new AdbServerClient({ port: server.port, env: server.env }));
    return { storage, cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  });
});
