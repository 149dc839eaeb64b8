/**
 * The local backend in a process of its own, where what matters is how the process ends (a dead
 * worker must not keep it alive, a file size limit must fail one file) or who runs it (an ordinary
 * user, for whom permission bits mean something). The last two run the built CLI; the first runs
 * the sources (test/helpers/ts-hooks.mjs), since it reaches into the worker pool.
 */
import { typeScriptArgs } from '../helpers/processes.js';
import { posixOnly } from '../helpers/requirements.js';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertCliBuilt, CLI_PATH, REPO_ROOT } from '../helpers/cli.js';
import { giveToNobody, isRoot, NOBODY, nobodyRuntime } from '../helpers/privilege.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';

const source = (rel: string) => pathToFileURL(path.join(REPO_ROOT, 'src', rel)).href;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs an ES module script on the TypeScript sources; kills it after `timeoutMs`. */
function runScript(script: string, timeoutMs = 20_000): Promise<Exit> {
  // A file, not `--input-type=module -e`: worker threads inherit the flags, and refuse that one.
  const file = path.join(root, 'script.mjs');
  fs.writeFileSync(file, script);
  return run(process.execPath, typeScriptArgs(file), {
    timeoutMs,
  });
}

/** Runs the built CLI through `sh -c` (for ulimit), as NOBODY when asked and possible. */
function runCliUnder(args: string[], { ulimit = '', unprivileged = false } = {}): Promise<Exit> {
  const { node, cli } =
    unprivileged && isRoot ? nobodyRuntime(REPO_ROOT, CLI_PATH) : { node: process.execPath, cli: CLI_PATH };
  return run('sh', ['-c', `${ulimit}exec "$@"`, 'sh', node, cli, ...args], { unprivileged });
}

function run(cmd: string, args: string[], { timeoutMs = 20_000, unprivileged = false } = {}): Promise<Exit> {
  const drop = unprivileged && isRoot ? { uid: NOBODY, gid: NOBODY } : {};
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...drop });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

let root: string;
beforeAll(() => assertCliBuilt());
beforeEach(() => {
  root = makeScratch('synctray-local-e2e-');
});
afterEach(() => removeScratch(root));

describe('a worker that dies', () => {
  it('lets the process end by itself, its calls failed DEVICE_GONE', async () => {
    const r = await runScript(`
      const { FsPool } = await import(${JSON.stringify(source('storage/local/fs-pool.ts'))});
      const { LocalStorage } = await import(${JSON.stringify(source('storage/local/local-storage.ts'))});
      const pool = new FsPool(2);
      await pool.startWorkers();
      const s = new LocalStorage(${JSON.stringify(root)}, { pool, native: false });
      const pending = s.mkdir('pending');
      void pool.threads[0].terminate();
      const outcome = (p) => p.then(() => 'done', (e) => e.code);
      console.log(JSON.stringify({ pending: await outcome(pending), later: await outcome(s.stat('')) }));
      // Nothing here ends the process: it must end because nothing keeps it alive.
    `);
    expect(r.signal, `killed after the time limit: the process did not end by itself\n${r.stderr}`).toBeNull();
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ pending: 'DEVICE_GONE', later: 'DEVICE_GONE' });
  });
});

describe.skipIf(posixOnly('sh and its ulimit'))('a file size limit (EFBIG)', () => {
  // ulimit -f counts 512- or 1024-byte blocks depending on the shell: 256 blocks is at most 256 KiB.
  const ulimit = 'ulimit -f 256 && ';

  it('fails the one file TOO_LARGE, not the run, and smaller files still copy', async () => {
    fs.mkdirSync(path.join(root, 'src'));
    fs.writeFileSync(path.join(root, 'src/big'), Buffer.alloc(1024 * 1024, 1));
    fs.writeFileSync(path.join(root, 'src/small'), 'fits');
    const r = await runCliUnder(['sync', path.join(root, 'src'), path.join(root, 'dst'), '--json'], { ulimit });
    expect(r.code, r.stderr).toBe(1);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      copied: number;
      failed: number;
      fatal?: unknown;
      errors: unknown[];
    };
    expect(summary).toMatchObject({ copied: 1, failed: 1, errors: [{ path: 'big', code: 'TOO_LARGE' }] });
    expect(summary.fatal).toBeUndefined();
    expect(r.stderr).toContain('too large');
    expect(fs.readFileSync(path.join(root, 'dst/small'), 'utf8')).toBe('fits');
    expect(fs.readdirSync(path.join(root, 'dst'))).toEqual(['small']);
  });
});

describe.skipIf(posixOnly('permission bits'))('setMode as an ordinary user', () => {
  it("sets the mode of the user's own file that nobody may read or write", async () => {
    // Same content and times on both sides: only the mode differs, so sync sets it in place.
    for (const side of ['src', 'dst']) {
      fs.mkdirSync(path.join(root, side));
      fs.writeFileSync(path.join(root, side, 'locked'), 'x');
      fs.utimesSync(path.join(root, side, 'locked'), 1_600_000_000, 1_600_000_000);
    }
    fs.chmodSync(path.join(root, 'src/locked'), 0o640);
    fs.chmodSync(path.join(root, 'dst/locked'), 0o000);
    giveToNobody(root);
    const r = await runCliUnder(['sync', path.join(root, 'src'), path.join(root, 'dst'), '--json'], {
      unprivileged: true,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toMatchObject({ metadata: 1, copied: 0 });
    expect(fs.statSync(path.join(root, 'dst/locked')).mode & 0o7777).toBe(0o640);
  });
});
