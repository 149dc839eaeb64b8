/**
 * One host connection to the fake device: the CNXN/AUTH handshake, then the stream table
 * (OPEN/OKAY/WRTE/CLSE). Services only see a StreamIo: bytes in, bytes out, end.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { ByteQueue } from './byte-queue.js';
import {
  AUTH_RSAPUBLICKEY,
  AUTH_SIGNATURE,
  AUTH_TOKEN,
  CMD,
  DEVICE_MAXDATA,
  encodePacket,
  PacketParser,
  VERSION_MIN,
  VERSION_NO_CHECKSUM,
  type Packet,
} from './packets.js';

/** A service's view of its stream. */
export interface StreamIo {
  /** The most one WRTE may carry (the smaller of the host's and the device's maxdata). */
  readonly maxdata: number;
  /** Bytes written and not yet sent. */
  readonly queued: number;
  write(data: Buffer): void;
  /** CLSE once everything written has been sent and acknowledged. */
  end(): void;
}

export interface Service {
  onData(data: Buffer): void;
  /** A WRTE was acknowledged: room for more output (for services that produce it lazily). */
  onWritable(): void;
  /** The stream is gone (either side closed it, or the connection died): release everything. */
  onClose(): void;
}

export interface ConnectionOptions {
  auth: 'none' | 'never';
  banner: string;
  /** The service for an OPEN; undefined refuses it (CLSE), as adbd does for unknown services. */
  openService(name: string, io: StreamIo): Service | undefined;
}

class Stream implements StreamIo {
  readonly localId: number;
  readonly remoteId: number;
  service: Service | undefined;
  #conn: Connection;
  #out = new ByteQueue();
  #inFlight = false;
  #ending = false;
  #scheduled = false;
  closed = false;

  constructor(conn: Connection, localId: number, remoteId: number) {
    this.#conn = conn;
    this.localId = localId;
    this.remoteId = remoteId;
  }

  get maxdata(): number {
    return this.#conn.maxdata;
  }

  get queued(): number {
    return this.#out.length;
  }

  write(data: Buffer): void {
    if (this.closed) return;
    this.#out.push(data);
    this.#schedule();
  }

  end(): void {
    this.#ending = true;
    this.#schedule();
  }

  /**
   * Sending waits for the next turn of the event loop so that every reply a service produced
   * for one incoming WRTE leaves in one outgoing WRTE: each extra WRTE costs a ~40 ms stall
   * (Nagle and delayed ACKs) between the adb server and its client.
   */
  #schedule(): void {
    if (this.#scheduled || this.#inFlight) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.flush();
    });
  }

  /** Sends the next WRTE, or the CLSE once all is sent; one WRTE in flight at a time. */
  flush(): void {
    if (this.closed || this.#inFlight) return;
    if (this.#out.length > 0) {
      const data = this.#out.take(Math.min(this.#out.length, this.maxdata))!;
      this.#inFlight = true;
      this.#conn.send(CMD.WRTE, this.localId, this.remoteId, data);
    } else if (this.#ending) {
      this.#conn.send(CMD.CLSE, this.localId, this.remoteId);
      this.#conn.forget(this);
    }
  }

  onOkay(): void {
    this.#inFlight = false;
    this.service?.onWritable();
    this.flush();
  }

  onWrite(data: Buffer): void {
    this.#conn.send(CMD.OKAY, this.localId, this.remoteId);
    this.service?.onData(data);
  }
}

export class Connection {
  readonly socket: Socket;
  #options: ConnectionOptions;
  #parser = new PacketParser();
  #version = VERSION_NO_CHECKSUM;
  #hostMaxdata = DEVICE_MAXDATA;
  #online = false;
  #streams = new Map<number, Stream>();
  #nextId = 1;
  #dead = false;

  constructor(socket: Socket, options: ConnectionOptions) {
    this.socket = socket;
    this.#options = options;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      let packets: Packet[];
      try {
        packets = this.#parser.push(chunk);
      } catch {
        this.destroy(true);
        return;
      }
      for (const packet of packets) {
        if (this.#dead) return;
        try {
          this.#handle(packet);
        } catch (err) {
          // A bug in the fake must not crash the test process that hosts it: the host sees the
          // device drop, and the reason is on stderr.
          console.error('fake-adb: dropping the connection:', err);
          this.destroy(true);
        }
      }
    });
    // ECONNRESET and friends: the host went away, which 'close' handles.
    socket.on('error', () => {});
    socket.on('close', () => this.destroy(false));
  }

  get maxdata(): number {
    return Math.min(this.#hostMaxdata, DEVICE_MAXDATA);
  }

  send(command: number, arg0: number, arg1: number, data: Buffer = Buffer.alloc(0)): void {
    if (this.#dead) return;
    this.socket.write(encodePacket(command, arg0, arg1, data, this.#version));
  }

  forget(stream: Stream): void {
    if (stream.closed) return;
    stream.closed = true;
    this.#streams.delete(stream.localId);
    stream.service?.onClose();
  }

  /** Ends the connection; `abrupt` resets it (RST) as a pulled cable would, instead of a FIN. */
  destroy(abrupt: boolean): void {
    if (this.#dead) return;
    this.#dead = true;
    for (const stream of [...this.#streams.values()]) this.forget(stream);
    if (abrupt && !this.socket.destroyed) this.socket.resetAndDestroy();
    else this.socket.destroy();
  }

  #handle({ command, arg0, arg1, data }: Packet): void {
    switch (command) {
      case CMD.CNXN:
        // Again on a host's reconnect: answer afresh, with whatever streams there were gone.
        for (const stream of [...this.#streams.values()]) this.forget(stream);
        this.#version = Math.max(VERSION_MIN, Math.min(arg0, VERSION_NO_CHECKSUM));
        this.#hostMaxdata = arg1;
        if (this.#options.auth === 'none') {
          this.#online = true;
          this.send(CMD.CNXN, this.#version, DEVICE_MAXDATA, Buffer.from(this.#options.banner));
        } else {
          this.send(CMD.AUTH, AUTH_TOKEN, 0, randomBytes(20));
        }
        return;
      case CMD.AUTH:
        // 'never': refuse every signature so the host offers its public key, then show no dialog.
        if (arg0 === AUTH_SIGNATURE) this.send(CMD.AUTH, AUTH_TOKEN, 0, randomBytes(20));
        else if (arg0 !== AUTH_RSAPUBLICKEY) this.destroy(true);
        return;
    }
    if (!this.#online) return;
    if (command === CMD.OPEN) {
      this.#open(arg0, data);
      return;
    }
    const stream = this.#streams.get(arg1);
    // Packets for a stream already closed cross our CLSE on the wire: nothing to do with them.
    if (stream === undefined || stream.remoteId !== arg0) return;
    if (command === CMD.WRTE) stream.onWrite(data);
    else if (command === CMD.OKAY) stream.onOkay();
    else if (command === CMD.CLSE) {
      this.send(CMD.CLSE, stream.localId, stream.remoteId);
      this.forget(stream);
    }
  }

  #open(remoteId: number, data: Buffer): void {
    const nul = data.indexOf(0);
    const name = data.toString('utf8', 0, nul === -1 ? data.length : nul);
    const stream = new Stream(this, this.#nextId++, remoteId);
    const service = this.#options.openService(name, stream);
    if (service === undefined) {
      this.send(CMD.CLSE, 0, remoteId);
      return;
    }
    stream.service = service;
    this.#streams.set(stream.localId, stream);
    this.send(CMD.OKAY, stream.localId, remoteId);
  }
}
