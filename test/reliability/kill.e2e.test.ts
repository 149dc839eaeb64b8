/**
 * kill -9 at random moments of a sync, many times over: never a torn file under a final name (each
 * destination file is its old version or its new one), and the next run converges and leaves no
 * temp files. The moments are drawn from a seeded generator (the seed is printed, and taken from
 * SYNCTRAY_KILL_SEED when set) over the length of an uninterrupted run measured first.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AllowedVersions } from '../helpers/allowed-versions.js';
import { assertCliBuilt, describeRun, runSync, startCli, summaryOf } from '../helpers/cli.js';
import { rsyncDiff, rsyncSkipReason } from '../helpers/oracle.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { seededRandom } from '../helpers/seeded.js';
import { findTempFiles } from '../helpers/tree-inspect.js';
import { seededBytes } from '../helpers/tree-spec.js';

const skipReason = rsyncSkipReason();
const MiB = 1 << 20;
const OLD = 1_600_000_000;
const MIRROR_TRIALS = 50;
const UPDATE_TRIALS = 20;

let root: string;
let src: string;

function put(base: string, rel: string, bytes: Uint8Array, mtimeSec?: number): void {
  const abs = path.join(base, rel);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  fs.writeFileSync(abs, bytes);
  if (mtimeSec !== undefined) fs.utimesSync(abs, mtimeSec, mtimeSec);
}

/** The source: 6 large files (6–16 MiB) and 400 small ones in folders. */
function buildSource(): { name: string; bytes: Buffer }[] {
  const files: { name: string; bytes: Buffer }[] = [];
  for (let i = 0; i < 6; i++)
    files.push({ name: `video-${i}.mp4`, bytes: crypto.randomBytes((6 + 2 * i) * MiB + i * 4099) });
  for (let i = 0; i < 400; i++) {
    files.push({
      name: `${['docs', 'photos/2024', 'music/album', 'code/src'][i % 4]}/file-${i}.dat`,
      bytes: Buffer.from(seededBytes((i * 211) % 12_000, i)),
    });
  }
  for (const f of files) put(src, f.name, f.bytes);
  return files;
}

/**
 * A destination to start from, and what each of its files may hold after a killed run. For a
 * mirror: old versions of some files and files the source lacks. For an update: an older version
 * of every file, so that every copy overwrites.
 */
function template(
  files: { name: string; bytes: Buffer }[],
  mode: 'mirror' | 'update',
): { dir: string; allowed: AllowedVersions } {
  const dir = path.join(root, `template-${mode}`);
  const allowed = new AllowedVersions();
  files.forEach((f, i) => {
    allowed.allow(f.name, f.bytes, 'new');
    if (mode === 'update' || i % 3 === 0) {
      const old =
        i < 6
          ? crypto.randomBytes(f.bytes.length - (i % 2) * 1000)
          : Buffer.from(seededBytes((i * 37) % 7000, i + 100_000));
      put(dir, f.name, old, OLD);
      allowed.allow(f.name, old, 'old');
    }
  });
  if (mode === 'mirror') {
    for (const rel of ['extra.txt', 'docs/extra.txt', 'gone/deep/extra.txt']) {
      const old = Buffer.from(`only in the destination: ${rel}\n`);
      put(dir, rel, old, OLD);
      allowed.allow(rel, old, 'old');
    }
  }
  return { dir, allowed };
}

/** Each source file whole in `dst` (an update never deletes, so extras are not judged here). */
function sourceFilesIn(dst: string, files: { name: string; bytes: Buffer }[]): string[] {
  return files
    .filter((f) => !fs.existsSync(path.join(dst, f.name)) || !fs.readFileSync(path.join(dst, f.name)).equals(f.bytes))
    .map((f) => f.name);
}

interface Outcome {
  killed: number;
  finished: number;
}

/**
 * `trials` runs of `synctray sync --mode MODE`, each from a fresh copy of the template, killed -9
 * at a random moment within the measured length of a whole run; checks every invariant after each.
 */
async function killTrials(mode: 'mirror' | 'update', trials: number, seed: number): Promise<Outcome> {
  const files = fs
    .readdirSync(src, { recursive: true, encoding: 'utf8' })
    .filter((rel) => fs.statSync(path.join(src, rel)).isFile());
  const sources = files.map((name) => ({ name, bytes: fs.readFileSync(path.join(src, name)) }));
  const { dir, allowed } = template(sources, mode);
  const fresh = (name: string) => {
    const dst = path.join(root, name);
    fs.rmSync(dst, { recursive: true, force: true });
    fs.cpSync(dir, dst, { recursive: true, preserveTimestamps: true });
    return dst;
  };

  // How long a whole run takes here, now: the kill moments are spread over it. The shorter of two
  // runs, as a first run on a busy machine can take twice as long and leave most moments too late.
  let lengthMs = Infinity;
  for (let i = 0; i < 2; i++) {
    const measured = fresh(`measure-${mode}`);
    const started = performance.now();
    const whole = await runSync(src, measured, '--mode', mode);
    lengthMs = Math.min(lengthMs, performance.now() - started);
    expect(whole.code, describeRun(whole)).toBe(0);
    fs.rmSync(measured, { recursive: true, force: true });
  }

  const random = seededRandom(seed);
  const outcome: Outcome = { killed: 0, finished: 0 };
  for (let t = 0; t < trials; t++) {
    const dst = fresh(`trial-${mode}`);
    const delay = Math.floor(random() * lengthMs);
    const run = startCli(['sync', src, dst, '--mode', mode]);
    const timer = setTimeout(() => run.child.kill('SIGKILL'), delay);
    const result = await run.done;
    clearTimeout(timer);
    if (result.signal === 'SIGKILL') outcome.killed++;
    else outcome.finished++;
    const where = `trial ${t + 1} (seed ${seed}, killed at ${delay} ms of ${Math.round(lengthMs)})`;
    expect(allowed.unexpected(dst), `${where}: a file neither old nor new`).toEqual([]);

    const next = await runSync(src, dst, '--mode', mode);
    expect(next.code, `${where}: the next run\n${describeRun(next)}`).toBe(0);
    expect(summaryOf(next).failed).toBe(0);
    if (mode === 'mirror') expect(rsyncDiff(src, dst), `${where}: after the next run`).toEqual([]);
    else expect(sourceFilesIn(dst, sources), `${where}: after the next run`).toEqual([]);
    expect(findTempFiles(dst), `${where}: temp files left after the next run`).toEqual([]);
  }
  return outcome;
}

describe.skipIf(skipReason !== undefined)('kill -9 at random moments', () => {
  const seed = Number(process.env.SYNCTRAY_KILL_SEED ?? Date.now() % 1_000_000);

  beforeAll(() => {
    assertCliBuilt();
    root = makeScratch('synctray-kill-', { disk: true });
    src = path.join(root, 'src');
    buildSource();
    console.log(`kill trials: seed ${seed} (SYNCTRAY_KILL_SEED=${seed} repeats them)`);
  }, 60_000);
  afterAll(() => {
    if (root) removeScratch(root);
  });

  it(`of a mirror, ${MIRROR_TRIALS} times: never a torn file, ` +
    'and the next run converges with no temp files', async () => {
    const { killed, finished } = await killTrials('mirror', MIRROR_TRIALS, seed);
    console.log(`mirror: ${killed} runs killed part way, ${finished} finished before their moment`);
    expect(killed).toBeGreaterThanOrEqual(MIRROR_TRIALS * 0.8);
  }, 300_000);

  it(`of an update overwriting every file, ${UPDATE_TRIALS} times: ` +
    'each file is its old or its new version', async () => {
    const { killed, finished } = await killTrials('update', UPDATE_TRIALS, seed + 1);
    console.log(`update: ${killed} runs killed part way, ${finished} finished before their moment`);
    expect(killed).toBeGreaterThanOrEqual(UPDATE_TRIALS * 0.8);
  }, 300_000);
});
