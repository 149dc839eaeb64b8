import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RefusedError } from '../../src/core/errors.js';
import { announce, askService, serveControl, socketPath } from '../../src/service/control.js';
import { InstanceLock } from '../../src/service/instance-lock.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';

let dir: string;
beforeEach(() => {
  dir = makeScratch('synctray-service-');
});
afterEach(() => removeScratch(dir));

/** A pid that ran and is gone. */
function deadPid(): number {
  const r = spawnSync('sh', ['-c', 'echo $$']);
  return Number(r.stdout.toString().trim());
}

describe('the instance lock', () => {
  it('lets one instance in per folder and names the one running', () => {
    const lock = InstanceLock.acquire(dir);
    expect(fs.readFileSync(lock.file, 'utf8').trim()).toBe(String(process.pid));
    expect(fs.statSync(lock.file).mode & 0o777).toBe(0o600);
    expect(() => InstanceLock.acquire(dir)).toThrow(new RefusedError(`SyncTray is already running (pid ${process.pid}) for this config; stop it first, or use it ('synctray status').`));
    lock.release();
    expect(fs.existsSync(lock.file)).toBe(false);
    InstanceLock.acquire(dir).release();
  });

  it('takes over the lock of an instance that crashed', () => {
    fs.writeFileSync(path.join(dir, 'synctray.lock'), `${deadPid()}\n`);
    const lock = InstanceLock.acquire(dir);
    expect(fs.readFileSync(lock.file, 'utf8').trim()).toBe(String(process.pid));
    lock.release();
  });
});

describe('the control socket', () => {
  it('answers requests over a socket only its owner may use, and carries refusals back as such', async () => {
    const control = await serveControl(dir, async (req) => {
      if (req.command === 'echo') return req.args;
      throw new RefusedError(`No pair is called "${String(req.args)}"`);
    });
    announce(dir, control.socket);
    try {
      expect(fs.statSync(control.socket).mode & 0o777).toBe(0o600);
      expect(await askService(dir, { command: 'echo', args: { a: [1, 'two'] } })).toEqual({ result: { a: [1, 'two'] } });
      await expect(askService(dir, { command: 'pause', args: 'nope' })).rejects.toThrow(RefusedError);
      const many = await Promise.all(Array.from({ length: 20 }, (_, i) => askService(dir, { command: 'echo', args: i })));
      expect(many.map((r) => r?.result)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    } finally {
      await control.close();
    }
    expect(await askService(dir, { command: 'echo' })).toBeUndefined();
  });

  it('uses a short private socket path where the run-time folder is too deep for one', async () => {
    const deep = path.join(dir, 'x'.repeat(60), 'y'.repeat(60));
    const control = await serveControl(deep, async () => 'deep');
    try {
      expect(Buffer.byteLength(control.socket)).toBeLessThanOrEqual(100);
      expect(fs.statSync(path.dirname(control.socket)).mode & 0o777).toBe(0o700);
      announce(dir, control.socket);
      expect(await askService(dir, { command: 'x' })).toEqual({ result: 'deep' });
    } finally {
      await control.close();
    }
  });

  it('refuses a run-time folder that others may write in', async () => {
    const shared = path.join(dir, 'shared');
    fs.mkdirSync(shared, { mode: 0o777 });
    fs.chmodSync(shared, 0o777);
    await expect(serveControl(shared, async () => 'x')).rejects.toThrow(/must belong to you alone/);
  });

  it('says nobody runs when only the socket file of a killed instance is left', async () => {
    const file = socketPath(path.join(dir, 'state'));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    announce(dir, file);
    // A process that listens, then dies by SIGKILL: its socket file stays, with nobody behind it.
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(file)}, () => console.log('up'))`]);
    await new Promise<void>((r) => child.stdout.once('data', () => r()));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(fs.existsSync(file)).toBe(true);
    expect(await askService(dir, { command: 'status' })).toBeUndefined();
  });
});
