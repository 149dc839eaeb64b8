import type { PowerSource } from './watch-power.js';

/**
 * What `pmset -g batt` says the Mac draws from: its first line is `Now drawing from 'AC Power'` or
 * `Now drawing from 'Battery Power'`. `UPS Power` (a desktop on a UPS through a power cut) is no
 * battery of the computer's own: unknown, as on Linux. Not tried on a Mac yet: the tests parse
 * pmset's output as Macs print it.
 */
export function parsePmset(text: string): PowerSource {
  const from = /drawing from '([^']+)'/.exec(text)?.[1];
  if (from === 'Battery Power') return 'battery';
  if (from === 'AC Power') return 'mains';
  return 'unknown';
}

/** Asks pmset; `run` gives a program's standard output. */
export async function readMacPower(run: (command: string, args: string[]) => Promise<string>): Promise<PowerSource> {
  return parsePmset(await run('pmset', ['-g', 'batt']));
}
