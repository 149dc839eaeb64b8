import { describe, expect, it } from 'vitest';
import type { NotifyLevel } from '../../src/config/schema.js';
import { NotifyPolicy } from '../../src/desktop/notify-policy.js';
import type { Happening } from '../../src/service/notifications.js';

const MIN = 60_000;
const failed = (message: string, pairId = 'p1'): Happening => ({
  pairId,
  pairName: pairId === 'p1' ? 'Photos' : 'Docs',
  kind: 'failed',
  message,
});

function policy(level: NotifyLevel = 'errors', perPair: Record<string, NotifyLevel> = {}) {
  return new NotifyPolicy(
    () => level,
    (id) => perPair[id] ?? 'all',
  );
}

describe('the notification policy', () => {
  it('tells a problem at once, then groups what follows within the minute into one', () => {
    const p = policy();
    expect(p.add(failed('a.jpg: permission denied'), 0)).toEqual({
      title: 'SyncTray: Photos: could not sync some items',
      body: 'a.jpg: permission denied',
      urgency: 'critical',
    });
    expect(p.add({ ...failed('x'), kind: 'held', message: 'would delete 70 of 100 files' }, 5_000)).toBeUndefined();
    expect(
      p.add({ ...failed('x'), kind: 'source-missing', message: '/home/ann/Photos is gone' }, 10_000),
    ).toBeUndefined();
    expect(p.nextFlushAt()).toBe(MIN);
    expect(p.flush(MIN - 1)).toEqual([]);
    expect(p.flush(MIN)).toEqual([
      {
        title: 'SyncTray: Photos: 2 problems',
        body: '• would delete 70 of 100 files\n• /home/ann/Photos is gone',
        urgency: 'critical',
      },
    ]);
    expect(p.nextFlushAt()).toBeUndefined();
  });

  it('shows at most three a minute across pairs, telling the rest together afterwards', () => {
    const p = policy();
    const shown = Array.from({ length: 10 }, (_, i) => p.add(failed(`drive gone ${i}`, `p${i + 1}`), 0)).filter(
      Boolean,
    );
    expect(shown).toHaveLength(3);
    expect(p.nextFlushAt()).toBe(MIN);
    expect(p.flush(MIN - 1)).toEqual([]);
    const later = p.flush(MIN);
    expect(later).toHaveLength(3);
    expect(later[2]!.title).toBe('SyncTray: 5 folder pairs need attention');
    expect(later[2]!.body.split('\n')).toHaveLength(5);
    expect(p.nextFlushAt()).toBeUndefined();
  });

  it('keeps pairs apart: each has its own minute', () => {
    const p = policy();
    expect(p.add(failed('one'), 0)).toBeDefined();
    expect(p.add(failed('two', 'p2'), 1000)).toBeDefined();
  });

  it('does not repeat a problem that goes on, but escalates it after 10 minutes and an hour', () => {
    const p = policy();
    expect(p.add(failed('disk full'), 0)).toBeDefined();
    for (let t = MIN; t < 10 * MIN; t += MIN) expect(p.add(failed('disk full'), t)).toBeUndefined();
    expect(p.add(failed('disk full'), 10 * MIN)?.body).toBe('still: disk full');
    expect(p.add(failed('disk full'), 30 * MIN)).toBeUndefined();
    expect(p.add(failed('disk full'), 60 * MIN)?.body).toBe('still: disk full');
    expect(p.add(failed('disk full'), 600 * MIN)).toBeUndefined();
  });

  it('tells a different problem of the same kind, but not the same one with another count', () => {
    const p = policy();
    expect(p.add(failed('3 items could not be synced: a.jpg: permission denied'), 0)).toBeDefined();
    expect(p.add(failed('4 items could not be synced: a.jpg: permission denied'), 2 * MIN)).toBeUndefined();
    expect(p.add(failed('1 item could not be synced: disk full'), 3 * MIN)?.body).toBe(
      '1 item could not be synced: disk full',
    );
  });

  it('forgets the problems of a pair that syncs cleanly, so a new failure is told again', () => {
    const p = policy();
    p.add(failed('disk full'), 0);
    expect(p.add(failed('disk full'), 2 * MIN)).toBeUndefined();
    p.ok('p1');
    expect(p.add(failed('disk full'), 3 * MIN)).toBeDefined();
  });

  it('follows the level of the app and of each pair: none, errors, all', () => {
    const synced: Happening = {
      pairId: 'p1',
      pairName: 'Photos',
      kind: 'synced',
      message: 'The first sync of Photos is complete.',
    };
    expect(policy('errors').add(synced, 0)).toBeUndefined();
    expect(policy('all').add(synced, 0)).toEqual({
      title: 'SyncTray: Photos: synced',
      body: 'The first sync of Photos is complete.',
      urgency: 'normal',
    });
    expect(policy('none').add(failed('x'), 0)).toBeUndefined();
    expect(policy('all', { p1: 'none' }).add(failed('x'), 0)).toBeUndefined();
    expect(policy('all', { p1: 'errors' }).add(synced, 0)).toBeUndefined();
    expect(policy('errors').add({ kind: 'config', message: 'damaged' }, 0)?.title).toBe(
      'SyncTray: settings were damaged',
    );
  });

  it('tells a backup drive plugged back in at the default level (errors), as good news', () => {
    const back: Happening = {
      pairId: 'p1',
      pairName: 'Photos',
      kind: 'drive-connected',
      message: 'Backup drive BACKUP connected: 34 files backed up',
    };
    expect(policy('none').add(back, 0)).toBeUndefined();
    expect(policy('errors').add(back, 0)).toEqual({
      title: 'SyncTray: Photos: backup drive connected',
      body: 'Backup drive BACKUP connected: 34 files backed up',
      urgency: 'normal',
    });
  });

  it('tells a completed phone sync at the default level (errors), not at none, and several as one', () => {
    const synced = (message: string): Happening => ({ pairId: 'p1', pairName: 'DCIM', kind: 'phone-synced', message });
    expect(policy('none').add(synced('Pixel 8: 3 new files backed up (2.1 MB)'), 0)).toBeUndefined();
    const p = policy('errors');
    expect(p.add(synced('Pixel 8: 34 new files backed up (120 MB)'), 0)).toEqual({
      title: 'SyncTray: DCIM: phone synced',
      body: 'Pixel 8: 34 new files backed up (120 MB)',
      urgency: 'normal',
    });
    expect(p.add(synced('Pixel 8: 2 new files backed up (4.0 MB)'), 1000)).toBeUndefined();
    expect(p.add(synced('Pixel 8: 1 new file backed up (1.0 MB)'), 2000)).toBeUndefined();
    expect(p.flush(MIN)).toEqual([
      {
        title: 'SyncTray: DCIM: phone synced',
        body: 'Pixel 8: 2 new files backed up (4.0 MB)\nPixel 8: 1 new file backed up (1.0 MB)',
        urgency: 'normal',
      },
    ]);
  });
});
