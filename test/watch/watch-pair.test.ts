/**
 * The watched pair's loop with its side effects in hand: a scripted watcher and a clock the test
 * moves, over real folders.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import type { WatchEvent } from '../../src/watch/coalesce.js';
import {
  PairWatcher,
  type DestinationGate,
  type DestinationReadiness,
  type WatchDeps,
  type WatchReport,
} from '../../src/watch/watch-pair.js';
import { makeSyncScratch, removeScratch } from '../helpers/scratch.js';
import { writeTree } from '../helpers/tree-spec.js';
import { waitFor } from '../helpers/wait-for.js';

/** Timers that fire only when the test moves the clock. */
class Clock {
  time = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 1;
  readonly deps = {
    now: () => this.time,
    setTimeout: (fn: () => void, ms: number) => {
      const id = this.nextId++;
      this.timers.push({ at: this.time + ms, fn, id });
      return id;
    },
    clearTimeout: (id: unknown) => {
      this.timers = this.timers.filter((t) => t.id !== id);
    },
  };

  advance(ms: number): void {
    this.time += ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= this.time).sort((a, b) => a.at - b.at)[0];
      if (!due) return;
      this.timers = this.timers.filter((t) => t !== due);
      due.fn();
    }
  }
}

let root: string;
let src: string;
let dst: string;
let pair: PairWatcher | undefined;
beforeEach(() => {
  ({ root, src, dst } = makeSyncScratch('synctray-pair-'));
  writeTree(src, { a: 'a' });
});
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
  removeScratch(root);
});

function watched(
  watchFolder: WatchDeps['watchFolder'],
  clock: Clock,
  reports: WatchReport[],
  destination?: DestinationGate,
) {
  pair = new PairWatcher(
    new LocalStorage(src),
    new LocalStorage(dst),
    { sync: { mode: 'mirror' }, ignore: () => false, rescanIntervalMs: 0, settleMs: 20, fallbackRescanMs: 60_000 },
    { watchFolder, ...clock.deps, ...(destination ? { destination } : {}) },
    (r) => reports.push(r),
  );
  return pair;
}

describe('a watched pair', () => {
  it('steps at once on the first change after a quiet spell, then at most once per 20 ms (on its clock)', async () => {
    const clock = new Clock();
    const reports: WatchReport[] = [];
    let emit: (e: WatchEvent) => void = () => {};
    await watched(async (onEvent) => ((emit = onEvent), { close: async () => {} }), clock, reports).start();
    fs.writeFileSync(path.join(src, 'b'), 'b');
    emit({ kind: 'add', path: 'b' });
    clock.advance(0);
    await waitFor(() => fs.existsSync(path.join(dst, 'b')), 'the step at the leading edge');
    await waitFor(() => pair!.currentState === 'watching', 'that step done');
    clock.advance(5);
    fs.writeFileSync(path.join(src, 'c'), 'c');
    emit({ kind: 'add', path: 'c' });
    clock.advance(14);
    await pair!.settled();
    expect(pair!.busy).toBe(true); // the step is due, on the clock
    expect(fs.existsSync(path.join(dst, 'c'))).toBe(false);
    clock.advance(1);
    await waitFor(() => fs.existsSync(path.join(dst, 'c')), 'the trailing step, 20 ms after the first');
    await waitFor(() => reports.filter((r) => r.type === 'batch').length === 2, 'its report');
  });

  it('loses no change that comes while a step runs: a trailing step follows it', async () => {
    const clock = new Clock();
    const reports: WatchReport[] = [];
    let emit: (e: WatchEvent) => void = () => {};
    let inStep: (() => void) | undefined;
    // The gate is told of a step once it went through, still inside it: the change lands there, after the step looked.
    const destination: DestinationGate = {
      ready: async () => ({ ready: true }),
      synced: () => (inStep ? new Promise<void>((resolve) => (inStep!(), resolve())) : Promise.resolve()),
    };
    await watched(
      async (onEvent) => ((emit = onEvent), { close: async () => {} }),
      clock,
      reports,
      destination,
    ).start();
    inStep = () => {
      inStep = undefined;
      fs.writeFileSync(path.join(src, 'b'), 'written again, after the step looked');
      emit({ kind: 'change', path: 'b' });
    };
    fs.writeFileSync(path.join(src, 'b'), 'b');
    emit({ kind: 'add', path: 'b' });
    clock.advance(0);
    await waitFor(() => reports.filter((r) => r.type === 'batch').length === 1, 'the leading step');
    await waitFor(() => pair!.currentState === 'watching', 'that step done');
    expect(fs.readFileSync(path.join(dst, 'b'), 'utf8')).toBe('b');
    clock.advance(20);
    await waitFor(() => reports.filter((r) => r.type === 'batch').length === 2, 'the trailing step');
    await waitFor(() => pair!.currentState === 'watching', 'that step done');
    expect(fs.readFileSync(path.join(dst, 'b'), 'utf8')).toBe('written again, after the step looked');
  });

  it('opens no watcher after stop(), even while it waits for a source that comes back', async () => {
    const clock = new Clock();
    const reports: WatchReport[] = [];
    let opened = 0;
    let emit: (e: WatchEvent) => void = () => {};
    await watched(async (onEvent) => ((emit = onEvent), opened++, { close: async () => {} }), clock, reports).start();
    fs.renameSync(src, `${src}.away`);
    emit({ kind: 'unlinkDir', path: '' });
    clock.advance(20);
    await waitFor(
      () => reports.some((r) => r.type === 'state' && r.state === 'waiting-for-source'),
      'waiting for the source',
    );
    fs.renameSync(`${src}.away`, src);
    const stopped = pair!;
    await stopped.stop();
    pair = undefined;
    clock.advance(5000);
    await stopped.settled();
    expect(opened).toBe(1);
  });

  it('falls back to a full rescan every 60 s when the watch limit is reached, and says how to raise it', async () => {
    const clock = new Clock();
    const reports: WatchReport[] = [];
    const limit = Object.assign(new Error('no inotify watches left'), { code: 'ENOSPC' });
    await watched(
      async (_, onError) => (setImmediate(() => onError(limit)), { close: async () => {} }),
      clock,
      reports,
    ).start();
    await waitFor(() => reports.some((r) => r.type === 'error'), 'the error');
    const error = reports.find((r) => r.type === 'error') as { message: string };
    expect(error.message).toContain('fs.inotify.max_user_watches');
    expect(error.message).toContain('every 60 s');
    fs.writeFileSync(path.join(src, 'unseen'), 'u');
    clock.advance(59_999);
    await pair!.settled();
    expect(fs.existsSync(path.join(dst, 'unseen'))).toBe(false);
    clock.advance(1);
    await waitFor(() => reports.some((r) => r.type === 'batch' && r.full), 'the fallback rescan');
    expect(fs.readFileSync(path.join(dst, 'unseen'), 'utf8')).toBe('u');
  });

  describe("with a gate on the destination (the service's drive check)", () => {
    /** A gate the test opens and closes; it counts the syncs it was told of. */
    function gate(initial: DestinationReadiness) {
      const g = { now: initial, asked: 0, synced: 0 };
      const api: DestinationGate = {
        ready: async () => (g.asked++, g.now),
        synced: async () => void g.synced++,
      };
      return { g, api };
    }
    const states = (reports: WatchReport[]) =>
      reports.flatMap((r) => (r.type === 'state' ? [`${r.state}${r.reason ? `: ${r.reason}` : ''}`] : []));

    it('writes nothing while the gate is closed, says why, and goes on at once when told to look again', async () => {
      const clock = new Clock();
      const reports: WatchReport[] = [];
      const { g, api } = gate({ ready: false, reason: 'Backup drive BACKUP is not connected' });
      await watched(async () => ({ close: async () => {} }), clock, reports, api).start();
      expect(fs.existsSync(dst)).toBe(false);
      expect(states(reports)).toEqual(['waiting-for-destination: Backup drive BACKUP is not connected']);
      // Another reason while waiting is said anew; the same one is not.
      g.now = { ready: false, reason: 'its marker is missing' };
      clock.advance(1000);
      await waitFor(() => states(reports).length === 2, 'the new reason');
      clock.advance(1000);
      await waitFor(() => g.asked >= 3, 'another look');
      expect(states(reports)).toEqual([
        'waiting-for-destination: Backup drive BACKUP is not connected',
        'waiting-for-destination: its marker is missing',
      ]);

      g.now = { ready: true };
      pair!.lookAgain();
      await waitFor(() => fs.existsSync(path.join(dst, 'a')), 'the sync once the gate opens, without the clock moving');
      await waitFor(() => g.synced === 1, 'the gate told of the sync');
    });

    it('an idle pair told to look again finds its destination gone and waits; a move is reported once', async () => {
      const clock = new Clock();
      const reports: WatchReport[] = [];
      const { g, api } = gate({ ready: true });
      await watched(async () => ({ close: async () => {} }), clock, reports, api).start();
      expect(fs.readFileSync(path.join(dst, 'a'), 'utf8')).toBe('a');
      g.now = { ready: false, reason: 'moved', movedTo: '/media/BACKUP1' };
      pair!.lookAgain();
      await waitFor(() => pair!.currentState === 'waiting-for-destination', 'waiting');
      clock.advance(1000);
      await waitFor(() => g.asked >= 3, 'a look');
      // The look ends by setting the timer for the next one: the clock moves only after that.
      await pair!.settled();
      clock.advance(1000);
      await waitFor(() => g.asked >= 4, 'another look');
      expect(reports.filter((r) => r.type === 'moved')).toEqual([
        { type: 'moved', to: '/media/BACKUP1', reason: 'moved' },
      ]);
    });

    it('takes a gate that fails for a closed one', async () => {
      const clock = new Clock();
      const reports: WatchReport[] = [];
      await watched(async () => ({ close: async () => {} }), clock, reports, {
        ready: async () => Promise.reject(new Error('mountinfo unreadable')),
      }).start();
      expect(states(reports)).toEqual([
        'waiting-for-destination: the destination could not be checked: mountinfo unreadable',
      ]);
      expect(fs.existsSync(dst)).toBe(false);
    });
  });
});
