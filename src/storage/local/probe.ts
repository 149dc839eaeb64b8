import fs from 'node:fs';
import path from 'node:path';
import { CONTROL_CHARS, knownOfKind, PROBE_TIME_NS, type Probed } from '../measured.js';
import type { FileSystemKind } from './fs-kind.js';
import { nsToUtimeSeconds } from './fs-worker.js';

/**
 * Measures what the file system holding `dir` (an existing folder) keeps, by writing hidden items
 * into it and removing them: about 45 small calls, a few milliseconds on a disk, a few tens
 * through FUSE. Each probe item's name starts with PROBE_PREFIX; a probe that was killed halfway
 * leaves at most one behind, which the next probe removes.
 *
 * Not probed: the largest file. Extending a file to 4 GiB is the only way to ask, and exfat-fuse
 * (like the kernel's exFAT and FAT drivers before they learnt sparse extension) allocates and zeroes
 * every byte of it; the limit comes from the file system's kind instead (FAT32: 4 GiB - 1), and a
 * write over a limit not known still fails on its own as TOO_LARGE.
 */
export function probeFolder(dir: string, kind: FileSystemKind): Probed {
  // The folder's own times are put back afterwards: the probe leaves no trace a sync would see.
  const before = fs.statSync(dir, { bigint: true });
  removeLeftovers(dir);
  const tag = `${PROBE_PREFIX}${Math.floor(Math.random() * 2 ** 32)
    .toString(16)
    .padStart(8, '0')}`;
  const file = path.join(dir, `${tag}-f`);
  const made: string[] = [file];
  try {
    fs.writeFileSync(file, '', { flag: 'wx', mode: 0o600 });
    return {
      time: timeKept(file),
      permissions: modesStick(file),
      symlinks: symlinkWorks(path.join(dir, `${tag}-l`), made),
      foldsCase: fs.existsSync(path.join(dir, `${tag}-F`)),
      normalizesNames: formsFolded(dir, tag, made),
      ...(namesFixed(kind) ? POSIX_NAMES : { ...namesStored(dir, tag, made), maxName: nameLimit(dir, tag, made) }),
      ...ofKind(kind),
      ...(kind.name === undefined ? {} : { kind: kind.name }),
    };
  } finally {
    for (const p of made) fs.rmSync(p, { force: true });
    try {
      // As a string: Node takes a negative number (a time before 1970) for "now".
      fs.utimesSync(dir, nsToUtimeSeconds(before.atimeNs), nsToUtimeSeconds(before.mtimeNs));
    } catch {
      // a folder whose times cannot be set: the sync sets them as it does for any folder
    }
  }
}

/** What a probe measures, for a storage that cannot be probed: from its kind, else undefined. */
export function knownOf(kind: FileSystemKind): Probed | undefined {
  const known = knownOfKind(kind.name, kind.fuse);
  if (!known) return undefined;
  const { timeNs, ...rest } = known;
  // As a probe would have read the time back: PROBE_TIME_NS cut to the kind's unit.
  return { ...rest, time: { setNs: PROBE_TIME_NS, readNs: PROBE_TIME_NS - (PROBE_TIME_NS % timeNs) } };
}

/** How every probe item's name starts: a temp-like hidden name no user file has. */
export const PROBE_PREFIX = '.~synctray-probe-';
/** Put before a probe name, a device name Windows reserves whatever follows its dot (`aux.c`). */
const RESERVED_PROBE = 'aux';

/**
 * Linux's own disk file systems store any name of up to 255 bytes but `/` and NUL: their on-disk
 * format fixes it, whatever the mount. The names are not tried there (about 50 of the probe's
 * items, 3-5 ms of every run on ext4); what can differ between two of them (times, case folding
 * of a folder, modes) still is.
 */
function namesFixed(kind: FileSystemKind): boolean {
  return !kind.fuse && kind.name !== undefined && ['ext4', 'XFS', 'btrfs', 'tmpfs'].includes(kind.name);
}

const POSIX_NAMES: Pick<Probed, 'names' | 'reservedNames' | 'maxName'> = {
  names: { refused: '', trailingDot: false, trailingSpace: false },
  reservedNames: false,
  maxName: { length: 255, unit: 'byte' },
};

// FAT, exFAT and Windows refuse these; a POSIX file system none of them.
const REFUSED_CANDIDATES = `:*?"<>|\\${CONTROL_CHARS}`;

function timeKept(file: string): Probed['time'] {
  const seconds = nsToUtimeSeconds(PROBE_TIME_NS);
  try {
    fs.utimesSync(file, seconds, seconds);
    return { setNs: PROBE_TIME_NS, readNs: fs.statSync(file, { bigint: true }).mtimeNs };
  } catch {
    return undefined;
  }
}

function modesStick(file: string): boolean {
  // Two modes, so that a file system showing one fixed mode cannot pass by chance.
  try {
    for (const mode of [0o640, 0o604]) {
      fs.chmodSync(file, mode);
      if ((fs.statSync(file).mode & 0o7777) !== mode) return false;
    }
    return true;
  } catch {
    return false;
  }
}

function symlinkWorks(link: string, made: string[]): boolean {
  try {
    fs.symlinkSync('probe-target', link);
    made.push(link);
    return fs.lstatSync(link).isSymbolicLink() && fs.readlinkSync(link) === 'probe-target';
  } catch {
    return false;
  }
}

/** Whether a file made under a name's NFC form is found under its NFD form. */
function formsFolded(dir: string, tag: string, made: string[]): boolean {
  const nfc = path.join(dir, `${tag}-\u00e9`);
  try {
    fs.writeFileSync(nfc, '', { flag: 'wx' });
  } catch {
    return false;
  }
  made.push(nfc);
  return fs.existsSync(path.join(dir, `${tag}-e\u0301`));
}

/**
 * Which characters and endings names can hold, and whether Windows' reserved names can be made:
 * a file is made under each name tried, then the folder is listed once for all of them (a
 * listing each was most of a probe where the folder holds thousands of items, or sits behind
 * FUSE). A probe killed meanwhile leaves those files, which the next sync removes as its own.
 */
function namesStored(dir: string, tag: string, made: string[]): Pick<Probed, 'names' | 'reservedNames'> {
  const tries = new Map<string, string>([...REFUSED_CANDIDATES].map((c) => [c, `${tag}${c}x`]));
  tries.set('.', `${tag}.`).set(' ', `${tag} `).set('reserved', `${RESERVED_PROBE}${tag}`);
  const created = new Set<string>();
  try {
    for (const name of tries.values()) {
      const p = path.join(dir, name);
      try {
        fs.writeFileSync(p, '', { flag: 'wx' });
      } catch {
        continue;
      }
      made.push(p);
      created.add(name);
    }
    let listed: Set<string>;
    try {
      listed = new Set(fs.readdirSync(dir));
    } catch {
      listed = new Set();
    }
    const stored = (key: string) => created.has(tries.get(key)!) && listed.has(tries.get(key)!);
    return {
      names: {
        refused: [...REFUSED_CANDIDATES].filter((c) => !stored(c)).join(''),
        trailingDot: !stored('.'),
        trailingSpace: !stored(' '),
      },
      reservedNames: !stored('reserved'),
    };
  } finally {
    for (const name of created) {
      fs.rmSync(path.join(dir, name), { force: true });
      made.splice(made.indexOf(path.join(dir, name)), 1);
    }
  }
}

/**
 * Whether a file created under `name` is listed under that very name: some file systems refuse a
 * name (exfat-fuse says ENOENT for `a:b`), others store another one (Windows drops a trailing dot).
 */
function nameStored(dir: string, name: string, made: string[]): boolean {
  const p = path.join(dir, name);
  try {
    fs.writeFileSync(p, '', { flag: 'wx' });
  } catch {
    return false;
  }
  // Removed at once, so that a probe killed part way leaves one item behind, not dozens.
  made.push(p);
  try {
    return fs.readdirSync(dir).includes(name);
  } catch {
    return false;
  } finally {
    fs.rmSync(p, { force: true });
    made.pop();
  }
}

/**
 * The longest name, and whether it counts bytes or UTF-16 units: 255 of `a` then 255 of `é`
 * (510 bytes, 255 units) tell the two apart; a shorter limit is looked for by halving.
 */
function nameLimit(dir: string, tag: string, made: string[]): Probed['maxName'] {
  const fits = (name: string) => nameStored(dir, name, made);
  const pad = (n: number, c: string) => tag + c.repeat(n - tag.length);
  if (fits(pad(255, 'a'))) return { length: 255, unit: fits(pad(255, 'é')) ? 'utf16' : 'byte' };
  let lo = tag.length;
  let hi = 255;
  while (lo + 1 < hi) {
    const mid = (lo + hi) >> 1;
    if (fits(pad(mid, 'a'))) lo = mid;
    else hi = mid;
  }
  return { length: lo, unit: 'byte' };
}

/** What a probe cannot see and the kind tells: the largest file, the range of times. */
function ofKind(kind: FileSystemKind): Pick<Probed, 'maxFileBytes' | 'timeRange'> {
  const known = knownOfKind(kind.name, kind.fuse);
  return {
    ...(known?.maxFileBytes === undefined ? {} : { maxFileBytes: known.maxFileBytes }),
    ...(known?.timeRange === undefined ? {} : { timeRange: known.timeRange }),
  };
}

function removeLeftovers(dir: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names)
    if (name.startsWith(PROBE_PREFIX) || name.startsWith(`${RESERVED_PROBE}${PROBE_PREFIX}`))
      fs.rmSync(path.join(dir, name), { force: true });
}
