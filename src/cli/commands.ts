import fs from 'node:fs';
import { RefusedError, ServiceError, StorageError } from '../core/errors.js';
import { ExitCode } from './exit-codes.js';
import { commandList, type Runnable } from './command.js';
import type { Io } from './io.js';
import { UsageError } from './usage-error.js';

/**
 * The commands, in the order the help lists them. Each one's code is loaded only when it runs:
 * the config code (conf, ajv) or the tray's would slow every other command's start.
 */
const COMMANDS: Record<string, { synopsis: string; summary: string; load(): Promise<Runnable> }> = {
  sync: {
    synopsis: '<source> <destination>',
    summary: 'make destination match source once',
    load: async () => (await import('./sync-command.js')).syncCommand,
  },
  watch: {
    synopsis: '<source> <destination>',
    summary: 'the same, then keep it matching as files change',
    load: async () => (await import('./watch-command.js')).watchCommand,
  },
  pair: {
    synopsis: 'add|set|list|remove|pause|resume|resync|deletions',
    summary: 'the folder pairs SyncTray keeps',
    load: async () => (await import('./pair-command.js')).pairCommand,
  },
  versions: {
    synopsis: '<pair> [PATH]',
    summary: "what a pair's syncs deleted or replaced, kept",
    load: async () => (await import('./versions-command.js')).versionsCommand,
  },
  restore: {
    synopsis: '<pair> <PATH>',
    summary: 'bring a file or folder back from its versions',
    load: async () => (await import('./restore-command.js')).restoreCommand,
  },
  run: {
    synopsis: '',
    summary: 'the service: sync and watch every pair',
    load: async () => (await import('./run-command.js')).runCommand,
  },
  status: {
    synopsis: '',
    summary: 'whether it runs, and what each pair is doing',
    load: async () => (await import('./status-command.js')).statusCommand,
  },
  log: {
    synopsis: '[--follow]',
    summary: "where the service's log is; --follow prints it",
    load: async () => (await import('./log-command.js')).logCommand,
  },
  settings: {
    synopsis: '[NAME VALUE]',
    summary: 'notifications, log level, pause on battery',
    load: async () => (await import('./settings-command.js')).settingsCommand,
  },
  tray: {
    synopsis: '',
    summary: 'the tray icon and menu over the service (the default)',
    load: async () => (await import('./tray-command.js')).trayCommand,
  },
  autostart: {
    synopsis: 'on|off|status',
    summary: 'start the tray at login',
    load: async () => (await import('./autostart-command.js')).autostartCommand,
  },
  service: {
    synopsis: 'install|uninstall|status',
    summary: 'run the service at login, without a desktop',
    load: async () => (await import('./service-command.js')).serviceCommandGroup,
  },
};

const HELP = `SyncTray: real-time folder backup and Android phone sync.

Usage: synctray [<command>] [options]   (no command: the tray)

Commands:
${commandList(COMMANDS)}

Run 'synctray <command> --help' (or 'synctray help <command>') for a command's options.
Options: -h, --help   -V, --version`;

/** Set by the bundlers (build/bundle.mjs, build/build-binary.mjs); read from package.json when run from source. */
declare const SYNCTRAY_VERSION: string | undefined;

function version(): string {
  if (typeof SYNCTRAY_VERSION === 'string') return SYNCTRAY_VERSION;
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function known(name: string | undefined): boolean {
  return name !== undefined && Object.hasOwn(COMMANDS, name);
}

export async function main(argv: string[], io: Io, signal: AbortSignal): Promise<number> {
  const [first, ...rest] = argv;
  // No command, or the tray's own option: the tray.
  const [name, args] =
    first === undefined || first === '--config-dir' || first.startsWith('--config-dir=')
      ? ['tray', argv]
      : [first, rest];
  try {
    if (first === '--version' || first === '-V') {
      io.stdout.write(`synctray ${version()}\n`);
      return ExitCode.OK;
    }
    if (first === '--help' || first === '-h' || (first === 'help' && rest.length === 0)) {
      io.stdout.write(`${HELP}\n`);
      return ExitCode.OK;
    }
    if (first === 'help') {
      if (!known(rest[0])) throw new UsageError(`There is no command "${rest[0]}" to help with.`);
      return await (await COMMANDS[rest[0]!]!.load()).run([...rest.slice(1), '--help'], io, signal);
    }
    if (!known(name))
      throw new UsageError(name.startsWith('-') ? `Unknown option '${name}'.` : `Unknown command "${name}".`);
    return await (await COMMANDS[name]!.load()).run(args, io, signal);
  } catch (err) {
    if (err instanceof UsageError) {
      const about = err.command ?? (known(name) ? name : undefined);
      io.stderr.write(`synctray: ${err.message}\nRun 'synctray ${about ? `${about} ` : ''}--help' for usage.\n`);
      return ExitCode.USAGE;
    }
    if (err instanceof RefusedError) {
      io.stderr.write(`synctray: ${err.message}\n`);
      return ExitCode.REFUSED;
    }
    if (saysItself(err)) {
      io.stderr.write(`synctray: ${err.message}\n`);
      return ExitCode.SOME_FAILED;
    }
    // Loaded only here: the log's code is not worth every start's time.
    return (await import('./internal-error.js')).internalError(err, argv, io);
  }
}

/**
 * Whether a failure's message is written for the user, so that it is all there is to say: a
 * drive's (StorageError), the running service's (ServiceError), or one SyncTray raised as a plain
 * Error with its message (`Destination … cannot be created: …`). A TypeError, or a system error
 * escaping as it came (EEXIST, with its syscall), is something no command expected.
 */
function saysItself(err: unknown): err is Error {
  if (err instanceof StorageError || err instanceof ServiceError) return true;
  return err instanceof Error && err.constructor === Error && !('code' in err);
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
      return quietWhenClosed(process.stdout, controller);
    },
    get stderr() {
      return quietWhenClosed(process.stderr, controller);
    },
    get stdin() {
      return process.stdin;
    },
  };
  let settled = false;
  const argv = process.argv.slice(2);
  main(argv, io, controller.signal).then(
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
      process.stderr.write(
        'synctray: internal error: the command stopped with its work unfinished (nothing left to wait for)\n',
      );
      process.exitCode = ExitCode.INTERNAL;
    }
  });
}

const watched = new WeakSet<NodeJS.WritableStream>();

/**
 * A stream whose reader has gone (`synctray sync … --dry-run | head`) ends the command as a
 * signal would, quietly: what it still writes goes nowhere, and no EPIPE stack is printed (as a
 * program that SIGPIPE ends prints nothing). Other write errors are reported as internal ones.
 */
function quietWhenClosed<S extends NodeJS.WritableStream>(stream: S, controller: AbortController): S {
  if (watched.has(stream)) return stream;
  watched.add(stream);
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') controller.abort();
    else internalError(err);
  });
  return stream;
}

/** A failure that is no command's answer (a bug, or the code itself not loading): exit status 70. */
function internalError(err: unknown): void {
  process.stderr.write(
    `synctray: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = ExitCode.INTERNAL;
}
