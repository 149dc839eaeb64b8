/**
 * The mount table watcher with a scripted findmnt and mount table: a change reported by findmnt
 * or found by the fallback polls calls back once; findmnt missing, dying or timing out is handled.
 * The real findmnt is exercised by test/service/drive-unplug.e2e.test.ts.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { watchMounts, type MountWatchDeps, type WatcherProcess } from '../../src/watch/mounts.js';

class FakeProcess extends EventEmitter implements WatcherProcess {
  readonly stdout = new EventEmitter();
  killed = false;
  kill() {
    this.killed = true;
  }
}

function harness() {
  let table = 'a\n';
  const spawned: { args: string[]; proc: FakeProcess }[] = [];
  const timers: { fn: () => void; ms: number; id: number }[] = [];
  const fallbacks: string[] = [];
  let nextId = 1;
  let missing = false;
  const deps: MountWatchDeps = {
    spawn: (_cmd, args) => {
      const proc = new FakeProcess();
      spawned.push({ args, proc });
      if (missing)
        queueMicrotask(() => proc.emit('error', Object.assign(new Error('spawn findmnt ENOENT'), { code: 'ENOENT' })));
      return proc;
    },
    readMountInfo: async () => table,
    setTimeout: (fn, ms) => {
      const id = nextId++;
      timers.push({ fn, ms, id });
      return id;
    },
    clearTimeout: (id) => {
      const i = timers.findIndex((t) => t.id === id);
      if (i >= 0) timers.splice(i, 1);
    },
    onFallback: (why) => fallbacks.push(why),
  };
  const settle = () => new Promise((r) => setTimeout(r, 5));
  const fire = async (ms: number) => {
    const due = timers.filter((t) => t.ms === ms);
    for (const t of due) {
      timers.splice(timers.indexOf(t), 1);
      t.fn();
    }
    await settle();
  };
  return {
    deps,
    spawned,
    timers,
    fallbacks,
    settle,
    fire,
    setTable: (t: string) => (table = t),
    setMissing: () => (missing = true),
  };
}

describe('watching the mount table', () => {
  it('calls back when findmnt reports a change that the table shows, and not for the same table', async () => {
    const h = harness();
    let changes = 0;
    const w = watchMounts(() => changes++, h.deps);
    await h.settle();
    expect(h.spawned).toHaveLength(1);
    expect(h.spawned[0]!.args).toEqual(['--poll', '--timeout', '60000', '--noheadings', '--raw', '--output', 'ACTION']);
    h.setTable('a\nb\n');
    h.spawned[0]!.proc.stdout.emit('data', 'mount\n');
    await h.settle();
    expect(changes).toBe(1);
    h.spawned[0]!.proc.stdout.emit('data', 'remount\n');
    await h.settle();
    expect(changes).toBe(1);
    w.close();
    expect(h.spawned[0]!.proc.killed).toBe(true);
  });

  it('starts a new findmnt when one times out, catching a change made in between', async () => {
    const h = harness();
    let changes = 0;
    const w = watchMounts(() => changes++, h.deps);
    await h.settle();
    h.setTable('a\nc\n');
    h.spawned[0]!.proc.emit('exit', 0, null);
    await h.settle();
    expect(h.spawned).toHaveLength(2);
    expect(changes).toBe(1);
    expect(h.fallbacks).toEqual([]);
    w.close();
  });

  it('reads the table every few seconds without findmnt, and says so once', async () => {
    const h = harness();
    h.setMissing();
    let changes = 0;
    const w = watchMounts(() => changes++, h.deps);
    await h.settle();
    expect(h.fallbacks).toEqual(['findmnt is not installed (util-linux)']);
    // Never tried again: it is not there.
    expect(h.timers.map((t) => t.ms)).toEqual([3000]);
    h.setTable('a\nd\n');
    await h.fire(3000);
    expect(changes).toBe(1);
    await h.fire(3000);
    expect(changes).toBe(1);
    w.close();
    expect(h.timers).toEqual([]);
  });

  it('falls back when findmnt dies, and tries it again later', async () => {
    const h = harness();
    let changes = 0;
    const w = watchMounts(() => changes++, h.deps);
    await h.settle();
    h.spawned[0]!.proc.emit('exit', null, 'SIGKILL');
    await h.settle();
    expect(h.fallbacks).toEqual(['findmnt stopped (SIGKILL)']);
    expect(h.timers.map((t) => t.ms).sort((a, b) => a - b)).toEqual([3000, 300_000]);
    h.setTable('a\ne\n');
    await h.fire(3000);
    expect(changes).toBe(1);
    await h.fire(300_000);
    expect(h.spawned).toHaveLength(2);
    // With findmnt back, the polls stop after the one already due.
    await h.fire(3000);
    expect(h.timers.filter((t) => t.ms === 3000)).toEqual([]);
    w.close();
    expect(h.spawned[1]!.proc.killed).toBe(true);
  });
});
