import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { ExitCode } from './exit-codes.js';
import type { Io } from './io.js';
import { UsageError } from './usage-error.js';

/** Every command takes -h and --help, and prints its usage to stdout for them. */
const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

/** Most commands take --config-dir, to work on another config than the user's. */
export const CONFIG_DIR_OPTION = { 'config-dir': { type: 'string' } } as const;

type Config<O extends ParseArgsOptionsConfig> = {
  args: string[];
  options: O & typeof HELP_OPTION;
  allowPositionals: true;
  strict: true;
};

/** What parseArgs makes of a command's arguments, typed by its options. */
export type Parsed<O extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<Config<O>>>;

/** Something the command line can run: `argv` is what follows its name. */
export interface Runnable {
  /** For the list of commands in the help above it: what follows the name, and what it does. */
  synopsis?: string;
  summary?: string;
  run(argv: string[], io: Io, signal: AbortSignal): Promise<number>;
}

export interface CommandSpec<O extends ParseArgsOptionsConfig> {
  /** As typed after `synctray` (`sync`, `pair add`): named in messages. */
  name: string;
  /** What follows the name (`<source> <destination>`), for the list of commands above it. */
  synopsis?: string;
  summary?: string;
  /** What --help prints. */
  usage: string;
  options: O;
  /** How many arguments besides the options it takes, and what they are; none unless said. */
  takes?: { min: number; max: number; what: string };
  run(args: Parsed<O>, io: Io, signal: AbortSignal): Promise<number>;
}

/**
 * A command whose arguments are parsed as its options say: --help prints its usage (exit 0), and
 * anything it does not take is a UsageError naming the command (exit 2).
 */
export function command<const O extends ParseArgsOptionsConfig>(spec: CommandSpec<O>): Runnable {
  return {
    synopsis: spec.synopsis,
    summary: spec.summary,
    async run(argv, io, signal) {
      try {
        const args = parse(argv, spec.options);
        if ((args.values as { help?: boolean }).help === true) {
          io.stdout.write(`${spec.usage}\n`);
          return ExitCode.OK;
        }
        const { min, max, what } = spec.takes ?? { min: 0, max: 0, what: 'no arguments' };
        const n = args.positionals.length;
        if (n < min || n > max)
          throw new UsageError(
            `${spec.name} takes ${what} (got ${n === 0 ? 'none' : `${n}: ${args.positionals.join(' ')}`}).`,
          );
        return await spec.run(args, io, signal);
      } catch (err) {
        if (err instanceof UsageError) err.command ??= spec.name;
        throw err;
      }
    },
  };
}

export interface GroupSpec {
  name: string;
  synopsis?: string;
  summary: string;
  /** Said in its usage between the first line and the list of commands. */
  about: string;
  commands: Record<string, Runnable>;
}

/**
 * Commands under one name (`pair add`, `autostart on`): the first argument picks one; none, or
 * one it does not know, is a UsageError; `help`, -h or --help print the group's usage.
 */
export function group({ name, synopsis, summary, about, commands }: GroupSpec): Runnable {
  const usage =
    `Usage: synctray ${name} <command> [options]\n\n${about}\n\nCommands:\n${commandList(commands)}\n\n` +
    `Run 'synctray ${name} <command> --help' for a command's options.`;
  return {
    synopsis: synopsis ?? `${Object.keys(commands).join('|')}`,
    summary,
    run(argv, io, signal) {
      const [sub, ...rest] = argv;
      if (sub === 'help' || sub === '--help' || sub === '-h') {
        io.stdout.write(`${usage}\n`);
        return Promise.resolve(ExitCode.OK);
      }
      if (sub === undefined)
        throw new UsageError(`${name} needs a command: ${Object.keys(commands).join(', ')}.`, name);
      const chosen = Object.hasOwn(commands, sub) ? commands[sub] : undefined;
      if (!chosen)
        throw new UsageError(`Unknown ${name} command "${sub}" (commands: ${Object.keys(commands).join(', ')}).`, name);
      return chosen.run(rest, io, signal);
    },
  };
}

/** Where a command list's summaries start; a longer name and synopsis puts its summary below. */
const SUMMARY_COLUMN = 32;

/** The lines of a help text that list commands: name and synopsis, then what each does. */
export function commandList(commands: Record<string, Pick<Runnable, 'synopsis' | 'summary'>>): string {
  return Object.entries(commands)
    .map(([name, c]) => {
      const head = `  ${name}${c.synopsis ? ` ${c.synopsis}` : ''}`;
      const summary = c.summary ?? '';
      return head.length < SUMMARY_COLUMN - 1
        ? `${head.padEnd(SUMMARY_COLUMN)}${summary}`
        : `${head}\n${' '.repeat(SUMMARY_COLUMN)}${summary}`;
    })
    .join('\n');
}

function parse<O extends ParseArgsOptionsConfig>(argv: string[], options: O): Parsed<O> {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, ...HELP_OPTION },
      allowPositionals: true,
      strict: true,
    }) as Parsed<O>;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
