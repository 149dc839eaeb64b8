import { NS_PER_MS, NS_PER_SEC } from '../core/entry.js';
import { NO_RULES, type NameRules } from '../core/name-encoding.js';
import type { Capabilities, NameLimit } from './storage.js';

/**
 * What a folder's file system was seen to keep when a probe wrote to it (storage/local/probe.ts).
 * Pure data, so the rules that turn it into capabilities can be tested without a drive.
 */
export interface Probed {
  /** The time a probe file was given, and the time it then had; undefined where setting it failed. */
  time?: { setNs: bigint; readNs: bigint };
  /** chmod stuck: the modes set were the modes read back. */
  permissions: boolean;
  symlinks: boolean;
  /** Another case of a probe file's name found the file. */
  foldsCase: boolean;
  /** The NFD form of a name found the file made under its NFC form (macOS); absent: not known. */
  normalizesNames?: boolean;
  names: NameRules;
  /** The drive refuses Windows' device names (CON, AUX, NUL, COM1…, with any extension). */
  reservedNames?: boolean;
  maxName: NameLimit;
  /** Where a probe could see it without writing the bytes (see probe.ts), else from the kind. */
  maxFileBytes?: number;
  /** The file system's kind in a person's words ("exFAT", "NTFS", "FAT32"), when known. */
  kind?: string;
  /** The times it can hold, from its kind (a probe cannot see it: exfat-fuse clamps only on the drive). */
  timeRange?: readonly [bigint, bigint];
}

// Units a file system keeps times in, finest first: ns, NTFS's 100 ns, µs, ms, exFAT's 10 ms,
// whole seconds (exfat-fuse, ext3), FAT's two seconds.
const UNITS = [1n, 100n, 1000n, NS_PER_MS, 10n * NS_PER_MS, NS_PER_SEC, 2n * NS_PER_SEC];

/**
 * The granularity of a file system's times, from a time set on a file and read back. The time set
 * has an odd second and nine significant fraction digits (see PROBE_TIME_NS), so the coarsest unit
 * the read-back time is a whole multiple of is the unit the file system kept: a truncated, rounded
 * or (FAT) two-second time each lands on a multiple of its own unit and of no coarser one.
 * Undefined when the time read back is not within two seconds of the time set: the file system
 * did not take it (it keeps no times, or sets its own).
 */
export function granularityOf(setNs: bigint, readNs: bigint): bigint | undefined {
  const off = setNs > readNs ? setNs - readNs : readNs - setNs;
  if (off > 2n * NS_PER_SEC) return undefined;
  let unit = 1n;
  for (const u of UNITS) if (readNs % u === 0n) unit = u;
  // A read-back time further off than its unit was rounded by something coarser than it looks.
  return off > unit ? (UNITS.find((u) => u >= off) ?? 2n * NS_PER_SEC) : unit;
}

/** Set on probe files: an odd second (FAT rounds it) with a fraction no unit divides. */
export const PROBE_TIME_NS = 1_700_000_001_123_456_789n;

/** Local folders compare times within a millisecond at least (README, "Equality"). */
const FINEST_WINDOW_NS = NS_PER_MS;

/** The capabilities of a storage once what its file system keeps was measured. */
export function capabilitiesFrom(base: Capabilities, probed: Probed): Capabilities {
  const granularity = probed.time ? granularityOf(probed.time.setNs, probed.time.readNs) : undefined;
  const caps: Capabilities = {
    ...base,
    mtimePrecisionNs: granularity === undefined ? base.mtimePrecisionNs : larger(granularity, FINEST_WINDOW_NS),
    canSetModTime: granularity !== undefined,
    permissions: probed.permissions,
    symlinks: probed.symlinks,
    caseSensitive: !probed.foldsCase,
    names: probed.names,
    maxName: probed.maxName,
  };
  if (probed.reservedNames) caps.reservedNames = true;
  if (probed.normalizesNames !== undefined) caps.normalizesNames = probed.normalizesNames;
  if (probed.maxFileBytes !== undefined) caps.maxFileBytes = probed.maxFileBytes;
  if (probed.kind !== undefined) caps.kind = probed.kind;
  if (probed.timeRange !== undefined) caps.timeRange = probed.timeRange;
  return caps;
}

/**
 * What is known of a file system from its kind alone, for when it cannot be probed (a dry run
 * writes nothing; a read-only or full drive): the documented behaviour of each, as measured on
 * the drivers SyncTray was tried with. Undefined for kinds that keep what a POSIX folder keeps.
 */
export function knownOfKind(
  kind: string | undefined,
  viaFuse: boolean,
): (Omit<Probed, 'time'> & { timeNs: bigint }) | undefined {
  const windowsNames: NameRules = { refused: `:*?"<>|\\${CONTROL_CHARS}`, trailingDot: false, trailingSpace: false };
  const utf16 = { length: 255, unit: 'utf16' } as const;
  const timeRange = FAT_TIMES;
  switch (kind) {
    case 'FAT32':
    case 'FAT':
      return {
        timeNs: 2n * NS_PER_SEC,
        permissions: false,
        symlinks: false,
        foldsCase: true,
        normalizesNames: false,
        names: { ...windowsNames, trailingDot: true, trailingSpace: true },
        maxName: utf16,
        maxFileBytes: FAT_MAX_FILE,
        kind,
        timeRange,
      };
    case 'exFAT':
      // exfat-fuse keeps whole seconds; the kernel's driver keeps exFAT's 10 ms.
      return {
        timeNs: viaFuse ? NS_PER_SEC : 10n * NS_PER_MS,
        permissions: false,
        symlinks: false,
        foldsCase: true,
        normalizesNames: false,
        names: windowsNames,
        maxName: utf16,
        kind,
        timeRange,
      };
    case 'NTFS':
      // ntfs-3g without a user mapping: POSIX names and symlinks, no modes.
      return {
        timeNs: 100n,
        permissions: false,
        symlinks: true,
        foldsCase: false,
        normalizesNames: false,
        names: NO_RULES,
        maxName: utf16,
        kind,
      };
    default:
      return undefined;
  }
}

/** FAT and exFAT keep times from 1980 to 2107 (as local time). */
const FAT_TIMES = [
  BigInt(Date.UTC(1980, 0, 1)) * NS_PER_MS,
  BigInt(Date.UTC(2107, 11, 31, 23, 59, 59)) * NS_PER_MS,
] as const;

/** FAT32 stores a file's size in 32 bits. */
export const FAT_MAX_FILE = 2 ** 32 - 1;

/** 0x01 to 0x1F: refused in names by FAT, exFAT and Windows. */
export const CONTROL_CHARS = Array.from({ length: 31 }, (_, i) => String.fromCharCode(i + 1)).join('');

function larger(a: bigint, b: bigint): bigint {
  // Math.max takes no bigints.
  return a > b ? a : b;
}
