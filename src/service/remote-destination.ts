import { ErrorCode, isStorageError } from '../core/errors.js';
import type { Storage } from '../storage/storage.js';
import type { DestinationGate, DestinationReadiness } from '../watch/watch-pair.js';

/**
 * The gate of a pair whose destination is a remote (rclone): ready when the remote answers. One
 * that cannot be reached (a NAS switched off, the network down) is waited for, with rclone's
 * reason ("cannot reach nas: connection refused"), and never written to on a partial listing; a
 * root that does not exist yet is the first sync's to make.
 */
export function remoteDestination(storage: Storage): DestinationGate {
  return {
    async ready(): Promise<DestinationReadiness> {
      try {
        await storage.stat('');
      } catch (err) {
        if (isStorageError(err, ErrorCode.DEVICE_GONE)) return { ready: false, reason: err.message };
      }
      return { ready: true };
    },
  };
}
