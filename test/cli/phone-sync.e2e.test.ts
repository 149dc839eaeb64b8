/**
 * `synctray sync` between this computer and a phone: the real adb server, the fake phone reached
 * with `adb connect`, and the built CLI. The phone's storage is a folder here, so rsync can judge.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertCliBuilt, runCli, summaryOf, type CliResult } from '../helpers/cli.js';
import { ADB_SKIP, startAdbServer, type AdbServer } from '../helpers/adb-server.js';
import { FakeDevice } from '../helpers/fake-adb/device.js';
import { rsyncDiff } from '../helpers/oracle.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';

let root: string;
let server: AdbServer;
let device: FakeDevice;
let dir: string;
let n = 0;

const HOSTILE = [
  'it\'s "q".txt',
  '$(touch pwned)',
  '`id`.txt',
  'new\nline.txt',
  'ünïcödé-файл-文件.jpg',
  '-dash.txt',
  'sp ace & <more>.txt',
];
const T = 1_600_000_000;

function put(file: string, content: string | Buffer, mtime = T): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  fs.utimesSync(file, mtime, mtime);
}

/** A camera folder: hostile names, nested folders, and a 20 MB video. */
function cameraRoll(at: string): void {
  for (const [i, name] of HOSTILE.entries()) put(path.join(at, name), `photo ${i}`, T + i);
  put(path.join(at, 'Camera/2024/IMG_0001.jpg'), randomBytes(300_000), T + 100);
  put(path.join(at, 'Camera/VID_0002.mp4'), randomBytes(20 * 1024 * 1024), T + 200);
  fs.utimesSync(path.join(at, 'Camera/2024'), T, T);
}

const sync = (src: string, dst: string, ...more: string[]): Promise<CliResult> =>
  runCli(['sync', src, dst, '--json', ...more], { env: server.env });

describe.skipIf(ADB_SKIP)('synctray sync with a phone', () => {
  beforeAll(async () => {
    assertCliBuilt();
    root = makeScratch('synctray-phone-');
    server = await startAdbServer(root);
    device = await FakeDevice.start({ model: 'Pixel_8' });
    await server.connect(device.serial);
  });
  afterAll(async () => {
    await device?.close();
    await server?.stop();
    removeScratch(root);
  });
  beforeEach(() => {
    dir = path.join(root, `case${n++}`);
    fs.mkdirSync(dir);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('backs up a phone folder: hostile names, 20 MB, times to the second; a second run copies nothing', async () => {
    const phone = path.join(dir, 'sdcard/DCIM');
    cameraRoll(phone);
    const first = await sync(`adb:${device.serial}:${phone}`, path.join(dir, 'backup'));
    expect(first.code, first.stderr).toBe(0);
    // Seven hostile names, two files and two folders under Camera.
    expect(summaryOf(first)).toMatchObject({ copied: HOSTILE.length + 4, failed: 0, bytes: expect.any(Number) });
    expect(summaryOf(first).bytes).toBeGreaterThan(20 * 1024 * 1024);
    expect(rsyncDiff(phone, path.join(dir, 'backup'))).toEqual([]);
    expect(fs.existsSync(path.join(dir, 'backup', 'pwned'))).toBe(false);

    const again = await sync(`adb:${device.serial}:${phone}`, path.join(dir, 'backup'));
    expect(summaryOf(again)).toMatchObject({ copied: 0, updated: 0, metadata: 0, deleted: 0, failed: 0 });
  });

  it('pushes a folder to the phone and mirrors deletions; nothing in a name runs', async () => {
    const music = path.join(dir, 'Music');
    cameraRoll(music);
    const phone = `adb:${device.serial}:${path.join(dir, 'sdcard/Music')}`;
    const first = await sync(music, phone);
    expect(first.code, first.stderr).toBe(0);
    expect(rsyncDiff(music, path.join(dir, 'sdcard/Music'))).toEqual([]);
    expect(fs.readdirSync(root).some((f) => f === 'pwned') || fs.existsSync('/pwned')).toBe(false);

    fs.rmSync(path.join(music, HOSTILE[0]!));
    put(path.join(music, 'Camera/new.jpg'), 'new', T + 300);
    const second = await sync(music, phone);
    expect(summaryOf(second)).toMatchObject({ copied: 1, deleted: 1, failed: 0 });
    expect(rsyncDiff(music, path.join(dir, 'sdcard/Music'))).toEqual([]);
    expect(summaryOf(await sync(music, phone))).toMatchObject({ copied: 0, updated: 0, metadata: 0, deleted: 0 });
  });

  it.for(['pull', 'push'] as const)(
    '%s: a phone unplugged mid-transfer leaves no partial file under a final name; the next run finishes and cleans up',
    async (way) => {
      const here = path.join(dir, 'here');
      const there = path.join(dir, 'sdcard/Music');
      cameraRoll(way === 'pull' ? there : here);
      // Many files under way when it goes: every copy waiting for a connection must hear of it.
      for (let i = 0; i < 150; i++)
        put(path.join(way === 'pull' ? there : here, `burst/f${i}.bin`), randomBytes(40_000), T + i);
      const flaky = await FakeDevice.start({ dieAfterBytes: 5 * 1024 * 1024 });
      const serial = flaky.serial;
      let replugged: FakeDevice | undefined;
      try {
        await server.connect(serial);
        const phone = `adb:${serial}:${there}`;
        const [from, to] = way === 'pull' ? [phone, here] : [here, phone];
        const cut = await sync(from, to);
        expect(cut.code, cut.stdout).not.toBe(0);
        expect(cut.stderr + cut.stdout, cut.stderr).toMatch(/phone unplugged/);
        const video = path.join(way === 'pull' ? here : there, 'Camera/VID_0002.mp4');
        // The video was under way: it is whole under its name, or not there at all.
        if (fs.existsSync(video)) expect(fs.statSync(video).size).toBe(20 * 1024 * 1024);

        // Plugged in again (the same serial): the next run completes, and leaves no temp files.
        await flaky.close();
        replugged = await FakeDevice.start({ port: Number(serial.split(':')[1]) });
        await server.disconnect(serial);
        await server.connect(serial);
        const done = await sync(from, to);
        expect(done.code, done.stderr).toBe(0);
        expect(rsyncDiff(way === 'pull' ? there : here, way === 'pull' ? here : there)).toEqual([]);
        const leftovers = fs
          .readdirSync(way === 'pull' ? here : there, { recursive: true })
          .map(String)
          .filter((f) => f.includes('.~synctray-'));
        expect(leftovers).toEqual([]);
      } finally {
        await flaky.close();
        await replugged?.close();
        await server.disconnect(serial);
      }
    },
  );

  it('reports a file the phone refuses by name and copies the rest; nothing is deleted in that run', async () => {
    const picky = await FakeDevice.start({ deny: /private/ });
    try {
      await server.connect(picky.serial);
      const phone = path.join(dir, 'sdcard/DCIM');
      put(path.join(phone, 'a.jpg'), 'a');
      put(path.join(phone, 'private.jpg'), 'secret');
      put(path.join(dir, 'backup/stale.jpg'), 'old');
      const r = await sync(`adb:${picky.serial}:${phone}`, path.join(dir, 'backup'));
      expect(r.code).toBe(1);
      const summary = summaryOf(r);
      expect(summary).toMatchObject({ copied: 1, failed: 1 });
      expect(summary.errors[0]).toMatchObject({ path: 'private.jpg', code: 'PERMISSION' });
      expect(fs.readFileSync(path.join(dir, 'backup/a.jpg'), 'utf8')).toBe('a');
      expect(fs.existsSync(path.join(dir, 'backup/private.jpg'))).toBe(false);
      // A failed copy might be the new name of a file this run would delete: nothing is deleted.
      expect(fs.existsSync(path.join(dir, 'backup/stale.jpg'))).toBe(true);
    } finally {
      await picky.close();
      await server.disconnect(picky.serial);
    }
  });

  it('reports a name that is not UTF-8 as skipped, and copies the rest', async () => {
    const phone = path.join(dir, 'sdcard/Download');
    put(path.join(phone, 'ok.txt'), 'ok');
    fs.writeFileSync(
      Buffer.concat([Buffer.from(`${phone}/bad-`), Buffer.from([0xff, 0xfe]), Buffer.from('.txt')]),
      'latin-1 name',
    );
    const r = await sync(`adb:${device.serial}:${phone}`, path.join(dir, 'backup'));
    expect(summaryOf(r)).toMatchObject({ copied: 1, skipped: 1, failed: 0 });
    expect(fs.readdirSync(path.join(dir, 'backup'))).toEqual(['ok.txt']);
  });

  it(
    'refuses a phone location without an absolute path, ' + 'or a phone that is not connected, with what to do',
    async () => {
      const relative = await sync('adb:sdcard/DCIM', path.join(dir, 'backup'));
      expect(relative.code).toBe(2);
      expect(relative.stderr).toContain('give an absolute path on the phone, e.g. adb:/sdcard/DCIM');
      const absent = await sync('adb:127.0.0.1:1:/sdcard/DCIM', path.join(dir, 'backup'));
      expect(absent.code).not.toBe(0);
      expect(absent.stderr).toContain('127.0.0.1:1 is not connected');
      expect(fs.existsSync(path.join(dir, 'backup'))).toBe(false);
    },
  );
});
