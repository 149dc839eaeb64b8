import { BytesUnderWay } from '../core/bytes-under-way.js';
import { SyncEvents, type SyncEvent } from '../core/events.js';
import { formatBytes, formatCount, formatDuration } from '../core/format.js';
import { monotonicMs } from '../storage/clock.js';
import { displayWidth, tailToWidth } from './display-width.js';

interface Stream {
  write(s: string): boolean;
  columns?: number;
}

/** A one-line progress bar for a terminal, redrawn at most ten times a second. */
export class ProgressBar {
  private files = 0;
  private totalFiles = 0;
  private bytes = 0;
  private readonly underWay = new BytesUnderWay();
  private totalBytes = 0;
  private current = '';
  private started = 0;
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly out: Stream,
    private readonly now: () => number = monotonicMs,
  ) {}

  onEvent = (event: SyncEvent): void => {
    this.underWay.take(event);
    switch (event.type) {
      case SyncEvents.Planned:
        this.totalFiles = event.files;
        this.totalBytes = event.bytes;
        this.started = this.now();
        break;
      case SyncEvents.ItemStarted:
        this.current = event.path;
        break;
      case SyncEvents.ItemDone:
        if (event.outcome === 'copied' || event.outcome === 'updated') {
          this.files++;
          this.bytes += event.bytes;
        }
        break;
    }
    const t = this.now();
    if (t - this.lastDraw >= 100) {
      this.lastDraw = t;
      this.draw(t);
    }
  };

  /** Removes the bar so the summary starts on a clean line. */
  clear(): void {
    if (this.drawn) this.out.write('\r\x1b[K');
    this.drawn = false;
  }

  private draw(t: number): void {
    if (this.totalFiles === 0) return;
    const width = this.out.columns || 80;
    const elapsed = Math.max(t - this.started, 1);
    // What large files under way have sent so far counts too: the bar and the rate move with them.
    const bytes = Math.min(this.totalBytes, this.bytes + this.underWay.bytes);
    const rate = (bytes / elapsed) * 1000;
    const fraction = this.totalBytes > 0 ? bytes / this.totalBytes : this.files / this.totalFiles;
    const eta = fraction > 0 ? (elapsed / fraction) * (1 - fraction) : NaN;
    const barWidth = 20;
    const filled = Math.min(barWidth, Math.round(fraction * barWidth));
    const head =
      `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}] ` +
      `${formatCount(this.files)}/${formatCount(this.totalFiles)} files  ` +
      `${formatBytes(bytes)}/${formatBytes(this.totalBytes)}  ${formatBytes(rate)}/s  ` +
      `ETA ${Number.isFinite(eta) ? formatDuration(eta) : '--'}  `;
    // Cut by the columns the name takes, not its length: a CJK or emoji name would wrap the line.
    const room = width - head.length - 1;
    const current = this.current.replace(/[\r\n\t]/g, '?');
    const name = room <= 3 ? '' : displayWidth(current) > room ? `…${tailToWidth(current, room - 1)}` : current;
    this.out.write(`\r\x1b[K${head}${name}`);
    this.drawn = true;
  }
}
