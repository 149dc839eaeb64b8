/**
 * Tells when the mount table changes (a drive mounted or unmounted), so that pairs waiting for
 * their backup drive look again at once instead of at their next poll.
 *
 * The kernel signals a change of /proc/self/mountinfo with POLLPRI, which Node cannot wait for;
 * `findmnt --poll` (util-linux) does, and prints a line per change. One such child runs per
 * service. It is started with `--timeout` and started again when that ends, so that a findmnt
 * left behind by a service killed with -9 ends by itself within a minute. Where findmnt is
 * missing or keeps failing, the mount table is read every few seconds instead (and findmnt tried
 * again now and then). Whatever wakes it, a change is reported only when the table's text differs
 * from the last one read.
 */

/** The part of a child process this uses (node:child_process gives one). */
export interface WatcherProcess {
  readonly stdout: { on(event: 'data', listener: (chunk: unknown) => void): unknown } | null;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'exit', listener: (code: number | null, signal: string | null) => void): unknown;
  kill(): unknown;
}

export interface MountWatchDeps {
  /** Starts a program with its stdout piped (and nothing else). */
  spawn(command: string, args: string[]): WatcherProcess;
  readMountInfo(): Promise<string>;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
  /** Said once each time the watcher falls back to reading the table every few seconds. */
  onFallback?(why: string): void;
  /** How often the table is read without findmnt (3 s). */
  pollMs?: number;
  /** How long a findmnt runs before it is replaced by a new one (60 s). */
  findmntTimeoutMs?: number;
  /** After findmnt failed, how long before it is tried again (5 min). */
  retryMs?: number;
}

export interface MountWatch {
  close(): void;
}

/** Calls `onChange` soon after every change of the mount table, until closed. */
export function watchMounts(onChange: () => void, deps: MountWatchDeps): MountWatch {
  let closed = false;
  let last: string | undefined;
  let child: WatcherProcess | undefined;
  let pollTimer: unknown;
  let retryTimer: unknown;
  let reading: Promise<void> | undefined;
  let readAgain = false;

  // Reads run one at a time; a wake-up during a read reads again once it is done.
  const compare = (): void => {
    if (closed) return;
    if (reading) {
      readAgain = true;
      return;
    }
    reading = deps
      .readMountInfo()
      .then((text) => {
        const changed = last !== undefined && text !== last;
        last = text;
        if (changed && !closed) onChange();
      })
      .catch(() => undefined)
      .finally(() => {
        reading = undefined;
        if (readAgain) {
          readAgain = false;
          compare();
        }
      });
  };

  const poll = (): void => {
    if (closed || pollTimer !== undefined) return;
    pollTimer = deps.setTimeout(() => {
      pollTimer = undefined;
      compare();
      if (!child) poll();
    }, deps.pollMs ?? 3000);
  };

  const fallBack = (why: string, retry: boolean): void => {
    child = undefined;
    if (closed) return;
    deps.onFallback?.(why);
    compare();
    poll();
    if (retry && retryTimer === undefined) {
      retryTimer = deps.setTimeout(() => {
        retryTimer = undefined;
        start();
      }, deps.retryMs ?? 300_000);
    }
  };

  const start = (): void => {
    if (closed) return;
    const timeoutS = Math.max(1, Math.round((deps.findmntTimeoutMs ?? 60_000) / 1000));
    let proc: WatcherProcess;
    try {
      proc = deps.spawn('findmnt', [
        '--poll',
        '--timeout',
        String(timeoutS * 1000),
        '--noheadings',
        '--raw',
        '--output',
        'ACTION',
      ]);
    } catch (err) {
      return fallBack(`findmnt could not be started (${(err as Error).message})`, true);
    }
    child = proc;
    let failed = false;
    proc.stdout?.on('data', () => compare());
    proc.on('error', (err) => {
      failed = true;
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      if (child === proc)
        fallBack(missing ? 'findmnt is not installed (util-linux)' : `findmnt failed: ${err.message}`, !missing);
    });
    proc.on('exit', (code, signal) => {
      if (failed || child !== proc || closed) return;
      // Its timeout ran out (exit 0): a new one takes over, and what changed in between is caught by reading the table.
      if (code === 0) {
        child = undefined;
        compare();
        start();
        return;
      }
      fallBack(`findmnt stopped (${code !== null ? `exit ${code}` : signal})`, true);
    });
    // The table as it is now, so that the first change is recognised as one.
    compare();
  };

  start();
  return {
    close() {
      closed = true;
      for (const t of [pollTimer, retryTimer]) if (t !== undefined) deps.clearTimeout(t);
      pollTimer = retryTimer = undefined;
      const c = child;
      child = undefined;
      c?.kill();
    },
  };
}
