/**
 * The args of each control request, as JSON Schemas, checked where the service reads them: they
 * come from another process, which may be another version of SyncTray or no SyncTray at all.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { RefusedError } from '../core/errors.js';
import { CONFIG_SCHEMA, PAIR_SCHEMA } from '../config/schema.js';
import type { CheckArgs, ControlCommand } from './control.js';

const NONE = { type: 'object', additionalProperties: false, properties: {} } as const;
const NAME_OR_ID = { type: 'string', minLength: 1 } as const;
const ONE_PAIR = {
  type: 'object',
  additionalProperties: false,
  required: ['pair'],
  properties: { pair: NAME_OR_ID },
} as const;
/** One pair (`pair`), or all of them (`all: true`): one property, never both. */
const PAIRS_CHOSEN = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
  properties: { pair: NAME_OR_ID, all: { const: true } },
} as const;

// A new pair gets its id, and its destination's volume, from the service.
const { id: _id, destinationVolume: _volume, ...newPairFields } = PAIR_SCHEMA.properties;
const NEW_PAIR = {
  ...PAIR_SCHEMA,
  required: PAIR_SCHEMA.required.filter((k) => k !== 'id'),
  properties: newPairFields,
};
/** As PAIRS_CHOSEN, and perhaps until when (see ControlCommands.pause). */
const PAUSE = {
  type: 'object',
  additionalProperties: false,
  properties: { pair: NAME_OR_ID, all: { const: true }, untilMs: { type: 'integer', minimum: 0 } },
  // In this order, so that what is not an object is refused as such first.
  allOf: [{ type: 'object' }, { oneOf: [{ required: ['pair'] }, { required: ['all'] }] }],
} as const;

const { mode, exclude, rescanIntervalMs, notify, checksum, versions, keepVersionsMs } = PAIR_SCHEMA.properties;
// A limit changed to null is taken away (see PairChange).
const { bwlimit, transfers, checkers } = PAIR_SCHEMA.properties;
const orNull = (schema: object) => ({ anyOf: [schema, { type: 'null' }] });
const PAIR_CHANGE = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    mode,
    exclude,
    rescanIntervalMs,
    notify,
    checksum,
    versions,
    keepVersionsMs,
    bwlimit: orNull(bwlimit),
    transfers: orNull(transfers),
    checkers: orNull(checkers),
  },
} as const;

const SCHEMAS: Record<ControlCommand, object> = {
  status: NONE,
  list: NONE,
  add: { type: 'object', additionalProperties: false, required: ['add'], properties: { add: NEW_PAIR } },
  set: {
    type: 'object',
    additionalProperties: false,
    required: ['pair', 'change'],
    properties: { pair: NAME_OR_ID, change: PAIR_CHANGE },
  },
  remove: ONE_PAIR,
  pause: PAUSE,
  resume: PAIRS_CHOSEN,
  resync: PAIRS_CHOSEN,
  held: ONE_PAIR,
  'apply-deletions': {
    type: 'object',
    additionalProperties: false,
    required: ['pair', 'token'],
    properties: { pair: NAME_OR_ID, token: { type: 'string', minLength: 1 } },
  },
  restore: ONE_PAIR,
  settings: {
    type: 'object',
    additionalProperties: false,
    properties: { settings: { ...CONFIG_SCHEMA.settings, required: [] } },
  },
  versions: {
    type: 'object',
    additionalProperties: false,
    required: ['pair', 'prefix'],
    properties: { pair: NAME_OR_ID, prefix: { type: 'string' } },
  },
  subscribe: {
    type: 'object',
    additionalProperties: false,
    required: ['notifications'],
    properties: { notifications: { type: 'boolean' } },
  },
  stop: NONE,
  'restore-version': {
    type: 'object',
    additionalProperties: false,
    required: ['pair', 'path'],
    properties: {
      pair: NAME_OR_ID,
      path: { type: 'string' },
      atMs: { type: 'number' },
      // Resolved by the command line: the service's working folder is not the user's.
      to: { type: 'string', minLength: 1, pattern: '^(/|[A-Za-z]:[\\\\/]|\\\\\\\\)' },
    },
  },
};

let ajv: Ajv | undefined;
let compiled: Map<string, ValidateFunction> | undefined;

/** Refuses a command the service does not know, or args that are not what it takes, naming what is wrong. */
export const checkArgs: CheckArgs = (command, args) => {
  ajv ??= new Ajv({ allErrors: false });
  compiled ??= new Map(Object.entries(SCHEMAS).map(([name, schema]) => [name, ajv!.compile(schema)]));
  const valid = compiled.get(command);
  if (!valid)
    throw new RefusedError(
      `SyncTray does not know the request "${command}" (it knows ${[...compiled.keys()].join(', ')}).`,
    );
  if (!valid(args)) {
    const why = ajv.errorsText(valid.errors, { dataVar: 'args' });
    throw new RefusedError(`SyncTray refused the request "${command}": ${why}. Nothing was done.`);
  }
  return { command, args } as ReturnType<CheckArgs>;
};
