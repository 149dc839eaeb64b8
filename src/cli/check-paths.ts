import fs from 'node:fs';
import path from 'node:path';
import { RefusedError } from '../core/errors.js';
import { rootMessages } from '../core/messages.js';
import { hiddenVersions, isInside } from '../config/pairs.js';
import { PAIR_MARKER } from '../core/pair-marker.js';
import { formatAdbLocation, isAdbLocation, parseAdbLocation } from '../storage/adb/endpoint.js';

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
 * may be a phone (`adb:[SERIAL:]/PATH`): it is checked for form here, and for being there when the
 * sync opens it.
 */
export function checkPaths(source: string, destination: string, versions?: string): CheckedPaths {
  const srcPhone = isAdbLocation(source);
  const dstPhone = isAdbLocation(destination);
  if (versions !== undefined && dstPhone) {
    throw new RefusedError(
      '--versions keeps what a sync replaces in a folder on this computer, beside the destination: it cannot be ' +
        `used with a phone destination (${destination}).`,
    );
  }
  const src = srcPhone ? phoneLocation(source, 'Source') : checkSource(source);
  const dst = dstPhone ? phoneLocation(destination, 'Destination') : checkDestination(destination);
  if (src === dst)
    throw new RefusedError(`Source and destination are the same folder (\`${src}\`): choose a different destination.`);
  if (srcPhone || dstPhone) {
    if (srcPhone && dstPhone && (isInsidePhone(dst, src) || isInsidePhone(src, dst))) {
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

/** A phone location in its one written form, or why it is not one. */
function phoneLocation(location: string, which: string): string {
  try {
    return formatAdbLocation(parseAdbLocation(location));
  } catch (err) {
    throw new RefusedError(`${which} ${(err as Error).message}`);
  }
}

function isInsidePhone(a: string, b: string): boolean {
  return a.startsWith(b.endsWith('/') ? b : `${b}/`);
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
