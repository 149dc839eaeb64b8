import notifier from 'node-notifier';
import type { Notification } from './notify-policy.js';

/**
 * Shows desktop notifications through node-notifier (notify-send on Linux). Where there is no
 * notification service (no notify-send, no session bus, no display), it says so once through
 * `onUnavailable` and stays quiet after: the service goes on without.
 */
export class DesktopNotifier {
  private unavailable = false;

  constructor(private readonly onUnavailable: (why: string) => void) {}

  show(n: Notification): Promise<boolean> {
    if (this.unavailable) return Promise.resolve(false);
    return new Promise((resolve) => {
      notifier.notify({ title: n.title, message: n.body, urgency: n.urgency, 'app-name': 'SyncTray', wait: false } as never, (err: Error | null) => {
        if (err) {
          this.unavailable = true;
          this.onUnavailable(`desktop notifications are not available (${err.message.split('\n')[0]}); problems are only logged`);
          resolve(false);
        } else {
          resolve(true);
        }
      });
    });
  }
}
