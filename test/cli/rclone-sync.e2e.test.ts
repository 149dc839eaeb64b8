/**
 * `synctray sync` to a NAS through rclone, as a user runs it: `rclone serve sftp` (and webdav) on 127.0.0.1
 * over a scratch folder, the remote `nas` defined by RCLONE_CONFIG_NAS_* variables only, and the
 * served folder compared with the source directly (rsync). Every server is stopped by its pid, and
 * no rcd the CLI started may outlive it.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertCliBuilt, runCli, startCli, type CliResult } from '../helpers/cli.js';
import { rsyncDiff, rsyncSkipReason } from '../helpers/oracle.js';
import { type Protocol, RCLONE_SKIP, rcloneEnv, startServer, tearDown, type SftpServer } from '../helpers/rclone.js';
import { makeScratch } from '../helpers/scratch.js';
import { waitFor } from '../helpers/wait-for.js';
import { onWindows } from '../helpers/requirements.js';

const SKIP = RCLONE_SKIP ?? rsyncSkipReason();
const TEMP = /^\.~synctray-[0-9a-f]{16}\.part$/;

// Names a shell, a URL or rclone's own name encoding could mangle.
const HOSTILE = [
  `it's "quoted"`,
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a name a shell would expand, kept as it is
  '$(whoami) `id` ${HOME}',
  'line\nbreak\tand\rreturn',
  'caf\u00e9 NFC',
  'cafe\u0301 NFD',
  '? < > & * | ; \\ : # % [ab] {a,b}',
  '-leading dash',
  'the picture \u240a of a newline',
];

let root: string;
let src: string;
let servers: SftpServer[];
let env: NodeJS.ProcessEnv;
let running: ChildProcess | undefined;

async function serve(options: { port?: number; flags?: string[] } = {}, protocol: Protocol = 'sftp') {
  const server: SftpServer = await startServer(protocol, root, path.join(root, 'served'), options);
  servers.push(server);
  env = rcloneEnv(root, server.remoteEnv('nas'));
  return server;
}

function sync(...args: string[]): Promise<CliResult> {
  return runCli(['sync', src, 'rclone:nas:backup', '--json', ...args], { env, timeoutMs: 120_000 });
}

function put(rel: string, content: string | Buffer): void {
  const file = path.join(src, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

/** rsync's differences between the source and the served copy, less folders' times (rclone sets none). */
/**
 * rsync's differences between the source and the served copy, less folders' times (rclone sets
 * none) and, with `timesKept` false (WebDAV), files' times.
 */
function differences(timesKept = true): string[] {
  const timeOnly = timesKept ? /^\.d\.\.t\.* / : /^\.[df]\.\.t\.* /;
  return rsyncDiff(src, path.join(root, 'served', 'backup'), { drive: true }).filter((line) => !timeOnly.test(line));
}

function servedFiles(): string[] {
  const base = path.join(root, 'served', 'backup');
  if (!fs.existsSync(base)) return [];
  return (fs.readdirSync(base, { recursive: true }) as string[]).filter(
    (p) => fs.statSync(path.join(base, p), { throwIfNoEntry: false })?.isFile() === true,
  );
}

beforeAll(() => {
  if (!SKIP) assertCliBuilt();
});

beforeEach(() => {
  root = makeScratch('synctray-rclone-sync-');
  src = path.join(root, 'src');
  servers = [];
  fs.mkdirSync(src);
});

afterEach(async () => {
  // A CLI a failed test left running is stopped first (it stops its rcd on SIGTERM).
  if (running && running.exitCode === null && running.signalCode === null) {
    const exited = new Promise((resolve) => running!.once('close', resolve));
    running.kill('SIGTERM');
    await exited;
  }
  running = undefined;
  await tearDown(servers, env, root);
});

describe('rclone locations on the command line', () => {
  it('refuses nas:backup (exit 2) and makes no folder of that name', async () => {
    put('a.txt', 'a');
    const r = await runCli(['sync', src, 'nas:backup'], { cwd: root });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('`nas:backup`');
    expect(r.stderr).toContain('rclone:nas:backup');
    expect(fs.existsSync(path.join(root, 'nas:backup'))).toBe(false);
    expect(fs.readdirSync(root).sort()).toEqual(['src']);
  });

  it('refuses rclone:nas without a path (exit 2), saying how to write one', async () => {
    const r = await runCli(['sync', src, 'rclone:nas'], { cwd: root });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('rclone:nas:backup');
  });

  it('refuses a remote as the source of watch and of a pair (exit 2), and writes no config', async () => {
    const config = path.join(root, 'config');
    for (const args of [
      ['watch', 'rclone:nas:docs', src],
      ['pair', 'add', 'rclone:nas:docs', src, '--config-dir', config],
    ]) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('`rclone:nas:docs` is a remote');
    }
    const written = fs.existsSync(config) ? (fs.readdirSync(config, { recursive: true }) as string[]) : [];
    for (const f of written) {
      const file = path.join(config, f);
      if (fs.statSync(file).isFile()) expect(fs.readFileSync(file, 'utf8')).not.toContain('rclone:nas');
    }
  });

  it('says how to install rclone when it cannot be found, and refuses one too old', async ({ skip }) => {
    skip(onWindows, 'needs a shell script standing in for an old rclone, which Windows does not have');
    put('a.txt', 'a');
    const missing = await runCli(['sync', src, 'rclone:nas:backup'], {
      env: { SYNCTRAY_RCLONE: path.join(root, 'no-rclone') },
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('apt install rclone');
    expect(missing.stderr).toContain('winget install Rclone.Rclone');
    const old = path.join(root, 'old-rclone');
    fs.writeFileSync(old, '#!/bin/sh\necho "rclone v1.53.3"\n', { mode: 0o755 });
    const tooOld = await runCli(['sync', src, 'rclone:nas:backup'], { env: { SYNCTRAY_RCLONE: old } });
    expect(tooOld.code).toBe(1);
    expect(tooOld.stderr).toMatch(/v1\.53\.3.*1\.57 or newer/);
    expect(tooOld.stderr).not.toMatch(/\n\s+at /);
  });
});

describe.skipIf(SKIP)('sync to rclone serve (sftp, webdav)', () => {
  it.for(['sftp', 'webdav'] as Protocol[])(
    'over %s: copies hostile names and 50 MB whole, then only what changed, a moved folder and deletions',
    async (protocol) => {
      await serve({}, protocol);
      const timesKept = protocol === 'sftp';
      for (const [i, name] of HOSTILE.entries()) {
        put(name, `file ${i}`);
        put(`dir ${i} ${name}/inner ${name}`, `inner ${i}`);
      }
      for (let i = 0; i < 20; i++) put(`many/f${i}.txt`, `small ${i}`);
      put('big/fifty.bin', randomBytes(50 * 1024 * 1024));

      const first = await sync();
      expect(first.code, first.stderr).toBe(0);
      expect(differences(timesKept)).toEqual([]);
      expect(servedFiles().filter((f) => TEMP.test(path.basename(f)))).toEqual([]);

      const again = await sync();
      expect(again.code, again.stderr).toBe(0);
      expect(again.json).toMatchObject({ copied: 0, updated: 0, deleted: 0 });

      put(HOSTILE[0]!, 'changed, and longer than before');
      fs.rmSync(path.join(src, HOSTILE[2]!));
      fs.renameSync(path.join(src, 'dir 3 caf\u00e9 NFC'), path.join(src, 'many', 'moved here'));
      const changed = await sync();
      expect(changed.code, changed.stderr).toBe(0);
      expect(changed.json).toMatchObject({ updated: 1 });
      expect(differences(timesKept)).toEqual([]);

      // More than half of the files gone: the mass-deletion guard refuses and nothing goes.
      const before = servedFiles().sort();
      fs.rmSync(path.join(src, 'many'), { recursive: true });
      fs.rmSync(path.join(src, 'big'), { recursive: true });
      for (let i = 4; i < HOSTILE.length; i++) fs.rmSync(path.join(src, `dir ${i} ${HOSTILE[i]}`), { recursive: true });
      const guarded = await sync();
      expect(guarded.code, guarded.stderr).toBe(2);
      expect(servedFiles().sort()).toEqual(before);
    },
  );

  it('limits the transfer rate with --bwlimit, and refuses a rate rclone would not take', async () => {
    await serve();
    put('twelve.bin', randomBytes(12 * 1024 * 1024));
    const bad = await sync('--bwlimit', 'fast');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--bwlimit');
    const local = await runCli(['sync', src, path.join(root, 'copy'), '--bwlimit', '1M']);
    expect(local.code).toBe(2);
    expect(fs.existsSync(path.join(root, 'copy'))).toBe(false);
    const started = performance.now();
    const limited = await sync('--bwlimit', '4M');
    expect(limited.code, limited.stderr).toBe(0);
    // 12 MiB at 4 MiB a second cannot take less than 3 s; 2 s leaves room for rclone's first burst.
    expect(performance.now() - started).toBeGreaterThan(2000);
    expect(differences()).toEqual([]);
  });

  it('watch to a remote takes a burst of saves in few steps (at most one every 2 s)', async () => {
    await serve();
    put('first.txt', 'first');
    const watch = startCli(['watch', src, 'rclone:nas:backup', '--json'], { env });
    running = watch.child;
    let out = '';
    watch.child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const events = () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { event: string; copied?: number });
    await waitFor(() => events().some((e) => e.event === 'ready'), 'the first sync', {
      timeoutMs: 30_000,
      intervalMs: 20,
    });
    for (let i = 0; i < 10; i++) {
      put(`save ${i}.txt`, `save ${i}`);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    await waitFor(() => servedFiles().length === 11, 'every save backed up', { timeoutMs: 30_000, intervalMs: 50 });
    const batches = events().filter((e) => e.event === 'batch' && (e.copied ?? 0) > 0);
    // 1.5 s of saves: the one at the start, then one at most per 2 s.
    expect(batches.length).toBeLessThanOrEqual(2);
    watch.child.kill('SIGTERM');
    expect((await watch.done).code).toBe(0);
    expect(differences()).toEqual([]);
  });

  it('server killed mid-sync: no partial file under a final name, nothing deleted, the next run heals', async () => {
    // Slowed down so that the server can be killed while the big file is on its way.
    const server = await serve({ flags: ['--bwlimit', '8M'] });
    put('big.bin', randomBytes(40 * 1024 * 1024));
    for (let i = 0; i < 5; i++) put(`small ${i}.txt`, `small ${i}`);
    fs.mkdirSync(path.join(server.served, 'backup'), { recursive: true });
    fs.writeFileSync(path.join(server.served, 'backup', 'only there.txt'), 'a mirror would delete this');

    const run = startCli(['sync', src, 'rclone:nas:backup'], { env });
    running = run.child;
    const base = path.join(server.served, 'backup');
    const uploading = () =>
      servedFiles().some(
        (f) =>
          TEMP.test(path.basename(f)) && (fs.statSync(path.join(base, f), { throwIfNoEntry: false })?.size ?? 0) > 8e6,
      );
    await waitFor(uploading, 'the big copy well under way', {
      timeoutMs: 30_000,
      intervalMs: 20,
    });
    await server.kill();
    const r = await run.done;
    expect(r.code, r.stderr).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines.filter((l) => /cannot reach nas/.test(l)).length, r.stderr).toBeGreaterThanOrEqual(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(fs.readFileSync(path.join(server.served, 'backup', 'only there.txt'), 'utf8')).toBe(
      'a mirror would delete this',
    );
    for (const f of servedFiles()) {
      if (TEMP.test(path.basename(f)) || f === 'only there.txt') continue;
      expect(fs.readFileSync(path.join(server.served, 'backup', f)).equals(fs.readFileSync(path.join(src, f))), f).toBe(
        true,
      );
    }

    await serve({ port: server.port });
    const next = await sync();
    expect(next.code, next.stderr).toBe(0);
    expect(differences()).toEqual([]);
  }, 180_000);

  it('server killed while new folders are gathered: none appears part-made, the next run clears up', async () => {
    const server = await serve({ flags: ['--bwlimit', '4M'] });
    // New folders of small files go to the server together, under a temp name, then into place.
    for (let d = 0; d < 4; d++) for (let i = 0; i < 10; i++) put(`album ${d}/photo ${i}.jpg`, randomBytes(256 * 1024));
    const run = startCli(['sync', src, 'rclone:nas:backup'], { env });
    running = run.child;
    const base = path.join(server.served, 'backup');
    const staged = () => servedFiles().filter((f) => f.split(path.sep).some((part) => TEMP.test(part)));
    await waitFor(() => staged().length >= 3, 'photos on their way', { timeoutMs: 30_000, intervalMs: 20 });
    await server.kill();
    const r = await run.done;
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/cannot reach nas/);
    // What is under a final name is whole: a folder is there with all its photos, or not at all.
    for (let d = 0; d < 4; d++) {
      const album = path.join(base, `album ${d}`);
      if (!fs.existsSync(album)) continue;
      expect(fs.readdirSync(album).sort(), `album ${d}`).toEqual(fs.readdirSync(path.join(src, `album ${d}`)).sort());
    }
    for (const f of servedFiles()) {
      if (f.split(path.sep).some((part) => TEMP.test(part))) continue;
      expect(fs.readFileSync(path.join(base, f)).equals(fs.readFileSync(path.join(src, f))), f).toBe(true);
    }

    await serve({ port: server.port });
    const next = await sync();
    expect(next.code, next.stderr).toBe(0);
    // rsync --delete would name a temp folder left behind.
    expect(differences()).toEqual([]);
  }, 180_000);
});
