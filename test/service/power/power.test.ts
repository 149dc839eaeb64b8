import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { linuxPowerSource, readLinuxPower } from '../../../src/service/power/linux.js';
import { parsePmset } from '../../../src/service/power/macos.js';
import { watchPower, type PowerSource } from '../../../src/service/power/watch-power.js';
import { parseBatteryStatus } from '../../../src/service/power/windows.js';
import { makeScratch, removeScratch } from '../../helpers/scratch.js';

let dir: string;
beforeEach(() => {
  dir = makeScratch('synctray-power-');
});
afterEach(() => removeScratch(dir));

/** A power supply folder as the kernel lays it out: one file per property. */
function supply(name: string, files: Record<string, string>): void {
  fs.mkdirSync(path.join(dir, name), { recursive: true });
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name, file), `${text}\n`);
}

describe('the Linux power reader', () => {
  it('reads a laptop on its charger, then on battery, from the power supply folder', async () => {
    supply('AC', { type: 'Mains', online: '1' });
    supply('BAT0', { type: 'Battery', status: 'Charging', present: '1' });
    expect(await readLinuxPower(dir)).toBe('mains');
    supply('AC', { type: 'Mains', online: '0' });
    supply('BAT0', { type: 'Battery', status: 'Discharging' });
    expect(await readLinuxPower(dir)).toBe('battery');
  });

  it('takes a USB-C charger for mains, and a mouse battery for nothing', () => {
    const laptop = { type: 'Battery', status: 'Discharging' };
    expect(linuxPowerSource([laptop, { type: 'USB', online: '1' }])).toBe('mains');
    expect(linuxPowerSource([laptop, { type: 'USB_PD', online: '0' }, { type: 'Mains', online: '0' }])).toBe('battery');
    // A desktop with a wireless mouse: no battery of its own, so never on battery.
    expect(linuxPowerSource([{ type: 'Battery', scope: 'Device', status: 'Discharging' }])).toBe('unknown');
    // No charger listed at all: the battery's own status says it.
    expect(linuxPowerSource([laptop])).toBe('battery');
    expect(linuxPowerSource([{ type: 'Battery', status: 'Full' }])).toBe('mains');
  });

  it('reads a computer without a power supply folder as unknown', async () => {
    expect(await readLinuxPower(path.join(dir, 'none'))).toBe('unknown');
    expect(await readLinuxPower(dir)).toBe('unknown');
  });
});

describe("macOS's pmset -g batt", () => {
  it('says mains on AC power and battery on battery power', () => {
    expect(
      parsePmset(
        "Now drawing from 'AC Power'\n -InternalBattery-0 (id=4653155)\t100%; charged; 0:00 remaining present: true\n",
      ),
    ).toBe('mains');
    expect(
      parsePmset(
        "Now drawing from 'Battery Power'\n -InternalBattery-0 (id=4653155)\t87%; discharging; 5:12 remaining " +
          'present: true\n',
      ),
    ).toBe('battery');
    expect(parsePmset("Now drawing from 'UPS Power'\n")).toBe('unknown');
    expect(parsePmset('')).toBe('unknown');
  });

  it('reads the shapes pmset prints on laptops and desktops, whatever the battery line says', () => {
    // A laptop on its charger, full, charging, or held at 80% by battery health management.
    expect(parsePmset(PMSET.full)).toBe('mains');
    expect(parsePmset(PMSET.charging)).toBe('mains');
    expect(parsePmset(PMSET.notCharging)).toBe('mains');
    // Unplugged, before macOS has an estimate of the time left.
    expect(parsePmset(PMSET.noEstimate)).toBe('battery');
    // A desktop Mac has no battery line.
    expect(parsePmset(PMSET.desktop)).toBe('mains');
    // A desktop on a UPS through a power cut: not a battery of the computer's own, as on Linux.
    expect(parsePmset(PMSET.ups)).toBe('unknown');
  });
});

/** `pmset -g batt` as Macs print it: a header line, then one line per battery, tab before the charge. */
const PMSET = {
  full:
    "Now drawing from 'AC Power'\n" +
    ' -InternalBattery-0 (id=22806627)\t100%; charged; 0:00 remaining present: true\n',
  charging:
    "Now drawing from 'AC Power'\n -InternalBattery-0 (id=5308515)\t34%; charging; 5:58 remaining present: true\n",
  notCharging:
    "Now drawing from 'AC Power'\n -InternalBattery-0 (id=7929955)\t80%; AC attached; not charging present: true\n",
  noEstimate:
    "Now drawing from 'Battery Power'\n" +
    ' -InternalBattery-0 (id=5308515)\t43%; discharging; (no estimate) present: true\n',
  desktop: "Now drawing from 'AC Power'\n",
  ups: "Now drawing from 'UPS Power'\n -Back-UPS ES 700 (id=1234)\t87%; discharging; (no estimate)\n",
};

describe("Windows's Win32_Battery BatteryStatus", () => {
  it('says battery while discharging, mains on AC or charging, unknown without a battery', () => {
    expect(parseBatteryStatus('1\r\n')).toBe('battery');
    expect(parseBatteryStatus('4\r\n')).toBe('battery');
    expect(parseBatteryStatus('2\r\n')).toBe('mains');
    expect(parseBatteryStatus('6\r\n')).toBe('mains');
    // Two batteries, one charging: the computer is plugged in.
    expect(parseBatteryStatus('1\r\n6\r\n')).toBe('mains');
    expect(parseBatteryStatus('')).toBe('unknown');
    expect(parseBatteryStatus('Get-CimInstance : Access denied\r\n')).toBe('unknown');
  });

  it('reads what PowerShell prints for the property of every battery, one value a line', () => {
    // A laptop with two batteries, both discharging; a desktop (no battery) prints nothing at all.
    expect(parseBatteryStatus('1\r\n1\r\n')).toBe('battery');
    expect(parseBatteryStatus('\r\n')).toBe('unknown');
    // Fully charged on AC, and "charging and high" while plugged in.
    expect(parseBatteryStatus('3\r\n')).toBe('mains');
    expect(parseBatteryStatus('  6  \r\n')).toBe('mains');
    // Critical and low: still running on the battery.
    expect(parseBatteryStatus('5\r\n')).toBe('battery');
  });
});

describe('following the power source', () => {
  it('tells the first reading and then each change, every interval, and stops when closed', async () => {
    const readings: PowerSource[] = ['mains', 'mains', 'battery', 'battery', 'mains'];
    let reads = 0;
    const timers: { fn: () => void; ms: number }[] = [];
    const told: PowerSource[] = [];
    const watch = watchPower((s) => told.push(s), {
      read: () => Promise.resolve(readings[reads++] ?? 'mains'),
      everyMs: 30_000,
      setTimeout: (fn, ms) => timers.push({ fn, ms }),
      clearTimeout: () => undefined,
    });
    await watch.ready;
    expect(told).toEqual(['mains']);
    for (let i = 0; i < 4; i++) {
      const next = timers.shift()!;
      expect(next.ms).toBe(30_000);
      next.fn();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(told).toEqual(['mains', 'battery', 'mains']);
    watch.close();
    timers.shift()?.fn();
    await new Promise((resolve) => setImmediate(resolve));
    expect(reads).toBe(6);
    expect(told).toEqual(['mains', 'battery', 'mains']);
  });

  it('takes a reader that fails for unknown, so that nothing waits on a guess', async () => {
    const told: PowerSource[] = [];
    const watch = watchPower((s) => told.push(s), {
      read: () => Promise.reject(new Error('pmset: not found')),
      setTimeout: () => undefined,
      clearTimeout: () => undefined,
    });
    await watch.ready;
    expect(told).toEqual(['unknown']);
    watch.close();
  });
});
