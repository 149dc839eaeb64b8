import { describe, expect, it } from 'vitest';
import { ErrorCode, StorageError } from '../../src/core/errors.js';
import { REMOTE_RETRY_MS, remoteDestination } from '../../src/service/remote-destination.js';
import type { Storage } from '../../src/storage/storage.js';

/** A remote whose root answers as `up` says, counting the times it was asked. */
function remote() {
  const r = {
    up: false,
    asked: 0,
    storage: {
      stat: async () => {
        r.asked++;
        if (!r.up) throw new StorageError(ErrorCode.DEVICE_GONE, 'cannot reach nas: connection refused', '', true);
        return { name: '', type: 'dir', size: 0, mtimeNs: 0n, atimeNs: 0n, mode: 0 };
      },
    } as unknown as Storage,
  };
  return r;
}

describe('remoteDestination', () => {
  it('asks an unreachable remote again after 1 s, then twice as long each time, up to 30 s', async () => {
    const r = remote();
    let t = 0;
    const gate = remoteDestination(r.storage, () => t);
    const asks: number[] = [];
    // The pair's wait loop looks every second for ten minutes.
    for (t = 0; t <= 600_000; t += 1000) {
      const before = r.asked;
      const ready = await gate.ready();
      expect(ready).toEqual({ ready: false, reason: 'cannot reach nas: connection refused' });
      if (r.asked > before) asks.push(t);
    }
    const gaps = asks.slice(1).map((at, i) => at - asks[i]!);
    expect(gaps.slice(0, 6)).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000]);
    expect(new Set(gaps.slice(5))).toEqual(new Set([REMOTE_RETRY_MS.most]));
  });

  it('is ready once the remote answers, and starts from 1 s at the next outage', async () => {
    const r = remote();
    let t = 0;
    const gate = remoteDestination(r.storage, () => t);
    for (; t < 100_000; t += 1000) await gate.ready();
    r.up = true;
    t += REMOTE_RETRY_MS.most;
    expect(await gate.ready()).toEqual({ ready: true });
    r.up = false;
    await gate.ready();
    const asked = r.asked;
    t += 1000;
    await gate.ready();
    expect(r.asked).toBe(asked + 1);
  });
});
