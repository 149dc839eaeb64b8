import { SYNC_MODES, type SyncMode } from '../core/modes.js';
import { BANDWIDTH, MAX_LANES } from '../core/transfer-limits.js';

/** The version of the config file's layout; migrations.ts brings older files up to it. */
export const SCHEMA_VERSION = 6;

export type NotifyLevel = 'all' | 'errors' | 'none';
export const NOTIFY_LEVELS: readonly NotifyLevel[] = ['all', 'errors', 'none'];
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** One folder pair as stored. */
export interface Pair {
  id: string;
  name: string;
  source: string;
  destination: string;
  mode: SyncMode;
  checksum: boolean;
  exclude: string[];
  /**
   * Where replaced and deleted items go (see sync --versions): a folder on this computer; `false`:
   * nothing is kept; absent: `<destination>/.synctray-versions`, in the destination's own storage
   * (on the phone for a phone destination).
   */
  versions?: string | false;
  /** Versions older than this are removed (see storage/prune-versions.ts); 0 keeps them forever. */
  keepVersionsMs: number;
  /** `copy`: symlinks are copied as what they lead to (see sync --links); absent: kept as links. */
  links?: 'copy';
  /** Full rescans this often while watching; 0 never. */
  rescanIntervalMs: number;
  paused: boolean;
  /**
   * While paused for a time (`pair pause --for`, the tray's Pause submenu): when the pair resumes by
   * itself, as an ISO time. Absent: paused until resumed, or not paused.
   */
  pausedUntil?: string;
  /** Notifications about this pair: all, errors only, or none. */
  notify: NotifyLevel;
  /**
   * The volume the destination lies on, recorded when the destination was marked as the pair's
   * (service/destination-check.ts), or when the pair was added if its destination was still to be
   * made (`unmarked`). Absent: not marked yet (a pair from an older SyncTray); it is marked after
   * its next sync.
   */
  destinationVolume?: DestinationVolume;
  /**
   * What the user agreed the pair's first sync replaces and deletes in the destination, after its
   * preview (`pair add`, the tray's Add folder pair…). A first sync that would take more is held,
   * since the destination changed in between. Dropped once the first sync is done.
   */
  agreedFirstSync?: { replaced: number; deleted: number };
  /**
   * What rclone does for the pair, where an end of it is a remote (see core/transfer-limits.ts):
   * the rate it transfers at (`2M`), how many transfers and checks at once. Absent: not limited.
   */
  bwlimit?: string;
  transfers?: number;
  checkers?: number;
}

/** The limits a pair may carry, which `pair set` may take away. */
export type LimitField = 'bwlimit' | 'transfers' | 'checkers';

/**
 * What `pair set` may change in a pair. A limit changed to null is taken away: null, unlike
 * undefined, survives JSON on its way to a running SyncTray.
 */
export type PairChange = Partial<
  Pick<Pair, 'mode' | 'exclude' | 'rescanIntervalMs' | 'notify' | 'checksum' | 'versions' | 'keepVersionsMs'>
> & { [K in LimitField]?: Pair[K] | null };

/** What is kept of a destination's volume; every field is absent where it could not be read. */
export interface DestinationVolume {
  /** The file system's UUID (blkid's, `/dev/disk/by-uuid`). */
  uuid?: string;
  label?: string;
  /** The file system as blkid names it (`exfat`, `ntfs`), not the mount type (`fuseblk`). */
  kind?: string;
  /** Where the destination lies inside the volume, from its root: `/Backups/photos`. */
  pathInVolume?: string;
  /**
   * The destination did not exist yet when the pair was added, so it has no marker: the volume it
   * will be made on is known, and the pair is marked after its first sync.
   */
  unmarked?: boolean;
}

export interface Settings {
  autostart: boolean;
  notifications: NotifyLevel;
  logLevel: LogLevel;
  /** Pairs wait while the computer runs on battery (issue 19); absent: off. */
  pauseOnBattery?: boolean;
}

export interface ConfigData {
  schemaVersion: number;
  pairs: Pair[];
  settings: Settings;
}

export const DEFAULT_SETTINGS: Settings = { autostart: false, notifications: 'errors', logLevel: 'info' };
export const DEFAULT_RESCAN_MS = 3_600_000;
/** The folder a pair keeps its versions in by default, inside its destination (and never synced). */
export const DEFAULT_VERSIONS_FOLDER = '.synctray-versions';
/** How long a pair keeps versions unless it says otherwise: 30 days. */
export const DEFAULT_KEEP_VERSIONS_MS = 30 * 86_400_000;
/** Phones are not watched: while one is connected its pairs compare everything this often. */
export const DEFAULT_PHONE_RESCAN_MS = 900_000;

/** An ISO time in UTC as Date.toISOString writes it. */
const ISO_TIME = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,3})?Z$';

/** JSON Schema of one pair; also used on its own to recover pairs from a file that fails as a whole. */
export const PAIR_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'name',
    'source',
    'destination',
    'mode',
    'checksum',
    'exclude',
    'rescanIntervalMs',
    'paused',
    'notify',
    'keepVersionsMs',
  ],
  properties: {
    id: { type: 'string', pattern: '^[a-z0-9]{8,32}$' },
    name: { type: 'string', minLength: 1, maxLength: 200 },
    source: { type: 'string', minLength: 1 },
    destination: { type: 'string', minLength: 1 },
    mode: { enum: [...SYNC_MODES] },
    checksum: { type: 'boolean' },
    exclude: { type: 'array', items: { type: 'string', minLength: 1 } },
    versions: { anyOf: [{ type: 'string', minLength: 1 }, { const: false }] },
    keepVersionsMs: { type: 'integer', minimum: 0 },
    links: { enum: ['copy'] },
    rescanIntervalMs: { type: 'integer', minimum: 0 },
    paused: { type: 'boolean' },
    pausedUntil: { type: 'string', pattern: ISO_TIME },
    notify: { enum: [...NOTIFY_LEVELS] },
    agreedFirstSync: {
      type: 'object',
      additionalProperties: false,
      required: ['replaced', 'deleted'],
      properties: { replaced: { type: 'integer', minimum: 0 }, deleted: { type: 'integer', minimum: 0 } },
    },
    bwlimit: { type: 'string', pattern: BANDWIDTH.source },
    transfers: { type: 'integer', minimum: 1, maximum: MAX_LANES },
    checkers: { type: 'integer', minimum: 1, maximum: MAX_LANES },
    destinationVolume: {
      type: 'object',
      additionalProperties: false,
      properties: {
        uuid: { type: 'string', minLength: 1 },
        label: { type: 'string', minLength: 1 },
        kind: { type: 'string', minLength: 1 },
        pathInVolume: { type: 'string', minLength: 1 },
        unmarked: { type: 'boolean' },
      },
    },
  },
} as const;

/** The properties of the whole file (conf's `schema` option). */
export const CONFIG_SCHEMA = {
  schemaVersion: { type: 'integer', minimum: 1 },
  pairs: { type: 'array', items: PAIR_SCHEMA },
  settings: {
    type: 'object',
    additionalProperties: false,
    required: ['autostart', 'notifications', 'logLevel'],
    properties: {
      autostart: { type: 'boolean' },
      notifications: { enum: [...NOTIFY_LEVELS] },
      logLevel: { enum: [...LOG_LEVELS] },
      pauseOnBattery: { type: 'boolean' },
    },
  },
} as const;
