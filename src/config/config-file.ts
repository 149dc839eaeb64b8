/**
 * The config file read as it is, without the schema check (read-config.ts), which loads ajv and
 * compiles its validators: tens of milliseconds that a `sync` pays only when a pair may concern it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { migrate } from './migrations.js';

/** The config file in a config folder. */
export const CONFIG_FILE = 'config.json';

export function readFile(file: string): { raw: Record<string, unknown> } | { error: string } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return { error: (err as NodeJS.ErrnoException).code ?? String(err) };
  }
  try {
    const raw: unknown = JSON.parse(text);
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { error: 'not a JSON object' };
    return { raw: raw as Record<string, unknown> };
  } catch (err) {
    return { error: `not valid JSON: ${(err as Error).message}` };
  }
}

/**
 * The destinations of the pairs in `<dir>/config.json`, of every pair listed, whole or not: a
 * superset of those readConfig() gives (the schema check only leaves pairs out, never changes
 * one). None when there is no file, or none readConfig() could read.
 */
export function listedDestinations(dir: string): string[] {
  const file = path.join(dir, CONFIG_FILE);
  if (!fs.existsSync(file)) return [];
  const found = readFile(file);
  if ('error' in found) return [];
  const pairs: unknown = migrate(found.raw)?.data.pairs;
  if (!Array.isArray(pairs)) return [];
  return pairs.flatMap((p: unknown) => {
    const destination = p !== null && typeof p === 'object' ? (p as { destination?: unknown }).destination : undefined;
    return typeof destination === 'string' ? [destination] : [];
  });
}
