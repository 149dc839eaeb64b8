import fs from 'node:fs';
import { RefusedError } from '../core/errors.js';
import { SyncEvents, type SyncEvent } from '../core/events.js';

/** Appends one line per operation to a log file, and a closing summary. */
export class LogFile {
  private readonly fd: number;
  private lines: string[] = [];

  /** Throws if the file cannot be opened for appending (the caller refuses the run). */
  constructor(path: string) {
    this.fd = fs.openSync(path, 'a', 0o600);
  }

  onEvent = (event: SyncEvent): void => {
    const time = new Date().toISOString();
    if (event.type === SyncEvents.ItemDone) {
      this.lines.push(`${time} ${event.outcome} ${JSON.stringify(event.path)}`);
    } else if (event.type === SyncEvents.ItemFailed) {
      this.lines.push(`${time} failed ${JSON.stringify(event.path)} ${event.code}: ${event.message}`);
    }
    if (this.lines.length >= 256) this.flush();
  };

  line(text: string): void {
    this.lines.push(`${new Date().toISOString()} ${text}`);
  }

  flush(): void {
    if (this.lines.length === 0) return;
    fs.writeSync(this.fd, `${this.lines.join('\n')}\n`);
    this.lines = [];
  }

  close(): void {
    this.flush();
    fs.closeSync(this.fd);
  }
}

/** The --log-file of a command, opened; refused with a clear message where it cannot be. */
export function openLogFile(path: string | undefined): LogFile | undefined {
  if (path === undefined) return undefined;
  try {
    return new LogFile(path);
  } catch (err) {
    throw new RefusedError(
      `Log file \`${path}\` cannot be opened for writing: ${(err as Error).message}. Choose a writable path.`,
    );
  }
}
