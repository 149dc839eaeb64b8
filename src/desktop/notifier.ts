import notifier from 'node-notifier';
import { embeddedFile, isSingleBinary } from '../single-binary.js';
import type { Notification } from './notify-policy.js';

const RETRY_MS = 10 * 60_000;

/**
 * Shows desktop notifications through node-notifier (notify-send on Linux). Where there is no
 * notification service (no notify-send, no session bus, no display), it says so once through
 * `onUnavailable`, stays quiet, and tries again ten minutes later: the service goes on without.
 */
export class DesktopNotifier {
  /** Since when notifications failed; tried again after RETRY_MS (the daemon may start later). */
  private unavailableSince: number | undefined;
  private said = false;

  constructor(private readonly onUnavailable: (why: string) => void) {}

  show(n: Notification): Promise<boolean> {
    if (this.unavailableSince !== undefined && Date.now() - this.unavailableSince < RETRY_MS)
      return Promise.resolve(false);
    return new Promise((resolve) => {
      // The single binary carries SnoreToast for Windows: node-notifier cannot find it beside itself there.
      const toaster =
        process.platform === 'win32' && isSingleBinary()
          ? { customPath: embeddedFile('vendor/snoretoast-x64.exe') }
          : {};
      notifier.notify(
        {
          title: n.title,
          message: n.body,
          urgency: n.urgency,
          'app-name': 'SyncTray',
          wait: false,
          ...toaster,
        } as never,
        (err: Error | null) => {
          if (err) {
            this.unavailableSince = Date.now();
            if (!this.said)
              this.onUnavailable(
                `desktop notifications are not available (${err.message.split('\n')[0]}); problems are only logged`,
              );
            this.said = true;
            resolve(false);
          } else {
            this.unavailableSince = undefined;
            resolve(true);
          }
        },
      );
    });
  }
}
