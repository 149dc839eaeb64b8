import { SyncEvents, type SyncEvent } from './events.js';

/** The bytes of items under way that a run told of (ItemProgress), until each item ends. */
export class BytesUnderWay {
  private readonly items = new Map<string, number>();
  private sum = 0;

  /** Takes any event of a run; true when it changed the bytes under way. */
  take(e: SyncEvent): boolean {
    if (e.type === SyncEvents.ItemProgress) return this.set(e.path, e.bytes);
    if (e.type === SyncEvents.ItemDone || e.type === SyncEvents.ItemFailed) return this.set(e.path, 0);
    return false;
  }

  get bytes(): number {
    return this.sum;
  }

  private set(path: string, bytes: number): boolean {
    const was = this.items.get(path) ?? 0;
    if (bytes === 0) this.items.delete(path);
    else this.items.set(path, bytes);
    this.sum += bytes - was;
    return bytes !== was;
  }
}
