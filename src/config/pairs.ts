import path from 'node:path';
import { RefusedError } from '../core/errors.js';
import { DEFAULT_VERSIONS_FOLDER, type Pair } from './schema.js';

/** Whether `child` lies strictly below `parent` (both resolved). */
export function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

/** A versions folder's path relative to the destination, '/'-separated, when it lies inside it. */
export function versionsInDestination(destination: string, versions: string): string | undefined {
  return isInside(versions, destination) ? path.relative(destination, versions).split(path.sep).join('/') : undefined;
}

/**
 * The versions folders in a pair's destination, relative to it, left out of the sync in both
 * directions: `.synctray-versions` always (versions kept there before a pair turned them off or
 * moved them are neither deleted nor copied), and a folder of the pair's own inside it.
 */
export function hiddenVersions(pair: Pick<Pair, 'destination' | 'versions'>): string[] {
  const own = typeof pair.versions === 'string' ? versionsInDestination(pair.destination, pair.versions) : undefined;
  return own !== undefined && own !== DEFAULT_VERSIONS_FOLDER
    ? [DEFAULT_VERSIONS_FOLDER, own]
    : [DEFAULT_VERSIONS_FOLDER];
}

/**
 * Refuses a new pair that would feed another (a destination overlapping another pair's source, or
 * a source overlapping another's destination: a loop of copies), write into the same place as
 * another (one destination inside the other, where a mirror deletes the other's files), or repeat
 * one. Paths are the resolved ones check-paths gives.
 */
export function refuseOverlaps(pairs: readonly Pair[], source: string, destination: string): void {
  const overlap = (a: string, b: string) => a === b || isInside(a, b) || isInside(b, a);
  for (const p of pairs) {
    if (p.source === source && p.destination === destination)
      throw new RefusedError(`This pair exists already: "${p.name}" (${p.id}).`);
    if (overlap(destination, p.source)) {
      throw new RefusedError(
        `Destination \`${destination}\` overlaps the source of pair "${p.name}" (\`${p.source}\`): the two pairs ` +
          "would copy each other's copies. Choose another destination.",
      );
    }
    if (overlap(source, p.destination)) {
      throw new RefusedError(
        `Source \`${source}\` overlaps the destination of pair "${p.name}" (\`${p.destination}\`): the two pairs ` +
          "would copy each other's copies. Choose another source.",
      );
    }
    if (overlap(destination, p.destination)) {
      throw new RefusedError(
        `Destination \`${destination}\` overlaps the destination of pair "${p.name}" (\`${p.destination}\`): each ` +
          "would treat the other's files as extra. Choose another destination.",
      );
    }
  }
}

/** Refuses a new pair that overlaps another (refuseOverlaps) or takes a name already taken. */
export function checkNew(pairs: readonly Pair[], pair: Omit<Pair, 'id'>): void {
  if (pairs.some((p) => p.name === pair.name))
    throw new RefusedError(`A pair is already called "${pair.name}": choose another --name.`);
  refuseOverlaps(pairs, pair.source, pair.destination);
}

/** `base`, or `base 2`, `base 3`… whichever no pair has. */
export function freeName(pairs: readonly Pair[], base: string): string {
  let name = base;
  for (let n = 2; pairs.some((p) => p.name === name); n++) name = `${base} ${n}`;
  return name;
}
