import type { TransferLimits } from '../../core/transfer-limits.js';
import { RcloneServer, sharedRcloneServer } from './server.js';

/**
 * The rcd servers of this process, one per set of limits. rclone's bandwidth limit and its number
 * of transfers and checkers hold for a whole rcd, so pairs limited differently cannot share one:
 * each distinct set gets its own, and none at all means the process's shared one. Every server
 * starts its rcd at its first call and stops it once its last storage closes (server.ts), so a set
 * no pair uses any more costs no process (the object is kept: a few, for the sets a run has seen).
 * Pairs with the same limits share them: two pairs at 2M transfer 2M a second between them.
 */
const servers = new Map<string, RcloneServer>();

/** The server for storages limited by `limits`. */
export function rcloneServerFor(limits: TransferLimits = {}): RcloneServer {
  const { bwlimit, transfers, checkers } = limits;
  if (bwlimit === undefined && transfers === undefined && checkers === undefined) return sharedRcloneServer;
  const key = JSON.stringify([bwlimit, transfers, checkers]);
  let server = servers.get(key);
  if (!server) {
    server = new RcloneServer({
      ...(bwlimit !== undefined ? { bwlimit } : {}),
      ...(transfers !== undefined ? { transfers } : {}),
      ...(checkers !== undefined ? { checkers } : {}),
    });
    servers.set(key, server);
  }
  return server;
}
