/**
 * A place reached through rclone as the user writes it: `rclone:REMOTE:PATH` for a remote of the
 * user's rclone config (or one defined by RCLONE_CONFIG_<REMOTE>_* variables), `rclone:/PATH` for a
 * folder of this machine through rclone's own local backend.
 */
export interface RcloneEndpoint {
  /** The remote's name as rclone writes it (`nas`, `:sftp,host=h`); undefined for a local path. */
  remote?: string;
  /** The path within the remote, without a trailing slash ('' is the remote's own root). */
  path: string;
}

const PREFIX = 'rclone:';

export function isRcloneLocation(location: string): boolean {
  return location.startsWith(PREFIX);
}

/**
 * Parses `rclone:nas:backup/docs`, `rclone:nas:` or `rclone:/srv/backup`. A remote's name runs to
 * its first colon (rclone's names hold none), so the path may hold colons. Throws a TypeError
 * naming what is wrong.
 */
export function parseRcloneLocation(location: string): RcloneEndpoint {
  if (!isRcloneLocation(location)) throw new TypeError(`${location} is not an rclone location (rclone:REMOTE:PATH).`);
  const rest = location.slice(PREFIX.length);
  if (rest.startsWith('/')) return { path: cleanPath(location, rest, true) };
  // An on-the-fly remote (`:sftp,host=h`) starts with a colon of its own.
  const colon = rest.indexOf(':', rest.startsWith(':') ? 1 : 0);
  const remote = colon > 0 ? rest.slice(0, colon) : '';
  if (remote === '' || remote === ':' || /[/\\]/.test(remote.split(',')[0]!)) {
    throw new TypeError(
      `${location}: name the remote and the path in it, e.g. rclone:nas:backup (see \`rclone listremotes\`), ` +
        'or give an absolute path, e.g. rclone:/srv/backup.',
    );
  }
  return { remote, path: cleanPath(location, rest.slice(colon + 1), false) };
}

function cleanPath(location: string, raw: string, absolute: boolean): string {
  let path = raw.replace(/\/{2,}/g, '/').replace(/\/+$/, '');
  if (absolute && path === '') path = '/';
  if (path.split('/').some((part) => part === '.' || part === '..'))
    throw new TypeError(`${location}: the path may not contain . or .. parts.`);
  if (path.includes('\0')) throw new TypeError(`${location}: the path holds a NUL character.`);
  // rclone's file server takes the remote's root up to its first `]` (see RcloneStorage.read).
  if (path.includes(']')) throw new TypeError(`${location}: rclone cannot serve files under a path holding "]".`);
  return path;
}

/** The location written back, as `parseRcloneLocation` reads it. */
export function formatRcloneLocation(e: RcloneEndpoint): string {
  return `${PREFIX}${e.remote === undefined ? '' : `${e.remote}:`}${e.path}`;
}

/** The root as rclone's own commands and API take it (`nas:backup`, `/srv/backup`). */
export function rcloneFs(e: RcloneEndpoint, sub = ''): string {
  const path = sub === '' ? e.path : e.path === '' || e.path === '/' ? `${e.path}${sub}` : `${e.path}/${sub}`;
  return e.remote === undefined ? path : `${e.remote}:${path}`;
}
