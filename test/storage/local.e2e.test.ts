/**
 * The local backend in a process of its own, from the build (dist/), where what matters is how the
 * process ends (a dead worker must not keep it alive, a file size limit must fail one file) or who
 * runs it (an ordinary user, for whom permission bits mean something).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertCliBuilt, CLI_PATH, REPO_ROOT } from '../helpers/cli.js';
import { giveToNobody, isRoot, NOBODY, nobodyRuntime } from '../helpers/privilege.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';

const dist = (rel: string) => pathToFileURL(path.join(REPO_ROOT, 'dist', rel)).href;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs an ES module script in Node through `sh -c` (for ulimit); kills it after `timeoutMs`. */
function runScript(script: string, { ulimit = '', timeoutMs = 20_000, unprivileged = false } = {}): Promise<Exit> {
  // A file, not `--input-type=module -e`: worker threads inherit the flags, and refuse that one.
  const file = path.join(root, 'script.mjs');
  fs.writeFileSync(file, script);
  const drop = unprivileged && isRoot ? { uid: NOBODY, gid: NOBODY } : {};
  const node = unprivileged && isRoot ? nobodyRuntime(REPO_ROOT, CLI_PATH).node : process.execPath;
  const child = spawn('sh', ['-c', `${ulimit}exec "$0" "$1"`, node, file], { stdio: ['ignore', 'pipe', 'pipe'], ...drop });
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
      const { FsPool } = await import(${JSON.stringify(dist('storage/local/fs-pool.js'))});
      const { LocalStorage } = await import(${JSON.stringify(dist('storage/local/local-storage.js'))});
      const pool = new FsPool(2);
      await pool.startWorkers();
      const s = new LocalStorage(${JSON.stringify(root)}, { pool });
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

describe('a file size limit (EFBIG)', () => {
  // ulimit -f counts 512- or 1024-byte blocks depending on the shell: 256 blocks is at most 256 KiB.
  const ulimit = 'ulimit -f 256 && ';

  it('fails the one file TOO_LARGE, not the run, and smaller files still copy', async () => {
    fs.writeFileSync(path.join(root, 'big'), Buffer.alloc(1024 * 1024, 1));
    fs.writeFileSync(path.join(root, 'small'), 'fits');
    // The module from wherever NOBODY can read the build (see nobodyRuntime).
    const cli = isRoot ? nobodyRuntime(REPO_ROOT, CLI_PATH).cli : CLI_PATH;
    const localStorage = pathToFileURL(path.join(path.dirname(cli), '../storage/local/local-storage.js')).href;
    const r = await runScript(
      `
      const { LocalStorage } = await import(${JSON.stringify(localStorage)});
      const s = new LocalStorage(${JSON.stringify(root)});
      const copy = async (from, to) => {
        const { size, mtimeNs } = await s.stat(from);
        return s.write(to, s.read(from), { mtimeNs, expect: { size, mtimeNs } }).then(
          () => ({ ok: true }),
          (e) => ({ code: e.code, fatal: e.fatal, message: e.message }),
        );
      };
      console.log(JSON.stringify({ big: await copy('big', 'big-copy'), small: await copy('small', 'small-copy') }));
    `,
      { ulimit },
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, { ok?: boolean; code?: string; fatal?: boolean; message?: string }>;
    expect(out.big).toMatchObject({ code: 'TOO_LARGE', fatal: false, message: expect.stringContaining('too large') });
    expect(out.small).toEqual({ ok: true });
    expect(fs.readFileSync(path.join(root, 'small-copy'), 'utf8')).toBe('fits');
  });
});

describe('setMode as an ordinary user', () => {
  it("sets the mode of the user's own file that nobody may read or write", async () => {
    fs.writeFileSync(path.join(root, 'locked'), 'x');
    fs.chmodSync(path.join(root, 'locked'), 0o000);
    giveToNobody(root);
    // The module from wherever NOBODY can read the build (see nobodyRuntime).
    const cli = isRoot ? nobodyRuntime(REPO_ROOT, CLI_PATH).cli : CLI_PATH;
    const localStorage = pathToFileURL(path.join(path.dirname(cli), '../storage/local/local-storage.js')).href;
    const r = await runScript(
      `
      const { LocalStorage } = await import(${JSON.stringify(localStorage)});
      const s = new LocalStorage(${JSON.stringify(root)});
      await s.setMode('locked', 0o640);
      console.log((await s.stat('locked')).mode);
    `,
      { unprivileged: true },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(Number(r.stdout)).toBe(0o640);
  });
});
