import fs from 'node:fs';
import path from 'node:path';
import Conf from 'conf';
import { RefusedError } from '../core/errors.js';
import { newPairId } from './ids.js';
import { processAlive, releasePidLock, tryPidLock } from './pid-lock.js';
import { migrate } from './migrations.js';
import { CONFIG_FILE, readFile } from './config-file.js';
import { validate } from './read-config.js';
import {
  CONFIG_SCHEMA,
  DEFAULT_SETTINGS,
  SCHEMA_VERSION,
  type ConfigData,
  type Pair,
  type PairChange,
  type Settings,
} from './schema.js';

const FILE = CONFIG_FILE;

/** What opening the config found wrong and did about it, for the log and a notification. */
export interface ConfigProblem {
  message: string;
  /** Where the file that could not be used was kept. */
  keptAt?: string;
}

/**
 * The folder pairs and settings, in `<dir>/config.json` (mode 0600, written whole to a temp file
 * and renamed by conf). Every read goes to the file, so two processes editing it see each other's
 * changes; the running service is the one writer while it runs (the CLI asks it instead).
 */
export class ConfigStore {
  private constructor(private readonly conf: Conf<ConfigData>) {}

  /**
   * Opens the config in `dir`, creating it if needed. A file that cannot be read, parsed or used
   * is never thrown away: it is renamed aside (`config.json.bad-<time>`), whatever pairs in it are
   * still whole are kept, and the problems are returned. A file from an older layout is migrated
   * (the original kept as `config.json.v<N>-<time>`); one from a newer SyncTray is refused.
   */
  static open(dir: string): { store: ConfigStore; problems: ConfigProblem[] } {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, FILE);
    const problems: ConfigProblem[] = [];
    // Set when the file was moved aside: what could be kept from it is written anew.
    let rewrite: ConfigData | undefined;
    if (fs.existsSync(file)) {
      const found = readFile(file);
      if ('error' in found) {
        problems.push({
          message: `The config file could not be read (${found.error}); SyncTray started without it.`,
          keptAt: keepAside(file, 'bad'),
        });
        rewrite = { schemaVersion: SCHEMA_VERSION, pairs: [], settings: DEFAULT_SETTINGS };
      } else {
        const migrated = migrate(found.raw);
        if (migrated === undefined) {
          throw new RefusedError(
            `The config file \`${file}\` was written by a newer SyncTray (layout ` +
              `${String(found.raw.schemaVersion)}): update SyncTray to use it.`,
          );
        }
        const checked = validate(migrated.data);
        if (checked.problem) {
          problems.push({
            message: `The config file was damaged (${checked.problem}); ${checked.kept}.`,
            keptAt: keepAside(file, 'bad'),
          });
          rewrite = checked.data;
        } else if (migrated.from < SCHEMA_VERSION) {
          keepAside(file, `v${migrated.from}`);
          rewrite = checked.data;
        }
      }
    }
    // The kept copy exists before the file is replaced, and the file is replaced whole: a crash at
    // any point leaves either the old file or the new one, and the old one aside.
    if (rewrite !== undefined) writeWhole(file, rewrite);
    // A new config is made whole and linked into place, never over one another process made meanwhile
    // (conf would write its defaults over it).
    else if (!fs.existsSync(file))
      createIfMissing(file, { schemaVersion: SCHEMA_VERSION, pairs: [], settings: DEFAULT_SETTINGS });
    const conf = new Conf<ConfigData>({
      projectName: 'synctray',
      cwd: dir,
      configName: 'config',
      schema: CONFIG_SCHEMA as never,
      defaults: { schemaVersion: SCHEMA_VERSION, pairs: [], settings: DEFAULT_SETTINGS },
      configFileMode: 0o600,
      clearInvalidConfig: false,
      accessPropertiesByDotNotation: false,
      watch: false,
    });
    return { store: new ConfigStore(conf), problems };
  }

  get path(): string {
    return this.conf.path;
  }

  pairs(): Pair[] {
    return this.conf.get('pairs');
  }

  settings(): Settings {
    return this.conf.get('settings');
  }

  /** Calls `fn` with the pairs each time a write of this store changes them; the function returned stops it. */
  onPairsChanged(fn: (pairs: Pair[]) => void): () => void {
    return this.conf.onDidChange('pairs', (pairs) => fn(pairs ?? []));
  }

  /** The pair with this id, or else the one with this name. */
  find(nameOrId: string): Pair | undefined {
    const pairs = this.pairs();
    return pairs.find((p) => p.id === nameOrId) ?? pairs.find((p) => p.name === nameOrId);
  }

  add(pair: Omit<Pair, 'id'>, check?: (pairs: Pair[]) => void): Pair {
    return this.locked(() => {
      const pairs = this.pairs();
      check?.(pairs);
      const added: Pair = { ...pair, id: newPairId() };
      this.conf.set('pairs', [...pairs, added]);
      return added;
    });
  }

  update(id: string, change: Partial<Omit<Pair, 'id'>> | PairChange): Pair {
    return this.locked(() => {
      const pairs = this.pairs();
      const i = pairs.findIndex((p) => p.id === id);
      if (i < 0) throw new RefusedError(`No pair with id ${id}.`);
      const updated = { ...pairs[i]!, ...change } as Pair;
      // A field changed to undefined or null is taken away (a timed pause that ended, a limit dropped).
      for (const [k, v] of Object.entries(change))
        if (v === undefined || v === null) delete (updated as Partial<Pair>)[k as keyof Pair];
      pairs[i] = updated;
      this.conf.set('pairs', pairs);
      return updated;
    });
  }

  /** The pair's first sync is done: what the user agreed it could take is forgotten (see Pair). */
  firstSyncDone(id: string): Pair {
    return this.locked(() => {
      const pairs = this.pairs();
      const i = pairs.findIndex((p) => p.id === id);
      if (i < 0) throw new RefusedError(`No pair with id ${id}.`);
      const { agreedFirstSync: _done, ...rest } = pairs[i]!;
      pairs[i] = rest;
      this.conf.set('pairs', pairs);
      return rest;
    });
  }

  updateSettings(change: Partial<Settings>): Settings {
    return this.locked(() => {
      const settings = { ...this.settings(), ...change };
      this.conf.set('settings', settings);
      return settings;
    });
  }

  remove(id: string): Pair {
    return this.locked(() => {
      const pairs = this.pairs();
      const gone = pairs.find((p) => p.id === id);
      if (!gone) throw new RefusedError(`No pair with id ${id}.`);
      this.conf.set(
        'pairs',
        pairs.filter((p) => p.id !== id),
      );
      return gone;
    });
  }

  /**
   * Runs a read-change-write of the file with no other process doing one at the same time (a
   * running service and a CLI, or two CLIs): otherwise the later write would lose the earlier one's
   * change. The lock (config/pid-lock.ts) is taken over once its owner is gone.
   */
  private locked<T>(change: () => T): T {
    const lock = `${this.conf.path}.lock`;
    const deadline = Date.now() + 10_000;
    for (let owner: number | undefined; (owner = tryPidLock(lock, processAlive)) !== undefined; ) {
      if (Date.now() > deadline)
        throw new RefusedError(
          `The config is being changed by another SyncTray (pid ${owner}) for more than 10 s; try again.`,
        );
      Atomics.wait(PAUSE, 0, 0, 5);
    }
    try {
      return change();
    } finally {
      releasePidLock(lock);
    }
  }
}

/** Something to wait on for a few milliseconds without a busy loop (config changes are synchronous). */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/**
 * Keeps a copy of the file aside, never over another; returns where. A file that cannot even be
 * read is moved aside instead.
 */
function keepAside(file: string, why: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  for (let n = 0; ; n++) {
    const aside = `${file}.${why}-${stamp}${n ? `-${n}` : ''}`;
    if (fs.existsSync(aside)) continue;
    try {
      fs.copyFileSync(file, aside, fs.constants.COPYFILE_EXCL);
    } catch (copyErr) {
      try {
        fs.renameSync(file, aside);
      } catch (err) {
        throw new RefusedError(
          `The config file \`${file}\` is unusable and could not be kept aside (${(err as Error).message}; ` +
            `${(copyErr as Error).message}): move it away by hand, then start again.`,
        );
      }
    }
    return aside;
  }
}

function createIfMissing(file: string, data: ConfigData): void {
  const temp = `${file}.${process.pid}.new`;
  fs.writeFileSync(temp, `${JSON.stringify(data, null, '\t')}\n`, { mode: 0o600 });
  try {
    fs.linkSync(temp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/** Writes the config whole to a temp file, flushed, then renamed over the old one (mode 0600). */
function writeWhole(file: string, data: ConfigData): void {
  const temp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(temp, 'w', 0o600);
  try {
    fs.writeSync(fd, `${JSON.stringify(data, null, '\t')}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, file);
}
