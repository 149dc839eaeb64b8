import { ErrorCode, StorageError } from '../../core/errors.js';
import { RcError } from './server.js';

// rclone's remote control answers with the backend's message and a status: 404 for what it did
// not find, 500 for most else, so the message says what happened. Checked in this order.
const BY_MESSAGE: [RegExp, ErrorCode][] = [
  [/source file is being updated|changed during (upload|copy)/i, ErrorCode.CHANGED],
  [/is a directory/i, ErrorCode.IS_DIR],
  [/not a directory/i, ErrorCode.NOT_DIR],
  [/not empty/i, ErrorCode.NOT_EMPTY],
  [/not found|no such file|does not exist|doesn't exist/i, ErrorCode.NOT_FOUND],
  [/permission denied|access denied|forbidden|unauthori[sz]ed/i, ErrorCode.PERMISSION],
  [/no space left|quota|insufficient storage|disk full/i, ErrorCode.NO_SPACE],
  [/name too long/i, ErrorCode.NAME_TOO_LONG],
  [/read-only file system/i, ErrorCode.READ_ONLY],
  [/file exists|already exists/i, ErrorCode.EXISTS],
];

/**
 * What a network failure looks like in rclone's messages: the remote cannot be reached now, so a
 * run ends (DEVICE_GONE) and a pair waits for its destination instead of failing file by file.
 */
const UNREACHABLE = new RegExp(
  [
    'connection refused',
    'connection reset',
    'no route to host',
    'network is unreachable',
    'host is down',
    'i/o timeout',
    'timed out',
    'broken pipe',
    "couldn't connect",
    'failed to connect',
    'connection lost',
    'handshake failed',
    'no such host',
    'unexpected EOF',
    '\\bEOF\\b',
  ].join('|'),
  'i',
);

/** An error from a call about `path` in `remote`, as a StorageError (others are returned as they are). */
export function mapRcError(err: unknown, remote: string, show: string, path?: string): unknown {
  if (!(err instanceof RcError)) return err;
  const message = err.message.replace(/\s+/g, ' ').trim();
  if (UNREACHABLE.test(message)) {
    return new StorageError(ErrorCode.DEVICE_GONE, `cannot reach ${remote}: ${reasonOf(message)}`, path, true);
  }
  const code = err.status === 404 ? ErrorCode.NOT_FOUND : BY_MESSAGE.find(([re]) => re.test(message))?.[1];
  return new StorageError(code ?? ErrorCode.IO, `${show}: ${message}`, path);
}

/** The last, plainest part of a chain of Go errors ("couldn't connect SSH: dial tcp …: connection refused"). */
function reasonOf(message: string): string {
  const last = message.split(': ').at(-1)!;
  if (UNREACHABLE.test(last)) return last;
  return UNREACHABLE.exec(message)?.[0].toLowerCase() ?? message;
}
