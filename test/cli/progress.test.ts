import { describe, expect, it } from 'vitest';
import { SyncEvents } from '../../src/core/events.js';
import { ProgressBar } from '../../src/cli/progress.js';
import { displayWidth, tailToWidth } from '../../src/cli/display-width.js';

describe('progress bar', () => {
  it('shows files and bytes done of the total, rate, ETA and the current file', () => {
    let out = '';
    let now = 0;
    const bar = new ProgressBar({ write: (s: string) => ((out = s), true), columns: 120 }, () => now);
    bar.onEvent({ type: SyncEvents.Planned, files: 4, bytes: 4_000_000, deletes: 0 });
    now = 1000;
    bar.onEvent({ type: SyncEvents.ItemStarted, path: 'photos/a.jpg', size: 1_000_000 });
    now = 1100;
    bar.onEvent({ type: SyncEvents.ItemDone, outcome: 'copied', path: 'photos/a.jpg', bytes: 1_000_000 });
    expect(out).toContain('[#####---------------] 1/4 files  1.0 MB/4.0 MB  909 kB/s  ETA 3.3 s  photos/a.jpg');
  });

  it('redraws at most ten times a second and keeps long names within the line', () => {
    const writes: string[] = [];
    let now = 0;
    const bar = new ProgressBar({ write: (s: string) => (writes.push(s), true), columns: 80 }, () => now);
    bar.onEvent({ type: SyncEvents.Planned, files: 1000, bytes: 0, deletes: 0 });
    for (let i = 0; i < 50; i++) {
      now += 10;
      bar.onEvent({ type: SyncEvents.ItemStarted, path: `${'deep/'.repeat(30)}file${i}\nwith newline`, size: 0 });
    }
    expect(writes.length).toBe(5);
    for (const w of writes) {
      const visible = w.replace('\r\x1b[K', '');
      expect(visible.length).toBeLessThanOrEqual(80);
      expect(visible).not.toContain('\n');
    }
  });

  it('cuts names by the columns they take, so CJK and emoji names keep to one line', () => {
    for (const name of [
      `写真/${'旅行の写真'.repeat(20)}.jpg`,
      `photos/${'🏖️👨‍👩‍👧'.repeat(30)}.jpg`,
      `한국어/${'가나다'.repeat(40)}`,
      `ｆｕｌｌ/${'ｗｉｄｅ'.repeat(30)}`,
    ]) {
      let out = '';
      let now = 0;
      const bar = new ProgressBar({ write: (s: string) => ((out = s), true), columns: 80 }, () => now);
      bar.onEvent({ type: SyncEvents.Planned, files: 10, bytes: 0, deletes: 0 });
      now = 200;
      bar.onEvent({ type: SyncEvents.ItemStarted, path: name, size: 0 });
      const visible = out.replace('\r\x1b[K', '');
      expect(displayWidth(visible), visible).toBeLessThanOrEqual(79);
      expect(displayWidth(visible)).toBeGreaterThanOrEqual(77);
      expect(visible).toMatch(/…/);
      // The end of the name, where the file's own name is, is kept whole.
      expect(name.endsWith(visible.slice(visible.indexOf('…') + 1))).toBe(true);
    }
  });
});

describe('display width', () => {
  it.each([
    ['abc', 3],
    ['写真', 4],
    ['한국', 4],
    ['ｆｕｌｌ', 8],
    ['🏖️', 2],
    ['👨‍👩‍👧', 2],
    ['🇫🇷', 2],
    ['é', 1],
    ['e\u0301', 1],
    ['', 0],
  ])('%j takes %i columns', (text, width) => {
    expect(displayWidth(text)).toBe(width);
  });

  it('keeps whole graphemes from the end', () => {
    expect(tailToWidth('ab写真', 3)).toBe('真');
    expect(tailToWidth('ab写真', 5)).toBe('b写真');
    expect(tailToWidth('x👨‍👩‍👧', 2)).toBe('👨‍👩‍👧');
  });
});
