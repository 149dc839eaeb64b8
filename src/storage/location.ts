import { isAdbLocation } from './adb/endpoint.js';
import { isRcloneLocation } from './rclone/endpoint.js';

/**
 * Whether a location is reached through another program (a phone through adb, a remote through
 * rclone) rather than being a folder of this machine: it has no drive, mount point or marker file
 * of its own, and its paths are '/'-separated whatever this machine's separator.
 */
export function isRemoteLocation(location: string): boolean {
  return isAdbLocation(location) || isRcloneLocation(location);
}

/** `name` inside a remote location, '/'-separated. */
export function remoteChild(location: string, name: string): string {
  return location.endsWith(':') ? `${location}${name}` : `${location.replace(/\/+$/, '')}/${name}`;
}

/**
 * The scheme of an argument that looks like one (`nas:backup` gives `nas`) and is not a location
 * SyncTray knows; undefined otherwise. A single letter is a Windows drive (`C:`), never a scheme.
 */
export function unknownScheme(location: string): string | undefined {
  if (isRemoteLocation(location)) return undefined;
  const m = /^([A-Za-z0-9][\w.+-]*):/.exec(location);
  if (!m || (m[1]!.length === 1 && process.platform === 'win32')) return undefined;
  return m[1];
}
