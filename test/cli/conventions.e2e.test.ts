/**
 * What users of git, rsync and systemctl expect of any command line: --help on every command and
 * subcommand prints its usage to stdout and exits 0; bad usage is said on stderr with exit 2.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, describeRun, runCli as runIn, startCli, type RunOptions } from '../helpers/cli.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { posixOnly } from '../helpers/requirements.js';

let root: string;
beforeAll(() => {
  assertCliBuilt();
  root = makeScratch('synctray-conventions-');
});
afterAll(() => removeScratch(root));

/** The CLI with a config of its own, never the user's. */
const runCli = (args: string[], options: RunOptions = {}) =>
  runIn(args, { ...options, env: { SYNCTRAY_CONFIG_DIR: root, XDG_CONFIG_HOME: root, ...options.env } });

const COMMANDS = [
  ['sync'],
  ['watch'],
  ['pair'],
  ...['add', 'set', 'list', 'remove', 'pause', 'resume', 'resync', 'deletions'].map((sub) => ['pair', sub]),
  ['versions'],
  ['restore'],
  ['run'],
  ['status'],
  ['log'],
  ['settings'],
  ['tray'],
  ['autostart'],
  ['autostart', 'on'],
  ['autostart', 'off'],
  ['autostart', 'status'],
];

describe('--help', () => {
  it.each(COMMANDS)('synctray %s … --help prints its own usage to stdout, exit 0', async (...command) => {
    for (const flag of ['--help', '-h']) {
      const r = await runCli([...command, flag]);
      expect(r.code, describeRun(r)).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(new RegExp(`^Usage: synctray (\\[)?${command.join(' ')}\\b`));
    }
  });

  it('the top-level help lists every command, and help COMMAND is COMMAND --help', async () => {
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    for (const [name] of COMMANDS) expect(top.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    expect(await runCli(['help'])).toMatchObject({ code: 0, stdout: top.stdout });
    const viaHelp = await runCli(['help', 'status']);
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.stdout).toBe((await runCli(['status', '--help'])).stdout);
  });
});

describe('help texts', () => {
  it('name pair deletions at the top, and the unit of a bare duration where one is taken', async () => {
    expect((await runCli(['--help'])).stdout).toMatch(
      /^ {2}pair add\|set\|list\|remove\|pause\|resume\|resync\|deletions$/m,
    );
    for (const command of [['watch'], ['pair', 'add'], ['pair', 'set']]) {
      expect((await runCli([...command, '--help'])).stdout).toContain(
        'e.g. 90s, 30m, 2h, 1d (a bare number is seconds)',
      );
    }
  });
});

describe('autostart', () => {
  it.skipIf(posixOnly('the XDG autostart folder (Windows has the Run key, tested by the Wine lane)'))(
    'status --json says whether the tray starts at login, and from which entry',
    async () => {
      const entry = path.join(root, 'autostart', 'synctray.desktop');
      expect(JSON.parse((await runCli(['autostart', 'status', '--json'])).stdout)).toEqual({
        enabled: false,
        where: entry,
      });
      expect((await runCli(['autostart', 'on'])).stdout).toBe(`SyncTray starts at login (${entry}).\n`);
      expect(fs.existsSync(entry)).toBe(true);
      expect(JSON.parse((await runCli(['autostart', 'status', '--json'])).stdout)).toEqual({
        enabled: true,
        where: entry,
      });
      expect(JSON.parse((await runCli(['autostart', 'off', '--json'])).stdout)).toEqual({
        enabled: false,
        where: entry,
      });
      expect(fs.existsSync(entry)).toBe(false);
    },
  );
});

describe('usage errors: stderr, exit 2, a pointer to the right help', () => {
  it.each([
    [['status', 'extra'], /status takes no arguments/, 'status'],
    [['log', '--frobnicate'], /Unknown option '--frobnicate'/, 'log'],
    [['sync', '/a'], /sync takes a source and a destination folder/, 'sync'],
    [['watch', '/a', '/b', '--rescan-interval', 'soon'], /--rescan-interval takes a duration/, 'watch'],
    [['autostart'], /autostart needs a command: on, off, status/, 'autostart'],
    [['autostart', 'maybe'], /Unknown autostart command "maybe"/, 'autostart'],
    [['autostart', 'status', 'now'], /autostart status takes no arguments/, 'autostart status'],
    [['settings', 'notifications'], /settings takes a name and a value/, 'settings'],
    [['pair'], /pair needs a command: add, set, list/, 'pair'],
    [['pair', 'add', '/a'], /pair add takes a source and a destination folder \(got 1: \/a\)/, 'pair add'],
    [['pair', 'list', '--mode', 'update'], /Unknown option '--mode'/, 'pair list'],
    [['pair', 'set', 'docs'], /pair set needs something to change/, 'pair set'],
    [
      ['pair', 'deletions', 'docs', '--apply', 'x', '--restore'],
      /takes --apply or --restore, not both/,
      'pair deletions',
    ],
    [['frobnicate'], /Unknown command "frobnicate"/, ''],
  ])('synctray %j', async (args, message, helpFor) => {
    const r = await runCli(args);
    expect(r.code, describeRun(r)).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain(`Run 'synctray ${helpFor ? `${helpFor} ` : ''}--help' for usage.`);
  });
});

describe('--version', () => {
  it('is --version or -V; -v is not taken (rsync and GNU tools use it for verbose)', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await runCli([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^synctray \d+\.\d+\.\d+\n$/);
    }
    const v = await runCli(['-v']);
    expect(v.code).toBe(2);
    expect(v.stderr).toContain("Unknown option '-v'");
  });
});

describe('when things go wrong around a command', () => {
  it('ends quietly when the reader of its output goes away (sync --dry-run | head)', async () => {
    const src = path.join(root, 'many');
    fs.mkdirSync(src);
    for (let i = 0; i < 3000; i++) fs.writeFileSync(path.join(src, `file-${i}`), `${i}`);
    const run = startCli(['sync', src, path.join(root, 'many-copy'), '--dry-run']);
    // As head does: read the first lines, then close the pipe.
    run.child.stdout.once('data', () => run.child.stdout.destroy());
    const r = await run.done;
    expect(r.stderr).toBe('');
    expect(r.code, describeRun(r)).toBe(0);
    expect(fs.existsSync(path.join(root, 'many-copy'))).toBe(false);
  });

  it.skipIf(posixOnly('a folder for the Unix control socket, which a file can stand in for (a named pipe needs none)'))(
    'says an unexpected failure in one line naming the log that has its stack, and exits 70',
    async () => {
      const config = path.join(root, 'odd-config');
      fs.mkdirSync(config);
      // Where the control socket's folder should be, a file: nothing a command expects.
      fs.writeFileSync(path.join(config, 'state'), '');
      const r = await runCli(['run', '--config-dir', config]);
      const log = path.join(config, 'logs', 'synctray.log');
      expect(r.code, describeRun(r)).toBe(70);
      expect(r.stderr).toBe(
        `synctray: internal error: EEXIST: file already exists, mkdir '${path.join(config, 'state')}' ` +
          `(the details are in ${log})\n`,
      );
      expect(fs.readFileSync(log, 'utf8')).toMatch(
        / error internal error in 'synctray run --config-dir .*': Error: EEXIST: .* at /,
      );
    },
  );
});
