import fs from 'node:fs';
import { RefusedError } from '../core/errors.js';
import { ExitCode } from './exit-codes.js';
import type { Io } from './sync-command.js';
import { UsageError } from './usage-error.js';

const HELP = `SyncTray: real-time folder backup and Android phone sync.

Usage: synctray [<command>] [options]   (no command: the tray)

Commands:
  sync <source> <destination>   make destination match source once
  watch <source> <destination>  the same, then keep it matching as files change
  pair add|list|remove|pause|resume|resync   the folder pairs SyncTray keeps
  run                           the service: sync and watch every pair
  status                        what each pair is doing
  log [--follow]                where the service's log is; --follow prints it
  settings [NAME VALUE]         notifications and log level
  tray                          the tray icon and menu over the service (the default)
  autostart on|off|status       start the tray at login

Run 'synctray <command> --help' for a command's options.
Options: -h, --help   -v, --version`;

/** Set by the bundlers (build/bundle.mjs, build/build-binary.mjs); read from package.json when run from source. */
declare const SYNCTRAY_VERSION: string | undefined;

function version(): string {
  if (typeof SYNCTRAY_VERSION === 'string') return SYNCTRAY_VERSION;
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[], io: Io, signal: AbortSignal): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'sync':
        return await (await import('./sync-command.js')).syncCommand(rest, io, signal);
      case 'watch':
        return await (await import('./watch-command.js')).watchCommand(rest, io, signal);
      case 'pair':
        // Loaded here only: the config code (conf, ajv) would slow every other command's start.
        return await (await import('./pair-command.js')).pairCommand(rest, io);
      case 'run':
        return await (await import('./run-command.js')).runCommand(rest, io, signal);
      case 'status':
        return await (await import('./status-command.js')).statusCommand(rest, io);
      case 'log':
        return await (await import('./log-command.js')).logCommand(rest, io, signal);
      case undefined:
      case 'tray':
        return await (await import('./tray-command.js')).trayCommand(rest, io, signal);
      case 'autostart':
        return await (await import('./autostart-command.js')).autostartCommand(rest, io);
      case 'settings':
        return await (await import('./settings-command.js')).settingsCommand(rest, io);
      case '--version':
      case '-v':
        io.stdout.write(`synctray ${version()}\n`);
        return ExitCode.OK;
      case '--help':
      case '-h':
      case 'help':
        io.stdout.write(`${HELP}\n`);
        return ExitCode.OK;
      default:
        throw new UsageError(`Unknown command "${command}".`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`synctray: ${err.message}\nRun 'synctray ${['sync', 'watch', 'pair', 'run', 'status', 'log', 'settings', 'tray', 'autostart'].includes(command ?? '') ? `${command} ` : ''}--help' for usage.\n`);
      return ExitCode.REFUSED;
    }
    if (err instanceof RefusedError) {
      io.stderr.write(`synctray: ${err.message}\n`);
      return ExitCode.REFUSED;
    }
    io.stderr.write(`synctray: ${err instanceof Error ? err.message : String(err)}\n`);
    return ExitCode.SOME_FAILED;
  }
}

/**
 * Runs the command named in the process's arguments and sets the exit code from it: signals
 * abort it (a second one, a second later, leaves at once), and a run that ends with the command
 * still pending (nothing left to wait on) is a bug, said as one rather than a silent exit 0.
 */
export function start(): void {
  const controller = new AbortController();
  let firstSignalAt: number | undefined;
  const onSignal = () => {
    // The first signal lets copies under way finish and clean up; a second one leaves at once (any
    // temp file left is removed by the next run). A repeat within a second is not a second signal:
    // a dependency (conf's file writer) sends the signal it caught to the process again.
    const now = performance.now();
    if (firstSignalAt !== undefined && now - firstSignalAt > 1000) process.exit(ExitCode.INTERRUPTED);
    firstSignalAt ??= now;
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  // Standard output and error are made when first used: a quiet run that prints nothing does not
  // set up the streams (a pipe's costs a few milliseconds of a no-op's start).
  const io: Io = {
    get stdout() {
      return process.stdout;
    },
    get stderr() {
      return process.stderr;
    },
  };
  let settled = false;
  main(process.argv.slice(2), io, controller.signal).then(
    (code) => {
      settled = true;
      process.exitCode = code;
    },
    (err: unknown) => {
      settled = true;
      internalError(err);
    },
  );
  // beforeExit: the loop ran dry (process.exit() and uncaught errors do not come here).
  process.on('beforeExit', () => {
    if (!settled) {
      settled = true;
      process.stderr.write('synctray: internal error: the command stopped with its work unfinished (nothing left to wait for)\n');
      process.exitCode = 70;
    }
  });
}

/** A failure that is no command's answer (a bug, or the code itself not loading): exit status 70. */
function internalError(err: unknown): void {
  process.stderr.write(`synctray: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 70;
}
