import type { PowerSource } from './watch-power.js';

/**
 * Win32_Battery's BatteryStatus, one line per battery: 1 (discharging), 4 (low) and 5 (critical)
 * run on the battery; 2 (on AC), 3 (fully charged) and 6 to 9, 11 (charging, partly charged) on
 * mains. A computer without a battery prints nothing. Not tried on Windows yet: parsed from the
 * documented values.
 */
export function parseBatteryStatus(text: string): PowerSource {
  const codes = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => /^\d+$/.test(l))
    .map(Number);
  if (codes.some((c) => MAINS.has(c))) return 'mains';
  if (codes.some((c) => BATTERY.has(c))) return 'battery';
  return 'unknown';
}

const BATTERY = new Set([1, 4, 5]);
const MAINS = new Set([2, 3, 6, 7, 8, 9, 11]);

/** The PowerShell that prints each battery's BatteryStatus. */
export const BATTERY_STATUS_COMMAND = '(Get-CimInstance -ClassName Win32_Battery).BatteryStatus';

/** Asks PowerShell; `run` gives a program's standard output. */
export async function readWindowsPower(
  run: (command: string, args: string[]) => Promise<string>,
): Promise<PowerSource> {
  return parseBatteryStatus(
    await run('powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', BATTERY_STATUS_COMMAND]),
  );
}
