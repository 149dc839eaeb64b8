import { describe, expect, it } from 'vitest';
import { NO_RULES } from '../../src/core/name-encoding.js';
import {
  capabilitiesFrom,
  granularityOf,
  knownOfKind,
  PROBE_TIME_NS,
  type Probed,
} from '../../src/storage/measured.js';
import type { Capabilities } from '../../src/storage/storage.js';

const S = 1_000_000_000n;
const T = PROBE_TIME_NS; // 1700000001.123456789 s

describe('the time granularity read back from a probe file', () => {
  it.each([
    ['nanoseconds (ext4 through the native library)', T, 1n],
    ['100 ns (NTFS)', T - 89n, 100n],
    ['microseconds (Node sets times from a double)', T - 789n, 1000n],
    ['milliseconds', T - 456_789n, 1_000_000n],
    ['10 ms (the kernel exFAT driver)', T - 3_456_789n, 10_000_000n],
    ['whole seconds, cut (exfat-fuse)', T - 123_456_789n, S],
    ['two seconds, the odd second rounded down (FAT)', T - S - 123_456_789n, 2n * S],
    ['two seconds, the odd second rounded up (FAT)', T + S - 123_456_789n, 2n * S],
  ])('%s', (_, read, unit) => {
    expect(granularityOf(T, read)).toBe(unit);
  });

  it('is the coarser unit when the time read back is further off than its own unit says', () => {
    // A whole (odd) second read back 1.88 s later: something rounded by more than a second.
    expect(granularityOf(T, T + 2n * S - 123_456_789n)).toBe(2n * S);
  });

  it('is unknown when the time did not stick at all (more than two seconds off)', () => {
    expect(granularityOf(T, 1_800_000_000_000_000_000n)).toBeUndefined();
    expect(granularityOf(T, T - 3n * S)).toBeUndefined();
  });
});

const POSIX: Capabilities = {
  mtimePrecisionNs: 1_000_000n,
  caseSensitive: true,
  canSetModTime: true,
  symlinks: true,
  permissions: true,
  atomicRename: true,
  accessTimes: true,
};

function probed(over: Partial<Probed> = {}): Probed {
  return {
    time: { setNs: T, readNs: T },
    permissions: true,
    symlinks: true,
    foldsCase: false,
    names: NO_RULES,
    maxName: { length: 255, unit: 'byte' },
    ...over,
  };
}

describe('capabilities from what was measured', () => {
  it('keeps a millisecond as the finest window (README: local folders compare to the millisecond)', () => {
    expect(capabilitiesFrom(POSIX, probed()).mtimePrecisionNs).toBe(1_000_000n);
  });

  it('takes a coarser measured granularity as the window', () => {
    const caps = capabilitiesFrom(POSIX, probed({ time: { setNs: T, readNs: T - 123_456_789n } }));
    expect(caps.mtimePrecisionNs).toBe(S);
    expect(caps.canSetModTime).toBe(true);
  });

  it('says times cannot be set when they did not stick, keeping the window it had', () => {
    const caps = capabilitiesFrom(POSIX, probed({ time: undefined }));
    expect(caps.canSetModTime).toBe(false);
    expect(caps.mtimePrecisionNs).toBe(POSIX.mtimePrecisionNs);
  });

  it('takes modes, symlinks, case, names, name length, largest file and kind as measured', () => {
    const names = { refused: ':?', trailingDot: true, trailingSpace: false };
    const caps = capabilitiesFrom(
      POSIX,
      probed({
        permissions: false,
        symlinks: false,
        foldsCase: true,
        names,
        maxName: { length: 255, unit: 'utf16' },
        maxFileBytes: 42,
        kind: 'exFAT',
      }),
    );
    expect(caps).toMatchObject({
      permissions: false,
      symlinks: false,
      caseSensitive: false,
      names,
      maxName: { length: 255, unit: 'utf16' },
      maxFileBytes: 42,
      kind: 'exFAT',
    });
    expect(caps.atomicRename).toBe(true);
  });

  it('leaves out a largest file and a kind it did not learn', () => {
    const caps = capabilitiesFrom(POSIX, probed());
    expect(caps.maxFileBytes).toBeUndefined();
    expect(caps.kind).toBeUndefined();
  });
});

describe('what a kind of file system is known to keep (when it cannot be probed)', () => {
  it('FAT32: two-second times, no modes or symlinks, folded case, Windows names, 4 GiB - 1', () => {
    const fat = knownOfKind('FAT32', false)!;
    expect(fat).toMatchObject({
      timeNs: 2n * S,
      permissions: false,
      symlinks: false,
      foldsCase: true,
      maxFileBytes: 2 ** 32 - 1,
    });
    expect(fat.names).toMatchObject({ trailingDot: true, trailingSpace: true });
    expect(fat.names.refused).toContain(':');
  });

  it('exFAT: whole seconds through FUSE, 10 ms in the kernel; no file size limit', () => {
    expect(knownOfKind('exFAT', true)!.timeNs).toBe(S);
    expect(knownOfKind('exFAT', false)!.timeNs).toBe(10_000_000n);
    expect(knownOfKind('exFAT', true)!.maxFileBytes).toBeUndefined();
    expect(knownOfKind('exFAT', true)!.names.refused).toContain('|');
  });

  it('NTFS through ntfs-3g: 100 ns, symlinks, POSIX names, no modes', () => {
    expect(knownOfKind('NTFS', true)).toMatchObject({
      timeNs: 100n,
      symlinks: true,
      permissions: false,
      names: NO_RULES,
    });
  });

  it('nothing for kinds that keep what a POSIX folder keeps, or unknown ones', () => {
    expect(knownOfKind('ext4', false)).toBeUndefined();
    expect(knownOfKind(undefined, true)).toBeUndefined();
  });
});
