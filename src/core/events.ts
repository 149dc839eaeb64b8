/** What a run reports as it goes; the CLI's progress, logs and the service listen to these. */
export const SyncEvents = {
  Planned: 'planned',
  ItemStarted: 'item-started',
  ItemProgress: 'item-progress',
  ItemDone: 'item-done',
  ItemFailed: 'item-failed',
} as const;

export type ItemOutcome = 'copied' | 'moved' | 'updated' | 'deleted' | 'metadata' | 'created-dir';

export interface ItemError {
  path: string;
  code: string;
  message: string;
}

export type SyncEvent =
  | { type: typeof SyncEvents.Planned; files: number; bytes: number; deletes: number }
  | { type: typeof SyncEvents.ItemStarted; path: string; size: number }
  /**
   * How many bytes of an item under way are copied so far, where the destination tells (a remote):
   * it counts until the item's ItemDone or ItemFailed, or a progress of 0 bytes. `path` may name
   * a temp folder that carries many items, and ends with a progress of 0 bytes.
   */
  | { type: typeof SyncEvents.ItemProgress; path: string; bytes: number }
  | { type: typeof SyncEvents.ItemDone; outcome: ItemOutcome; path: string; bytes: number }
  | ({ type: typeof SyncEvents.ItemFailed } & ItemError);

export type SyncEventListener = (event: SyncEvent) => void;
