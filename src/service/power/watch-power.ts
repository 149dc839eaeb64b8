/**
 * Follows where the computer draws its power from, for pause on battery: the platform's reader
 * (linux.ts, macos.ts, windows.ts) is asked at once and then every `everyMs`, and a change is told.
 */

/** `unknown`: no battery, or nothing could be read; taken as mains (nothing waits). */
export type PowerSource = 'mains' | 'battery' | 'unknown';

/** How often power is looked at unless told otherwise. */
export const POWER_CHECK_MS = 30_000;

export interface PowerWatchDeps {
  read(): Promise<PowerSource>;
  everyMs?: number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
}

export interface PowerWatch {
  /** Resolves once the first reading has been told. */
  readonly ready: Promise<void>;
  close(): void;
}

/** Calls `onChange` with the first reading, then with every reading that differs from the last. */
export function watchPower(onChange: (source: PowerSource) => void, deps: PowerWatchDeps): PowerWatch {
  let closed = false;
  let last: PowerSource | undefined;
  let timer: unknown;
  const look = async (): Promise<void> => {
    // A reader that fails says nothing about the power: nothing waits on a guess.
    const now = await deps.read().catch((): PowerSource => 'unknown');
    if (closed) return;
    if (now !== last) {
      last = now;
      onChange(now);
    }
    timer = deps.setTimeout(() => void look(), deps.everyMs ?? POWER_CHECK_MS);
  };
  return {
    ready: look(),
    close() {
      closed = true;
      deps.clearTimeout(timer);
    },
  };
}
