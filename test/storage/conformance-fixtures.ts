/** Fixtures and assertions for the storage conformance suite; nothing here knows a backend. */
import { expect } from 'vitest';
import { NS_PER_SEC } from '../../src/core/entry.js';
import { type ErrorCode, StorageError } from '../../src/core/errors.js';
import type { Capabilities, FileSource } from '../../src/storage/storage.js';

const NS_PER_US = 1000n;
const at = (sec: number, ns: number) => BigInt(sec) * NS_PER_SEC + BigInt(ns);

// Far from now and with sub-second digits, so a backend that ignores or rounds them is caught.
export const MTIME = at(1_600_000_000, 123_456_789);
export const ATIME = at(1_500_000_000, 987_654_321);
export const OTHER_MTIME = at(1_400_000_000, 555_000_000);

export const SUB_SECOND_TIMES: [string, bigint][] = [
  ['123456789 ns into a second', MTIME],
  // Rounding up instead of truncating would spill into the next second.
  ['999999999 ns into a second', at(1_600_000_000, 999_999_999)],
  ['1 µs into a second', at(1_600_000_000, 1_000)],
  ['999 ns into a second', at(1_600_000_000, 999)],
  ['a whole second', at(1_600_000_000, 0)],
  ['a time in 1980', at(315_532_801, 500_000_000)],
  // Past 2038, and where a double holds the seconds less precisely.
  ['a time in 2100', at(4_102_444_800, 987_654_321)],
];

/** Paths that must be refused as misuse (TypeError), never resolved. */
export const BAD_PATHS = ['..', '../escape', 'sub/..', 'sub/../x', '/x', '/', '.', './x', 'x/', 'sub//x', 'x\0y'];

export const NFC_NAME = 'caf\u00e9 \u00fcber';
export const NFD_NAME = 'cafe\u0301 u\u0308ber';

export const HOSTILE_NAMES: { label: string; name: string }[] = [
  { label: 'unicode NFC', name: NFC_NAME },
  { label: 'unicode NFD', name: NFD_NAME },
  { label: 'emoji and CJK', name: '😀 日本語 ✓' },
  { label: 'inner spaces', name: 'two  spaces here' },
  { label: 'leading and trailing spaces', name: '  padded  ' },
  { label: 'quotes', name: `it's "quoted"` },
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a name a shell would expand, kept as it is
  { label: 'command substitution', name: '$(whoami) `whoami` ${HOME}' },
  { label: 'shell and Windows specials', name: '? < > & * | ; \\ : # % ~ ! [ab] {a,b}' },
  { label: 'a lone star', name: '*' },
  { label: 'newline, tab and CR', name: 'line\nbreak\tand\rreturn' },
  { label: 'leading dash', name: '-rf' },
  { label: 'double dash', name: '--help' },
  { label: 'dots', name: '...' },
  { label: 'hidden', name: '.hidden' },
  { label: '255 bytes of multi-byte UTF-8', name: nameOfBytes(255) },
];

export const DEEP_DIRS = Array.from({ length: 40 }, (_, i) => `level ${String(i).padStart(2, '0')} ${'x'.repeat(20)}`);

/** A name of exactly `bytes` UTF-8 bytes, mostly 2-, 3- and 4-byte characters. */
export function nameOfBytes(bytes: number): string {
  const wide = 'é'.repeat(60) + '日'.repeat(40) + '😀'.repeat(3); // 120 + 120 + 12 bytes
  const name = wide + 'x'.repeat(bytes - Buffer.byteLength(wide));
  if (Buffer.byteLength(name) !== bytes) throw new Error(`fixture: cannot make a ${bytes}-byte name`);
  return name;
}

/** Deterministic bytes, so a failure reproduces and misplaced chunks show up as a mismatch. */
export function pseudoRandomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = 0x9e3779b9;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Yields `data` in uneven chunks, starting with an empty one, as a network or pipe would. */
export function chunkedSource(data: Uint8Array): FileSource {
  const sizes = [1, 7, 65_536 + 3, (1 << 20) + 1];
  return {
    async *stream() {
      yield new Uint8Array(0);
      for (let off = 0, i = 0; off < data.length; i++) {
        const size = sizes[i % sizes.length] ?? 1;
        yield data.subarray(off, off + size);
        off += size;
      }
    },
  };
}

/** Yields `prefix`, then fails the way a vanished source does. */
export function failingSource(prefix: string, err: Error): FileSource {
  return {
    async *stream() {
      yield Buffer.from(prefix);
      throw err;
    },
  };
}

/** Runs `op` (which may also throw synchronously) and returns what it threw; fails if it did not. */
export async function failureOf(op: () => unknown): Promise<unknown> {
  try {
    await op();
  } catch (err) {
    return err;
  }
  return expect.unreachable('expected the call to fail, but it succeeded');
}

export async function expectStorageError(op: () => unknown, ...codes: ErrorCode[]): Promise<void> {
  const err = await failureOf(op);
  if (!(err instanceof StorageError)) {
    return expect.unreachable(`expected a StorageError ${codes.join('/')}, got ${String(err)}`);
  }
  expect(codes, err.message).toContain(err.code);
}

/**
 * The time must survive within the backend's precision; where that is a microsecond or finer, the
 * microsecond itself must survive. Digits below it need not: utimes-style APIs take the seconds as
 * a double, which cannot hold every nanosecond of today's dates.
 */
export function expectTime(caps: Capabilities, actual: bigint, wanted: bigint, what: string): void {
  const precision = caps.mtimePrecisionNs;
  const message = `${what}: got ${showNs(actual)}, wanted ${showNs(wanted)} (precision ${precision} ns)`;
  if (precision <= NS_PER_US) {
    expect(actual / NS_PER_US === wanted / NS_PER_US, message).toBe(true);
  } else {
    const diff = actual > wanted ? actual - wanted : wanted - actual;
    expect(diff < precision, message).toBe(true);
  }
}

function showNs(ns: bigint): string {
  return `${ns / NS_PER_SEC}.${(ns % NS_PER_SEC).toString().padStart(9, '0')}s`;
}

/** Compares names byte-exact, in no particular order, showing invisible differences (NFC vs NFD). */
export function expectNames(actual: string[], expected: string[]): void {
  expect(actual.map(escapeName).sort()).toEqual(expected.map(escapeName).sort());
}

function escapeName(name: string): string {
  let out = '';
  for (const ch of name) {
    const cp = ch.codePointAt(0) ?? 0;
    out += cp >= 0x20 && cp < 0x7f && ch !== '\\' ? ch : `\\u{${cp.toString(16)}}`;
  }
  return out;
}

export function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length, 'length').toBe(expected.length);
  const first = actual.findIndex((b, i) => b !== expected[i]);
  expect(first, 'offset of the first differing byte').toBe(-1);
}
