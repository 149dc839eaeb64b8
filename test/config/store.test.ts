import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION, type Pair } from '../../src/config/schema.js';
import { ConfigStore } from '../../src/config/store.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { onWindows } from '../helpers/requirements.js';

let dir: string;
beforeEach(() => {
  dir = makeScratch('synctray-config-');
});
afterEach(() => removeScratch(dir));

const file = () => path.join(dir, 'config.json');
const aside = (prefix: string) => fs.readdirSync(dir).filter((n) => n.startsWith(`config.json.${prefix}-`));
const pair = (name: string, over: Partial<Pair> = {}): Omit<Pair, 'id'> => ({
  name,
  source: `/src/${name}`,
  destination: `/dst/${name}`,
  mode: 'mirror',
  checksum: false,
  exclude: [],
  rescanIntervalMs: 3_600_000,
  keepVersionsMs: 2_592_000_000,
  paused: false,
  notify: 'all',
  ...over,
});

describe('the config store', () => {
  it('starts empty, keeps pairs and settings across openings, in a file only its owner can read', () => {
    const { store, problems } = ConfigStore.open(dir);
    expect(problems).toEqual([]);
    expect(store.pairs()).toEqual([]);
    const added = store.add(pair('photos'));
    expect(added.id).toMatch(/^[a-z0-9]{12}$/);
    store.update(added.id, { paused: true });
    const again = ConfigStore.open(dir).store;
    expect(again.pairs()).toEqual([{ ...added, paused: true }]);
    expect(again.find('photos')?.id).toBe(added.id);
    expect(again.find(added.id)?.name).toBe('photos');
    if (!onWindows) expect(fs.statSync(file()).mode & 0o777).toBe(0o600); // Windows keeps no mode bits
    expect(JSON.parse(fs.readFileSync(file(), 'utf8')).schemaVersion).toBe(SCHEMA_VERSION);
    again.remove(added.id);
    expect(ConfigStore.open(dir).store.pairs()).toEqual([]);
  });

  it('migrates the first layout, keeping the original beside it', () => {
    fs.copyFileSync(new URL('./fixtures/config-v1.json', import.meta.url), file());
    const { store, problems } = ConfigStore.open(dir);
    expect(problems).toEqual([]);
    expect(aside('v1')).toHaveLength(1);
    const pairs = store.pairs();
    expect(pairs.map((p) => [p.name, p.source, p.destination, p.mode, p.exclude, p.paused])).toEqual([
      ['Photos', '/home/ann/Photos', '/media/backup/Photos', 'mirror', ['*.tmp', 'cache/'], false],
      ['Documents', '/home/ann/Documents', '/media/backup/Documents', 'update', [], true],
      ['Photos 2', '/srv/other/Photos', '/media/backup/Photos-2', 'mirror', [], false],
    ]);
    expect(new Set(pairs.map((p) => p.id)).size).toBe(3);
    expect(store.settings().notifications).toBe('none');
    expect(JSON.parse(fs.readFileSync(file(), 'utf8')).schemaVersion).toBe(SCHEMA_VERSION);
  });

  it('keeps a file that is not JSON aside and starts with defaults, saying so', () => {
    fs.writeFileSync(file(), '{ "pairs": [ {"id": "abc');
    const { store, problems } = ConfigStore.open(dir);
    expect(store.pairs()).toEqual([]);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toContain('could not be read (not valid JSON');
    expect(aside('bad')).toHaveLength(1);
    expect(fs.readFileSync(path.join(dir, aside('bad')[0]!), 'utf8')).toBe('{ "pairs": [ {"id": "abc');
  });

  it('keeps the whole pairs of a damaged file, the damaged file aside, and says what was lost', () => {
    const { store } = ConfigStore.open(dir);
    const good = store.add(pair('good'));
    store.add(pair('other'));
    const raw = JSON.parse(fs.readFileSync(file(), 'utf8'));
    delete raw.pairs[1].destination;
    raw.settings.logLevel = 'chatty';
    fs.writeFileSync(file(), JSON.stringify(raw));
    const opened = ConfigStore.open(dir);
    expect(opened.store.pairs()).toEqual([good]);
    expect(opened.store.settings().logLevel).toBe('info');
    expect(opened.problems[0]!.message).toContain('1 pair is incomplete');
    expect(opened.problems[0]!.message).toContain('its settings are incomplete');
    expect(opened.problems[0]!.keptAt).toBe(path.join(dir, aside('bad')[0]!));
  });

  it('takes a file of the current shape without its layout number as damaged, not as the first layout', () => {
    const { store } = ConfigStore.open(dir);
    const kept = store.add(pair('photos'));
    const raw = JSON.parse(fs.readFileSync(file(), 'utf8'));
    delete raw.schemaVersion;
    fs.writeFileSync(file(), JSON.stringify(raw));
    const opened = ConfigStore.open(dir);
    expect(opened.store.pairs()).toEqual([kept]);
    expect(aside('v1')).toEqual([]);
  });

  it('refuses a file from a newer SyncTray and leaves it alone', () => {
    const newer = JSON.stringify({ schemaVersion: SCHEMA_VERSION + 1, pairs: [], settings: {} });
    fs.writeFileSync(file(), newer);
    expect(() => ConfigStore.open(dir)).toThrow(/newer SyncTray/);
    expect(fs.readFileSync(file(), 'utf8')).toBe(newer);
  });

  it(
    'migrates a layout 2 file unchanged but for its number, keeping the original, ' +
      "and keeps a pair's destination volume",
    () => {
      const v2 = {
        schemaVersion: 2,
        pairs: [{ ...pair('photos'), id: 'abcd1234' }],
        settings: { autostart: false, notifications: 'errors', logLevel: 'info' },
      };
      fs.writeFileSync(file(), JSON.stringify(v2));
      const { store, problems } = ConfigStore.open(dir);
      expect(problems).toEqual([]);
      expect(store.pairs()).toEqual(v2.pairs);
      expect(JSON.parse(fs.readFileSync(file(), 'utf8')).schemaVersion).toBe(SCHEMA_VERSION);
      expect(aside('v2')).toHaveLength(1);
      const volume = { uuid: 'FBDD-A33E', label: 'BACKUP', kind: 'exfat', pathInVolume: '/photos' };
      store.update('abcd1234', { destinationVolume: volume });
      expect(ConfigStore.open(dir).store.find('photos')!.destinationVolume).toEqual(volume);
      // A volume with a field no SyncTray wrote is a damaged pair.
      const raw = JSON.parse(fs.readFileSync(file(), 'utf8'));
      raw.pairs[0].destinationVolume.serial = 'x';
      fs.writeFileSync(file(), JSON.stringify(raw));
      expect(ConfigStore.open(dir).problems).toHaveLength(1);
    },
  );

  it('migrates a layout 3 file: every pair keeps versions 30 days, on by default where none were set', () => {
    const { keepVersionsMs: _keep, ...old } = pair('photos');
    const v3 = {
      schemaVersion: 3,
      pairs: [
        { ...old, id: 'abcd1234' },
        { ...old, id: 'efgh5678', name: 'docs', source: '/src/docs', destination: '/dst/docs', versions: '/v/docs' },
      ],
      settings: { autostart: false, notifications: 'errors', logLevel: 'info' },
    };
    fs.writeFileSync(file(), JSON.stringify(v3));
    const { store, problems } = ConfigStore.open(dir);
    expect(problems).toEqual([]);
    const [photos, docs] = store.pairs();
    expect(photos).toEqual({ ...v3.pairs[0], keepVersionsMs: 30 * 86_400_000 });
    expect(photos!.versions).toBeUndefined();
    expect(docs).toMatchObject({ versions: '/v/docs', keepVersionsMs: 30 * 86_400_000 });
    expect(JSON.parse(fs.readFileSync(file(), 'utf8')).schemaVersion).toBe(SCHEMA_VERSION);
    expect(aside('v3')).toHaveLength(1);
    // versions: false (no versions) is a pair as valid as one with a folder.
    store.update('abcd1234', { versions: false });
    expect(ConfigStore.open(dir).store.find('photos')!.versions).toBe(false);
  });

  it('migrates a layout 4 file unchanged but for its number, then keeps a timed pause and takes it away', () => {
    const v4 = {
      schemaVersion: 4,
      pairs: [{ ...pair('photos'), id: 'abcd1234' }],
      settings: { autostart: false, notifications: 'errors', logLevel: 'info' },
    };
    fs.writeFileSync(file(), JSON.stringify(v4));
    const { store, problems } = ConfigStore.open(dir);
    expect(problems).toEqual([]);
    expect(store.pairs()).toEqual(v4.pairs);
    expect(JSON.parse(fs.readFileSync(file(), 'utf8')).schemaVersion).toBe(SCHEMA_VERSION);
    expect(aside('v4')).toHaveLength(1);
    store.update('abcd1234', { paused: true, pausedUntil: '2026-12-06T14:30:00.000Z' });
    expect(ConfigStore.open(dir).store.find('photos')).toMatchObject({
      paused: true,
      pausedUntil: '2026-12-06T14:30:00.000Z',
    });
    store.update('abcd1234', { paused: false, pausedUntil: undefined });
    expect(JSON.parse(fs.readFileSync(file(), 'utf8')).pairs[0]).not.toHaveProperty('pausedUntil');
    // A time that is not one is a damaged pair.
    const raw = JSON.parse(fs.readFileSync(file(), 'utf8'));
    raw.pairs[0].pausedUntil = 'tomorrow';
    fs.writeFileSync(file(), JSON.stringify(raw));
    expect(ConfigStore.open(dir).problems).toHaveLength(1);
  });

  it('migrates a layout 5 file unchanged but for its number, then keeps limits and takes them away with null', () => {
    const v5 = {
      schemaVersion: 5,
      pairs: [{ ...pair('photos', { destination: 'rclone:nas:photos' }), id: 'abcd1234' }],
      settings: { autostart: false, notifications: 'errors', logLevel: 'info' },
    };
    fs.writeFileSync(file(), JSON.stringify(v5));
    const { store, problems } = ConfigStore.open(dir);
    expect(problems).toEqual([]);
    expect(store.pairs()).toEqual(v5.pairs);
    expect(JSON.parse(fs.readFileSync(file(), 'utf8')).schemaVersion).toBe(6);
    expect(aside('v5')).toHaveLength(1);
    store.update('abcd1234', { bwlimit: '2M', transfers: 8, checkers: 16 });
    expect(ConfigStore.open(dir).store.find('photos')).toMatchObject({ bwlimit: '2M', transfers: 8, checkers: 16 });
    store.update('abcd1234', { bwlimit: null, transfers: null });
    const kept = JSON.parse(fs.readFileSync(file(), 'utf8')).pairs[0];
    expect([kept.bwlimit, kept.transfers, kept.checkers]).toEqual([undefined, undefined, 16]);
    expect(kept).not.toHaveProperty('bwlimit');
    // A rate rclone would not take, or too many transfers, is a damaged pair.
    for (const bad of [{ bwlimit: 'fast' }, { transfers: 0 }, { checkers: 65 }]) {
      fs.writeFileSync(file(), JSON.stringify({ ...v5, schemaVersion: 6, pairs: [{ ...v5.pairs[0], ...bad }] }));
      expect(ConfigStore.open(dir).problems, JSON.stringify(bad)).toHaveLength(1);
    }
  });
});

describe('watching the pairs', () => {
  it('tells each write that changes them, not a settings write, and stops when asked', () => {
    const { store } = ConfigStore.open(dir);
    const told: string[][] = [];
    const stop = store.onPairsChanged((pairs) =>
      told.push(pairs.map((p) => `${p.name}${p.paused ? ' (paused)' : ''}`)),
    );
    const photos = store.add(pair('photos'));
    store.update(photos.id, { paused: true });
    store.updateSettings({ logLevel: 'debug' });
    store.update(photos.id, { paused: true });
    stop();
    store.remove(photos.id);
    expect(told).toEqual([['photos'], ['photos (paused)']]);
  });
});
