import { describe, expect, it } from 'vitest';
import { needsUser, shownState } from '../../src/service/pair-state.js';

describe('the state a pair shows', () => {
  it.each([
    ['watching', undefined, 'idle'],
    ['watching', 'a.txt: permission denied', 'error'],
    ['scanning', undefined, 'scanning'],
    ['scanning', 'a.txt: permission denied', 'scanning'],
    // A step scans first; the service says syncing once the plan has work.
    ['syncing', undefined, 'scanning'],
    ['waiting-for-source', undefined, 'waiting-for-source'],
    ['waiting-for-destination', 'a.txt: permission denied', 'waiting-for-destination'],
    ['error', undefined, 'error'],
  ] as const)('the watcher reporting %s, last error %j: %s', (reported, lastError, shown) => {
    expect(shownState(reported, lastError)).toBe(shown);
  });
});

describe('what needs the user', () => {
  it.each([
    [{ state: 'idle' }, false],
    [{ state: 'stopped' }, false],
    [{ state: 'paused' }, false],
    [{ state: 'syncing' }, false],
    [{ state: 'error' }, true],
    [{ state: 'waiting-for-source' }, true],
    [{ state: 'idle', held: 'would delete 8 of 12 files' }, true],
    [{ state: 'waiting-for-destination', destinationProblem: 'not-connected' }, false],
    [{ state: 'waiting-for-destination', destinationProblem: 'unmarked' }, true],
    [{ state: 'waiting-for-destination' }, true],
    [{ state: 'waiting-for-phone', phone: { connection: 'not-connected' } }, false],
    [{ state: 'waiting-for-phone', phone: { connection: 'unauthorized' } }, true],
  ] as const)('%j: %s', (status, needs) => {
    expect(needsUser(status)).toBe(needs);
  });
});
