import { describe, expect, it } from 'vitest';
import { actionOf, iconState, pauseEnd, statusLine, trayMenu, type MenuItem } from '../../src/desktop/tray-menu.js';
import type { PairStatus } from '../../src/service/service.js';

const NOW = Date.parse('2026-11-21T12:00:00Z');

function pair(name: string, change: Partial<PairStatus> = {}): PairStatus {
  return {
    id: `id-${name}`,
    name,
    source: `/home/me/${name}`,
    destination: `/mnt/backup/${name}`,
    mode: 'mirror',
    state: 'idle',
    files: 0,
    bytes: 0,
    lastSyncAt: '2026-11-21T11:55:00Z',
    ...change,
  };
}

const titles = (items: MenuItem[]) => items.map((i) => i.title);
const find = (items: MenuItem[], key: string): MenuItem | undefined => {
  for (const i of items) {
    if (i.key === key) return i;
    const inner = i.items && find(i.items, key);
    if (inner) return inner;
  }
  return undefined;
};

describe('the tray status line and icon', () => {
  it('says all is well in as few words as it can', () => {
    expect(statusLine([pair('Photos'), pair('Docs'), pair('Music')])).toBe('All 3 pairs up to date');
    expect(statusLine([pair('Photos')])).toBe('Photos is up to date');
    expect(statusLine([pair('Photos'), pair('Docs', { state: 'paused' })])).toBe('1 of 2 pairs up to date, 1 paused');
    expect(statusLine([pair('Photos', { state: 'paused' }), pair('Docs', { state: 'paused' })])).toBe(
      'All 2 pairs paused',
    );
    expect(statusLine([])).toBe('No folder pairs yet: add one below');
    expect(iconState([pair('Photos')])).toBe('idle');
    expect(iconState([pair('Photos', { state: 'paused' })])).toBe('paused');
    expect(iconState([])).toBe('idle');
  });

  it('shows a sync under way with its progress and the time left', () => {
    const photos = pair('Photos', {
      state: 'syncing',
      progress: { files: 1204, totalFiles: 7000, bytes: 10, totalBytes: 60, etaMs: 118_000 },
    });
    expect(statusLine([photos, pair('Docs')])).toBe('Syncing Photos — 1,204 of 7,000 files, 2 min left');
    expect(statusLine([pair('A', { state: 'syncing' }), pair('B', { state: 'syncing' })])).toBe('Syncing 2 pairs');
    expect(statusLine([pair('A', { state: 'scanning' }), pair('B')])).toBe('Checking A…');
    expect(iconState([photos, pair('Docs')])).toBe('syncing');
    expect(trayMenu({ pairs: [photos], autostart: false, now: NOW }).items[2]!.title).toBe('Photos: syncing 16%');
  });

  it('puts what needs the user first, in the line and in the icon', () => {
    const full = pair('Documents', { state: 'error', lastError: 'disk full' });
    expect(statusLine([pair('Photos', { state: 'syncing' }), full])).toBe('Documents: disk full');
    expect(iconState([pair('Photos', { state: 'syncing' }), full])).toBe('attention');
    expect(statusLine([pair('Music', { state: 'waiting-for-source' })])).toBe(
      'Music: source folder missing: reconnect or restore it',
    );
    expect(statusLine([full, pair('Music', { state: 'waiting-for-source' })])).toBe('2 pairs need attention');
    const held = pair('Photos', { held: '1,000 of 1,200 files would be deleted' });
    expect(statusLine([held])).toBe('Photos: deletions held back: review them');
    expect(iconState([held])).toBe('attention');
    expect(statusLine([pair('X', { state: 'error', lastError: `${'a'.repeat(200)}\nb` })])).toHaveLength(3 + 90);
  });
});

describe('the tray menu', () => {
  it('has a submenu per pair with its state, its actions and keys that say what a click means', () => {
    const menu = trayMenu({
      pairs: [pair('Photos'), pair('Docs', { state: 'paused', lastSyncAt: '2026-11-19T12:00:00Z' })],
      autostart: true,
      now: NOW,
    });
    expect(titles(menu.items)).toEqual([
      '1 of 2 pairs up to date, 1 paused',
      '-',
      'Photos: up to date',
      'Docs: paused',
      '-',
      'Add folder pair…',
      'Add phone pair…',
      'Pause all',
      'Resume all',
      '-',
      'Open log',
      'Start at login',
      'Quit SyncTray',
    ]);
    expect(menu.items[0]!.enabled).toBe(false);
    const photos = menu.items[2]!;
    expect(titles(photos.items!)).toEqual([
      'Up to date (last synced 5 min ago)',
      '/home/me/Photos → /mnt/backup/Photos (mirror)',
      'Every item stored',
      'Versions',
      'Limits: none',
      'Deletions held back: review…',
      '-',
      'Pause',
      'Resume',
      'Resync now',
      'Open source folder',
      'Open destination folder',
      'Restore…',
      '-',
      'Remove pair…',
    ]);
    const docs = menu.items[3]!;
    expect(titles(docs.items!).slice(0, 9)).toEqual([
      'Paused (last synced 2 days ago)',
      '/home/me/Docs → /mnt/backup/Docs (mirror)',
      'Every item stored',
      'Versions',
      'Limits: none',
      'Deletions held back: review…',
      '-',
      'Pause',
      'Resume',
    ]);
    // A running pair offers its Pause submenu, a paused one Resume: the other is hidden.
    expect([
      find(menu.items, 'pair:id-Photos:pause')!.hidden,
      find(menu.items, 'pair:id-Photos:resume')!.hidden,
    ]).toEqual([false, true]);
    expect([find(menu.items, 'pair:id-Docs:pause')!.hidden, find(menu.items, 'pair:id-Docs:resume')!.hidden]).toEqual([
      true,
      false,
    ]);
    expect(titles(find(menu.items, 'pair:id-Photos:pause')!.items!)).toEqual([
      'For 30 minutes',
      'For 1 hour',
      'Until tomorrow',
      'Until resumed',
    ]);
    expect(find(menu.items, 'pair:id-Docs:deletions')!.hidden).toBe(true);
    expect(find(menu.items, 'pair:id-Docs:limits')!.hidden).toBe(true);
    // Pausing changes titles only, never the menu's shape (the helper cannot add or remove items).
    const keys = (m: typeof menu) => JSON.stringify(m.items.map((i) => [i.key, i.items?.map((j) => j.key)]));
    const resumed = trayMenu({
      pairs: [pair('Photos', { state: 'paused' }), pair('Docs', { held: 'x' })],
      autostart: false,
      now: NOW,
    });
    expect(keys(resumed)).toBe(keys(menu));
    expect(find(menu.items, 'pair:id-Docs:resync')!.enabled).toBe(false);
    expect(find(menu.items, 'autostart')!.checked).toBe(true);
    expect(actionOf('pair:id-Docs:pause-hour')).toEqual({ type: 'pause-hour', pairId: 'id-Docs' });
    expect(actionOf('pair:id-Docs:resume')).toEqual({ type: 'resume', pairId: 'id-Docs' });
    expect(actionOf('pair:id-Docs:pause')).toBeUndefined();
    expect(actionOf('pair:id:with:colons:remove')).toEqual({ type: 'remove', pairId: 'id:with:colons' });
    expect(actionOf('pair:p1:restore')).toEqual({ type: 'restore', pairId: 'p1' });
    expect(actionOf('quit')).toEqual({ type: 'quit' });
    expect(actionOf('status')).toBeUndefined();
    expect(actionOf('pair:id-Docs:state')).toBeUndefined();
  });

  it("shows a pair's limits on what rclone does, where it sets them, in a row that is always there", () => {
    const limited = trayMenu({
      pairs: [pair('NAS', { destination: 'rclone:nas:backup', bwlimit: '2M', transfers: 8 })],
      autostart: false,
      now: NOW,
    });
    const row = find(limited.items, 'pair:id-NAS:limits')!;
    expect([row.title, row.hidden, row.enabled]).toEqual(['Limits: at most 2M a second, 8 transfers', false, false]);
    const free = trayMenu({ pairs: [pair('NAS')], autostart: false, now: NOW });
    expect(find(free.items, 'pair:id-NAS:limits')!.hidden).toBe(true);
  });

  it('enables pause all and resume all only when they would do something', () => {
    const running = trayMenu({ pairs: [pair('A')], autostart: false, now: NOW });
    expect([find(running.items, 'pause-all')!.enabled, find(running.items, 'resume-all')!.enabled]).toEqual([
      true,
      false,
    ]);
    const none = trayMenu({ pairs: [], autostart: false, now: NOW });
    expect(titles(none.items)).toEqual([
      'No folder pairs yet: add one below',
      '-',
      'Add folder pair…',
      'Add phone pair…',
      'Pause all',
      'Resume all',
      '-',
      'Open log',
      'Start at login',
      'Quit SyncTray',
    ]);
    expect([find(none.items, 'pause-all')!.enabled, find(none.items, 'resume-all')!.enabled]).toEqual([false, false]);
  });

  it("gives Pause all the pair's Pause choices, each read back as pausing all for that long", () => {
    const menu = trayMenu({ pairs: [pair('A'), pair('B')], autostart: false, now: NOW });
    const all = find(menu.items, 'pause-all')!;
    expect(all.items!.map((i) => [i.key, i.title, i.enabled])).toEqual([
      ['all:pause-half-hour', 'For 30 minutes', true],
      ['all:pause-hour', 'For 1 hour', true],
      ['all:pause-tomorrow', 'Until tomorrow', true],
      ['all:pause-indefinitely', 'Until resumed', true],
    ]);
    expect(all.items!.map((i) => actionOf(i.key))).toEqual([
      { type: 'pause-all', length: 'pause-half-hour' },
      { type: 'pause-all', length: 'pause-hour' },
      { type: 'pause-all', length: 'pause-tomorrow' },
      { type: 'pause-all', length: 'pause-indefinitely' },
    ]);
    // The submenu opens; only its items are clicks.
    expect(actionOf('pause-all')).toBeUndefined();
    expect(actionOf('all:resume')).toBeUndefined();
    expect(actionOf('resume-all')).toEqual({ type: 'resume-all' });
  });

  it('offers Pause all while a pair may be paused longer, and Resume all for pauses of the user only', () => {
    const view = (...pairs: PairStatus[]) => trayMenu({ pairs, autostart: false, now: NOW });
    const offered = (m: ReturnType<typeof trayMenu>) => [
      find(m.items, 'pause-all')!.enabled,
      find(m.items, 'all:pause-hour')!.enabled,
      find(m.items, 'resume-all')!.enabled,
    ];
    const until = new Date(NOW + 1_800_000).toISOString();
    // Paused for a time: all may be paused for longer, and Resume all ends the timed pause.
    expect(offered(view(pair('A', { state: 'paused', pausedUntil: until })))).toEqual([true, true, true]);
    // Paused until resumed: nothing longer to pause for.
    expect(offered(view(pair('A', { state: 'paused' }), pair('B', { state: 'paused' })))).toEqual([false, false, true]);
    // Waiting on battery is not the user's pause: Pause all is offered, Resume all would do nothing.
    expect(offered(view(pair('A', { state: 'paused', reason: 'paused: on battery' })))).toEqual([true, true, false]);
  });

  it('offers the review of held deletions in the pair, and keeps long paths short at both ends', () => {
    const p = pair('Photos', { held: 'x', source: `/home/me/${'deep/'.repeat(20)}Photos` });
    const menu = trayMenu({ pairs: [p], autostart: false, now: NOW });
    expect(find(menu.items, 'pair:id-Photos:deletions')).toMatchObject({
      title: 'Deletions held back: review…',
      enabled: true,
      hidden: false,
    });
    const route = find(menu.items, 'pair:id-Photos:route')!.title;
    expect(route.startsWith('/home/me/dee…')).toBe(true);
    expect(route).toContain('deep/Photos → /mnt/backup/Photos');
  });

  it('keeps every key unique, so clicks find their item', () => {
    const menu = trayMenu({
      pairs: [pair('A'), pair('B', { held: 'x' }), pair('C', { state: 'paused' })],
      autostart: false,
      now: NOW,
    });
    const keys: string[] = [];
    const walk = (items: MenuItem[]) => {
      for (const i of items) {
        keys.push(i.key);
        if (i.items) walk(i.items);
      }
    };
    walk(menu.items);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('says why a phone pair waits, and turns red only when the user can do something about it', () => {
    const phone = (connection: 'not-connected' | 'unauthorized' | 'no-adb', reason: string): PairStatus => ({
      ...pair('DCIM', { state: 'waiting-for-phone' }),
      phone: { serial: 'R58M123', connection },
      reason,
    });
    const away = trayMenu({ pairs: [phone('not-connected', 'R58M123 is not connected')], autostart: false, now: 0 });
    expect(away.icon).toBe('idle');
    expect(titles(away.items)[2]).toBe('DCIM: phone not connected');
    const locked = trayMenu({
      pairs: [phone('unauthorized', 'Pixel 8: unlock the phone and allow USB debugging')],
      autostart: false,
      now: 0,
    });
    expect(locked.icon).toBe('attention');
    expect(locked.status).toContain('unlock the phone and allow USB debugging');
    expect(titles(locked.items)[2]).toBe('DCIM: unlock the phone');
    expect(
      trayMenu({
        pairs: [phone('no-adb', 'adb is not installed. Install Android platform-tools')],
        autostart: false,
        now: 0,
      }).icon,
    ).toBe('attention');
  });

  it('says which backup drive a pair waits for, and turns red only when the user must vouch for the folder', () => {
    const away = pair('Photos', {
      state: 'waiting-for-destination',
      destinationProblem: 'not-connected',
      reason:
        'Backup drive BACKUP is not connected: plug it in and the backup goes on by itself ' +
        '(nothing is written to /media/ann/BACKUP meanwhile).',
    });
    const menu = trayMenu({ pairs: [away, pair('Docs')], autostart: false, now: NOW });
    expect(menu.icon).toBe('idle');
    expect(menu.status).toBe('Photos: Backup drive BACKUP is not connected');
    expect(titles(menu.items)[2]).toBe('Photos: drive not connected');
    expect(find(menu.items, 'pair:id-Photos:state')?.title).toBe(
      'Backup drive BACKUP is not connected (last synced 5 min ago)',
    );
    expect(statusLine([away, { ...away, id: 'x', name: 'Music' }])).toBe('2 pairs wait for their backup drives');
    const lost = pair('Photos', {
      state: 'waiting-for-destination',
      destinationProblem: 'marker-missing',
      reason:
        '/media/ann/BACKUP on backup drive BACKUP has lost its SyncTray marker; ' +
        "resync the pair ('synctray pair resync Photos')",
    });
    const red = trayMenu({ pairs: [lost], autostart: false, now: NOW });
    expect(red.icon).toBe('attention');
    expect(titles(red.items)[2]).toBe('Photos: check the backup folder');
    expect(red.status).toMatch(/^Photos: \/media\/ann\/BACKUP on backup drive BACKUP has lost its SyncTray marker/);
  });
});

describe('a pair whose drive cannot hold some items', () => {
  it('stays up to date, with the note in its submenu', () => {
    const unstorable = { count: 3, note: "3 items can't be stored on this drive (exFAT)", items: [], more: false };
    const photos = pair('Photos', { unstorable });
    const menu = trayMenu({ pairs: [photos], autostart: false, now: NOW });
    expect(statusLine([photos])).toBe('Photos is up to date');
    expect(iconState([photos])).toBe('idle');
    expect(find(menu.items, 'pair:id-Photos')!.title).toBe('Photos: up to date');
    expect(find(menu.items, 'pair:id-Photos:unstorable')).toMatchObject({
      title: "3 items can't be stored on this drive (exFAT)",
      enabled: false,
      hidden: false,
    });
    expect(
      find(trayMenu({ pairs: [pair('Docs')], autostart: false, now: NOW }).items, 'pair:id-Docs:unstorable')!.hidden,
    ).toBe(true);
  });
});

describe("a pair's versions", () => {
  it('shows what they take in its submenu once measured, and nothing before', () => {
    const versions = { files: 1204, bytes: 3_400_000, keepMs: 30 * 86_400_000 };
    const menu = trayMenu({ pairs: [pair('Photos', { versions })], autostart: false, now: NOW });
    expect(find(menu.items, 'pair:id-Photos:versions')).toMatchObject({
      title: 'Versions: 3.4 MB in 1,204 files, kept 30d',
      enabled: false,
      hidden: false,
    });
    const forever = { files: 0, bytes: 0, keepMs: 0 };
    expect(
      find(
        trayMenu({ pairs: [pair('Docs', { versions: forever })], autostart: false, now: NOW }).items,
        'pair:id-Docs:versions',
      )!.title,
    ).toBe('Versions: none kept yet, kept for ever');
    expect(
      find(trayMenu({ pairs: [pair('Docs')], autostart: false, now: NOW }).items, 'pair:id-Docs:versions')!.hidden,
    ).toBe(true);
  });
});

describe('the menu over a service of another process', () => {
  it('closes the tray alone and offers to stop the service, while joined', () => {
    const menu = trayMenu({ pairs: [pair('Photos')], autostart: false, now: NOW, service: 'joined' });
    expect(titles(menu.items).slice(-3)).toEqual([
      'Start at login',
      'Close the tray (SyncTray keeps running)',
      'Stop SyncTray…',
    ]);
    expect(actionOf('stop-service')).toEqual({ type: 'stop-service' });
    expect(actionOf('quit')).toEqual({ type: 'quit' });
  });

  it('says the service is not running once it is gone, with a way to start it', () => {
    const menu = trayMenu({ pairs: [], autostart: true, now: NOW, service: 'gone' });
    expect(menu.status).toBe('SyncTray is not running');
    expect(menu.icon).toBe('attention');
    expect(titles(menu.items)).toEqual([
      'SyncTray is not running',
      '-',
      'Start SyncTray',
      '-',
      'Open log',
      'Start at login',
      'Close the tray',
    ]);
    expect(find(menu.items, 'autostart')!.checked).toBe(true);
    expect(actionOf('start-service')).toEqual({ type: 'start-service' });
  });
});

describe('a pair paused for a time', () => {
  it('says until when, in its title and its submenu, and keeps the menu the same shape', () => {
    const at = new Date(NOW);
    const later = new Date(at.getFullYear(), at.getMonth(), at.getDate(), 23, 5).getTime();
    const paused = pair('Photos', { state: 'paused', pausedUntil: new Date(later).toISOString() });
    const menu = trayMenu({ pairs: [paused], autostart: false, now: NOW });
    expect(find(menu.items, 'pair:id-Photos')!.title).toBe('Photos: paused until 23:05');
    expect(find(menu.items, 'pair:id-Photos:state')!.title).toBe('Paused until 23:05 (last synced 5 min ago)');
    const tomorrow = new Date(at.getFullYear(), at.getMonth(), at.getDate() + 1, 8).toISOString();
    const overnight = trayMenu({ pairs: [{ ...paused, pausedUntil: tomorrow }], autostart: false, now: NOW });
    expect(find(overnight.items, 'pair:id-Photos')!.title).toBe('Photos: paused until tomorrow 08:00');
    const keys = (m: typeof menu) => JSON.stringify(m.items.map((i) => [i.key, i.items?.map((j) => j.key)]));
    expect(keys(menu)).toBe(keys(trayMenu({ pairs: [pair('Photos')], autostart: false, now: NOW })));
  });

  it('shows a pair waiting on battery as paused, with Pause still offered and Resume not', () => {
    const waiting = pair('Photos', { state: 'paused', reason: 'paused: on battery' });
    const menu = trayMenu({ pairs: [waiting], autostart: false, now: NOW });
    expect(find(menu.items, 'pair:id-Photos')!.title).toBe('Photos: on battery');
    expect(find(menu.items, 'pair:id-Photos:state')!.title).toBe('Paused: on battery (last synced 5 min ago)');
    expect(find(menu.items, 'pair:id-Photos:pause')).toMatchObject({ hidden: false, enabled: true });
    expect(find(menu.items, 'pair:id-Photos:resume')!.hidden).toBe(true);
    expect(find(menu.items, 'pair:id-Photos:resync')!.enabled).toBe(false);
    expect(menu.icon).toBe('paused');
  });

  it('ends the pauses the submenu offers after 30 minutes, 1 hour, tomorrow at 8:00, or never', () => {
    expect(pauseEnd('pause-half-hour', NOW)).toBe(NOW + 1_800_000);
    expect(pauseEnd('pause-hour', NOW)).toBe(NOW + 3_600_000);
    expect(pauseEnd('pause-indefinitely', NOW)).toBeUndefined();
    const tomorrow = new Date(pauseEnd('pause-tomorrow', NOW)!);
    expect([tomorrow.getHours(), tomorrow.getMinutes()]).toEqual([8, 0]);
    expect(tomorrow.getDate()).toBe(new Date(NOW + 86_400_000).getDate());
  });
});
