import { parseArgs } from 'node:util';
import { RefusedError } from '../core/errors.js';
import { places } from '../config/places.js';
import type { Settings } from '../config/schema.js';
import { ConfigStore } from '../config/store.js';
import { askService } from '../service/control.js';
import { checkSettings } from '../service/host.js';
import { ExitCode } from './exit-codes.js';
import type { Io } from './sync-command.js';
import { UsageError } from './usage-error.js';

const SETTINGS_HELP = `Usage: synctray settings [NAME VALUE] [--config-dir DIR] [--json]

Without arguments, prints the settings. With a name and a value, changes one:

  notifications all|errors|none   desktop notifications: everything (completed
                                  long first syncs too), problems only, or none
  log-level debug|info|warn|error what the log file keeps

A running SyncTray takes the change at once.`;

const NAMES: Record<string, keyof Settings> = { notifications: 'notifications', 'log-level': 'logLevel' };

/** `synctray settings`: the app's own settings, through the running service when there is one. */
export async function settingsCommand(argv: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { 'config-dir': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(`${SETTINGS_HELP}\n`);
    return ExitCode.OK;
  }
  if (positionals.length !== 0 && positionals.length !== 2) throw new UsageError('settings takes a name and a value, or nothing to print them.');
  let change: Partial<Settings> | undefined;
  if (positionals.length === 2) {
    const [name, value] = positionals as [string, string];
    const key = NAMES[name];
    if (!key) throw new UsageError(`There is no setting "${name}" (settings: ${Object.keys(NAMES).join(', ')}).`);
    change = { [key]: value };
    checkSettings(change);
  }
  const where = places(values['config-dir']);
  const answer = await askService(where.config, { command: 'settings', args: change ? { settings: change } : {} });
  let settings: Settings;
  if (answer) settings = answer.result as Settings;
  else {
    const { store, problems } = ConfigStore.open(where.config);
    for (const p of problems) io.stderr.write(`synctray: ${p.message}${p.keptAt ? ` It is kept as ${p.keptAt}.` : ''}\n`);
    settings = change ? store.updateSettings(change) : store.settings();
  }
  if (!settings) throw new RefusedError('SyncTray stopped while this was being asked; run the command again.');
  if (values.json) {
    io.stdout.write(`${JSON.stringify({ notifications: settings.notifications, logLevel: settings.logLevel })}\n`);
    return ExitCode.OK;
  }
  io.stdout.write(`notifications ${settings.notifications}\nlog-level ${settings.logLevel}\n`);
  if (change) io.stdout.write(answer ? 'SyncTray is running: the change applies now.\n' : 'Saved; SyncTray uses it when it starts.\n');
  return ExitCode.OK;
}
