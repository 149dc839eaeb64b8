import { RefusedError, StorageError } from '../core/errors.js';
import { onlyDevice } from '../storage/adb/devices.js';
import { formatAdbLocation, isAdbLocation, parseAdbLocation } from '../storage/adb/endpoint.js';
import { AdbServer } from '../storage/adb/server.js';

/**
 * A pair follows its phone by serial: `adb:/sdcard/DCIM` becomes `adb:SERIAL:/sdcard/DCIM` for the
 * one phone connected now (refused, naming them, when there is none or several). Other
 * locations are returned as they are.
 */
export async function withPhoneSerial(location: string, server = new AdbServer()): Promise<string> {
  if (!isAdbLocation(location)) return location;
  let endpoint: ReturnType<typeof parseAdbLocation>;
  try {
    endpoint = parseAdbLocation(location);
  } catch (err) {
    throw new RefusedError((err as Error).message);
  }
  if (endpoint.serial) return formatAdbLocation(endpoint);
  try {
    return formatAdbLocation({ ...endpoint, serial: await onlyDevice(server) });
  } catch (err) {
    if (err instanceof StorageError) throw new RefusedError(`${location}: ${err.message}`);
    throw err;
  }
}
