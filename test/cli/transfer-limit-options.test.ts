import { describe, expect, it } from 'vitest';
import { limitChange, refuseLimitsWithoutRemote, transferLimits } from '../../src/cli/transfer-limit-options.js';
import { transferLimitsText } from '../../src/core/transfer-limits.js';

describe('the options that limit what rclone does', () => {
  it('takes rates as rclone writes them and whole numbers of lanes from 1 to 64', () => {
    expect(transferLimits({ bwlimit: '2M', transfers: '8', checkers: '64' })).toEqual({
      bwlimit: '2M',
      transfers: 8,
      checkers: 64,
    });
    for (const rate of ['512K', '1.5m', '100', '10B', '2G'])
      expect(transferLimits({ bwlimit: rate })).toEqual({ bwlimit: rate });
    expect(transferLimits({ bwlimit: 'off' })).toEqual({});
    for (const rate of ['fast', '2MB', '-1M', '08:00,512K', '10M:1M', ''])
      expect(() => transferLimits({ bwlimit: rate }), rate).toThrow(/--bwlimit takes a rate/);
    for (const n of ['0', '65', '1.5', '-2', 'x', '', '1e1'])
      expect(() => transferLimits({ transfers: n }), n).toThrow(/--transfers takes a whole number from 1 to 64/);
  });

  it('refuses them where no folder is a remote, naming each one given', () => {
    expect(() => refuseLimitsWithoutRemote({ bwlimit: '1M' }, ['rclone:nas:x'], 'no')).not.toThrow();
    expect(() => refuseLimitsWithoutRemote({}, ['/here'], 'no')).not.toThrow();
    expect(() => refuseLimitsWithoutRemote({ transfers: '2', checkers: '2' }, ['/a', '/b'], 'neither is one')).toThrow(
      '--transfers, --checkers limit what rclone does: neither is one.',
    );
  });

  it("says what pair set changes: a new limit, or null to take the pair's away", () => {
    expect(limitChange({ bwlimit: '1M', 'no-transfers': true })).toEqual({ bwlimit: '1M', transfers: null });
    expect(limitChange({ bwlimit: 'off', checkers: '3' })).toEqual({ bwlimit: null, checkers: 3 });
    expect(limitChange({})).toEqual({});
    expect(() => limitChange({ checkers: '3', 'no-checkers': true })).toThrow(
      'pair set takes --checkers or --no-checkers, not both.',
    );
  });

  it('says the limits set, for people', () => {
    expect(transferLimitsText({ bwlimit: '2M', transfers: 1, checkers: 16 })).toBe(
      'at most 2M a second, 1 transfer, 16 checkers',
    );
    expect(transferLimitsText({})).toBe('');
  });
});
