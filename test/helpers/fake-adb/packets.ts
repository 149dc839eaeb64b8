/**
 * The ADB transport's packets: a 24-byte header of six little-endian u32 (command, arg0, arg1,
 * data length, data check, magic) followed by the payload. See /work/shared/adb-notes.md §1.
 */
import { ByteQueue } from './byte-queue.js';

/** Command words: their four ASCII letters read as a little-endian u32. */
export const CMD = {
  CNXN: 0x4e584e43,
  AUTH: 0x48545541,
  OPEN: 0x4e45504f,
  OKAY: 0x59414b4f,
  WRTE: 0x45545257,
  CLSE: 0x45534c43,
} as const;

/** The first version at which both sides send data_check = 0 instead of a byte sum. */
export const VERSION_NO_CHECKSUM = 0x01000001;
export const VERSION_MIN = 0x01000000;
/** What the fake offers; also the most it accepts in one packet (the host keeps to it). */
export const DEVICE_MAXDATA = 1024 * 1024;

export const AUTH_TOKEN = 1;
export const AUTH_SIGNATURE = 2;
export const AUTH_RSAPUBLICKEY = 3;

const HEADER = 24;
/** Anything longer than this from the host is not a packet we asked for: the stream is garbage. */
const LARGEST_ACCEPTED = 16 * DEVICE_MAXDATA;

export interface Packet {
  command: number;
  arg0: number;
  arg1: number;
  data: Buffer;
}

export function commandName(command: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(command >>> 0);
  return /^[A-Z]{4}$/.test(b.toString('latin1')) ? b.toString('latin1') : `0x${(command >>> 0).toString(16)}`;
}

function byteSum(data: Buffer): number {
  let sum = 0;
  for (const byte of data) sum = (sum + byte) >>> 0;
  return sum;
}

/**
 * One packet's bytes. The byte sum goes out only to hosts that negotiated an old version: newer
 * hosts ignore it, and summing every megabyte sent would cost time for nothing.
 */
export function encodePacket(command: number, arg0: number, arg1: number, data: Buffer, version: number): Buffer {
  const header = Buffer.alloc(HEADER);
  header.writeUInt32LE(command >>> 0, 0);
  header.writeUInt32LE(arg0 >>> 0, 4);
  header.writeUInt32LE(arg1 >>> 0, 8);
  header.writeUInt32LE(data.length, 12);
  header.writeUInt32LE(version < VERSION_NO_CHECKSUM ? byteSum(data) : 0, 16);
  header.writeUInt32LE((command ^ 0xffffffff) >>> 0, 20);
  return data.length === 0 ? header : Buffer.concat([header, data]);
}

/**
 * Cuts a TCP byte stream into packets. data_check is deliberately never checked: the host sends 0
 * after negotiating, and 0 even on the CNXN of an automatic reconnect. The magic is checked, since
 * a wrong one means the stream is out of step and every later packet would be nonsense.
 */
export class PacketParser {
  #queue = new ByteQueue();

  /** Adds bytes; returns the packets they complete. Throws on a corrupt header. */
  push(chunk: Buffer): Packet[] {
    this.#queue.push(chunk);
    const packets: Packet[] = [];
    for (;;) {
      const header = this.#queue.peek(HEADER);
      if (header === undefined) return packets;
      const command = header.readUInt32LE(0);
      const length = header.readUInt32LE(12);
      if (header.readUInt32LE(20) !== (command ^ 0xffffffff) >>> 0) {
        throw new Error(`bad packet magic for command ${commandName(command)}`);
      }
      if (length > LARGEST_ACCEPTED) throw new Error(`packet of ${length} bytes is larger than any the host may send`);
      if (this.#queue.length < HEADER + length) return packets;
      const arg0 = header.readUInt32LE(4);
      const arg1 = header.readUInt32LE(8);
      this.#queue.take(HEADER);
      // No copy: Node hands every socket read a fresh buffer, so a view into it stays valid.
      const data = length === 0 ? Buffer.alloc(0) : this.#queue.take(length)!;
      packets.push({ command, arg0, arg1, data });
    }
  }
}
