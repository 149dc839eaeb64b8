import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listedDestinations } from '../../src/config/config-file.js';
import { readConfig } from '../../src/config/read-config.js';
import { SCHEMA_VERSION } from '../../src/config/schema.js';
import { ConfigStore } from '../../src/config/store.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';

let dir: string;
beforeEach(() => {
  dir = makeScratch('synctray-config-file-');
});
afterEach(() => removeScratch(dir));

const write = (content: string) => fs.writeFileSync(path.join(dir, 'config.json'), content);
const pair = (name: string, destination: string) => ({
  name,
  source: `/src/${name}`,
  destination,
  mode: 'mirror' as const,
  checksum: false,
  exclude: [],
  rescanIntervalMs: 3_600_000,
  keepVersionsMs: 2_592_000_000,
  paused: false,
  notify: 'all' as const,
});
/** As the file holds it: with an id, and whatever destination. */
const stored = (name: string, destination: unknown) => ({
  ...pair(name, ''),
  id: `${name}00000000`.slice(0, 12),
  destination,
});

describe('the destinations the config file lists, unchecked', () => {
  it('are those of every pair the store keeps', () => {
    const { store } = ConfigStore.open(dir);
    for (const name of ['a', 'b']) store.add(pair(name, `/dst/${name}`));
    expect(listedDestinations(dir)).toEqual(['/dst/a', '/dst/b']);
  });

  it('hold every destination readConfig gives, of whole pairs and of damaged ones', () => {
    write(
      JSON.stringify({
        schemaVersion: SCHEMA_VERSION,
        pairs: [
          stored('whole', '/dst/whole'),
          { ...stored('damaged', '/dst/damaged'), mode: 'sideways' },
          stored('odd', 42),
          null,
        ],
        settings: {},
      }),
    );
    expect(readConfig(dir).pairs.map((p) => p.destination)).toEqual(['/dst/whole']);
    expect(listedDestinations(dir)).toEqual(['/dst/whole', '/dst/damaged']);
  });

  it("are read from the first layout's folders as readConfig reads them", () => {
    fs.copyFileSync(path.join(import.meta.dirname, 'fixtures/config-v1.json'), path.join(dir, 'config.json'));
    expect(listedDestinations(dir)).toEqual(readConfig(dir).pairs.map((p) => p.destination));
    expect(listedDestinations(dir).length).toBeGreaterThan(0);
  });

  it(
    'are none without a file, with one that is not JSON, not an object, ' +
      'without a list of pairs, or from a newer SyncTray',
    () => {
      expect(listedDestinations(dir)).toEqual([]);
      for (const text of [
        '{ not json',
        '[1, 2]',
        '{"schemaVersion": 3}',
        JSON.stringify({ schemaVersion: SCHEMA_VERSION + 1, pairs: [stored('new', '/dst/new')] }),
      ]) {
        write(text);
        expect(listedDestinations(dir)).toEqual([]);
        expect(readConfig(dir).pairs).toEqual([]);
      }
    },
  );
});
