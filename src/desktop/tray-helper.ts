import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { embeddedFile, isSingleBinary } from '../single-binary.js';
import { SEPARATOR, type MenuItem } from './tray-menu.js';

/**
 * The tray helper of systray2 (a small Go program per OS that owns the icon and the menu), driven
 * through its JSON-lines protocol on stdin/stdout. systray2's own JavaScript is not used: in 2.1.4
 * it cannot make the helper executable, waits forever for a helper that died, crashes on a
 * non-JSON line, hangs in kill() after an exit and runs a `./traybin` from the current folder. Here
 * the helper is a copy we made executable, started with a timeout, and watched until it exits.
 */

/** What the helper is shown: an icon (PNG or ICO bytes), a title and the menu. */
export interface HelperMenu {
  icon: Buffer;
  /** macOS only: the icon is a template (black and alpha) for the system to tint. */
  template: boolean;
  tooltip: string;
  items: MenuItem[];
}

/** How the helper reports the end: its exit code or signal and the last lines it wrote to stderr. */
export interface HelperExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

interface WireItem {
  title: string;
  tooltip: string;
  enabled: boolean;
  checked: boolean;
  hidden: boolean;
  icon: string;
  isTemplateIcon: boolean;
  items?: WireItem[];
  __id: number;
}

const HELPERS: Partial<Record<NodeJS.Platform, string>> = {
  linux: 'tray_linux_release',
  darwin: 'tray_darwin_release',
  win32: 'tray_windows_release.exe',
};

/** The helper shipped for this OS in systray2's package, or undefined where it ships none. */
export function shippedHelper(): string | undefined {
  const name = HELPERS[process.platform];
  if (!name || process.arch !== 'x64') return undefined;
  if (isSingleBinary()) return embeddedFile(`helpers/${name}`);
  // Resolved at run time (a name in a variable keeps the bundler from following it).
  const pkg = 'systray2/package.json';
  try {
    return path.join(path.dirname(createRequire(import.meta.url).resolve(pkg)), 'traybin', name);
  } catch {
    return undefined;
  }
}

/**
 * An executable copy of `helper` in `cacheDir`, named by its content so that versions never mix:
 * written to a temp name, made 0755, then renamed into place.
 */
export function installHelper(helper: string, cacheDir: string): string {
  const bytes = fs.readFileSync(helper);
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const target = path.join(cacheDir, `${path.basename(helper, '.exe')}-${hash}${path.extname(helper)}`);
  try {
    const st = fs.statSync(target);
    if (st.size === bytes.length && (process.platform === 'win32' || (st.mode & 0o111) !== 0)) return target;
  } catch {
    // not there yet
  }
  fs.mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
  const temp = `${target}.${process.pid}.tmp`;
  fs.writeFileSync(temp, bytes, { mode: 0o755 });
  fs.chmodSync(temp, 0o755);
  fs.renameSync(temp, target);
  return target;
}

/** A running helper. `click` carries the key of the clicked item; `exit` says it is gone. */
export class TrayHelper extends EventEmitter<{ click: [key: string]; exit: [HelperExit] }> {
  private readonly keys = new Map<number, string>();
  private readonly wire = new Map<string, WireItem>();
  private stderrTail = '';
  private exited: HelperExit | undefined;
  private readonly exitedPromise: Promise<HelperExit>;

  private constructor(
    private readonly child: ChildProcessByStdio<Writable, Readable, Readable>,
    private readonly linuxChecks: boolean,
  ) {
    super();
    this.exitedPromise = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        this.exited = { code, signal, stderr: this.stderrTail.trim() };
        resolve(this.exited);
        this.emit('exit', this.exited);
      }),
    );
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (this.stderrTail = (this.stderrTail + d).slice(-2000)));
    child.stdin.on('error', () => undefined); // a helper that died: its exit event says so
  }

  /** Starts the helper and shows `menu`; rejects (with why) if it is not ready within `timeoutMs`. */
  static async start(
    binary: string,
    menu: HelperMenu,
    options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
  ): Promise<TrayHelper> {
    const child = spawn(binary, [], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      cwd: path.dirname(binary),
      windowsHide: true,
    });
    const helper = new TrayHelper(child, process.platform === 'linux');
    await helper.ready(options.timeoutMs ?? 10_000);
    helper.send(helper.menuMessage(menu));
    return helper;
  }

  private ready(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let buffer = '';
      let ready = false;
      const timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        reject(
          new Error(
            `the tray helper did not start within ${timeoutMs / 1000} s` +
              `${this.stderrTail ? `: ${this.stderrTail.trim()}` : ''}`,
          ),
        );
      }, timeoutMs);
      this.child.on('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`the tray helper could not be started: ${err.message}`));
      });
      this.child.on('exit', () => {
        if (ready) return;
        clearTimeout(timer);
        // Give stderr a moment: its last words (no display, say) are the reason.
        setImmediate(() => reject(new Error(`the tray helper exited before it was ready (${describe(this.exited!)})`)));
      });
      this.child.stdout.setEncoding('utf8');
      this.child.stdout.on('data', (chunk: string) => {
        buffer += chunk;
        for (let i: number; (i = buffer.indexOf('\n')) >= 0; ) {
          const line = buffer.slice(0, i).trim();
          buffer = buffer.slice(i + 1);
          const message = parse(line);
          if (message?.type === 'ready' && !ready) {
            ready = true;
            clearTimeout(timer);
            resolve();
          } else if (message?.type === 'clicked') {
            const key = this.keys.get(Number(message.__id ?? (message.item as { __id?: unknown } | undefined)?.__id));
            if (key !== undefined) this.emit('click', key);
          }
          // Anything else (a line that is not JSON, an unknown message) is not ours to act on.
        }
      });
    });
  }

  /** Changes items in place (same keys as shown): titles, enabled and checked. */
  updateItems(items: MenuItem[]): void {
    for (const item of items) {
      const old = this.wire.get(item.key);
      if (!old) continue;
      const next = this.wireItem(item, old.__id);
      this.wire.set(item.key, next);
      const { items: _children, ...flat } = next;
      this.send({ type: 'update-item', item: flat, seq_id: -1 });
    }
  }

  /** Changes the icon and the tooltip. */
  updateIcon(icon: Buffer, template: boolean, tooltip: string): void {
    this.send({
      type: 'update-menu',
      menu: { icon: icon.toString('base64'), isTemplateIcon: template, title: '', tooltip, items: [] },
    });
  }

  get alive(): boolean {
    return this.exited === undefined;
  }

  /** Asks the helper to exit; kills it if it has not within `graceMs`. Resolves once it is gone. */
  async close(graceMs = 2000): Promise<HelperExit> {
    if (this.exited) return this.exited;
    this.send({ type: 'exit' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      return await this.exitedPromise;
    } finally {
      clearTimeout(timer);
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private menuMessage(menu: HelperMenu): Record<string, unknown> {
    let next = 1;
    const convert = (items: MenuItem[]): WireItem[] =>
      items.map((item) => {
        const id = next++;
        const wire = this.wireItem(item, id);
        this.keys.set(id, item.key);
        this.wire.set(item.key, wire);
        if (item.items) wire.items = convert(item.items);
        return wire;
      });
    return {
      icon: menu.icon.toString('base64'),
      isTemplateIcon: menu.template,
      title: '',
      tooltip: menu.tooltip,
      items: convert(menu.items),
    };
  }

  private wireItem(item: MenuItem, id: number): WireItem {
    const separator = item.title === SEPARATOR;
    // The Linux helper draws no check marks: the label carries it.
    const title = separator ? '<SEPARATOR>' : this.linuxChecks && item.checked ? `✓ ${item.title}` : item.title;
    return {
      title,
      tooltip: '',
      enabled: item.enabled,
      checked: !this.linuxChecks && item.checked === true,
      hidden: item.hidden === true,
      icon: '',
      isTemplateIcon: false,
      __id: id,
    };
  }

  private send(message: Record<string, unknown>): void {
    if (this.exited || this.child.stdin.destroyed) return;
    this.child.stdin.write(`${JSON.stringify(message)}\n`);
  }
}

function parse(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function describe(exit: HelperExit): string {
  const how = exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
  const last = exit.stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.includes('Gdk-CRITICAL'))
    .slice(-2)
    .join(' ');
  return last ? `${how}: ${last}` : how;
}
