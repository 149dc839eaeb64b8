import { describe, expect, it } from 'vitest';
import { parseDevices } from '../../../src/storage/adb/devices.js';
import { formatAdbLocation, parseAdbLocation } from '../../../src/storage/adb/endpoint.js';
import { quote } from '../../../src/storage/adb/shell-session.js';

describe('phone locations', () => {
  it('take the path from the first :/, so serials may hold colons', () => {
    expect(parseAdbLocation('adb:/sdcard/DCIM')).toEqual({ path: '/sdcard/DCIM' });
    expect(parseAdbLocation('adb:R58M123:/sdcard/DCIM/')).toEqual({ serial: 'R58M123', path: '/sdcard/DCIM' });
    expect(parseAdbLocation('adb:127.0.0.1:5555:/sdcard//Music')).toEqual({
      serial: '127.0.0.1:5555',
      path: '/sdcard/Music',
    });
    expect(parseAdbLocation('adb:emulator-5554:/')).toEqual({ serial: 'emulator-5554', path: '/' });
    expect(formatAdbLocation(parseAdbLocation('adb:127.0.0.1:5555:/sdcard/'))).toBe('adb:127.0.0.1:5555:/sdcard');
  });

  it('refuse a relative path or one with . or .. parts, saying what to write', () => {
    expect(() => parseAdbLocation('adb:sdcard/DCIM')).toThrow(
      'give an absolute path on the phone, e.g. adb:/sdcard/DCIM',
    );
    expect(() => parseAdbLocation('adb:SERIAL')).toThrow(TypeError);
    expect(() => parseAdbLocation('adb:/sdcard/../data')).toThrow('may not contain . or .. parts');
  });
});

describe('the device list', () => {
  it('reads serial, state and model from host:devices-l', () => {
    const text =
      '127.0.0.1:40001        device product:fakeprod model:Pixel_8 device:fakedev transport_id:1\n' +
      'R58M123                unauthorized transport_id:2\n' +
      'emulator-5554          offline\n';
    expect(parseDevices(text)).toEqual([
      { serial: '127.0.0.1:40001', state: 'device', model: 'Pixel 8' },
      { serial: 'R58M123', state: 'unauthorized' },
      { serial: 'emulator-5554', state: 'offline' },
    ]);
  });
});

describe('shell quoting', () => {
  it("single-quotes every word, a quote inside as '\\''", () => {
    expect(quote("it's $(x) `y` \\n")).toBe(`'it'\\''s $(x) \`y\` \\n'`);
  });
});
