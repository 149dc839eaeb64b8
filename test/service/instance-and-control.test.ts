import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RefusedError } from '../../src/core/errors.js';
import net from 'node:net';
import type { Settings } from '../../src/config/schema.js';
import {
  announce,
  askService,
  MAX_REQUEST_CHARS,
  PROTOCOL_VERSION,
  serveControl,
  socketPath,
  type ControlHandlers,
} from '../../src/service/control.js';
import { checkArgs } from '../../src/service/control-args.js';
import { InstanceLock, isSyncTray } from '../../src/service/instance-lock.js';
import { pidLockOwner } from '../../src/config/pid-lock.js';
import { deadPid } from '../helpers/processes.js';
import { onWindows, posixOnly } from '../helpers/requirements.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';

let dir: string;
beforeEach(() => {
  dir = makeScratch('synctray-service-');
});
afterEach(() => removeScratch(dir));

describe('the instance lock', () => {
  it('lets one instance in per folder and names the one running', () => {
    const lock = InstanceLock.acquire(dir);
    expect(pidLockOwner(lock.file)).toBe(process.pid);
    if (!onWindows) expect(fs.statSync(lock.file).mode & 0o777).toBe(0o700); // Windows keeps no mode bits
    expect(() => InstanceLock.acquire(dir)).toThrow(
      new RefusedError(
        `SyncTray is already running (pid ${process.pid}) for this config; ` +
          "stop it first, or use it ('synctray status').",
      ),
    );
    lock.release();
    expect(fs.existsSync(lock.file)).toBe(false);
    InstanceLock.acquire(dir).release();
  });

  it('takes over the lock of an instance that crashed', () => {
    const file = path.join(dir, 'synctray.lock');
    fs.mkdirSync(file);
    fs.writeFileSync(path.join(file, `${deadPid()}-crashed`), '');
    const lock = InstanceLock.acquire(dir);
    expect(pidLockOwner(lock.file)).toBe(process.pid);
    lock.release();
    expect(fs.existsSync(file)).toBe(false);
  });

  it('takes over the lock file an older SyncTray left, and refuses while its owner runs', async () => {
    const file = path.join(dir, 'synctray.lock');
    // A live process whose command line names SyncTray, as an older one running would.
    const older = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', 'synctray'], { stdio: 'ignore' });
    try {
      fs.writeFileSync(file, `${older.pid}\n`);
      expect(() => InstanceLock.acquire(dir)).toThrow(`already running (pid ${older.pid})`);
      expect(fs.readFileSync(file, 'utf8')).toBe(`${older.pid}\n`);
    } finally {
      older.kill();
      await new Promise((resolve) => older.once('exit', resolve));
    }
    const lock = InstanceLock.acquire(dir);
    expect(pidLockOwner(lock.file)).toBe(process.pid);
    lock.release();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("takes over a lock naming this process's own pid, left by an earlier process that had it", () => {
    // A container's pid 1, or a service started at boot, gets the same pid after a crash.
    const file = path.join(dir, 'synctray.lock');
    fs.mkdirSync(file);
    fs.writeFileSync(path.join(file, `${process.pid}-earlier`), '');
    const lock = InstanceLock.acquire(dir);
    expect(fs.readdirSync(file)).not.toContain(`${process.pid}-earlier`);
    expect(() => InstanceLock.acquire(dir)).toThrow(`already running (pid ${process.pid})`);
    lock.release();
    fs.writeFileSync(file, `${process.pid}\n`); // as an older SyncTray wrote it
    InstanceLock.acquire(dir).release();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('tells a live SyncTray from another program by its command line on Linux, and only there', () => {
    // The parent (the test runner) is alive and is no SyncTray.
    const asked: string[] = [];
    const commandLine = (platform: NodeJS.Platform, text: string) => (pid: number) => {
      asked.push(platform);
      return text.replace('PID', String(pid));
    };
    expect(isSyncTray(process.ppid, 'linux', commandLine('linux', 'vim\0notes.txt'))).toBe(false);
    expect(isSyncTray(process.ppid, 'linux', commandLine('linux', 'node\0/opt/synctray/dist/cli/main.js'))).toBe(true);
    // Windows has no /proc: `/proc/PID/cmdline` would be read from the current drive, if anything made it.
    expect(isSyncTray(process.ppid, 'win32', commandLine('win32', 'vim'))).toBe(true);
    expect(isSyncTray(deadPid(), 'win32', commandLine('win32', 'synctray'))).toBe(false);
    expect(asked).toEqual(['linux', 'linux']);
  });
});

/** Handlers that refuse everything but what a test gives. */
function handlers(own: Partial<ControlHandlers>): ControlHandlers {
  const refuse = () => {
    throw new RefusedError('not in this test');
  };
  return {
    status: refuse,
    list: refuse,
    add: refuse,
    set: refuse,
    remove: refuse,
    pause: refuse,
    resume: refuse,
    resync: refuse,
    held: refuse,
    'apply-deletions': refuse,
    restore: refuse,
    settings: refuse,
    versions: refuse,
    subscribe: refuse,
    stop: refuse,
    'restore-version': refuse,
    ...own,
  };
}

const SETTINGS: Settings = { autostart: false, notifications: 'errors', logLevel: 'info' };

/** Sends raw lines to a socket and collects what comes back until the other side closes or `lines` arrived. */
function raw(socket: string, text: string, lines = 1): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socket, () => s.write(text));
    let got = '';
    const done = () => resolve(got.split('\n').filter(Boolean));
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      got += d;
      if (got.split('\n').filter(Boolean).length >= lines) {
        s.end();
        done();
      }
    });
    s.on('close', done);
    s.on('error', reject);
  });
}

/** A service of some other kind listening where the config says one is: it answers every line with `reply`. */
async function otherService(reply: (line: string) => string): Promise<{ close(): Promise<void> }> {
  const file = socketPath(path.join(dir, 'other'));
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const server = net.createServer((s) => {
    s.setEncoding('utf8');
    let buffer = '';
    s.on('data', (d: string) => {
      buffer += d;
      for (let i: number; (i = buffer.indexOf('\n')) >= 0; buffer = buffer.slice(i + 1))
        s.write(reply(buffer.slice(0, i)));
    });
  });
  await new Promise<void>((r) => server.listen(file, r));
  announce(dir, file);
  return { close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('the control socket', () => {
  it('answers requests over a socket only its owner may use, and carries refusals back as such', async () => {
    const control = await serveControl(
      dir,
      handlers({
        settings: ({ settings }) => ({ ...SETTINGS, ...settings }),
        pause: (chosen) => {
          throw new RefusedError(`No pair is called "${'all' in chosen ? 'all' : chosen.pair}"`);
        },
      }),
      checkArgs,
    );
    announce(dir, control.socket);
    try {
      // A Windows named pipe is no file: its default access is its creator's (control.ts).
      if (!onWindows) expect(fs.statSync(control.socket).mode & 0o777).toBe(0o600);
      expect(await askService(dir, 'settings', { settings: { logLevel: 'debug' } })).toEqual({
        result: { ...SETTINGS, logLevel: 'debug' },
      });
      await expect(askService(dir, 'pause', { pair: 'nope' })).rejects.toThrow(
        new RefusedError('No pair is called "nope"'),
      );
      const levels = ['debug', 'info', 'warn', 'error'] as const;
      const many = await Promise.all(
        Array.from({ length: 20 }, (_, i) => askService(dir, 'settings', { settings: { logLevel: levels[i % 4]! } })),
      );
      expect(many.map((r) => r?.result.logLevel)).toEqual(Array.from({ length: 20 }, (_, i) => levels[i % 4]));
    } finally {
      await control.close();
    }
    expect(await askService(dir, 'status', {})).toBeUndefined();
  });

  it('refuses args that are not what a command takes, naming what is wrong, and does nothing', async () => {
    let paused = 0;
    const control = await serveControl(dir, handlers({ pause: () => (paused++, []) }), checkArgs);
    try {
      const replies = await raw(
        control.socket,
        `${[
          { version: PROTOCOL_VERSION, command: 'pause', args: { pair: 42 } },
          { version: PROTOCOL_VERSION, command: 'pause', args: { pair: 'a', all: true } },
          { version: PROTOCOL_VERSION, command: 'pause', args: 'a' },
          { version: PROTOCOL_VERSION, command: 'add', args: { add: { name: 'x' } } },
          { version: PROTOCOL_VERSION, command: 'set', args: { pair: 'a', change: { mode: 'sideways' } } },
          { version: PROTOCOL_VERSION, command: 'settings', args: { settings: { colour: 'blue' } } },
          { version: PROTOCOL_VERSION, command: 'format-disk', args: {} },
        ]
          .map((r) => `${JSON.stringify(r)}\n`)
          .join('')}not json\n`,
        8,
      );
      const parsed = replies.map(
        (l) => JSON.parse(l) as { ok: boolean; refused: boolean; message: string; version: number },
      );
      for (const r of parsed) expect(r).toMatchObject({ ok: false, refused: true, version: PROTOCOL_VERSION });
      const messages = parsed.map((r) => r.message).sort();
      expect(messages).toEqual(
        expect.arrayContaining([
          'SyncTray refused the request "pause": args/pair must be string. Nothing was done.',
          'SyncTray refused the request "pause": args must match exactly one schema in oneOf. Nothing was done.',
          'SyncTray refused the request "pause": args must be object. Nothing was done.',
          expect.stringMatching(/^SyncTray refused the request "add": args\/add must have required property/),
          expect.stringMatching(
            /^SyncTray refused the request "set": args\/change\/mode must be equal to one of the allowed values/,
          ),
          expect.stringMatching(
            /^SyncTray refused the request "settings": args\/settings must NOT have additional properties/,
          ),
          expect.stringMatching(/^SyncTray does not know the request "format-disk"/),
          'A request to SyncTray is not JSON; nothing was done.',
        ]),
      );
      expect(paused).toBe(0);
    } finally {
      await control.close();
    }
  });

  it('takes a pause of one pair or all, until resumed or until a time, and nothing else', () => {
    const refused = (args: unknown) => () => checkArgs('pause', args);
    for (const args of [{ pair: 'docs' }, { all: true }, { pair: 'docs', untilMs: 1_765_000_000_000 }])
      expect(checkArgs('pause', args)).toEqual({ command: 'pause', args });
    expect(refused({ all: true, untilMs: 'tomorrow' })).toThrow(/args\/untilMs must be integer/);
    expect(refused({ untilMs: 1 })).toThrow(/must match exactly one schema in oneOf/);
    expect(refused({ pair: 'docs', for: 60 })).toThrow(/must NOT have additional properties/);
  });

  it('checks the args of versions and restore-version, and keeps restore for held deletions', () => {
    const refused = (command: string, args: unknown) => () => checkArgs(command, args);
    expect(checkArgs('versions', { pair: 'docs', prefix: '' })).toEqual({
      command: 'versions',
      args: { pair: 'docs', prefix: '' },
    });
    const restore = { pair: 'docs', path: 'a/b.txt', atMs: 1_765_000_000_000, to: '/tmp/out' };
    expect(checkArgs('restore-version', restore)).toEqual({ command: 'restore-version', args: restore });
    expect(refused('versions', { pair: 'docs' })).toThrow(/args must have required property 'prefix'/);
    expect(refused('restore-version', { pair: 'docs', path: 'a', to: 'out' })).toThrow(
      /"restore-version": args\/to must match pattern/,
    );
    expect(refused('restore-version', { pair: 'docs', path: 'a', atMs: 'yesterday' })).toThrow(
      /args\/atMs must be number/,
    );
    expect(refused('restore-version', { pair: 'docs', path: 'a', overwrite: true })).toThrow(
      /must NOT have additional properties/,
    );
    expect(checkArgs('restore', { pair: 'docs' })).toEqual({ command: 'restore', args: { pair: 'docs' } });
    expect(refused('restore', { pair: 'docs', path: 'a' })).toThrow(/must NOT have additional properties/);
  });

  it('refuses a request line longer than its limit, and goes on serving', async () => {
    const control = await serveControl(dir, handlers({ status: () => [] }), checkArgs);
    announce(dir, control.socket);
    try {
      const [reply] = await raw(
        control.socket,
        `{"version":${PROTOCOL_VERSION},"command":"status","args":{"x":"${'x'.repeat(MAX_REQUEST_CHARS)}`,
      );
      expect(JSON.parse(reply!)).toEqual({
        version: PROTOCOL_VERSION,
        ok: false,
        refused: true,
        message: `A request to SyncTray is longer than ${MAX_REQUEST_CHARS} characters; nothing was done.`,
      });
      expect(await askService(dir, 'status', {})).toEqual({ result: [] });
    } finally {
      await control.close();
    }
  });

  it('makes a reply that is not JSON a clear error', async () => {
    const other = await otherService(() => 'Hello, I am not SyncTray\n');
    try {
      await expect(askService(dir, 'status', {})).rejects.toThrow(
        `The running SyncTray (pid ${process.pid}) ` +
          `answered with something that is not JSON ("Hello, I am not SyncTray")`,
      );
    } finally {
      await other.close();
    }
  });

  it(
    'says plainly when the running service speaks an older protocol ' + 'than the command line, or a newer one',
    async () => {
      // SyncTray from before protocol versions answered without one.
      const before = await otherService(() => `${JSON.stringify({ ok: true, result: [] })}\n`);
      try {
        await expect(askService(dir, 'status', {})).rejects.toThrow(
          new RefusedError(
            `The running SyncTray (pid ${process.pid}) speaks an older version of the control protocol ` +
              `and this command line version ${PROTOCOL_VERSION}: SyncTray is older. ` +
              "Restart it (Quit in the tray, or stop 'synctray run', then start it again) " +
              'so that both are the same version.',
          ),
        );
      } finally {
        await before.close();
      }
      // A service of this version refuses a request of another one, saying which side is newer.
      const control = await serveControl(dir, handlers({ status: () => [] }), checkArgs);
      try {
        const [newer, older] = await raw(
          control.socket,
          `{"version":${PROTOCOL_VERSION + 1},"command":"status"}\n{"command":"status"}\n`,
          2,
        );
        expect(JSON.parse(newer!).message).toMatch(
          new RegExp(`speaks version ${PROTOCOL_VERSION + 1} .* the command line is newer\\. Restart SyncTray`),
        );
        expect(JSON.parse(older!).message).toMatch(/speaks no version .* the command line is older/);
      } finally {
        await control.close();
      }
    },
  );

  it.skipIf(posixOnly('Unix socket paths, whose length is limited'))(
    'uses a short private socket path where the run-time folder is too deep for one',
    async () => {
      const deep = path.join(dir, 'x'.repeat(60), 'y'.repeat(60));
      const control = await serveControl(deep, handlers({ list: () => [] }), checkArgs);
      try {
        expect(Buffer.byteLength(control.socket)).toBeLessThanOrEqual(100);
        expect(fs.statSync(path.dirname(control.socket)).mode & 0o777).toBe(0o700);
        announce(dir, control.socket);
        expect(await askService(dir, 'list', {})).toEqual({ result: [] });
      } finally {
        await control.close();
      }
    },
  );

  it.skipIf(posixOnly('permission bits'))('refuses a run-time folder that others may write in', async () => {
    const shared = path.join(dir, 'shared');
    fs.mkdirSync(shared, { mode: 0o777 });
    fs.chmodSync(shared, 0o777);
    await expect(serveControl(shared, handlers({}), checkArgs)).rejects.toThrow(/must belong to you alone/);
  });

  it.skipIf(posixOnly('Unix socket files, which a killed server leaves behind'))(
    'says nobody runs when only the socket file of a killed instance is left',
    async () => {
      const file = socketPath(path.join(dir, 'state'));
      fs.mkdirSync(path.dirname(file), { recursive: true });
      announce(dir, file);
      // A process that listens, then dies by SIGKILL: its socket file stays, with nobody behind it.
      const child = spawn(process.execPath, [
        '-e',
        `require('net').createServer().listen(${JSON.stringify(file)}, () => console.log('up'))`,
      ]);
      await new Promise<void>((r) => child.stdout.once('data', () => r()));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      expect(fs.existsSync(file)).toBe(true);
      expect(await askService(dir, 'status', {})).toBeUndefined();
    },
  );
});
