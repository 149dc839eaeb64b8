/** The pair marker: its text, and the file in a real folder. */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PAIR_MARKER, markerText, parseMarker } from '../../src/core/pair-marker.js';
import { lookAtFolder, readMarker, writeMarker } from '../../src/storage/local/pair-marker-file.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { timesBefore1970Unkept } from '../helpers/like-ntfs.js';
import { posixOnly, SYMLINKS } from '../helpers/requirements.js';

let root: string;
beforeEach(() => {
  root = makeScratch('synctray-marker-');
});
afterEach(() => removeScratch(root));
const at = (p: string) => path.join(root, p);

describe('the marker text', () => {
  it('names the pair, and reads back; other text names no pair', () => {
    const text = markerText({ pairId: 'abcd1234', pairName: 'Photos "2024"' });
    expect(JSON.parse(text)).toMatchObject({ pairId: 'abcd1234', pairName: 'Photos "2024"' });
    expect(text).toContain('Leave it in place');
    expect(parseMarker(text)).toEqual({ pairId: 'abcd1234', pairName: 'Photos "2024"' });
    expect(parseMarker('')).toBeUndefined();
    expect(parseMarker('{"pairId":"abcd1234"}')).toBeUndefined();
    expect(parseMarker('null')).toBeUndefined();
    expect(parseMarker(text.replace('"pairId": "abcd1234"', '"pairId": 5'))).toBeUndefined();
  });
});

describe('the marker file', () => {
  it('is written whole into a folder it makes if needed, replacing an older one, and read back', async () => {
    await writeMarker(at('dst/photos'), { pairId: 'abcd1234', pairName: 'Photos' });
    expect(await readMarker(at('dst/photos'))).toEqual({
      state: 'found',
      marker: { pairId: 'abcd1234', pairName: 'Photos' },
    });
    await writeMarker(at('dst/photos'), { pairId: 'efgh5678', pairName: 'Other' });
    expect(await readMarker(at('dst/photos'))).toMatchObject({ marker: { pairId: 'efgh5678' } });
    expect(fs.readdirSync(at('dst/photos'))).toEqual([PAIR_MARKER]);
  });

  it('leaves the folder its times', async () => {
    fs.mkdirSync(at('d'));
    fs.utimesSync(at('d'), new Date('2020-01-02T03:04:05.678Z'), new Date('2021-02-03T04:05:06.789Z'));
    await writeMarker(at('d'), { pairId: 'abcd1234', pairName: 'P' });
    expect(fs.statSync(at('d')).mtime.toISOString()).toBe('2021-02-03T04:05:06.789Z');
  });

  it.skipIf(timesBefore1970Unkept())('leaves a folder dated before 1970 its time too', async () => {
    fs.mkdirSync(at('d'));
    fs.utimesSync(at('d'), '-86400', '-86400');
    await writeMarker(at('d'), { pairId: 'abcd1234', pairName: 'P' });
    expect(fs.statSync(at('d')).mtime.toISOString()).toBe('1969-12-31T00:00:00.000Z');
  });

  it.skipIf(posixOnly(SYMLINKS))('tells a missing marker, a damaged one and a symlink in its place apart', async () => {
    fs.mkdirSync(at('d'));
    expect(await readMarker(at('d'))).toEqual({ state: 'missing' });
    fs.writeFileSync(at(`d/${PAIR_MARKER}`), 'not json');
    expect(await readMarker(at('d'))).toEqual({ state: 'found' });
    fs.rmSync(at(`d/${PAIR_MARKER}`));
    fs.writeFileSync(at('elsewhere'), markerText({ pairId: 'abcd1234', pairName: 'P' }));
    fs.symlinkSync(at('elsewhere'), at(`d/${PAIR_MARKER}`));
    expect(await readMarker(at('d'))).toEqual({ state: 'found' });
  });

  it('looks at a folder: there or not, empty but for the marker or not', async () => {
    expect(await lookAtFolder(at('none'))).toEqual({ exists: false, empty: true, marker: { state: 'missing' } });
    fs.writeFileSync(at('file'), 'x');
    expect((await lookAtFolder(at('file'))).exists).toBe(false);
    fs.mkdirSync(at('d'));
    expect(await lookAtFolder(at('d'))).toEqual({ exists: true, empty: true, marker: { state: 'missing' } });
    await writeMarker(at('d'), { pairId: 'abcd1234', pairName: 'P' });
    expect(await lookAtFolder(at('d'))).toMatchObject({ exists: true, empty: true, marker: { state: 'found' } });
    fs.writeFileSync(at('d/a.txt'), 'a');
    expect(await lookAtFolder(at('d'))).toMatchObject({ exists: true, empty: false });
  });
});
