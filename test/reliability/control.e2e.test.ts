/**
 * The running service and the command line at once: many CLI processes editing pairs at the same
 * moment lose nothing, and the control socket refuses another user.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertCliBuilt, runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { isRoot, NOBODY } from '../helpers/privilege.js';
import { skipReasonOutsideCi } from '../helpers/requirements.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { waitFor } from '../helpers/wait-for.js';

let root: string;
let service: RunningCli | undefined;
beforeAll(() => assertCliBuilt());
beforeEach(() => {
  root = makeScratch('synctray-control-');
});
afterEach(async () => {
  service?.child.kill('SIGTERM');
  await service?.done;
  service = undefined;
  removeScratch(root);
});

const at = (p: string) => path.join(root, p);
const cli = (...args: string[]) => runCli([...args, '--config-dir', at('config')]);
const notRoot = skipReasonOutsideCi(
  isRoot,
  'skipping the other-user check: it needs root to run a client as another user',
);

describe('the service and the command line together', () => {
  it('loses none of 24 pair edits made by concurrent CLI processes', async () => {
    service = startCli(['run', '--config-dir', at('config')]);
    await waitFor(async () => (await cli('status')).stdout.startsWith('SyncTray is running'), 'the service', {
      intervalMs: 50,
    });
    for (let i = 0; i < 16; i++) fs.mkdirSync(at(`src/${i}`), { recursive: true });
    const adds = Array.from({ length: 16 }, (_, i) =>
      cli('pair', 'add', at(`src/${i}`), at(`dst/${i}`), '--name', `p${i}`, '--paused'),
    );
    const results = await Promise.all(adds);
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    // And at once: resume eight of them while others are added.
    const more = await Promise.all([
      ...Array.from({ length: 8 }, (_, i) => cli('pair', 'resume', `p${i}`)),
      ...Array.from(
        { length: 4 },
        (_, i) => (
          fs.mkdirSync(at(`src/x${i}`), { recursive: true }),
          cli('pair', 'add', at(`src/x${i}`), at(`dst/x${i}`), '--name', `x${i}`)
        ),
      ),
    ]);
    for (const r of more) expect(r.code, r.stderr).toBe(0);
    const saved = JSON.parse(fs.readFileSync(at('config/config.json'), 'utf8')) as {
      pairs: { name: string; paused: boolean }[];
    };
    expect(saved.pairs.map((p) => p.name).sort()).toEqual(
      [...Array.from({ length: 16 }, (_, i) => `p${i}`), ...Array.from({ length: 4 }, (_, i) => `x${i}`)].sort(),
    );
    expect(
      saved.pairs
        .filter((p) => !p.paused)
        .map((p) => p.name)
        .sort(),
    ).toEqual([...Array.from({ length: 8 }, (_, i) => `p${i}`), 'x0', 'x1', 'x2', 'x3'].sort());
    const listed = JSON.parse((await cli('pair', 'list', '--json')).stdout) as unknown[];
    expect(listed).toHaveLength(20);
  });

  it.skipIf(notRoot)('refuses the control socket to another user', async () => {
    service = startCli(['run', '--config-dir', at('config')]);
    await waitFor(async () => (await cli('status')).stdout.startsWith('SyncTray is running'), 'the service', {
      intervalMs: 50,
    });
    const announced = JSON.parse(fs.readFileSync(at('config/service.json'), 'utf8')) as { socket: string };
    expect(fs.statSync(announced.socket).mode & 0o777).toBe(0o600);
    // A client as nobody: connecting is refused by the file system.
    const probe =
      `const s=require('net').connect(${JSON.stringify(announced.socket)});` +
      "s.on('connect',()=>{console.log('connected');process.exit(0)});" +
      "s.on('error',(e)=>{console.log(e.code);process.exit(0)})";
    const child = spawn(process.execPath, ['-e', probe], {
      uid: NOBODY,
      gid: NOBODY,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((resolve) => child.once('exit', resolve));
    expect(out.trim()).toBe('EACCES');
    // And as its own user it answers.
    await new Promise<void>((resolve, reject) => {
      const s = net.connect(announced.socket, () => {
        s.end();
        resolve();
      });
      s.on('error', reject);
    });
  });
});
