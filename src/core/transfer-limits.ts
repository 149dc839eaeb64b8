/**
 * How a run or a pair limits what rclone does for it: the rate it transfers at, and how many
 * transfers and other calls (listings, checks) it has under way at once. Each is absent when not
 * limited: rclone's own defaults, or SyncTray's (4 and 4, see storage/rclone/server.ts).
 */
export interface TransferLimits {
  /** Bytes a second as rclone writes a rate (`512K`, `10M`); see BANDWIDTH. */
  bwlimit?: string;
  transfers?: number;
  checkers?: number;
}

/**
 * A rate rclone takes for --bwlimit: a number with an optional unit (`B`, `K`, `M`, `G`, `T`, `P`;
 * a bare number is KiB), in either case. rclone's timetables (`08:00,512K`) are not taken: a pair
 * that should be slower at some hours is one to pause for them.
 */
export const BANDWIDTH = /^\d+(\.\d+)?[BKMGTPbkmgtp]?$/;

/**
 * At most this many transfers or checkers: more connections at once than a NAS or a cloud account
 * takes kindly (many SFTP servers refuse past 10 sessions; cloud APIs throttle), and each one is
 * an open connection and a buffer of rclone's.
 */
export const MAX_LANES = 64;

/** The limits that are set, for people: `at most 2M a second, 8 transfers`; '' when none is. */
export function transferLimitsText(l: TransferLimits): string {
  const parts: string[] = [];
  if (l.bwlimit !== undefined) parts.push(`at most ${l.bwlimit} a second`);
  if (l.transfers !== undefined) parts.push(`${l.transfers} transfer${l.transfers === 1 ? '' : 's'}`);
  if (l.checkers !== undefined) parts.push(`${l.checkers} checker${l.checkers === 1 ? '' : 's'}`);
  return parts.join(', ');
}

/** Only the limits of `from` that are set (a pair, a change to one): what a storage or a status carries. */
export function transferLimitsOf(from: { [K in keyof TransferLimits]?: TransferLimits[K] | null }): TransferLimits {
  const { bwlimit, transfers, checkers } = from;
  return {
    ...(bwlimit != null ? { bwlimit } : {}),
    ...(transfers != null ? { transfers } : {}),
    ...(checkers != null ? { checkers } : {}),
  };
}
