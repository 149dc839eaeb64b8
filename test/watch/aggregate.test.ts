import { describe, expect, it } from 'vitest';
import { FULL, MAX_SCOPE_FOLDERS, mergeScopes, type Scope } from '../../src/engine/scope.js';
import { Aggregator } from '../../src/watch/aggregate.js';

const folders = (s: Scope | undefined) => (s && !s.full ? Object.fromEntries(s.folders) : s);
const ignoreTemps = { ignore: (p: string) => p.endsWith('.part') };

describe('Aggregator', () => {
  it('makes a step due a fixed time after the first event, however many follow', () => {
    const a = new Aggregator(20, ignoreTemps);
    expect(a.dueAt()).toBeUndefined();
    a.add({ kind: 'add', path: 'd/one' }, 1000);
    a.add({ kind: 'change', path: 'd/one' }, 1015);
    a.add({ kind: 'add', path: 'e/two' }, 1019);
    expect(a.dueAt()).toBe(1020);
    expect(a.take(1019)).toBeUndefined();
    expect(folders(a.take(1020))).toEqual({ d: 'shallow', e: 'shallow' });
    expect(a.dueAt()).toBeUndefined();
    a.add({ kind: 'unlink', path: 'd/one' }, 1030);
    expect(a.dueAt()).toBe(1050);
  });

  it('never waits for quiet: a file written without pause is still stepped on at the same pace', () => {
    const a = new Aggregator(20, ignoreTemps);
    const steps: number[] = [];
    for (let t = 0; t <= 200; t += 5) {
      a.add({ kind: 'change', path: 'log.txt' }, t);
      if (a.take(t)) steps.push(t);
    }
    expect(steps).toEqual([20, 45, 70, 95, 120, 145, 170, 195]);
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
