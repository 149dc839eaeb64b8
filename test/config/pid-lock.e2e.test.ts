/**
 * The pid lock under real contention: several processes find the same stale lock at the same
 * moment and all try to take it over. Exactly one may win, every round.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../helpers/cli.js';
import { typeScriptArgs } from '../helpers/processes.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';

const PID_LOCK = path.join(REPO_ROOT, 'src/config/pid-lock.ts');
let dir: string;
beforeEach(() => {
  dir = makeScratch('synctray-pid-lock-');
});
afterEach(() => removeScratch(dir));

/**
 * Each taker waits for the same instant. Trying once, a winner holds the lock until every taker
 * has answered (`<file>.done`), so that one starting late on a busy machine meets the lock still
 * held, as it would be by a running service. Taking turns, each tries until it has the lock, marks
 * it held with a file only one can make, and releases it soon after, while the others look. A
 * taker given a pause waits up to that many milliseconds, at random, before each file call, as a
 * loaded machine (or Wine) can make a process wait between two calls: that is where two takers of
 * one dead lock can both win.
 */
const TAKER = `
import fs from 'node:fs';
import { tryPidLock, processAlive, releasePidLock } from ${JSON.stringify(pathToFileURL(PID_LOCK).href)};
const [file, at, pauseMs, mode] = process.argv.slice(2);
const nap = new Int32Array(new SharedArrayBuffer(4));
const calls = ['renameSync', 'openSync', 'readdirSync', 'readFileSync'];
const removals = ['rmSync', 'rmdirSync', 'unlinkSync'];
for (const name of [...calls, ...removals]) {
  const call = fs[name];
  fs[name] = (...args) => (Atomics.wait(nap, 0, 0, Math.random() * Number(pauseMs)), call(...args));
}
while (Date.now() < Number(at));
if (mode === 'turns') {
  const until = Date.now() + 120_000;
  while (tryPidLock(file, processAlive) !== undefined && Date.now() < until) Atomics.wait(nap, 0, 0, Math.random() * 5);
  let alone = true;
  try {
    fs.closeSync(fs.openSync(file + '.held', 'wx'));
  } catch {
    alone = false;
  }
  Atomics.wait(nap, 0, 0, Math.random() * 10);
  if (alone) fs.unlinkSync(file + '.held');
  releasePidLock(file);
  console.log(alone ? 'took its turn' : 'held it with another');
  process.exit(0);
}
const owner = tryPidLock(file, processAlive);
console.log(owner === undefined ? 'taken ' + process.pid : 'refused ' + owner);
if (owner === undefined) {
  const until = Date.now() + 30_000;
  const wait = () =>
    (fs.existsSync(file + '.done') || Date.now() > until ? releasePidLock(file) : setTimeout(wait, 20));
  wait();
}
`;

/**
 * Starts a taker. Wine now and then fails to create one of several processes started at once
 * (spawn UNKNOWN, thrown before anything ran): that one is started again, well before its moment.
 */
function startTaker(
  script: string,
  file: string,
  at: number,
  pauseMs: number,
  mode: Mode,
): ChildProcessByStdio<null, Readable, Readable> {
  for (let attempt = 1; ; attempt++) {
    try {
      const args = typeScriptArgs(script, file, String(at), String(pauseMs), mode);
      return spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'UNKNOWN' || attempt === 3) throw err;
    }
  }
}

/** A taker's answer as soon as it is printed, and its end. */
type Mode = 'once' | 'turns';

function taker(
  script: string,
  file: string,
  at: number,
  pauseMs: number,
  mode: Mode = 'once',
): { answer: Promise<string>; closed: Promise<void> } {
  const child = startTaker(script, file, at, pauseMs, mode);
  let out = '';
  let err = '';
  let answered: (line: string) => void = () => {};
  const answer = new Promise<string>((resolve) => (answered = resolve));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('\n')) answered(out.trim());
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const closed = new Promise<void>((resolve, reject) =>
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`taker exited ${code}: ${err}`)))),
  );
  return { answer: Promise.race([answer, closed.then(() => out.trim())]), closed };
}

/**
 * What a dead owner can leave, a kind per round: its lock; its lock emptied (it died releasing it);
 * a lock file from before locks were folders, beside that version's stale takeover guard; its
 * lock beside the folder a taker that died left half-way.
 */
const LEFT: ((file: string) => void)[] = [
  (file) => deadLock(file),
  (file) => fs.mkdirSync(file),
  (file) => {
    fs.writeFileSync(file, `${GONE}\n`);
    fs.writeFileSync(`${file}.takeover`, `${GONE}\n`);
  },
  (file) => {
    deadLock(file);
    const owner = `${GONE}-half`;
    fs.mkdirSync(`${file}.${owner}.tmp`);
    fs.writeFileSync(path.join(`${file}.${owner}.tmp`, owner), '');
  },
];

/**
 * The dead owners' pid: one no process can have, above Linux's largest and odd, which Windows'
 * never are. A pid that ran and exited is soon another process's on Windows (seen under Wine: one
 * of the takers'), and the lock then names a live process, as any pid file would.
 */
const GONE = 4_194_305;

function deadLock(file: string): void {
  fs.mkdirSync(file);
  fs.writeFileSync(path.join(file, `${GONE}-dead`), '');
}

describe('taking over a stale pid lock', () => {
  it('lets exactly one of many simultaneous takers win, round after round', async () => {
    const script = path.join(dir, 'taker.mts');
    fs.writeFileSync(script, TAKER);
    // Every kind twice: all takers at full speed, then half of them pausing up to 15 ms per call.
    // Time for all eight to start before their moment: longer once a round shows they need it
    // (node.exe under Wine on a loaded machine takes seconds).
    let lead = 1200;
    for (const [round, leave] of [...LEFT, ...LEFT].entries()) {
      const file = path.join(dir, `round-${round}.lock`);
      leave(file);
      const at = Date.now() + lead;
      const pauseMs = (i: number) => (round >= LEFT.length && i % 2 === 1 ? 15 : 0);
      const takers = Array.from({ length: 8 }, (_, i) => taker(script, file, at, pauseMs(i)));
      const answers = await Promise.all(takers.map((t) => t.answer));
      // Answers long after the moment: some taker started late.
      if (Date.now() - at > 1000) lead += Date.now() - at;
      fs.writeFileSync(`${file}.done`, '');
      await Promise.all(takers.map((t) => t.closed));
      fs.rmSync(`${file}.done`);
      const said = `round ${round}: ${answers.join(', ')}`;
      const won = answers.filter((a) => a.startsWith('taken '));
      expect(won, said).toHaveLength(1);
      // Every other taker names the winner: not the dead owner, nor 0 (gave up).
      expect(
        answers.filter((a) => a === `refused ${won[0]!.slice(6)}`),
        said,
      ).toHaveLength(7);
      expect(fs.existsSync(file)).toBe(false); // released by the winner
      expect(fs.readdirSync(dir).filter((f) => f.startsWith(`round-${round}`))).toEqual([]);
    }
  }, 300_000);

  it('hands the lock on one holder at a time, each releasing it while the others look', async () => {
    const script = path.join(dir, 'taker.mts');
    fs.writeFileSync(script, TAKER);
    for (const round of [0, 1]) {
      const file = path.join(dir, `turns-${round}.lock`);
      deadLock(file);
      const at = Date.now() + 1200;
      const pauseMs = (i: number) => (round === 1 && i % 2 === 1 ? 15 : 0);
      const takers = Array.from({ length: 8 }, (_, i) => taker(script, file, at, pauseMs(i), 'turns'));
      const answers = await Promise.all(takers.map((t) => t.answer));
      await Promise.all(takers.map((t) => t.closed));
      expect(answers, `round ${round}`).toEqual(Array(8).fill('took its turn'));
      expect(fs.readdirSync(dir).filter((f) => f.startsWith(`turns-${round}`))).toEqual([]);
    }
  }, 300_000);
});
