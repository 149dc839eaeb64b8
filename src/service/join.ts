import net from 'node:net';
import { RefusedError, ServiceError } from '../core/errors.js';
import {
  announced,
  cannotAsk,
  type ControlRequest,
  failureOf,
  type Joined,
  nobodyThere,
  PROTOCOL_VERSION,
  type Pushed,
  readReply,
} from './control.js';

/** A tray's connection to a running service: what it was told on joining, and what follows. */
export interface Joining {
  joined: Joined;
  /** Resolves when the connection ends, from either side (the service stopped, say). */
  ended: Promise<void>;
  close(): void;
}

/**
 * Joins the service running for the config in `configDir` as its tray (the `subscribe` request),
 * passing every line it pushes to `onPushed`; undefined when none runs. A refusal (another tray is
 * shown) is a RefusedError.
 */
export function joinService(
  configDir: string,
  args: { notifications: boolean },
  onPushed: (message: Pushed) => void,
  timeoutMs = 10_000,
): Promise<Joining | undefined> {
  const service = announced(configDir);
  if (service === undefined) return Promise.resolve(undefined);
  const running = `the running SyncTray${service.pid !== undefined ? ` (pid ${service.pid})` : ''}`;
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(service.socket);
    let buffer = '';
    let connected = false;
    let joined = false;
    let settled = false;
    // Lines pushed before the answer was read wait for it.
    const early: Pushed[] = [];
    let endedNow: () => void = () => undefined;
    const ended = new Promise<void>((r) => (endedNow = r));
    const settle = (then: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      then();
    };
    const timer = setTimeout(() => {
      socket.destroy();
      settle(() => reject(new ServiceError(`SyncTray did not answer within ${Math.round(timeoutMs / 1000)} s.`)));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      connected = true;
      const req: ControlRequest = { version: PROTOCOL_VERSION, command: 'subscribe', args };
      socket.write(`${JSON.stringify(req)}\n`);
    });
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let i: number; (i = buffer.indexOf('\n')) >= 0; ) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        const pushed = pushedIn(line);
        if (pushed) {
          if (joined) onPushed(pushed);
          else early.push(pushed);
          continue;
        }
        if (joined) continue;
        const reply = readReply(line, running);
        if (reply instanceof Error || !reply.ok) {
          socket.end();
          settle(() => reject(failureOf(reply)));
          return;
        }
        joined = true;
        settle(() => resolve({ joined: reply.result as Joined, ended, close: () => socket.destroy() }));
        for (const p of early.splice(0)) onPushed(p);
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      settle(() => (nobodyThere(err, connected) ? resolve(undefined) : reject(cannotAsk(err))));
    });
    socket.on('close', () => {
      settle(() => reject(new RefusedError('SyncTray stopped before it answered.')));
      endedNow();
    });
  });
}

/** The message of a pushed line, or undefined for any other line. */
function pushedIn(line: string): Pushed | undefined {
  try {
    const parsed = JSON.parse(line) as { version?: unknown; pushed?: Pushed };
    return parsed.version === PROTOCOL_VERSION && typeof parsed.pushed === 'object' ? parsed.pushed : undefined;
  } catch {
    return undefined;
  }
}
