import { describe, expect, it } from 'vitest';
import { FULL, MAX_SCOPE_FOLDERS, mergeScopes, type Scope } from '../../src/engine/scope.js';
import { Aggregator } from '../../src/watch/aggregate.js';

const folders = (s: Scope | undefined) => (s && !s.full ? Object.fromEntries(s.folders) : s);
const ignoreTemps = { ignore: (p: string) => p.endsWith('.part') };

describe('Aggregator', () => {
  it(
    'makes the first change after a quiet spell due at once, ' + 'and those that follow one window after the last step',
    () => {
      const a = new Aggregator(20, ignoreTemps);
      expect(a.dueAt()).toBeUndefined();
      a.add({ kind: 'add', path: 'd/one' }, 1000);
      expect(a.dueAt()).toBe(1000);
      expect(folders(a.take(1000))).toEqual({ d: 'shallow' });
      // The rest of the same save, and another file, while that step runs: one trailing step.
      a.add({ kind: 'change', path: 'd/one' }, 1002);
      a.add({ kind: 'add', path: 'e/two' }, 1015);
      expect(a.dueAt()).toBe(1020);
      expect(a.take(1019)).toBeUndefined();
      expect(folders(a.take(1020))).toEqual({ d: 'shallow', e: 'shallow' });
      expect(a.dueAt()).toBeUndefined();
      // Quiet for a window since the last change (not the last step): at once again.
      a.add({ kind: 'change', path: 'd/one' }, 1035);
      expect(a.dueAt()).toBe(1035);
    },
  );

  it('lets a removal wait a window, so that a save that deletes the file and writes it anew makes one step', () => {
    const a = new Aggregator(20, ignoreTemps);
    a.add({ kind: 'unlink', path: 'd/one' }, 1000);
    a.add({ kind: 'add', path: 'd/one' }, 1001);
    a.add({ kind: 'change', path: 'd/one' }, 1001);
    expect(a.dueAt()).toBe(1020);
    expect(a.take(1019)).toBeUndefined();
    expect(folders(a.take(1020))).toEqual({ d: 'shallow' });
    // A folder moved out (and maybe back) likewise; a change first is not held back by one that follows.
    a.add({ kind: 'unlinkDir', path: 'd/sub' }, 2000);
    expect(a.dueAt()).toBe(2020);
    a.take(2020);
    a.add({ kind: 'add', path: 'd/two' }, 3000);
    a.add({ kind: 'unlink', path: 'd/three' }, 3000);
    expect(a.dueAt()).toBe(3000);
  });

  it('never waits for quiet: a file written without pause is still stepped on at the same pace', () => {
    const a = new Aggregator(20, ignoreTemps);
    const steps: number[] = [];
    for (let t = 0; t <= 200; t += 5) {
      a.add({ kind: 'change', path: 'log.txt' }, t);
      if (a.take(t)) steps.push(t);
    }
    expect(steps).toEqual([0, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200]);
  });

  it('makes a burst one step per window however many events it has', () => {
    const a = new Aggregator(20, ignoreTemps);
    let steps = 0;
    // 10,000 files over 100 ms, the clock read in whole milliseconds as the events come.
    for (let i = 0; i < 10_000; i++) {
      const t = Math.floor(i / 100);
      a.add({ kind: 'add', path: `b${Math.floor(i / 100)}/f${i % 100}` }, t);
      if (a.take(t)) steps++;
    }
    if (a.take(a.dueAt()!)) steps++;
    expect(steps).toBe(6);
  });

  it('a change that comes while a step is due, before it is taken, goes into that step', () => {
    const a = new Aggregator(20, ignoreTemps);
    a.add({ kind: 'add', path: 'd/one' }, 0);
    a.add({ kind: 'change', path: 'd/one' }, 0);
    a.add({ kind: 'add', path: 'e/two' }, 1);
    expect(folders(a.take(1))).toEqual({ d: 'shallow', e: 'shallow' });
    expect(a.dueAt()).toBeUndefined();
  });

  it('does not count ignored paths as activity that would delay the next change', () => {
    const a = new Aggregator(20, ignoreTemps);
    a.add({ kind: 'add', path: 'd/one' }, 0);
    a.take(0);
    a.add({ kind: 'change', path: 'd/one' }, 5);
    expect(a.take(20)).toBeDefined();
    // Temp files (ours, in a source that holds a destination) are no change of the user's.
    a.add({ kind: 'add', path: 'd/.~synctray-0123456789abcdef.part' }, 30);
    expect(a.dueAt()).toBeUndefined();
    a.add({ kind: 'change', path: 'd/one' }, 36);
    expect(a.dueAt()).toBe(36);
  });

  it('drops ignored paths without making anything due, and floods into one full rescan', () => {
    const a = new Aggregator(20, ignoreTemps);
    a.add({ kind: 'add', path: 'd/.~synctray-0123456789abcdef.part' }, 0);
    expect(a.dueAt()).toBeUndefined();
    for (let i = 0; i <= MAX_SCOPE_FOLDERS; i++) a.add({ kind: 'add', path: `d${i}/f` }, 1);
    a.add({ kind: 'add', path: 'more/f' }, 2);
    expect(a.take(21)).toBe(FULL);
  });

  it('keeps the files seen written (not removed ones, not ignored ones), and merges them across steps', () => {
    const a = new Aggregator(20, ignoreTemps);
    a.add({ kind: 'add', path: 'd/new' }, 0);
    a.add({ kind: 'change', path: 'd/edited' }, 1);
    a.add({ kind: 'unlink', path: 'd/gone' }, 2);
    a.add({ kind: 'change', path: 'd/x.part' }, 3);
    const first = a.take(20);
    expect(first && !first.full ? [...(first.written ?? [])] : first).toEqual(['d/new', 'd/edited']);
    a.add({ kind: 'change', path: 'e/other' }, 30);
    const merged = mergeScopes(first, a.take(50)!);
    expect(merged.full ? merged : [...(merged.written ?? [])].sort()).toEqual(['d/edited', 'd/new', 'e/other']);
  });
});
