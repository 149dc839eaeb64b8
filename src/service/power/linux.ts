import fs from 'node:fs/promises';
import path from 'node:path';
import type { PowerSource } from './watch-power.js';

/** What the kernel says of one power supply (the files of `/sys/class/power_supply/<name>/`). */
export interface PowerSupply {
  /** `Mains`, `Battery`, `USB`, `USB_C`, `USB_PD`, `UPS`, … */
  type?: string;
  /** `1` while an outside supply (mains, a USB charger) delivers power. */
  online?: string;
  /** `Device` for the battery of a mouse or a headset, which says nothing of the computer's power. */
  scope?: string;
  /** A battery's `Charging`, `Discharging`, `Full`, `Not charging`. */
  status?: string;
}

/** Chargers: a mains adapter, or power over USB (USB-C laptops report their charger so). */
const OUTSIDE = /^(Mains|USB.*)$/;

/**
 * On battery when the computer has a battery of its own and no charger is online; where no
 * charger is listed at all, when that battery discharges. No battery of its own: `unknown`.
 */
export function linuxPowerSource(supplies: readonly PowerSupply[]): PowerSource {
  const batteries = supplies.filter((s) => s.type === 'Battery' && s.scope !== 'Device');
  const chargers = supplies.filter((s) => OUTSIDE.test(s.type ?? '') && s.scope !== 'Device');
  if (chargers.some((s) => s.online === '1')) return 'mains';
  if (batteries.length === 0) return 'unknown';
  if (chargers.length > 0) return 'battery';
  return batteries.some((b) => b.status === 'Discharging') ? 'battery' : 'mains';
}

/** Reads the supplies under `dir` (`/sys/class/power_supply`); a folder that is not there lists none. */
export async function readLinuxPower(dir: string): Promise<PowerSource> {
  const names = await fs.readdir(dir).catch(() => []);
  const field = (name: string, file: string) =>
    fs.readFile(path.join(dir, name, file), 'utf8').then(
      (text) => text.trim(),
      () => undefined,
    );
  const supplies = await Promise.all(
    names.map(async (name) => {
      const [type, online, scope, status] = await Promise.all(
        ['type', 'online', 'scope', 'status'].map((file) => field(name, file)),
      );
      return { type, online, scope, status };
    }),
  );
  return linuxPowerSource(supplies);
}
