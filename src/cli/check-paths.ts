import fs from 'node:fs';
import path from 'node:path';
import { RefusedError } from '../core/errors.js';
import { rootMessages } from '../core/messages.js';
import { hiddenVersions, isInside } from '../config/pairs.js';
import { PAIR_MARKER } from '../core/pair-marker.js';
import { formatAdbLocation, isAdbLocation, parseAdbLocation } from '../storage/adb/endpoint.js';
import { isRemoteLocation, unknownScheme } from '../storage/location.js';
import { formatRcloneLocation, isRcloneLocation, parseRcloneLocation } from '../storage/rclone/endpoint.js';

/**
 * The real location of `p` even when it does not exist yet: the nearest existing ancestor is
 * resolved through its symlinks and the missing rest appended, so two spellings of one folder
 * (a symlink, `..`, a trailing slash) compare equal.
 */
function realLocation(p: string): string {
  const abs = path.resolve(p);
  const missing: string[] = [];
  for (let cur = abs; ; cur = path.dirname(cur)) {
    try {
      return path.join(fs.realpathSync.native(cur), ...missing.reverse());
    } catch {
      if (path.dirname(cur) === cur) return abs;
      missing.push(path.basename(cur));
    }
  }
}

export interface CheckedPaths {
  source: string;
  destination: string;
  versions?: string;
}

/**
 * Refuses folder arguments that cannot be synced safely; returns their resolved forms. Either side
 * may be a phone (`adb:[SERIAL:]/PATH`) or an rclone remote (`rclone:REMOTE:PATH`): it is checked
 * for form here, and for being there when the sync opens it.
 */
export function checkPaths(source: string, destination: string, versions?: string): CheckedPaths {
  refuseUnknownScheme(source, 'Source');
  refuseUnknownScheme(destination, 'Destination');
  const srcRemote = isRemoteLocation(source);
  const dstRemote = isRemoteLocation(destination);
  if (versions !== undefined && dstRemote) {
    throw new RefusedError(
      '--versions keeps what a sync replaces in a folder on this computer, beside the destination: it cannot be ' +
        `used with a destination on a phone or a remote (${destination}).`,
    );
  }
  const src = srcRemote ? remoteLocation(source, 'Source') : checkSource(source);
  const dst = dstRemote ? remoteLocation(destination, 'Destination') : checkDestination(destination);
  if (src === dst)
    throw new RefusedError(`Source and destination are the same folder (\`${src}\`): choose a different destination.`);
  // A folder of this machine reached through rclone is compared with local folders as what it is.
  const [a, b] = [comparable(src), comparable(dst)];
  if (srcRemote || dstRemote) {
    if (a.local !== b.local) return { source: src, destination: dst };
    if (a.path === b.path)
      throw new RefusedError(`Source \`${src}\` and destination \`${dst}\` are the same folder: choose another.`);
    const within = a.local ? isInside : isInsideRemote;
    if (within(a.path, b.path) || within(b.path, a.path)) {
      throw new RefusedError(
        `Source \`${src}\` and destination \`${dst}\` are one inside the other: choose folders apart.`,
      );
    }
    return { source: src, destination: dst };
  }
  if (isInside(dst, src)) {
    throw new RefusedError(
      `Destination \`${dst}\` is inside source \`${src}\`: choose a folder outside it, ` +
        'or every run would copy the copy.',
    );
  }
  if (isInside(src, dst)) {
    throw new RefusedError(
      `Source \`${src}\` is inside destination \`${dst}\`: choose a destination outside the source.`,
    );
  }
  const out: CheckedPaths = { source: src, destination: dst };
  if (versions !== undefined) {
    out.versions = checkVersions(versions, src, dst);
  }
  return out;
}

function checkSource(source: string): string {
  const srcStat = statOrUndefined(source);
  if (!srcStat) throw new RefusedError(rootMessages.missing('Source', source));
  if (!srcStat.isDirectory()) throw new RefusedError(rootMessages.notAFolder('Source', source));
  try {
    fs.accessSync(source, fs.constants.R_OK | fs.constants.X_OK);
  } catch {
    throw new RefusedError(rootMessages.unreadable('Source', source));
  }
  return realLocation(source);
}

function checkDestination(destination: string): string {
  const dstStat = statOrUndefined(destination);
  if (dstStat && !dstStat.isDirectory()) {
    throw new RefusedError(
      `Destination \`${destination}\` exists and is not a folder: give a folder path (it is created if missing).`,
    );
  }
  return realLocation(destination);
}

function checkVersions(versions: string, src: string, dst: string): string {
  const verStat = statOrUndefined(versions);
  if (verStat && !verStat.isDirectory()) {
    throw new RefusedError(`Versions folder \`${versions}\` exists and is not a folder: give a folder path.`);
  }
  const ver = realLocation(versions);
  if (ver === src || isInside(ver, src)) {
    throw new RefusedError(
      `Versions folder \`${ver}\` is inside source \`${src}\`: choose a folder outside the source, or old versions ` +
        'would be synced as new files.',
    );
  }
  if (ver === dst) {
    throw new RefusedError(
      `Versions folder \`${ver}\` is the destination itself: choose a folder beside or inside the destination.`,
    );
  }
  if (isInside(dst, ver)) {
    throw new RefusedError(
      `Destination \`${dst}\` is inside versions folder \`${ver}\`: choose a versions folder beside or inside the ` +
        'destination.',
    );
  }
  return ver;
}

/** A phone's or a remote's location in its one written form, or why it is not one. */
function remoteLocation(location: string, which: string): string {
  try {
    return isAdbLocation(location)
      ? formatAdbLocation(parseAdbLocation(location))
      : formatRcloneLocation(parseRcloneLocation(location));
  } catch (err) {
    throw new RefusedError(`${which} ${(err as Error).message}`);
  }
}

/** A location as overlaps are judged: rclone's local paths as the folders of this machine they are. */
function comparable(location: string): { local: boolean; path: string } {
  if (!location.startsWith('rclone:/')) return { local: !isRemoteLocation(location), path: location };
  return { local: true, path: realLocation(parseRcloneLocation(location).path) };
}

function isInsideRemote(a: string, b: string): boolean {
  return a.startsWith(b.endsWith('/') || b.endsWith(':') ? b : `${b}/`);
}

/**
 * `nas:backup` is refused rather than made into a folder of that name here: it is most likely a
 * remote written without `rclone:`. A folder of that name that exists, or one beneath a folder
 * named like the scheme, is taken as it is.
 */
function refuseUnknownScheme(location: string, which: string): void {
  const scheme = unknownScheme(location);
  if (scheme === undefined || statOrUndefined(location) || statOrUndefined(scheme)?.isDirectory()) return;
  throw new RefusedError(
    `${which} \`${location}\` looks like a remote (\`${scheme}:\`), which SyncTray does not know: for an rclone ` +
      `remote write \`rclone:${location}\` (see \`rclone listremotes\`); for a folder here whose name holds a ` +
      `colon write \`./${location}\`.`,
  );
}

function statOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch {
    return undefined;
  }
}

/**
 * What a sync leaves out of the destination: the versions folder inside it, a pair's default one
 * (`.synctray-versions`: a sync onto a pair's destination neither deletes nor fills it) and the
 * pair marker.
 */
export function hiddenInDestination(paths: CheckedPaths): string[] {
  return [...hiddenVersions(paths), PAIR_MARKER];
}

/**
 * A watched source (`watch`, a pair) is a folder of this computer: a remote can be backed up to,
 * and restored from with `sync`, but its changes cannot be watched.
 */
export function refuseRemoteSource(source: string): void {
  if (!isRcloneLocation(source)) return;
  throw new RefusedError(
    `Source \`${source}\` is a remote: SyncTray watches folders of this computer and backs them up to remotes. ` +
      "To copy from the remote once, use 'synctray sync'.",
  );
}
