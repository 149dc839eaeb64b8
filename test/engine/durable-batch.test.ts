import { afterEach, describe, expect, it, vi } from 'vitest';
import { DurableBatches, type BatchItem, type BatchLimits } from '../../src/engine/durable-batch.js';

interface Item extends BatchItem {
  name: string;
}

/** Steps that log what happens, with flushes that finish only when the test lets them. */
function recorder() {
  const log: string[] = [];
  const flushes: { paths: readonly string[]; finish: (err?: Error) => void }[] = [];
  const steps = {
    flush: (paths: readonly string[]) =>
      new Promise<void>((resolve, reject) => {
        log.push(`flush ${paths.join(',')}`);
        flushes.push({ paths, finish: (err) => (err ? reject(err) : resolve()) });
      }),
    commit: async (i: Item) => {
      log.push(`commit ${i.name}`);
    },
    drop: async (i: Item, err: unknown) => {
      log.push(`drop ${i.name}: ${(err as Error).message}`);
    },
  };
  return { log, flushes, steps };
}

const item = (name: string, bytes = 1, flushPath = name): Item => ({ name, bytes, flushPath });
const limits = (l: Partial<BatchLimits>): BatchLimits => ({ files: 1000, bytes: 1 << 30, ms: 60_000, ...l });
/** Lets every promise callback that is ready run. */
const settle = () => new Promise((r) => setImmediate(r));

afterEach(() => vi.useRealTimers());

describe('durable batches', () => {
  it('commits nothing before the flush of its batch has finished, then every item of it', async () => {
    const { log, flushes, steps } = recorder();
    const batches = new DurableBatches(steps, limits({ files: 3 }));
    await batches.add(item('a'));
    await batches.add(item('b'));
    expect(log).toEqual([]);
    await batches.add(item('c'));
    await settle();
    expect(log).toEqual(['flush a,b,c']);
    flushes[0]!.finish();
    await settle();
    expect(log).toEqual(['flush a,b,c', 'commit a', 'commit b', 'commit c']);
  });

  it('a batch is sealed by bytes as well as by count', async () => {
    const { log, flushes, steps } = recorder();
    const batches = new DurableBatches(steps, limits({ bytes: 100 }));
    await batches.add(item('small', 10));
    await batches.add(item('big', 95));
    await settle();
    expect(log).toEqual(['flush small,big']);
    flushes[0]!.finish();
    await batches.finish();
  });

  it('a batch that does not fill is sealed when its first item has waited long enough', async () => {
    vi.useFakeTimers();
    const { log, flushes, steps } = recorder();
    const batches = new DurableBatches(steps, limits({ ms: 1000 }));
    await batches.add(item('a'));
    await vi.advanceTimersByTimeAsync(999);
    expect(log).toEqual([]);
    await batches.add(item('b'));
    await vi.advanceTimersByTimeAsync(1);
    expect(log).toEqual(['flush a,b']);
    flushes[0]!.finish();
    await batches.finish();
    expect(log).toEqual(['flush a,b', 'commit a', 'commit b']);
  });

  it('the next batch fills while one is flushed; once it is full, adding waits until the first is placed', async () => {
    const { log, flushes, steps } = recorder();
    const batches = new DurableBatches(steps, limits({ files: 2 }));
    await batches.add(item('a'));
    await batches.add(item('b')); // sealed: its flush starts
    await batches.add(item('c'));
    await batches.add(item('d')); // sealed: waits for a and b to be placed
    let eAdded = false;
    const e = batches.add(item('e')).then(() => (eAdded = true));
    await settle();
    expect(log).toEqual(['flush a,b']);
    expect(eAdded).toBe(false);
    flushes[0]!.finish();
    await settle();
    expect(log).toEqual(['flush a,b', 'commit a', 'commit b', 'flush c,d']);
    expect(eAdded).toBe(true);
    await e;
    flushes[1]!.finish();
    const done = batches.finish();
    await settle();
    flushes[2]!.finish();
    await done;
    expect(log).toEqual([
      'flush a,b',
      'commit a',
      'commit b',
      'flush c,d',
      'commit c',
      'commit d',
      'flush e',
      'commit e',
    ]);
  });

  it('a failed flush drops every item of its batch and commits none of them; later batches go on', async () => {
    const { log, flushes, steps } = recorder();
    const batches = new DurableBatches(steps, limits({ files: 2 }));
    await batches.add(item('a'));
    await batches.add(item('b'));
    await settle();
    flushes[0]!.finish(new Error('EIO'));
    await settle();
    await batches.add(item('c'));
    const done = batches.finish();
    await settle();
    flushes[1]!.finish();
    await done;
    expect(log).toEqual(['flush a,b', 'drop a: EIO', 'drop b: EIO', 'flush c', 'commit c']);
  });

  it('flushes each path once, as the items name it (a symlink: its folder)', async () => {
    const { log, flushes, steps } = recorder();
    const batches = new DurableBatches(steps, limits({}));
    await batches.add(item('d/link1', 0, 'd'));
    await batches.add(item('d/link2', 0, 'd'));
    await batches.add(item('d/file', 5));
    const done = batches.finish();
    await settle();
    flushes[0]!.finish();
    await done;
    expect(log[0]).toBe('flush d,d/file');
  });

  it('a step that rejects stops neither the batches after it nor add(); finish tells of it', async () => {
    const log: string[] = [];
    const batches = new DurableBatches<Item>(
      {
        flush: async (paths) => void log.push(`flush ${paths.join(',')}`),
        commit: async (i) => {
          if (i.name === 'a') throw new Error('a listener threw');
          log.push(`commit ${i.name}`);
        },
        drop: async () => {},
      },
      limits({ files: 1 }),
    );
    for (const name of ['a', 'b', 'c', 'd']) await batches.add(item(name));
    await expect(batches.finish()).rejects.toThrow('a listener threw');
    expect(log).toEqual(['flush a', 'flush b', 'commit b', 'flush c', 'commit c', 'flush d', 'commit d']);
  });

  it('finish with nothing added resolves at once, flushing nothing', async () => {
    const { log, steps } = recorder();
    await new DurableBatches(steps).finish();
    expect(log).toEqual([]);
  });
});
