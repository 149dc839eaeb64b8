import { NS_PER_MS } from '../../core/entry.js';
import type { Capabilities } from '../storage.js';

/** What operations/fsinfo answers, as far as it is used here. */
export interface FsInfo {
  Name?: string;
  /** In ns; rclone's ModTimeNotSupported (100 years) where the remote keeps no times it is given. */
  Precision?: number;
  Features?: Record<string, boolean>;
  Hashes?: string[];
}

/** Coarser than any remote's own precision: rclone's answer for "times are not kept". */
const NOT_SUPPORTED_NS = 365 * 24 * 3600 * 1e9;

/** What a remote keeps before rclone has said: times to the second, nothing else. */
export const ASSUMED: Capabilities = {
  mtimePrecisionNs: 1_000_000_000n,
  caseSensitive: true,
  canSetModTime: true,
  // rclone 1.60 sets no folder's time; a folder's time follows what happens in it.
  folderTimes: false,
  symlinks: false,
  permissions: false,
  // A move onto an existing file deletes it first (operations.Move), so a reader may see neither.
  atomicRename: false,
  accessTimes: false,
};

/**
 * A remote's capabilities from rclone's own description of it. Times are compared within a
 * millisecond at least, as for local folders: the copies here go through a file whose time is set
 * from a double (a microsecond or so off).
 */
export function capabilitiesOf(info: FsInfo): Capabilities {
  const precision = info.Precision ?? Number(ASSUMED.mtimePrecisionNs);
  const kept = precision < NOT_SUPPORTED_NS;
  return {
    ...ASSUMED,
    mtimePrecisionNs: kept ? bigMax(BigInt(Math.round(precision)), NS_PER_MS) : ASSUMED.mtimePrecisionNs,
    canSetModTime: kept,
    caseSensitive: info.Features?.CaseInsensitive !== true,
    kind: info.Name === undefined ? 'rclone remote' : `rclone ${info.Name}`,
    // A folder moved in one step is what lets a new folder appear whole (putFolders).
    wholeFolders: info.Features?.DirMove === true,
  };
}

function bigMax(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
