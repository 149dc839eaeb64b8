/**
 * What rclone may do for a run or a pair: `--bwlimit`, `--transfers` and `--checkers` on sync, and
 * kept in a pair (`pair add|set`), with a real `rclone serve sftp` on 127.0.0.1 and the remote
 * defined by RCLONE_CONFIG_NAS_* only. A pair limited to 2M a second is measured beside a pair
 * without a limit in the same service: rclone's limit holds for a whole rcd, so the two must not
 * share one. Every server is stopped by its pid, and no rcd may outlive the CLI that started it.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertCliBuilt, runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { RCLONE_SKIP, rcdsOf, rcloneEnv, startSftpServer, tearDown, type SftpServer } from '../helpers/rclone.js';
import { makeScratch } from '../helpers/scratch.js';
import { waitFor } from '../helpers/wait-for.js';

const SIX_MIB = 6 * 1024 * 1024;

let root: string;
let served: string;
let servers: SftpServer[];
let service: RunningCli | undefined;
let env: NodeJS.ProcessEnv | undefined;

type Status = { name: string; state: string; bwlimit?: string; transfers?: number; checkers?: number };

const configDir = () => path.join(root, 'config');
const cli = (...args: string[]) => runCli([...args, '--config-dir', configDir()], { env, timeoutMs: 60_000 });
const configText = () => fs.readFileSync(path.join(configDir(), 'config.json'), 'utf8');

async function serve(): Promise<void> {
  const server = await startSftpServer(root, served);
  servers.push(server);
  env = rcloneEnv(root, server.remoteEnv('nas'));
}

function source(name: string, files: Record<string, Buffer | string> = {}): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), content);
  return dir;
}

/** The command line of an rcd, its arguments apart. */
function cmdline(pid: number): string[] {
  return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
}

/** The value an rcd was started with for `flag` (`--bwlimit`), or undefined. */
function flagOf(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

/**
 * The service (`run --json`) with each status line's arrival time kept; `spans(name)` gives how
 * long each of a pair's steps with work spent syncing, from its `syncing` line to the next line
 * that is not (the copies are done by then).
 */
function startService(): { spans(name: string): number[] } {
  const seen: { at: number; status: Status }[] = [];
  const running = startCli(['run', '--json', '--config-dir', configDir()], { env });
  service = running;
  let buffered = '';
  running.child.stdout.on('data', (chunk: Buffer) => {
    const at = performance.now();
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      const parsed = JSON.parse(line) as { event: string } & Status;
      if (parsed.event === 'status') seen.push({ at, status: parsed });
    }
  });
  return {
    spans(name) {
      const out: number[] = [];
      let since: number | undefined;
      for (const { at, status } of seen.filter((s) => s.status.name === name)) {
        if (status.state === 'syncing') since ??= at;
        else if (since !== undefined) {
          out.push(at - since);
          since = undefined;
        }
      }
      return out;
    },
  };
}

/** A pair's lines in `status`'s text: its first line, then its indented ones. */
function statusOf(text: string, name: string): string[] {
  const lines = text.split('\n');
  const first = lines.findIndex((l) => l.startsWith(`${name}: `));
  if (first < 0) return [];
  const rest = lines.slice(first + 1);
  const end = rest.findIndex((l) => !l.startsWith('  '));
  return [lines[first]!, ...rest.slice(0, end < 0 ? rest.length : end)];
}

const servedFile = (rel: string) => fs.statSync(path.join(served, rel), { throwIfNoEntry: false })?.size;

beforeAll(() => {
  if (!RCLONE_SKIP) assertCliBuilt();
});
beforeEach(() => {
  root = makeScratch('synctray-rclone-limits-');
  served = path.join(root, 'served');
  servers = [];
  env = undefined;
});
afterEach(async () => {
  service?.child.kill('SIGINT');
  await service?.done;
  service = undefined;
  await tearDown(servers, env, root);
});

describe.skipIf(RCLONE_SKIP)('limits on what rclone does', () => {
  it('pair add and pair set take them for a remote pair only, refuse bad ones and write nothing then', async () => {
    await serve();
    const docs = source('docs', { 'a.txt': 'a' });
    const here = await cli('pair', 'add', docs, path.join(root, 'copy'), '--name', 'here');
    expect(here.code, here.stderr).toBe(0);
    const before = configText();

    const refused: [string, string[], RegExp][] = [
      [path.join(root, 'other'), ['--bwlimit', '2M'], /--bwlimit limits what rclone does: the destination .* is not/],
      ['rclone:nas:docs', ['--bwlimit', 'fast'], /--bwlimit takes a rate as rclone writes one, e\.g\. 512K or 10M/],
      ['rclone:nas:docs', ['--transfers', '0'], /--transfers takes a whole number from 1 to 64 \(got "0"\)/],
      ['rclone:nas:docs', ['--checkers', '65'], /--checkers takes a whole number from 1 to 64 \(got "65"\)/],
      ['rclone:nas:docs', ['--transfers', '2.5'], /--transfers takes a whole number/],
    ];
    for (const [where, options, message] of refused) {
      const r = await cli('pair', 'add', docs, where, ...options);
      expect([r.code, r.stderr], options.join(' ')).toEqual([2, expect.stringMatching(message)]);
      expect(configText()).toBe(before);
    }
    expect(fs.existsSync(path.join(served, 'docs'))).toBe(false);

    const added = await cli(
      'pair',
      'add',
      docs,
      'rclone:nas:docs',
      '--name',
      'nas',
      '--bwlimit',
      '2M',
      '--transfers',
      '8',
    );
    expect(added.code, added.stderr).toBe(0);
    const list = async () =>
      (JSON.parse((await cli('pair', 'list', '--json')).stdout) as Status[]).find((p) => p.name === 'nas')!;
    expect(await list()).toMatchObject({ bwlimit: '2M', transfers: 8 });
    expect(await list()).not.toHaveProperty('checkers');

    const unchanged = configText();
    for (const [args, message] of [
      [['nas', '--bwlimit', 'soon'], /--bwlimit takes a rate/],
      [['nas', '--bwlimit', '1M', '--no-bwlimit'], /pair set takes --bwlimit or --no-bwlimit, not both/],
      [['nas', '--checkers', 'lots'], /--checkers takes a whole number/],
      [['here', '--bwlimit', '1M'], /--bwlimit limits what rclone does: pair "here" backs up to .*copy, not to an/],
    ] as [string[], RegExp][]) {
      const r = await cli('pair', 'set', ...args);
      expect([r.code, r.stderr], args.join(' ')).toEqual([2, expect.stringMatching(message)]);
      expect(configText()).toBe(unchanged);
    }

    const set = await cli('pair', 'set', 'nas', '--no-bwlimit', '--checkers', '16');
    expect([set.code, set.stdout]).toEqual([0, expect.stringContaining('no bandwidth limit; 16 checkers')]);
    expect(await list()).toMatchObject({ transfers: 8, checkers: 16 });
    expect(await list()).not.toHaveProperty('bwlimit');
    const off = await cli('pair', 'set', 'nas', '--bwlimit', '512K', '--no-transfers');
    expect(off.code, off.stderr).toBe(0);
    expect(await list()).toMatchObject({ bwlimit: '512K', checkers: 16 });
    expect(await list()).not.toHaveProperty('transfers');

    // status, with nothing running: the text and the JSON say the limits.
    const text = await cli('status');
    expect(statusOf(text.stdout, 'nas')).toContain('  limits: at most 512K a second, 16 checkers');
    expect(statusOf(text.stdout, 'here').join('\n')).not.toContain('limits');
    const json = JSON.parse((await cli('status', '--json')).stdout) as { pairs: Status[] };
    expect(json.pairs.find((p) => p.name === 'nas')).toMatchObject({ bwlimit: '512K', checkers: 16 });
  });

  it(
    'holds a pair with --bwlimit 2M to it while a pair without a limit in the same service is not held back, ' +
      'and a limit set while it runs holds from then on',
    async () => {
      await serve();
      const limited = source('limited', { 'big.bin': randomBytes(SIX_MIB) });
      const free = source('free', { 'big.bin': randomBytes(SIX_MIB) });
      for (const [src, name, more] of [
        [limited, 'limited', ['--bwlimit', '2M']],
        [free, 'free', []],
      ] as const) {
        const added = await cli('pair', 'add', src, `rclone:nas:${name}`, '--name', name, ...more);
        expect(added.code, added.stderr).toBe(0);
      }
      const run = startService();
      const idle = async () => {
        const now = await cli('status', '--json');
        const pairs = now.stdout ? (JSON.parse(now.stdout) as { pairs: Status[] }).pairs : [];
        return pairs.length === 2 && pairs.every((p) => p.state === 'idle');
      };
      await waitFor(idle, 'both first syncs done', { timeoutMs: 60_000, intervalMs: 100 });
      expect([servedFile('limited/big.bin'), servedFile('free/big.bin')]).toEqual([SIX_MIB, SIX_MIB]);

      // Two rcds: the limited pair's, started with the limit, and the shared one, without.
      const rcds = rcdsOf(env!).map(cmdline);
      expect(rcds.map((args) => flagOf(args, '--bwlimit') ?? 'none').sort()).toEqual(['2M', 'none']);
      const [limitedMs] = run.spans('limited');
      const [freeMs] = run.spans('free');
      console.log(`6 MiB each, at once: limited to 2M ${Math.round(limitedMs!)} ms, free ${Math.round(freeMs!)} ms`);
      // 6 MiB at 2 MiB a second: 3 s, less rclone's first burst (up to a second's worth).
      expect(limitedMs).toBeGreaterThan(1900);
      // Shared with the limited pair, the free one would take as long (4 MiB a second for both: 3 s).
      expect(freeMs).toBeLessThan(limitedMs! / 2);

      // Limited while it runs: the pair starts again on an rcd with the limit.
      const set = await cli('pair', 'set', 'free', '--bwlimit', '2M');
      expect(set.code, set.stderr).toBe(0);
      const status = JSON.parse((await cli('status', '--json')).stdout) as { pairs: Status[] };
      expect(status.pairs.find((p) => p.name === 'free')).toMatchObject({ bwlimit: '2M' });
      expect(statusOf((await cli('status')).stdout, 'free')).toContain('  limits: at most 2M a second');
      await waitFor(idle, 'the free pair compared again', { timeoutMs: 60_000, intervalMs: 100 });
      fs.writeFileSync(path.join(free, 'next.bin'), randomBytes(SIX_MIB));
      await waitFor(() => servedFile('free/next.bin') === SIX_MIB, 'the next file backed up', {
        timeoutMs: 60_000,
        intervalMs: 50,
      });
      await waitFor(idle, 'the step done', { timeoutMs: 30_000, intervalMs: 100 });
      const nextMs = run.spans('free').at(-1)!;
      console.log(`6 MiB after pair set --bwlimit 2M: ${Math.round(nextMs)} ms`);
      expect(nextMs).toBeGreaterThan(1900);
      // Both pairs at 2M share one rcd now; the one without a limit is stopped, its last pair gone.
      await waitFor(() => rcdsOf(env!).length === 1, 'one rcd left', { timeoutMs: 15_000, intervalMs: 50 });
      expect(flagOf(cmdline(rcdsOf(env!)[0]!), '--bwlimit')).toBe('2M');

      // Taken away while it runs (null on its way to the service): the pair shows no limit again.
      const dropped = await cli('pair', 'set', 'free', '--no-bwlimit');
      expect(dropped.code, dropped.stderr).toBe(0);
      const after = JSON.parse((await cli('status', '--json')).stdout) as { pairs: Status[] };
      expect(after.pairs.find((p) => p.name === 'free')).not.toHaveProperty('bwlimit');
      expect(after.pairs.find((p) => p.name === 'limited')).toMatchObject({ bwlimit: '2M' });
    },
  );

  it('sync takes --transfers and --checkers, checked, and starts rcd with them', async () => {
    await serve();
    const docs = source('docs', { 'big.bin': randomBytes(4 * 1024 * 1024) });
    const sync = (...args: string[]) => runCli(['sync', docs, 'rclone:nas:backup', ...args], { env });
    for (const [args, message] of [
      [['--transfers', '0'], /--transfers takes a whole number from 1 to 64 \(got "0"\)/],
      [['--transfers', '100'], /--transfers takes a whole number from 1 to 64 \(got "100"\)/],
      [['--checkers', 'many'], /--checkers takes a whole number from 1 to 64 \(got "many"\)/],
    ] as [string[], RegExp][]) {
      const r = await sync(...args);
      expect([r.code, r.stderr], args.join(' ')).toEqual([2, expect.stringMatching(message)]);
    }
    const local = await runCli(['sync', docs, path.join(root, 'copy'), '--transfers', '8'], { env });
    expect([local.code, local.stderr]).toEqual([2, expect.stringMatching(/--transfers limits what rclone does/)]);
    expect(fs.existsSync(path.join(root, 'copy'))).toBe(false);
    expect(fs.existsSync(path.join(served, 'backup'))).toBe(false);

    // Held to 1M a second, the run lasts long enough to read its rcd's command line.
    const running = startCli(
      ['sync', docs, 'rclone:nas:backup', '--transfers', '7', '--checkers', '9', '--bwlimit', '1M'],
      {
        env,
      },
    );
    service = running;
    await waitFor(() => rcdsOf(env!).length === 1, 'the run’s rcd', { timeoutMs: 20_000, intervalMs: 20 });
    const args = cmdline(rcdsOf(env!)[0]!);
    expect([flagOf(args, '--transfers'), flagOf(args, '--checkers'), flagOf(args, '--bwlimit')]).toEqual([
      '7',
      '9',
      '1M',
    ]);
    const done = await running.done;
    expect(done.code, done.stderr).toBe(0);
    expect(servedFile('backup/big.bin')).toBe(4 * 1024 * 1024);
  });
});
