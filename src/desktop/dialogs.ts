import { spawn } from 'node:child_process';
import path from 'node:path';

/** The answer of a dialog: what was chosen, or that the user cancelled (or it was left open too long). */
export type DialogAnswer =
  | { ok: true; value: string }
  | { ok: false; cancelled: true }
  | { ok: false; cancelled: false; unavailable: string };

/** The answer of a list of rows: the indexes of the rows chosen (one or more, in list order), or none. */
export type PickAnswer = { ok: true; chosen: number[] } | Exclude<DialogAnswer, { ok: true }>;

/** Dialogs the tray asks the user with; each resolves once the dialog is closed. */
export interface Dialogs {
  folder(title: string, start: string): Promise<DialogAnswer>;
  /** One of `choices` (value, one-line meaning); resolves with the value. */
  choose(title: string, text: string, choices: [string, string][]): Promise<DialogAnswer>;
  confirm(title: string, text: string, okLabel: string): Promise<DialogAnswer>;
  message(title: string, text: string): Promise<DialogAnswer>;
  /** A line of text, starting as `initial`. */
  entry(title: string, text: string, initial: string): Promise<DialogAnswer>;
  /** One or more of `rows` (a line each, none chosen at first). */
  pick(title: string, text: string, rows: string[]): Promise<PickAnswer>;
}

/** Exit code of the scripts when no dialog tool is installed. */
const NO_TOOL = 3;

/**
 * The platform's own dialogs, through the scripts in assets/dialogs, started with an argument
 * vector (no shell parses a path or a title). A dialog left open longer than `timeoutMs` is killed
 * and counts as cancelled: zenity ignores --timeout for file choosers.
 */
export function platformDialogs(
  assets: string,
  {
    timeoutMs = 10 * 60_000,
    env = process.env,
    signal,
  }: { timeoutMs?: number; env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {},
): Dialogs {
  const run = (args: string[]) => runScript(command(assets, args), timeoutMs, env, signal);
  return {
    folder: (title, start) => run(['folder', title, start]),
    // Nothing chosen (OK on an empty selection) is no answer: the same as cancel.
    choose: async (title, text, choices) => {
      const answer = await run(['choose', title, text, ...choices.flat()]);
      return answer.ok && !choices.some(([value]) => value === answer.value) ? { ok: false, cancelled: true } : answer;
    },
    confirm: (title, text, okLabel) => run(['confirm', title, text, okLabel]),
    message: (title, text) => run(['message', title, text]),
    entry: (title, text, initial) => run(['entry', title, text, initial]),
    // Rows go to the scripts numbered from 1 and come back as those numbers, `|`-separated: a
    // row's own text (a file's name) may hold any separator.
    pick: async (title, text, rows) => {
      const answer = await run(['pick', title, text, ...rows.flatMap((row, i) => [String(i + 1), row])]);
      if (!answer.ok) return answer;
      const chosen = pickedRows(answer.value, rows.length);
      return chosen.length > 0 ? { ok: true, chosen } : { ok: false, cancelled: true };
    },
  };
}

/** The row numbers a pick script printed (`2|5`, or one a line), as indexes; anything else is dropped. */
export function pickedRows(printed: string, count: number): number[] {
  const numbers = printed
    .split(/[|\s"]+/)
    .filter((n) => /^\d+$/.test(n))
    .map((n) => Number(n) - 1)
    .filter((i) => i >= 0 && i < count);
  return [...new Set(numbers)].sort((a, b) => a - b);
}

function command(assets: string, args: string[]): [string, string[]] {
  const dir = path.join(assets, 'dialogs');
  if (process.platform === 'darwin') return ['osascript', [path.join(dir, 'macos.applescript'), ...args]];
  if (process.platform === 'win32')
    return [
      'powershell.exe',
      ['-NoProfile', '-ExecutionPolicy', 'Bypass', '-File', path.join(dir, 'windows.ps1'), ...args],
    ];
  return ['sh', [path.join(dir, 'linux.sh'), ...args]];
}

function runScript(
  [cmd, args]: [string, string[]],
  timeoutMs: number,
  env: NodeJS.ProcessEnv,
  signal?: AbortSignal,
): Promise<DialogAnswer> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve({ ok: false, cancelled: true });
    // Closed with the app: a dialog left open must not keep the process (or a quit) waiting.
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
      windowsHide: false,
      signal,
      killSignal: 'SIGTERM',
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      if (e.name === 'AbortError') return resolve({ ok: false, cancelled: true });
      resolve({ ok: false, cancelled: false, unavailable: `${cmd} could not be started (${e.message})` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ ok: true, value: out.replace(/\r?\n$/, '') });
      if (code === NO_TOOL) return resolve({ ok: false, cancelled: false, unavailable: err.trim() });
      resolve({ ok: false, cancelled: true });
    });
  });
}
