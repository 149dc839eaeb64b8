import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogLevel } from '../../src/config/schema.js';
import { RotatingLog } from '../../src/service/log.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { onWindows } from '../helpers/requirements.js';

let dir: string;
beforeEach(() => {
  dir = makeScratch('synctray-log-');
});
afterEach(() => removeScratch(dir));

describe('the service log', () => {
  it('writes a line per event at or above its level, private to its owner', () => {
    let level: LogLevel = 'info';
    const log = new RotatingLog(dir, () => level);
    log.write('debug', 'hidden');
    log.write('info', 'photos: idle');
    log.write('warn', 'docs: source gone\nsecond line');
    level = 'debug';
    log.write('debug', 'now shown');
    const lines = fs.readFileSync(log.file, 'utf8').trim().split('\n');
    expect(lines.map((l) => l.replace(/^\S+ /, ''))).toEqual([
      'info photos: idle',
      'warn docs: source gone second line',
      'debug now shown',
    ]);
    if (!onWindows) expect(fs.statSync(log.file).mode & 0o777).toBe(0o600); // Windows keeps no mode bits
  });

  it('rotates past its size, keeping a few old files and dropping the oldest', () => {
    const log = new RotatingLog(dir, () => 'info', 1000, 3);
    for (let i = 0; i < 100; i++) log.write('info', `line ${i} ${'x'.repeat(50)}`);
    const names = fs.readdirSync(dir).sort();
    expect(names).toEqual(['synctray.log', 'synctray.log.1', 'synctray.log.2', 'synctray.log.3']);
    for (const n of names) expect(fs.statSync(path.join(dir, n)).size).toBeLessThanOrEqual(1000);
    expect(fs.readFileSync(log.file, 'utf8')).toContain('line 99 ');
  });
});
