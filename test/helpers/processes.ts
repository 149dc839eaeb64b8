import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** A pid that ran and is gone: a Node that exited at once (no shell needed, so Windows too). */
export function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  if (r.pid === undefined) throw new Error(`could not start ${process.execPath}: ${r.error?.message}`);
  return r.pid;
}

/**
 * Node's arguments to run a TypeScript file of this repository in a process of its own. The
 * hooks go to --import as a file:// URL: a Windows path (D:\…) is taken for a URL scheme there.
 */
export function typeScriptArgs(script: string, ...args: string[]): string[] {
  const hooks = pathToFileURL(fileURLToPath(new URL('./ts-hooks.mjs', import.meta.url))).href;
  return ['--experimental-transform-types', '--no-warnings', '--import', hooks, script, ...args];
}
