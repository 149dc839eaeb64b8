import type { Places } from './config/places.js';
import { DesktopNotifications } from './desktop/notifications.js';
import { ServiceHost, type HostOutput } from './service/host.js';
import { AdbServer } from './storage/adb/server.js';
import { DeviceTracker } from './storage/adb/track-devices.js';
import { folderWatcher } from './watch/folder-watcher.js';
import { app } from './app.js';

/**
 * The service with its lock, config, log, notifications and control socket (`run` and the tray),
 * on the real parts: app.ts's storages and destinations, the folder watcher, the adb server's
 * phones, desktop notifications. Apart from app.ts so that other commands do not load all this.
 */
export function startHost(where: Places, output: HostOutput): Promise<ServiceHost> {
  return ServiceHost.start(where, output, {
    openStorage: app.openStorage,
    openVersions: app.openVersions,
    hideFolder: app.hideFolder,
    sameDrive: app.sameDrive,
    watchFolder: folderWatcher,
    now: () => performance.now(),
    phones: () => new DeviceTracker(new AdbServer()),
    destinations: app.destinations(),
    watchMounts: app.watchMounts,
    watchPower: app.watchPower,
    notifications: (level, pairLevel, onUnavailable, elsewhere) =>
      new DesktopNotifications(level, pairLevel, onUnavailable, elsewhere),
  });
}
