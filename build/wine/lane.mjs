// What the Wine lane's cases share: SyncTray's CLI as Windows runs it, checks that are recorded
// rather than thrown, and waiting for a condition.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { APP_DRIVE } from './windows-node.mjs';

/** dist/cli/main.js, the bundle npm run build makes, as the Windows node.exe is given it. */
export const CLI = `${APP_DRIVE}\\dist\\cli\\main.js`;

export class Lane {
  constructor(wine, nodeExe) {
    this.wine = wine;
    this.nodeExe = nodeExe;
    this.results = [];
    this.notAsserted = [];
  }

  /** node.exe, copied into the work folder so that Windows sees it as D:\node.exe. */
  node() {
    return this.wine.win('node.exe');
  }

  installNode() {
    fs.copyFileSync(this.nodeExe, this.wine.here('node.exe'));
  }

  /** `synctray ARGS` under Windows' node.exe, to its end. */
  synctray(args, options) {
    return this.wine.exec([this.node(), CLI, ...args], options);
  }

  /** `synctray ARGS --json` whose last stdout line is parsed (undefined when it is not JSON). */
  async synctrayJson(args, options) {
    const r = await this.synctray([...args, '--json'], options);
    const last = r.stdout.trim().split('\n').pop() ?? '';
    try {
      return { ...r, json: JSON.parse(last) };
    } catch {
      return { ...r, json: undefined };
    }
  }

  /** A Windows program started and left running (tracked by its pid; removed with the prefix). */
  startSynctray(args) {
    return this.wine.start([this.node(), CLI, ...args]);
  }

  /** Runs `fn`; a throw is a failed check, recorded with its message, and the lane goes on. */
  async check(name, fn) {
    const t0 = performance.now();
    try {
      await fn();
      this.results.push({ name, ok: true, ms: Math.round(performance.now() - t0) });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.results.push({ name, ok: false, ms: Math.round(performance.now() - t0), message });
    }
  }

  /** An assertion this lane cannot make here, and why: printed at the end. */
  skip(name, why) {
    this.notAsserted.push(`${name}: ${why}`);
  }
}

/** Throws `message` (with `detail`, a run's output) unless `ok`. */
export function expect(ok, message, detail) {
  if (!ok) throw new Error(detail ? `${message}\n${indent(detail)}` : message);
}

/** A run's status and output, for a failed check's message. */
export function shown(run) {
  return `exit ${run.status}\nstdout: ${run.stdout.trim()}\nstderr: ${run.stderr.trim()}`;
}

function indent(text) {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}

/** Polls `probe` until it returns something truthy, or throws `what` after `timeoutMs`. */
export async function waitFor(probe, what, timeoutMs = 30_000) {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const got = await probe();
    if (got) return got;
    if (performance.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

/** Writes files (path -> text) under `root`, each dated `mtime` (seconds). */
export function writeTree(root, files, mtime) {
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(root, ...rel.split('/'));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    fs.utimesSync(file, mtime, mtime);
  }
}
