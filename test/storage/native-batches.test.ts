import { describe, expect, it } from 'vitest';
import { NativeBatches } from '../../src/storage/local/native.js';

/** A run whose batches finish only when the test says so, recording what each batch held. */
function controlledRun() {
  const batches: number[][] = [];
  const finish: (() => void)[] = [];
  const run = (reqs: number[]) => {
    batches.push(reqs);
    return new Promise<(number | Error)[]>((resolve) =>
      finish.push(() => resolve(reqs.map((r) => (r < 0 ? new Error(`bad ${r}`) : r * 10)))),
    );
  };
  return { batches, finish, run };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('NativeBatches', () => {
  it('sends a lone request at once', async () => {
    const { batches, finish, run } = controlledRun();
    const b = new NativeBatches(run, 4, 2);
    const answer = b.submit(7);
    await turn();
    expect(batches).toEqual([[7]]);
    finish[0]!();
    await expect(answer).resolves.toBe(70);
  });

  it('keeps at most `lanes` batches in flight and sends what waited as one batch when a lane frees', async () => {
    const { batches, finish, run } = controlledRun();
    const b = new NativeBatches(run, 1, 2);
    const first = [b.submit(1), b.submit(2)];
    await turn();
    expect(batches).toEqual([[1], [2]]);
    // Both lanes busy: these wait, however many turns pass.
    const waiting = [3, 4, 5, 6, 7].map((n) => b.submit(n));
    await turn();
    await turn();
    expect(batches).toHaveLength(2);
    finish[0]!();
    await turn();
    expect(batches).toEqual([[1], [2], [3, 4, 5, 6, 7]]);
    finish[1]!();
    finish[2]!();
    await expect(Promise.all([...first, ...waiting])).resolves.toEqual([10, 20, 30, 40, 50, 60, 70]);
  });

  it('splits what waits among the free lanes, no batch smaller than the minimum', async () => {
    const { batches, finish, run } = controlledRun();
    const b = new NativeBatches(run, 3, 4);
    const all = [1, 2, 3, 4, 5, 6, 7].map((n) => b.submit(n));
    await turn();
    expect(batches).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
    for (const f of finish) f();
    await Promise.all(all);
  });

  it('fails only the request its result names, and a batch the run refuses, freeing the lane either way', async () => {
    let refuse = true;
    const b = new NativeBatches<number, number>(
      async (reqs) => {
        if (refuse) {
          refuse = false;
          throw new TypeError('refused');
        }
        return reqs.map((r) => (r < 0 ? new Error(`bad ${r}`) : r));
      },
      1,
      1,
    );
    await expect(b.submit(1)).rejects.toThrow('refused');
    const [good, bad] = [b.submit(2), b.submit(-3)];
    await expect(good).resolves.toBe(2);
    await expect(bad).rejects.toThrow('bad -3');
    // The lane is free again: a later request still goes.
    await expect(b.submit(4)).resolves.toBe(4);
  });
});
