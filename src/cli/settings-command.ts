import { RefusedError } from '../core/errors.js';
import { places } from '../config/places.js';
import type { Settings } from '../config/schema.js';
import { ConfigStore } from '../config/store.js';
import { askService } from '../service/control.js';
import { checkSettings } from '../service/host.js';
import { ExitCode } from './exit-codes.js';
import { command, CONFIG_DIR_OPTION } from './command.js';
import type { Io } from './io.js';
import { UsageError } from './usage-error.js';

const SETTINGS_HELP = `Usage: synctray settings [NAME VALUE] [--config-dir DIR] [--json]

Without arguments, prints the settings. With a name and a value, changes one:

  notifications all|errors|none   desktop notifications: everything (completed
                                  long first syncs too), problems only, or none
  log-level debug|info|warn|error what the log file keeps
  pause-on-battery on|off         pairs wait while the computer runs on
                                  battery, and go on when it is plugged in

A running SyncTray takes the change at once.`;

const NAMES: Record<string, keyof Settings> = {
  notifications: 'notifications',
  'log-level': 'logLevel',
  'pause-on-battery': 'pauseOnBattery',
};

/** A switch's value as typed (`on`, `off`) and as kept. */
const SWITCH: Record<string, boolean> = { on: true, off: false };

/** `synctray settings`: the app's own settings, through the running service when there is one. */
export const settingsCommand = command({
  name: 'settings',
  usage: SETTINGS_HELP,
  options: { ...CONFIG_DIR_OPTION, json: { type: 'boolean' } },
  takes: { min: 0, max: 2, what: 'a name and a value, or nothing to print them' },
  run: ({ values, positionals }, io) => showOrChange(values, positionals, io),
});

async function showOrChange(
  values: { 'config-dir'?: string; json?: boolean },
  positionals: string[],
  io: Io,
): Promise<number> {
  if (positionals.length === 1)
    throw new UsageError(`settings takes a name and a value, or nothing to print them (got only "${positionals[0]}").`);
  let change: Partial<Settings> | undefined;
  if (positionals.length === 2) {
    const [name, value] = positionals as [string, string];
    const key = NAMES[name];
    if (!key) throw new UsageError(`There is no setting "${name}" (settings: ${Object.keys(NAMES).join(', ')}).`);
    if (key === 'pauseOnBattery' && !Object.hasOwn(SWITCH, value))
      throw new UsageError(`The setting pause-on-battery is on or off (got "${value}").`);
    change = { [key]: key === 'pauseOnBattery' ? SWITCH[value] : value };
    checkSettings(change);
  }
  const where = places(values['config-dir']);
  const answer = await askService(where.config, 'settings', change ? { settings: change } : {});
  let settings: Settings;
  if (answer) settings = answer.result;
  else {
    const { store, problems } = ConfigStore.open(where.config);
    for (const p of problems)
      io.stderr.write(`synctray: ${p.message}${p.keptAt ? ` It is kept as ${p.keptAt}.` : ''}\n`);
    settings = change ? store.updateSettings(change) : store.settings();
  }
  if (!settings) throw new RefusedError('SyncTray stopped while this was being asked; run the command again.');
  if (values.json) {
    const { notifications, logLevel, pauseOnBattery = false } = settings;
    io.stdout.write(`${JSON.stringify({ notifications, logLevel, pauseOnBattery })}\n`);
    return ExitCode.OK;
  }
  io.stdout.write(
    `notifications ${settings.notifications}\nlog-level ${settings.logLevel}\n` +
      `pause-on-battery ${settings.pauseOnBattery ? 'on' : 'off'}\n`,
  );
  if (change)
    io.stdout.write(
      answer ? 'SyncTray is running: the change applies now.\n' : 'Saved; SyncTray uses it when it starts.\n',
    );
  return ExitCode.OK;
}
