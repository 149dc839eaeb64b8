import type { NotifyLevel } from '../config/schema.js';

/** Something the user may need to hear about. */
export interface Happening {
  /** The pair it is about; absent for the app itself (a config set aside). */
  pairId?: string;
  pairName?: string;
  kind:
    | 'failed'
    | 'stopped'
    | 'source-missing'
    | 'destination-missing'
    | 'held'
    | 'unstorable'
    | 'config'
    | 'synced'
    | 'phone-synced'
    | 'drive-connected';
  message: string;
}

/**
 * Where the host tells what happens. Which happenings reach the user, and when, is decided behind
 * this (the desktop's policy groups and limits them); the host only reports.
 */
export interface Notifications {
  add(h: Happening): void;
  /** The pair synced cleanly: what was wrong with it is over. */
  ok(pairId: string): void;
  /** Nothing more is shown, and no timer keeps the process alive. */
  stop(): void;
}

/** A notification as it is shown. */
export interface Shown {
  title: string;
  body: string;
  urgency: 'normal' | 'critical';
}

/**
 * Makes the notifications of one host: `level` is the app's setting, `pairLevel` a pair's own, and
 * `onUnavailable` is told once when the desktop has no way to show them. `elsewhere` takes a
 * notification to be shown by another process (a tray that joined) and says whether it did; when
 * it does not, the host shows it itself.
 */
export type OpenNotifications = (
  level: () => NotifyLevel,
  pairLevel: (pairId: string) => NotifyLevel,
  onUnavailable: (why: string) => void,
  elsewhere: (n: Shown) => boolean,
) => Notifications;
