import fs from 'node:fs';
import path from 'node:path';
import type { LogLevel } from '../config/schema.js';

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/**
 * The service's log: one line per event (`<ISO time> <level> <text>`), in `<dir>/synctray.log`,
 * mode 0600. Past `maxBytes` the file is renamed synctray.log.1 (older ones shift up) and a new one
 * begun; `keep` old files are kept, the oldest dropped.
 */
export class RotatingLog {
  readonly file: string;

  constructor(
    dir: string,
    private readonly level: () => LogLevel,
    private readonly maxBytes = 1024 * 1024,
    private readonly keep = 4,
  ) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.file = path.join(dir, 'synctray.log');
  }

  /** Whether the line was written: a log that cannot be is no reason to stop anything. */
  write(level: LogLevel, text: string): boolean {
    if (RANK[level] < RANK[this.level()]) return false;
    const line = `${new Date().toISOString()} ${level} ${text.replace(/\n/g, ' ')}\n`;
    try {
      if ((fs.statSync(this.file, { throwIfNoEntry: false })?.size ?? 0) + line.length > this.maxBytes) this.rotate();
      // Never through a symlink: one planted in the log folder would have us write into another file.
      const fd = fs.openSync(
        this.file,
        fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW,
        0o600,
      );
      try {
        fs.writeSync(fd, line);
      } finally {
        fs.closeSync(fd);
      }
      return true;
    } catch {
      // A log that cannot be written must not stop the backups; stderr still has it.
      return false;
    }
  }

  private rotate(): void {
    fs.rmSync(`${this.file}.${this.keep}`, { force: true });
    for (let i = this.keep - 1; i >= 1; i--) {
      if (fs.existsSync(`${this.file}.${i}`)) fs.renameSync(`${this.file}.${i}`, `${this.file}.${i + 1}`);
    }
    fs.renameSync(this.file, `${this.file}.1`);
  }
}
