/**
 * Phone pairs from the command line: `pair add` keeps the phone's serial, `run` backs the phone up
 * when it connects and says so ("Pixel 8: 2 new files backed up"), `status` says why a pair waits.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertCliBuilt, runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { ADB_SKIP, startAdbServer, type AdbServer } from '../helpers/adb-server.js';
import { FakeDevice } from '../helpers/fake-adb/device.js';
import { rsyncDiff } from '../helpers/oracle.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { waitFor } from '../helpers/wait-for.js';

let root: string;
let server: AdbServer;
let devices: FakeDevice[];
let run: RunningCli | undefined;
beforeAll(() => assertCliBuilt());
beforeEach(async () => {
  root = makeScratch('synctray-phone-run-');
  devices = [];
  if (!ADB_SKIP) server = await startAdbServer(root);
});
afterEach(async () => {
  run?.child.kill('SIGINT');
  await run?.done;
  run = undefined;
  for (const d of devices) await d.close();
  await server?.stop();
  removeScratch(root);
});

const at = (p: string) => path.join(root, p);
const cli = (...args: string[]) => runCli([...args, '--config-dir', at('config')], { env: server.env });

async function phone(model: string): Promise<FakeDevice> {
  const d = await FakeDevice.start({ model });
  devices.push(d);
  await server.connect(d.serial);
  return d;
}

describe.skipIf(ADB_SKIP)('phone pairs from the command line', () => {
  it('pair add keeps the serial of the one phone connected, and refuses to guess among two', async () => {
    const pixel = await phone('Pixel_8');
    const added = await cli('pair', 'add', `adb:${at('phone/DCIM')}`, at('backup'));
    expect(added.code, added.stderr).toBe(0);
    const pairs = JSON.parse((await cli('pair', 'list', '--json')).stdout) as {
      source: string;
      rescanIntervalMs: number;
    }[];
    expect(pairs[0]).toMatchObject({ source: `adb:${pixel.serial}:${at('phone/DCIM')}`, rescanIntervalMs: 900_000 });

    const other = await phone('Galaxy');
    const refused = await cli('pair', 'add', `adb:${at('phone/Music')}`, at('music'));
    expect(refused.code).toBe(2);
    const listed = [`${pixel.serial} (Pixel 8, device)`, `${other.serial} (Galaxy, device)`]
      .sort((a, b) => a.localeCompare(b))
      .join(', ');
    expect(refused.stderr).toContain(`2 phones are connected: ${listed}. Name one: adb:SERIAL:/path.`);
  });

  it('run backs the phone up when it connects and tells what it brought; status says why a pair waits', async () => {
    const camera = at('phone/DCIM');
    fs.mkdirSync(camera, { recursive: true });
    fs.writeFileSync(path.join(camera, 'IMG_1.jpg'), 'one');
    fs.writeFileSync(path.join(camera, 'IMG_2.jpg'), 'two');
    const device = await FakeDevice.start({ model: 'Pixel_8' });
    devices.push(device);
    expect((await cli('pair', 'add', `adb:${device.serial}:${camera}`, at('backup'))).code).toBe(0);
    run = startCli(['run', '--json', '--config-dir', at('config')], { env: server.env });
    let out = '';
    run.child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(
      async () => (await cli('status')).stdout.includes(`${device.serial} is not connected`),
      'status saying the phone is not connected',
      { intervalMs: 100 },
    );
    expect((await cli('status')).stdout).toContain('DCIM: waiting-for-phone');

    await server.connect(device.serial);
    await waitFor(() => out.includes('"event":"phone-synced"'), 'the phone backed up', {
      timeoutMs: 15_000,
      intervalMs: 50,
    });
    const line = JSON.parse(out.split('\n').find((l) => l.includes('"event":"phone-synced"'))!) as Record<
      string,
      unknown
    >;
    expect(line).toMatchObject({ pair: 'DCIM', files: 2, bytes: 6 });
    expect(fs.readFileSync(at('config/logs/synctray.log'), 'utf8')).toContain(
      'DCIM: Pixel 8: 2 new files backed up (6 B)',
    );
    expect(rsyncDiff(camera, at('backup'))).toEqual([]);
  });
});
