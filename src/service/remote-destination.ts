import { ErrorCode, isStorageError } from '../core/errors.js';
import type { Storage } from '../storage/storage.js';
import type { DestinationGate, DestinationReadiness } from '../watch/watch-pair.js';

/**
 * How long a remote found unreachable is left alone before it is tried again: twice as long after
 * each failed try, from 1 s up to 30 s, so that a NAS switched off for the night is not called
 * every second, and one back is found within half a minute.
 */
export const REMOTE_RETRY_MS = { first: 1000, most: 30_000 } as const;

/**
 * The gate of a pair whose destination is a remote (rclone): ready when the remote answers. One
 * that cannot be reached (a NAS switched off, the network down) is waited for, with rclone's
 * reason ("cannot reach nas: connection refused"), and never written to on a partial listing; a
 * root that does not exist yet is the first sync's to make.
 */
export function remoteDestination(storage: Storage, now: () => number = () => performance.now()): DestinationGate {
  let last: (DestinationReadiness & { ready: false }) | undefined;
  let pause = 0;
  let next = 0;
  return {
    async ready(): Promise<DestinationReadiness> {
      if (last && now() < next) return last;
      try {
        await storage.stat('');
      } catch (err) {
        if (isStorageError(err, ErrorCode.DEVICE_GONE)) {
          pause = Math.min(REMOTE_RETRY_MS.most, pause === 0 ? REMOTE_RETRY_MS.first : pause * 2);
          next = now() + pause;
          last = { ready: false, reason: err.message };
          return last;
        }
      }
      last = undefined;
      pause = 0;
      return { ready: true };
    },
  };
}
