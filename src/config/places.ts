import path from 'node:path';
import envPaths from 'env-paths';

/** Where SyncTray keeps its config, its run-time files (lock, control socket) and its logs. */
export interface Places {
  config: string;
  state: string;
  logs: string;
}

/**
 * The OS's usual places (on Linux ~/.config/synctray, $XDG_RUNTIME_DIR/synctray or
 * ~/.local/state/synctray, ~/.local/state/synctray/logs), or all three under one folder given by
 * `--config-dir` or SYNCTRAY_CONFIG_DIR (tests always give one).
 */
export function places(configDir?: string): Places {
  const base = configDir ?? process.env.SYNCTRAY_CONFIG_DIR;
  if (base) {
    const dir = path.resolve(base);
    return { config: dir, state: path.join(dir, 'state'), logs: path.join(dir, 'logs') };
  }
  const os = envPaths('synctray', { suffix: '' });
  const runtime = process.env.XDG_RUNTIME_DIR;
  return {
    config: os.config,
    state: runtime ? path.join(runtime, 'synctray') : os.log,
    logs: path.join(os.log, 'logs'),
  };
}
