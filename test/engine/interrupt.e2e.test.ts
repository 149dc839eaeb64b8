/**
 * A mirror killed part way must never leave a partial file under a real name: every destination
 * file is either still the old version or already the complete new one. The next run then
 * finishes the job and removes the temp files the killed one left. An interrupt (Ctrl-C) stops a
 * run cleanly: exit 130 and no temp files left behind.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, describeRun, indent, runSync, startCli, summaryOf, type CliResult } from '../helpers/cli.js';
import { rsyncDiff, rsyncSkipReason } from '../helpers/oracle.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { AllowedVersions } from '../helpers/allowed-versions.js';
import { COPY_TEMP_NAME, findTempFiles, listTree } from '../helpers/tree-inspect.js';
import { seededBytes } from '../helpers/tree-spec.js';
import { waitFor } from '../helpers/wait-for.js';

const skipReason = rsyncSkipReason();
const MiB = 1 << 20;

let root: string;
let src: string;
let template: string;
/** Destination path -> the versions it may legitimately hold. */
const allowed = new AllowedVersions();
const allow = (rel: string, bytes: Uint8Array, what: 'new' | 'old') => allowed.allow(rel, bytes, what);

function put(base: string, rel: string, bytes: Uint8Array, mtimeSec?: number): void {
  const abs = path.join(base, rel);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  fs.writeFileSync(abs, bytes);
  if (mtimeSec !== undefined) fs.utimesSync(abs, mtimeSec, mtimeSec);
}

/**
 * The source: 8 large random files (32–64 MiB, no two alike in size) and 300 small ones in
 * folders. The template destination holds old versions of half the large files (same size but
 * other bytes, or another size), of some small files, and a few files the source lacks.
 */
function buildFixtures(): void {
  root = makeScratch('synctray-interrupt-', { disk: true });
  src = path.join(root, 'src');
  template = path.join(root, 'old-destination');
  fs.mkdirSync(src);
  fs.mkdirSync(template);
  const OLD = 1_600_000_000; // 2020: older than anything the source has

  for (let i = 0; i < 8; i++) {
    const rel = `large-${i}.bin`;
    const bytes = crypto.randomBytes((32 + 4 * i) * MiB + i * 7919);
    put(src, rel, bytes);
    allow(rel, bytes, 'new');
    let old: Buffer | undefined;
    if (i === 1) old = crypto.randomBytes(20 * MiB); // smaller
    if (i === 3) old = crypto.randomBytes(bytes.length); // same size, other bytes
    if (i === 5) old = Buffer.concat([crypto.randomBytes(MiB), bytes.subarray(MiB)]); // same size, other first MiB
    if (i === 6) old = crypto.randomBytes(70 * MiB); // larger
    if (old) {
      put(template, rel, old, OLD);
      allow(rel, old, 'old');
    }
  }
  for (let i = 0; i < 300; i++) {
    const rel = `${['docs', 'photos', 'music', 'code/src', 'code/test', 'new-folder/deep'][i % 6]}/small-${i}.dat`;
    const bytes = seededBytes((i * 131) % 9000, i);
    put(src, rel, bytes);
    allow(rel, bytes, 'new');
    if (i % 7 === 0 && !rel.startsWith('new-folder/')) {
      const old = seededBytes((i * 37) % 5000, i + 100_000);
      put(template, rel, old, OLD);
      allow(rel, old, 'old');
    }
  }
  for (const rel of ['extra.txt', 'docs/extra.txt', 'code/extra.txt']) {
    const old = Buffer.from(`only in the destination: ${rel}\n`);
    put(template, rel, old, OLD);
    allow(rel, old, 'old');
  }
}

/** Lists every destination file whose content is neither its source version nor its old one. */
function unexpectedFiles(dst: string): string[] {
  return allowed.unexpected(dst);
}

/**
 * Notices every temp file the run creates in the destination: inotify watches on each folder
 * (short-lived temps of small files are gone before any poll could see them) plus polling for
 * folders the run creates itself.
 */
class TempSpotter {
  readonly seen = new Set<string>();
  private readonly watchers: fs.FSWatcher[] = [];
  private closed = 0;

  constructor(private readonly dst: string) {
    for (const item of listTree(dst)) if (item.type === 'dir') this.watch(item.rel, item.abs);
  }

  private watch(rel: string, abs: string): void {
    const watcher = fs.watch(abs, { encoding: 'utf8' }, (_event, name) => {
      if (name && COPY_TEMP_NAME.test(name)) this.seen.add(rel === '' ? name : `${rel}/${name}`);
    });
    watcher.on('error', () => {});
    watcher.on('close', () => this.closed++);
    this.watchers.push(watcher);
  }

  /** How many distinct temp files have appeared so far. */
  count(): number {
    for (const rel of findTempFiles(this.dst)) this.seen.add(rel);
    return this.seen.size;
  }

  private closing?: Promise<void>;

  /** Closes every watcher; resolves once each has said it is closed. */
  close(): Promise<void> {
    this.closing ??= Promise.all(
      this.watchers.map(
        (w) =>
          new Promise<void>((resolve) => {
            w.once('close', () => resolve());
            w.close();
          }),
      ),
    ).then(() => undefined);
    return this.closing;
  }

  get allClosed(): boolean {
    return this.closed === this.watchers.length;
  }
}

interface Trial {
  dst: string;
  spotter?: TempSpotter;
  runs: ReturnType<typeof startCli>[];
}
let trial: Trial | undefined;

/** A fresh destination holding the old versions, as a copy of the template. */
function freshDestination(name: string): string {
  const dst = path.join(root, name);
  fs.cpSync(template, dst, { recursive: true, preserveTimestamps: true });
  trial = { dst, runs: [] };
  return dst;
}

/** Whether some destination file already has its source's size and mtime: placed by the run. */
function somePlaced(dst: string): boolean {
  return fs.readdirSync(src, { recursive: true, encoding: 'utf8' }).some((rel) => {
    const s = fs.lstatSync(path.join(src, rel), { bigint: true });
    const d = fs.lstatSync(path.join(dst, rel), { bigint: true, throwIfNoEntry: false });
    return s.isFile() && d?.isFile() && d.size === s.size && d.mtimeNs / 1000n === s.mtimeNs / 1000n;
  });
}

/**
 * Starts a mirror into `dst`, waits until the `n`-th temp file has appeared there (and, with
 * `placed`, some copy is in place: copies are placed a batch at a time) and sends `signal`;
 * resolves with the finished run.
 */
async function interruptAfterTemps(
  dst: string,
  n: number,
  signal: NodeJS.Signals,
  placed = false,
): Promise<{ run: CliResult; seen: number }> {
  const spotter = new TempSpotter(dst);
  trial!.spotter = spotter;
  const running = startCli(['sync', src, dst, '--mode', 'mirror']);
  trial!.runs.push(running);
  let exited = false;
  void running.done.then(() => (exited = true));
  try {
    await waitFor(
      () => exited || (spotter.count() >= n && (!placed || somePlaced(dst))),
      `temp file #${n}${placed ? ' and a copy in place' : ''} in ${dst}`,
      { timeoutMs: 20_000 },
    );
    const seen = spotter.count();
    if (exited) {
      const run = await running.done;
      throw new Error(
        `the mirror ended before temp file #${n} appeared (saw ${seen}): nothing was interrupted.\n${describeRun(run)}`,
      );
    }
    running.child.kill(signal);
    return { run: await running.done, seen };
  } finally {
    await spotter.close();
  }
}

/**
 * Destination files already equal to their source (same size, mtime to the microsecond and
 * bytes), by inode: the run that resumes must leave every one of them alone.
 */
function finishedFiles(dst: string): Map<string, bigint> {
  const done = new Map<string, bigint>();
  for (const rel of fs.readdirSync(dst, { recursive: true, encoding: 'utf8' })) {
    const d = fs.lstatSync(path.join(dst, rel), { bigint: true });
    const sPath = path.join(src, rel);
    if (!d.isFile() || !fs.existsSync(sPath)) continue;
    const s = fs.lstatSync(sPath, { bigint: true });
    if (
      s.size === d.size &&
      s.mtimeNs / 1000n === d.mtimeNs / 1000n &&
      fs.readFileSync(sPath).equals(fs.readFileSync(path.join(dst, rel)))
    ) {
      done.set(rel, d.ino);
    }
  }
  return done;
}

/** Runs the mirror to the end and checks it leaves an exact replica with no temp files. */
async function expectCompletedMirror(dst: string, step: string, someFinished: boolean): Promise<void> {
  const finished = finishedFiles(dst);
  const rerun = await runSync(src, dst, '--mode', 'mirror');
  const recopied = [...finished]
    .filter(([rel, ino]) => fs.lstatSync(path.join(dst, rel), { bigint: true }).ino !== ino)
    .map(([rel]) => rel);
  expect(recopied, `${step}: files finished before it were copied again`).toEqual([]);
  if (someFinished) expect(finished.size, `${step}: some files were finished before it`).toBeGreaterThan(0);
  expect(rerun.code, `${step}\n${describeRun(rerun)}`).toBe(0);
  expect(summaryOf(rerun).failed, describeRun(rerun)).toBe(0);
  expect(rsyncDiff(src, dst), `${step}: rsync -anic --delete lines`).toEqual([]);
  expect(findTempFiles(dst), `${step}: temp files left`).toEqual([]);
}

describe.skipIf(skipReason !== undefined)('interrupting a mirror of large files', () => {
  beforeAll(() => {
    assertCliBuilt();
    buildFixtures();
  }, 60_000);

  afterEach(async () => {
    if (!trial) return;
    const { dst, spotter, runs } = trial;
    trial = undefined;
    try {
      for (const r of runs) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
      await Promise.all(runs.map((r) => r.done));
      await spotter?.close();
      expect(spotter?.allClosed ?? true, 'every folder watcher closed').toBe(true);
      expect(
        runs.every((r) => r.child.exitCode !== null || r.child.signalCode !== null),
        'every sync process ended',
      ).toBe(true);
    } finally {
      removeScratch(dst);
    }
  });

  afterAll(() => {
    if (root) removeScratch(root);
  });

  it.each([1, 2, 4, 9, 60])(
    'SIGKILL after temp file #%i: no destination file is ever partial, and the next run completes',
    async (n) => {
      const dst = freshDestination(`dst-kill-${n}`);
      const { run, seen } = await interruptAfterTemps(dst, n, 'SIGKILL', n >= 9);
      expect(run.signal, describeRun(run)).toBe('SIGKILL');

      const problems = unexpectedFiles(dst);
      expect(
        problems,
        `after SIGKILL (${seen} temp files seen; left behind: ${findTempFiles(dst).length}):\n` +
          `${indent(problems.join('\n'))}`,
      ).toEqual([]);

      await expectCompletedMirror(dst, `the run after SIGKILL at temp file #${n}`, n >= 9);
    },
    30_000,
  );

  it('SIGINT stops the run with exit 130, removing its temp files before it exits', async () => {
    const dst = freshDestination('dst-sigint');
    const { run, seen } = await interruptAfterTemps(dst, 3, 'SIGINT');
    expect(run.signal, describeRun(run)).toBe(null);
    expect(run.code, describeRun(run)).toBe(130);
    expect(findTempFiles(dst), `temp files left by the interrupted run (${seen} seen)`).toEqual([]);
    expect(unexpectedFiles(dst)).toEqual([]);

    await expectCompletedMirror(dst, 'the run after SIGINT', false);
  }, 30_000);
});
