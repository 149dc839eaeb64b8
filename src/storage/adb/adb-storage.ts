import { NS_PER_SEC, type Entry, type EntryType } from '../../core/entry.js';
import { ErrorCode, StorageError } from '../../core/errors.js';
import { assertRelPath, baseName, parentOf, type RelPath } from '../../core/rel-path.js';
import type { Capabilities, FileSource, RenameOptions, Replacing, Storage, WriteOptions } from '../storage.js';
import { onlyDevice } from './devices.js';
import { formatAdbLocation, type AdbEndpoint } from './endpoint.js';
import { AdbServer } from './server.js';
import { quote, ShellSession } from './shell-session.js';
import { codeOf, MAX_PATH_BYTES, SyncSession, type SyncStat } from './sync-session.js';

/** How long the list of files of 4 GiB or more is trusted (a scan lists many folders within it). */
const BIG_FILES_TTL_MS = 5000;

/** Sync connections used at once: a file's round trips overlap with the next ones'. */
const SESSIONS = 4;

const S_IFMT = 0o170000;
// The kinds as stat's mode bits give them (S_IFDIR, S_IFREG, S_IFLNK).
const TYPES = new Map<number, EntryType>([
  [0o040000, 'dir'],
  [0o100000, 'file'],
  [0o120000, 'symlink'],
]);

/**
 * A folder on an Android phone, through the adb server: listing, reading and writing over `sync:`
 * connections (a few at once), everything else (mkdir, mv, rm, touch) through one shell kept open.
 * Sync v1 keeps times in whole seconds and sizes in 32 bits (see capabilities and the README).
 */
export class AdbStorage implements Storage {
  readonly description: string;
  readonly capabilities: Capabilities = {
    mtimePrecisionNs: NS_PER_SEC,
    // Shared storage folds case on most phones; the engine looks for itself before relying on it.
    caseSensitive: true,
    canSetModTime: true,
    // The phone's shared storage keeps neither symlinks nor permission bits of its own choosing.
    symlinks: false,
    permissions: false,
    atomicRename: true,
    // Sync v1 lists one time per item.
    accessTimes: false,
    maxPathBytes: MAX_PATH_BYTES,
  };
  private readonly idle: SyncSession[] = [];
  private open = 0;
  private readonly queue: { resolve: (s: SyncSession) => void; reject: (e: unknown) => void }[] = [];
  private shellSession: Promise<ShellSession> | undefined;
  private device: Promise<string> | undefined;
  private closed = false;
  private big: { at: number; sizes: Promise<Map<string, number>> } | undefined;

  constructor(
    private readonly endpoint: AdbEndpoint,
    private readonly server = new AdbServer(),
  ) {
    this.description = formatAdbLocation(endpoint);
  }

  async list(dir: RelPath): Promise<Entry[]> {
    const abs = this.abs(dir);
    const dents = await this.withSync((s) => s.list(abs));
    if (!dents.some((d) => d.name === '.')) {
      // LIST answers a missing folder, a file and an unreadable folder alike: with nothing.
      const st = await this.withSync((s) => s.stat(this.statPath(dir)));
      if (!st) throw new StorageError(ErrorCode.NOT_FOUND, `${this.show(dir)} does not exist`, dir);
      if (typeOf(st.mode) !== 'dir')
        throw new StorageError(ErrorCode.NOT_DIR, `${this.show(dir)} is not a folder`, dir);
      if (dents.length === 0)
        throw new StorageError(ErrorCode.PERMISSION, `${this.show(dir)} cannot be listed (permission denied)`, dir);
    }
    const out: Entry[] = [];
    for (const d of dents) {
      if (d.name === '.' || d.name === '..') continue;
      // A name that is not UTF-8 cannot be asked for again: listed as something never copied, so
      // that it is reported rather than missed.
      if (d.badName) out.push({ name: d.name, type: 'special', size: 0, mtimeNs: 0n, atimeNs: 0n, mode: 0 });
      else out.push(await this.entry(d.name, d, dir === '' ? d.name : `${dir}/${d.name}`));
    }
    return out;
  }

  async stat(path: RelPath): Promise<Entry> {
    const abs = this.statPath(path);
    const st = await this.withSync((s) => s.stat(abs));
    if (!st) throw new StorageError(ErrorCode.NOT_FOUND, `${this.show(path)} does not exist`, path);
    return this.entry(path === '' ? '' : baseName(path), st, path);
  }

  read(path: RelPath): FileSource {
    const abs = this.abs(path);
    const self = this;
    let settle:
      | { resolve: (e: Pick<Entry, 'type' | 'size' | 'mtimeNs'>) => void; reject: (e: unknown) => void }
      | undefined;
    const after = new Promise<Pick<Entry, 'type' | 'size' | 'mtimeNs'>>(
      (resolve, reject) => (settle = { resolve, reject }),
    );
    after.catch(() => undefined);
    return {
      async *stream() {
        const s = await self.acquire();
        try {
          let received = 0;
          const seen = (st: SyncStat | undefined) => {
            if (!st)
              settle!.reject(
                new StorageError(ErrorCode.NOT_FOUND, `${self.show(path)} was removed as it was read`, path),
              );
            else if (received % 2 ** 32 !== st.size)
              settle!.reject(new StorageError(ErrorCode.CHANGED, `${self.show(path)} changed as it was read`, path));
            else {
              const mtimeNs = BigInt(st.mtime) * NS_PER_SEC;
              self
                .trueSize(abs, st.size)
                .then((size) => settle!.resolve({ type: typeOf(st.mode), size, mtimeNs }), settle!.reject);
            }
          };
          for await (const chunk of s.recv(abs, seen)) {
            received += chunk.length;
            yield chunk;
          }
        } catch (err) {
          settle!.reject(err);
          throw self.located(err, path);
        } finally {
          self.release(s);
        }
      },
      statAfterRead: () => after,
    };
  }

  async write(path: RelPath, source: FileSource, options: WriteOptions = {}): Promise<boolean> {
    const abs = this.abs(path);
    const parent = path === '' ? undefined : parentOf(path);
    const s = await this.acquire();
    try {
      // SEND replaces what is there and makes missing parents: neither is what write() may do.
      if (await s.stat(abs)) throw new StorageError(ErrorCode.EXISTS, `${this.show(path)} already exists`, path);
      const up = parent === undefined ? undefined : await s.stat(this.statPath(parent));
      if (parent !== undefined && !up)
        throw new StorageError(ErrorCode.NOT_FOUND, `the folder of ${this.show(path)} does not exist`, path);
      if (up && typeOf(up.mode) !== 'dir')
        throw new StorageError(ErrorCode.NOT_DIR, `the folder of ${this.show(path)} is not a folder`, path);
      const mtime = Number((options.mtimeNs ?? BigInt(Date.now()) * 1_000_000n) / NS_PER_SEC);
      if (mtime < 0 || mtime > 0xffffffff) {
        throw new StorageError(
          ErrorCode.UNSUPPORTED,
          `${this.show(path)}: adb keeps file times from 1970 to 2106 only (this one is ` +
            `${new Date(mtime * 1000).toISOString()})`,
          path,
        );
      }
      const mode = 0o100000 | ((options.mode ?? 0o644) & 0o7777);
      // The device takes `path,mode` whole under its length limit.
      if (Buffer.byteLength(`${abs},${mode}`) > MAX_PATH_BYTES) {
        throw new StorageError(
          ErrorCode.NAME_TOO_LONG,
          `${this.show(path)}: adb cannot write paths this long on the phone`,
          path,
        );
      }
      await s.write(abs, mode, mtime, source.stream());
      return false;
    } catch (err) {
      throw this.located(err, path);
    } finally {
      this.release(s);
    }
  }

  async symlink(path: RelPath): Promise<void> {
    this.abs(path);
    throw new StorageError(ErrorCode.UNSUPPORTED, `${this.show(path)}: the phone's storage keeps no symlinks`, path);
  }

  async setModTime(path: RelPath, mtimeNs: bigint, atimeNs?: bigint): Promise<void> {
    const p = quote(this.abs(path));
    const at = atimeNs === undefined ? '' : ` && touch -c -h -a -d @${atimeNs / NS_PER_SEC} ${p}`;
    await this.script(
      path,
      `if [ ! -e ${p} ] && [ ! -L ${p} ]; then echo __E=NOT_FOUND; ` +
        `else touch -c -h -m -d @${mtimeNs / NS_PER_SEC} ${p}${at}; fi`,
    );
  }

  async setMode(path: RelPath, mode: number): Promise<void> {
    const p = quote(this.abs(path));
    await this.script(
      path,
      `if [ ! -e ${p} ] && [ ! -L ${p} ]; then echo __E=NOT_FOUND; else chmod ${(mode & 0o7777).toString(8)} ${p}; fi`,
    );
  }

  async rename(from: RelPath, to: RelPath, options: RenameOptions = {}): Promise<void> {
    const f = quote(this.abs(from));
    const t = quote(this.abs(to));
    const up = quote(this.abs(to === '' ? '' : parentOf(to)));
    const exists = `{ [ -e ${t} ] || [ -L ${t} ]; }`;
    const r = options.replacing;
    const guard =
      r === undefined
        ? ''
        : r === null
          ? `elif ${exists}; then echo __E=EXISTS; `
          : `elif ${exists} && ! ${isListed(r, t)}; then echo __E=EXISTS; `;
    // The phone's shell cannot check and move in one step: a short window remains.
    const listed = options.listedAs ? `elif ! ${isListed(options.listedAs, f)}; then echo __E=CHANGED; ` : '';
    await this.script(
      to,
      `if [ ! -e ${f} ] && [ ! -L ${f} ]; then echo __E=NOT_FOUND; elif [ ! -d ${up} ]; then echo __E=NOT_FOUND; ` +
        `${listed}${guard}elif [ -d ${t} ] && [ ! -L ${t} ]; then echo __E=IS_DIR; else mv -f ${f} ${t}; fi`,
    );
  }

  async mkdir(path: RelPath): Promise<void> {
    const p = quote(this.abs(path));
    if (path === '') {
      await this.script(path, `mkdir -p ${p}`);
      return;
    }
    const up = quote(this.abs(parentOf(path)));
    await this.script(
      path,
      `if [ -e ${p} ] || [ -L ${p} ]; then echo __E=EXISTS; ` +
        `elif [ ! -d ${up} ]; then echo __E=NOT_FOUND; else mkdir ${p}; fi`,
    );
  }

  async remove(path: RelPath): Promise<void> {
    const p = quote(this.abs(path));
    await this.script(
      path,
      `if [ -L ${p} ]; then rm -f ${p}; elif [ -d ${p} ]; then echo __E=IS_DIR; ` +
        `elif [ ! -e ${p} ]; then echo __E=NOT_FOUND; else rm -f ${p}; fi`,
    );
  }

  async rmdir(path: RelPath): Promise<void> {
    const p = quote(this.abs(path));
    await this.script(
      path,
      `if [ -L ${p} ]; then echo __E=NOT_DIR; elif [ ! -e ${p} ]; then echo __E=NOT_FOUND; ` +
        `elif [ ! -d ${p} ]; then echo __E=NOT_DIR; ` +
        `elif [ -n "$(ls -A ${p})" ]; then echo __E=NOT_EMPTY; else rmdir ${p}; fi`,
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    const closed = new StorageError(ErrorCode.DEVICE_GONE, `${this.description} is closed`);
    for (const waiter of this.queue.splice(0)) waiter.reject(closed);
    await Promise.all(this.idle.splice(0).map((s) => s.quit()));
    const shell = this.shellSession;
    this.shellSession = undefined;
    (await shell?.catch(() => undefined))?.close();
  }

  private abs(path: RelPath): string {
    assertRelPath(path);
    const root = this.endpoint.path;
    const abs = path === '' ? root : root === '/' ? `/${path}` : `${root}/${path}`;
    if (Buffer.byteLength(abs) > MAX_PATH_BYTES) {
      throw new StorageError(
        ErrorCode.NAME_TOO_LONG,
        `${this.show(path)}: adb cannot reach paths longer than ${MAX_PATH_BYTES} bytes on the phone`,
        path,
      );
    }
    return abs;
  }

  /**
   * The path STAT should look at: the item itself, except the root, which is looked at through a
   * symlink (`/sdcard` is one on Android; STAT does not follow links, a trailing slash does).
   */
  private statPath(path: RelPath): string {
    const abs = this.abs(path);
    return path === '' && abs !== '/' ? `${abs}/` : abs;
  }

  private show(path: RelPath): string {
    return path === '' ? this.description : `${this.description}/${path}`;
  }

  private async entry(name: string, st: SyncStat, path: RelPath): Promise<Entry> {
    const type = typeOf(st.mode);
    const mtimeNs = BigInt(st.mtime) * NS_PER_SEC;
    const size = type === 'file' ? await this.trueSize(this.abs(path), st.size) : 0;
    const entry: Entry = { name, type, size, mtimeNs, atimeNs: mtimeNs, mode: st.mode & 0o7777 };
    if (type === 'symlink')
      entry.target = (await this.script(path, `readlink ${quote(this.abs(path))}`, false)).replace(/\n$/, '');
    return entry;
  }

  /**
   * Sync v1 gives sizes in 32 bits: a file of 4 GiB or more is listed by the remainder. Such files
   * are found once in a while with one `find` over the whole folder (their true sizes by `stat`),
   * and their listed sizes corrected; every other file is smaller than 4 GiB, so its size is right.
   */
  private async trueSize(abs: string, listed: number): Promise<number> {
    return (await this.bigFiles()).get(abs) ?? listed;
  }

  private bigFiles(): Promise<Map<string, number>> {
    if (this.big && Date.now() - this.big.at < BIG_FILES_TTL_MS) return this.big.sizes;
    const root = quote(this.endpoint.path === '/' ? '' : this.endpoint.path);
    const sizes = this.script(
      '',
      `find ${root}/ -type f -size +4194303k ` +
        `-exec sh -c 'for f; do printf "%s %s\\0" "$(stat -c %s "$f")" "$f"; done' sh {} + 2>/dev/null; true`,
      false,
    ).then((out) => {
      const map = new Map<string, number>();
      for (const item of out.split('\0')) {
        const m = /^(\d+) (.*)$/s.exec(item.replace(/^\n/, ''));
        if (m) map.set(m[2]!.replace(/^\/\/+/, '/').replace(/([^/])\/\/+/, '$1/'), Number(m[1]));
      }
      return map;
    });
    this.big = { at: Date.now(), sizes };
    sizes.catch(() => {
      if (this.big?.sizes === sizes) this.big = undefined;
    });
    return sizes;
  }

  /**
   * Runs a script in the shell; a failed status becomes a StorageError. With `codes`, the script
   * says what is wrong by printing only `__E=CODE`: a name in the output of another script (a
   * link's target, a found file) can never pass for one.
   */
  private async script(path: RelPath, script: string, codes = true): Promise<string> {
    const shell = await this.shell();
    const { output, status } = await shell.run(script);
    const code = codes ? (/^__E=([A-Z_]+)\n?$/.exec(output)?.[1] as ErrorCode | undefined) : undefined;
    if (code) throw new StorageError(code, `${this.show(path)}: ${describe(code)}`, path);
    if (status !== 0)
      throw new StorageError(codeOf(output), `${this.show(path)}: ${output.trim() || `exit ${status}`}`, path);
    return output;
  }

  private shell(): Promise<ShellSession> {
    if (this.closed) return Promise.reject(new StorageError(ErrorCode.DEVICE_GONE, `${this.description} is closed`));
    const current = this.shellSession;
    if (current) {
      return current.then((s) => {
        if (!s.broken) return s;
        this.shellSession = undefined;
        return this.shell();
      });
    }
    const opening = this.serial()
      .then((serial) => this.server.service(serial, 'shell:sh'))
      .then((c) => new ShellSession(c));
    this.shellSession = opening;
    opening.catch(() => {
      if (this.shellSession === opening) this.shellSession = undefined;
    });
    return opening;
  }

  private serial(): Promise<string> {
    if (this.endpoint.serial) return Promise.resolve(this.endpoint.serial);
    const found = (this.device ??= onlyDevice(this.server));
    found.catch(() => (this.device = undefined));
    return found;
  }

  private async withSync<T>(fn: (s: SyncSession) => Promise<T>): Promise<T> {
    const s = await this.acquire();
    try {
      return await fn(s);
    } finally {
      this.release(s);
    }
  }

  private async acquire(): Promise<SyncSession> {
    if (this.closed) throw new StorageError(ErrorCode.DEVICE_GONE, `${this.description} is closed`);
    const free = this.idle.pop();
    if (free) return free;
    if (this.open < SESSIONS) {
      this.open++;
      try {
        return new SyncSession(await this.server.service(await this.serial(), 'sync:'));
      } catch (err) {
        this.open--;
        throw err;
      }
    }
    return new Promise((resolve, reject) => this.queue.push({ resolve, reject }));
  }

  private release(s: SyncSession): void {
    if (s.broken || this.closed) {
      this.open--;
      void s.quit();
      // Someone waits for a session: a fresh one takes the broken one's place. If none can be
      // had (the phone is gone), everyone waiting hears why: none of them would get one either.
      const next = this.queue.shift();
      if (next) {
        void this.acquire().then(next.resolve, (err: unknown) => {
          next.reject(err);
          for (const waiter of this.queue.splice(0)) waiter.reject(err);
        });
      }
      return;
    }
    const next = this.queue.shift();
    if (next) next.resolve(s);
    else this.idle.push(s);
  }

  private located(err: unknown, path: RelPath): unknown {
    if (err instanceof StorageError && err.path === undefined) {
      return new StorageError(err.code, `${this.show(path)}: ${err.message}`, path, err.retryable, err.native);
    }
    return err;
  }
}

function typeOf(mode: number): EntryType {
  return TYPES.get(mode & S_IFMT) ?? 'special';
}

function isType(type: EntryType, p: string): string {
  return type === 'dir' ? `[ -d ${p} ]` : type === 'symlink' ? `[ -L ${p} ]` : `{ [ -f ${p} ] && [ ! -L ${p} ]; }`;
}

function describe(code: string): string {
  const words: Record<string, string> = {
    NOT_FOUND: 'does not exist',
    EXISTS: 'something is already there',
    IS_DIR: 'is a folder',
    NOT_DIR: 'is not a folder',
    NOT_EMPTY: 'the folder is not empty',
  };
  return words[code] ?? code;
}

/** A shell test that the item at quoted path `q` is `item` as listed: kind, size (files) and mtime (seconds). */
function isListed(item: NonNullable<Replacing>, q: string): string {
  const file = item.type === 'file';
  return (
    `{ ${isType(item.type, q)} && [ "$(stat -c '${file ? '%s %Y' : '%Y'}' ${q})" = ` +
    `'${file ? `${item.size} ` : ''}${item.mtimeNs / NS_PER_SEC}' ]; }`
  );
}
