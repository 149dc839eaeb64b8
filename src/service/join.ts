import {
  type ControlRequest,
  converse,
  failureOf,
  type Joined,
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
  const request: ControlRequest = { version: PROTOCOL_VERSION, command: 'subscribe', args };
  let endedNow: () => void = () => undefined;
  const ended = new Promise<void>((r) => (endedNow = r));
  let joined = false;
  // Lines pushed before the answer was read wait for it.
  const early: Pushed[] = [];
  const stopped = 'SyncTray stopped before it answered.';
  return converse<Joining>(
    configDir,
    request,
    { timeoutMs, stopped },
    (line, talk) => {
      const pushed = pushedIn(line);
      if (pushed) {
        if (joined) onPushed(pushed);
        else early.push(pushed);
        return;
      }
      if (joined) return;
      const reply = readReply(line, talk.running);
      if (reply instanceof Error || !reply.ok) {
        talk.socket.end();
        talk.reject(failureOf(reply));
        return;
      }
      joined = true;
      talk.resolve({ joined: reply.result as Joined, ended, close: () => talk.socket.destroy() });
      for (const p of early.splice(0)) onPushed(p);
    },
    () => endedNow(),
  );
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
