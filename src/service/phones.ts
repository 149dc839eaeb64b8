import type { Pair } from '../config/schema.js';
import { formatBytes, formatCountOf } from '../core/format.js';
import { isAdbLocation, parseAdbLocation } from '../storage/adb/endpoint.js';
import { INSTALL_ADB } from '../storage/adb/server.js';
import type { TrackerState } from '../storage/adb/track-devices.js';

/** How a pair's phone is doing, as the user needs to hear it. */
export type PhoneConnection = 'connected' | 'not-connected' | 'unauthorized' | 'offline' | 'no-adb';

export interface PhoneInfo {
  serial?: string;
  model?: string;
  connection: PhoneConnection;
}

/** The devices the adb server sees, as the service follows them (track-devices.ts). */
export interface PhoneTracker {
  readonly current: TrackerState | undefined;
  on(event: 'state', listener: (state: TrackerState) => void): unknown;
  start(): void;
  stop(): void;
  /** Looks at the devices again now. */
  refresh(): Promise<void>;
}

/** A pair with a phone at either end: synced when the phone connects and every so often, never watched. */
export function isPhonePair(pair: Pick<Pair, 'source' | 'destination'>): boolean {
  return isAdbLocation(pair.source) || isAdbLocation(pair.destination);
}

/** The phone the pair syncs with, and why it cannot now (in words for the menu and `status`). */
export function phoneOf(
  pair: Pick<Pair, 'source' | 'destination'>,
  state: TrackerState | undefined,
): { phone: PhoneInfo; reason?: string } {
  const location = isAdbLocation(pair.source) ? pair.source : pair.destination;
  const serial = parseAdbLocation(location).serial;
  const base = serial ? { serial } : {};
  if (!state) return { phone: { ...base, connection: 'not-connected' }, reason: 'looking for the phone…' };
  if (!state.ok) {
    if (state.adbMissing)
      return { phone: { ...base, connection: 'no-adb' }, reason: `adb is not installed. ${INSTALL_ADB}` };
    return { phone: { ...base, connection: 'not-connected' }, reason: state.why };
  }
  const device = serial
    ? state.devices.find((d) => d.serial === serial)
    : state.devices.length === 1
      ? state.devices[0]
      : undefined;
  const name = device?.model ?? serial ?? 'the phone';
  if (!device) return { phone: { ...base, connection: 'not-connected' }, reason: `${name} is not connected` };
  const phone: PhoneInfo = {
    serial: device.serial,
    ...(device.model ? { model: device.model } : {}),
    connection: 'connected',
  };
  if (device.state === 'device') return { phone };
  if (device.state === 'unauthorized')
    return {
      phone: { ...phone, connection: 'unauthorized' },
      reason: `${name}: unlock the phone and allow USB debugging`,
    };
  return {
    phone: { ...phone, connection: 'offline' },
    reason: `${name} is ${device.state}: unplug it and plug it in again`,
  };
}

/** "Pixel 8: 34 new files backed up (120 MB)", or the files put on the phone. */
export function phoneSyncedText(
  pair: Pick<Pair, 'source'>,
  phone: PhoneInfo | undefined,
  files: number,
  bytes: number,
): string {
  const name = phone?.model ?? phone?.serial ?? 'Phone';
  const backup = isAdbLocation(pair.source);
  return (
    `${name}: ${formatCountOf(files, backup ? 'new file' : 'file')} ${backup ? 'backed up' : 'copied to the phone'} ` +
    `(${formatBytes(bytes)})`
  );
}
