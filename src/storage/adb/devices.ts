import { ErrorCode, StorageError } from '../../core/errors.js';
import type { AdbServer } from './server.js';

/** A device as the adb server lists it. `state` is `device` when usable. */
export interface AdbDevice {
  serial: string;
  /** device, unauthorized, offline, recovery, … */
  state: string;
  model?: string;
}

/** Parses `host:devices-l` (and `host:track-devices-l`) text: one device per line. */
export function parseDevices(text: string): AdbDevice[] {
  const out: AdbDevice[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(\S+)(.*)$/.exec(line.trim());
    if (!m) continue;
    const model = /\bmodel:(\S+)/.exec(m[3]!)?.[1];
    out.push({ serial: m[1]!, state: m[2]!, ...(model ? { model: model.replace(/_/g, ' ') } : {}) });
  }
  return out;
}

export async function listDevices(server: AdbServer): Promise<AdbDevice[]> {
  return parseDevices(await server.query('host:devices-l'));
}

/** The one connected device, when the location names none; else why not, with what to write. */
export async function onlyDevice(server: AdbServer): Promise<string> {
  const all = await listDevices(server);
  const ready = all.filter((d) => d.state === 'device');
  if (ready.length === 1) return ready[0]!.serial;
  if (all.length === 0)
    throw new StorageError(
      ErrorCode.DEVICE_GONE,
      'No phone is connected: plug one in (with USB debugging on) and unlock it.',
      undefined,
      false,
      'NOT_CONNECTED',
    );
  const names = [...all]
    .sort((a, b) => a.serial.localeCompare(b.serial))
    .map((d) => `${d.serial} (${d.model ? `${d.model}, ` : ''}${d.state})`)
    .join(', ');
  if (ready.length === 0) {
    const why = all.some((d) => d.state === 'unauthorized')
      ? 'unlock the phone and allow USB debugging'
      : 'unplug it and plug it in again';
    throw new StorageError(
      ErrorCode.DEVICE_GONE,
      `No phone is ready: ${names}; ${why}.`,
      undefined,
      false,
      'NOT_READY',
    );
  }
  throw new StorageError(
    ErrorCode.DEVICE_GONE,
    `${ready.length} phones are connected: ${names}. Name one: adb:SERIAL:/path.`,
    undefined,
    false,
    'AMBIGUOUS',
  );
}
