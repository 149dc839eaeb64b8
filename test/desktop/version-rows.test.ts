import { describe, expect, it } from 'vitest';
import { versionRow } from '../../src/desktop/version-rows.js';

describe('versionRow', () => {
  const now = Date.parse('2026-12-06T12:00:00.000Z');
  it('says when, why and which file, in that order', () => {
    const at = (iso: string) => new Date(iso).toISOString();
    expect(versionRow({ path: 'photos/a.jpg', setAside: at('2026-12-06T10:00:00Z'), reason: 'deleted' }, now)).toBe(
      '2 h ago · deleted · photos/a.jpg',
    );
    expect(versionRow({ path: 'cv.txt', setAside: at('2026-12-06T11:55:00Z'), reason: 'replaced' }, now)).toBe(
      '5 min ago · replaced · cv.txt',
    );
    expect(versionRow({ path: 'old & <x>.txt', setAside: at('2026-12-01T12:00:00Z'), reason: 'deleted' }, now)).toBe(
      '5 days ago · deleted · old & <x>.txt',
    );
  });
});
