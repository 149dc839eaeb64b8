/** What a run reports as it goes; the CLI's progress, logs and the service listen to these. */
export const SyncEvents = {
  Planned: 'planned',
  ItemStarted: 'item-started',
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
  | { type: typeof SyncEvents.ItemDone; outcome: ItemOutcome; path: string; bytes: number }
  | ({ type: typeof SyncEvents.ItemFailed } & ItemError);

export type SyncEventListener = (event: SyncEvent) => void;
