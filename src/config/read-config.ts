/**
 * Reading the config without opening it for writing: for commands that only look (`status`
 * offline, `sync` checking whether its destination is a pair's). Kept apart from store.ts so that
 * they load neither conf nor its exit hooks (which turn a SIGXFSZ, a file size limit reached,
 * into the process's death instead of one file's EFBIG), and compile the schema only when a file
 * is there to check.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { CONFIG_FILE, readFile } from './config-file.js';
import { migrate } from './migrations.js';
import {
  CONFIG_SCHEMA,
  DEFAULT_SETTINGS,
  PAIR_SCHEMA,
  SCHEMA_VERSION,
  type ConfigData,
  type Pair,
  type Settings,
} from './schema.js';

/**
 * The pairs in `<dir>/config.json` as they are now, without writing anything: none when there is
 * no file; what is whole of a damaged one, with the problem said.
 */
export function readConfig(dir: string): { pairs: Pair[]; problem?: string } {
  const file = path.join(dir, CONFIG_FILE);
  if (!fs.existsSync(file)) return { pairs: [] };
  const found = readFile(file);
  if ('error' in found) return { pairs: [], problem: `The config file could not be read (${found.error}).` };
  const migrated = migrate(found.raw);
  if (!migrated) return { pairs: [], problem: 'The config file was written by a newer SyncTray.' };
  const checked = validate(migrated.data);
  return {
    pairs: checked.data.pairs,
    ...(checked.problem ? { problem: `The config file is damaged (${checked.problem}).` } : {}),
  };
}

let validators: { pair: ValidateFunction<Pair>; settings: ValidateFunction<Settings> } | undefined;

/** Compiled on first use: a few tens of milliseconds a command that reads no config should not pay. */
function compiled(): NonNullable<typeof validators> {
  if (!validators) {
    const ajv = new Ajv({ allErrors: false });
    validators = { pair: ajv.compile<Pair>(PAIR_SCHEMA), settings: ajv.compile<Settings>(CONFIG_SCHEMA.settings) };
  }
  return validators;
}

/** The data if whole; else what of it can be kept (whole pairs, settings or their defaults). */
export function validate(data: ConfigData): { data: ConfigData; problem?: string; kept?: string } {
  const { pair: validPair, settings: validSettings } = compiled();
  const pairs = Array.isArray(data.pairs) ? data.pairs : [];
  const good = pairs.filter((p) => validPair(p));
  const settingsOk = validSettings(data.settings);
  const idsUnique = new Set(good.map((p) => p.id)).size === good.length;
  if (good.length === pairs.length && Array.isArray(data.pairs) && settingsOk && idsUnique) return { data };
  const unique = good.filter((p, i) => good.findIndex((q) => q.id === p.id) === i);
  const lost = (Array.isArray(data.pairs) ? data.pairs.length : 0) - unique.length;
  const problem = [
    !Array.isArray(data.pairs)
      ? 'its list of pairs is missing'
      : lost > 0
        ? `${lost} pair${lost === 1 ? ' is' : 's are'} incomplete`
        : undefined,
    settingsOk ? undefined : 'its settings are incomplete',
  ]
    .filter(Boolean)
    .join('; ');
  return {
    data: { schemaVersion: SCHEMA_VERSION, pairs: unique, settings: settingsOk ? data.settings : DEFAULT_SETTINGS },
    problem: problem || 'it was not as expected',
    kept:
      `the ${unique.length} whole pair${unique.length === 1 ? ' was' : 's were'} kept` +
      `${settingsOk ? '' : ', settings back to their defaults'}`,
  };
}
