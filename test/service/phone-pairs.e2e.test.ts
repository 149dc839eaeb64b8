/**
 * Phone pairs in the service, with the real adb server and fake phones: waiting until the phone
 * connects, syncing then and at each rescan, going back to waiting when it is unplugged, and the
 * states for a phone that has not allowed this computer and for a machine without adb.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { app } from '../../src/app.js';
import type { Pair } from '../../src/config/schema.js';
import { ConfigStore } from '../../src/config/store.js';
import { phoneSyncedText } from '../../src/service/phones.js';
import { Service, type PairStatus, type ServiceEvent } from '../../src/service/service.js';
import { AdbStorage } from '../../src/storage/adb/adb-storage.js';
import { isAdbLocation, parseAdbLocation } from '../../src/storage/adb/endpoint.js';
import { AdbServer as AdbServerClient } from '../../src/storage/adb/server.js';
import { DeviceTracker } from '../../src/storage/adb/track-devices.js';
import { ADB_SKIP, startAdbServer, type AdbServer } from '../helpers/adb-server.js';
import { FakeDevice, type FakeDeviceOptions } from '../helpers/fake-adb/device.js';
import { rsyncDiff } from '../helpers/oracle.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { folderWatcher } from '../../src/watch/folder-watcher.js';
import { writeTree } from '../helpers/tree-spec.js';
import { waitFor } from '../helpers/wait-for.js';

let root: string;
let server: AdbServer;
let service: Service | undefined;
let devices: FakeDevice[];
let events: ServiceEvent[];

beforeEach(async () => {
  root = makeScratch('synctray-phone-pairs-');
  devices = [];
  events = [];
  if (!ADB_SKIP) server = await startAdbServer(root);
});
afterEach(async () => {
  await service?.stop();
  service = undefined;
  for (const d of devices) await d.close();
  await server?.stop();
  removeScratch(root);
});

const at = (p: string) => path.join(root, p);

async function phone(options: FakeDeviceOptions = {}): Promise<FakeDevice> {
  const d = await FakeDevice.start(options);
  devices.push(d);
  return d;
}

function start(
  pair: Omit<Pair, 'id'>,
  adb: AdbServerClient = new AdbServerClient({ port: server.port, env: server.env }),
): Service {
  const { store } = ConfigStore.open(at('config'));
  store.add(pair);
  const openStorage = (location: string) =>
    isAdbLocation(location) ? new AdbStorage(parseAdbLocation(location), adb) : app.openStorage(location);
  service = new Service(store, {
    openStorage,
    openVersions: app.openVersions,
    watchFolder: folderWatcher,
    now: () => performance.now(),
    phones: () => new DeviceTracker(adb),
  });
  service.on('event', (e) => events.push(e));
  service.start();
  return service;
}

function pairOf(source: string, destination: string, rescanIntervalMs = 0): Omit<Pair, 'id'> {
  return {
    name: 'DCIM',
    source,
    destination,
    mode: 'mirror',
    checksum: false,
    exclude: [],
    rescanIntervalMs,
    keepVersionsMs: 2_592_000_000,
    paused: false,
    notify: 'all',
  };
}

const last = (): PairStatus => service!.status()[0]!;
const synced = () => events.flatMap((e) => (e.type === 'synced' ? [e] : []));

describe.skipIf(ADB_SKIP)('a phone pair', () => {
  it('waits for its phone, backs it up when it connects and at each rescan, ' +
    'and waits again when it is unplugged', async () => {
    const camera = at('phone/DCIM');
    fs.mkdirSync(camera, { recursive: true });
    fs.writeFileSync(path.join(camera, 'IMG_1.jpg'), 'one');
    fs.writeFileSync(path.join(camera, 'IMG_2.jpg'), 'two');
    const device = await phone({ model: 'Pixel_8' });
    const serial = device.serial; // an unplugged device no longer has its port
    start(pairOf(`adb:${device.serial}:${camera}`, at('backup'), 300));
    await waitFor(
      () => last().state === 'waiting-for-phone' && last().reason === `${device.serial} is not connected`,
      'waiting for the phone',
    );
    expect(fs.existsSync(at('backup'))).toBe(false);

    await server.connect(device.serial);
    await waitFor(() => synced().length > 0 && last().state === 'idle', 'synced on connect', { timeoutMs: 15_000 });
    expect(rsyncDiff(camera, at('backup'))).toEqual([]);
    expect(last().phone).toEqual({ serial: device.serial, model: 'Pixel 8', connection: 'connected' });
    expect(synced()[0]).toMatchObject({ copied: 2, bytes: 6 });
    expect(phoneSyncedText(last(), last().phone, 2, 6)).toBe('Pixel 8: 2 new files backed up (6 B)');

    // Not watched, but compared again at each rescan while connected.
    fs.writeFileSync(path.join(camera, 'IMG_3.jpg'), 'three');
    await waitFor(() => fs.existsSync(at('backup/IMG_3.jpg')), 'the new photo at the next rescan', {
      timeoutMs: 15_000,
    });

    device.unplug();
    await waitFor(() => last().state === 'waiting-for-phone', 'waiting again once unplugged', { timeoutMs: 15_000 });
    expect(last().phone?.connection).not.toBe('connected');
    expect(rsyncDiff(camera, at('backup'))).toEqual([]);

    // Plugged in again: what was taken meanwhile is backed up.
    fs.writeFileSync(path.join(camera, 'IMG_4.jpg'), 'four');
    await device.close();
    await phone({ model: 'Pixel_8', port: Number(serial.split(':')[1]) });
    await server.disconnect(serial);
    await server.connect(serial);
    await waitFor(
      () => fs.existsSync(at('backup/IMG_4.jpg')) && last().state === 'idle',
      'backed up again once plugged in',
      { timeoutMs: 15_000 },
    );
    expect(rsyncDiff(camera, at('backup'))).toEqual([]);
  }, 60_000);

  it('backed up to the phone, keeps what it deletes or overwrites in versions on the phone', async () => {
    const names = ['note.txt', `it's "quoted" ? < > & *.txt`, 'café 😀.txt'];
    const files: Record<string, string> = {};
    for (const [i, n] of names.entries()) {
      files[`gone/${n}`] = `gone ${i}`;
      files[`kept/${n}`] = `old ${i}`;
      files[`same/${n}`] = `same ${i}`;
      files[`same/more ${n}`] = `same ${i}`;
    }
    writeTree(at('docs'), files);
    const device = await phone();
    const backup = at('phone/backup');
    start(pairOf(at('docs'), `adb:${device.serial}:${backup}`, 300));
    await server.connect(device.serial);
    await waitFor(() => synced().length > 0 && last().state === 'idle', 'the first sync', { timeoutMs: 15_000 });
    expect(rsyncDiff(at('docs'), backup)).toEqual([]);
    const times = new Map(names.map((n) => [n, fs.statSync(path.join(backup, `kept/${n}`)).mtimeMs]));

    fs.rmSync(at('docs/gone'), { recursive: true });
    for (const [i, n] of names.entries()) fs.writeFileSync(at(`docs/kept/${n}`), `new ${i}, longer`);
    const versions = path.join(backup, '.synctray-versions');
    await waitFor(() => rsyncDiff(at('docs'), backup).length === 0 && last().state === 'idle', 'the changes synced', {
      timeoutMs: 15_000,
    });
    // One step made all of it (a rescan compares everything at once).
    const [stamp, ...more] = fs.readdirSync(versions);
    expect(more).toEqual([]);
    expect(stamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/);
    for (const [i, n] of names.entries()) {
      expect(fs.readFileSync(path.join(versions, stamp!, `deleted/gone/${n}`), 'utf8')).toBe(`gone ${i}`);
      const replaced = path.join(versions, stamp!, `replaced/kept/${n}`);
      expect(fs.readFileSync(replaced, 'utf8')).toBe(`old ${i}`);
      expect(fs.statSync(replaced).mtimeMs).toBe(times.get(n));
    }
  }, 60_000);

  it('tells the user to unlock a phone that has not allowed this computer', async () => {
    const device = await phone({ auth: 'never' });
    await server.connect(device.serial);
    start(pairOf(`adb:${device.serial}:/sdcard/DCIM`, at('backup')));
    await waitFor(() => last().phone?.connection === 'unauthorized', 'the unauthorized state', { timeoutMs: 15_000 });
    expect(last()).toMatchObject({
      state: 'waiting-for-phone',
      reason: `${device.serial}: unlock the phone and allow USB debugging`,
    });
  });

  it('says how to install adb when it is missing', async () => {
    const missing = new AdbServerClient({ port: 1, adb: at('no-such-adb'), env: server.env });
    start(pairOf('adb:R58M123:/sdcard/DCIM', at('backup')), missing);
    await waitFor(() => last().phone?.connection === 'no-adb', 'the no-adb state');
    expect(last().reason).toMatch(
      /^adb is not installed\. Install Android platform-tools \(Debian, Ubuntu: apt install adb/,
    );
  });
});
