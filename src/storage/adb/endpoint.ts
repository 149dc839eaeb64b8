/** A phone location as the user writes it: `adb:[SERIAL:]/ABSOLUTE/PATH`. */
export interface AdbEndpoint {
  /** The device's serial; undefined when exactly one device is to be used. */
  serial?: string;
  /** Absolute path on the device, without a trailing slash (except `/` itself). */
  path: string;
}

const PREFIX = 'adb:';

export function isAdbLocation(location: string): boolean {
  return location.startsWith(PREFIX);
}

/**
 * Parses `adb:/sdcard/DCIM` or `adb:SERIAL:/sdcard/DCIM`. The path starts at the first `:/`, since
 * serials can hold colons (`adb:127.0.0.1:5555:/sdcard`). Throws a TypeError naming what is wrong.
 */
export function parseAdbLocation(location: string): AdbEndpoint {
  if (!isAdbLocation(location)) throw new TypeError(`${location} is not a phone location (adb:[SERIAL:]/PATH).`);
  const rest = location.slice(PREFIX.length);
  const at = rest.startsWith('/') ? 0 : rest.indexOf(':/') + 1;
  if (at === 0 && !rest.startsWith('/')) {
    throw new TypeError(
      `${location}: give an absolute path on the phone, e.g. adb:/sdcard/DCIM or adb:SERIAL:/sdcard/DCIM.`,
    );
  }
  const serial = at > 0 ? rest.slice(0, at - 1) : undefined;
  let path = rest.slice(at).replace(/\/+$/, '') || '/';
  path = path.replace(/\/{2,}/g, '/');
  if (path.split('/').some((part) => part === '.' || part === '..'))
    throw new TypeError(`${location}: the path may not contain . or .. parts.`);
  if (path.includes('\0')) throw new TypeError(`${location}: the path holds a NUL character.`);
  return serial ? { serial, path } : { path };
}

/** The location written back, as `parseAdbLocation` reads it. */
export function formatAdbLocation(e: AdbEndpoint): string {
  return `${PREFIX}${e.serial ? `${e.serial}:` : ''}${e.path}`;
}
