import type { NotifyLevel } from '../config/schema.js';
import type { Happening, Notifications, Shown } from '../service/notifications.js';
import { DesktopNotifier } from './notifier.js';
import { NotifyPolicy } from './notify-policy.js';

/** The notification policy in front of the desktop notifier, with the timer for what had to wait. */
export class DesktopNotifications implements Notifications {
  private readonly policy: NotifyPolicy;
  private readonly desktop: DesktopNotifier;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    level: () => NotifyLevel,
    pairLevel: (pairId: string) => NotifyLevel,
    onUnavailable: (why: string) => void,
    private readonly elsewhere: (n: Shown) => boolean = () => false,
  ) {
    this.policy = new NotifyPolicy(level, pairLevel);
    this.desktop = new DesktopNotifier(onUnavailable);
  }

  add(h: Happening): void {
    const n = this.policy.add(h, Date.now());
    if (n) this.show(n);
    this.schedule();
  }

  /** By a tray that joined when there is one, else here: never both, never neither. */
  private show(n: Shown): void {
    if (!this.elsewhere(n)) void this.desktop.show(n);
  }

  ok(pairId: string): void {
    this.policy.ok(pairId);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const at = this.policy.nextFlushAt();
    if (at === undefined) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        for (const n of this.policy.flush(Date.now())) this.show(n);
        this.schedule();
      },
      Math.max(0, at - Date.now()),
    );
    this.timer.unref();
  }
}
