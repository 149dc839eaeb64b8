/**
 * A one-shot sync is mostly start-up when nothing changed, so it loads none of Node's built-ins it
 * does not call: each costs its load at every start, and some bring dozens more (node:fs/promises
 * the modules of streams and readline; the global `performance` perf_hooks).
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { assertCliBuilt, describeRun, runCli } from '../helpers/cli.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { writeTree } from '../helpers/tree-spec.js';

/** Built-ins a sync between two local folders has no use for. */
const NOT_LOADED = [
  'child_process',
  'crypto',
  'fs/promises',
  'net',
  'perf_hooks',
  'readline',
  'sea',
  'stream',
  'timers/promises',
  'worker_threads',
];

let root: string;
beforeAll(() => assertCliBuilt());
beforeEach(() => {
  root = makeScratch('synctray-startup-');
  writeTree(path.join(root, 'src'), { 'a.txt': 'a', 'sub/b.txt': 'b' });
  writeTree(path.join(root, 'dst'), { 'old.txt': 'old' });
});
afterEach(() => removeScratch(root));

/** Runs `synctray ...args` and returns the built-ins the process had loaded when it exited. */
async function builtinsLoadedBy(args: string[]): Promise<string[]> {
  const list = path.join(root, 'loaded.txt');
  const recorder = path.join(root, 'record.mjs');
  fs.writeFileSync(
    recorder,
    `process.on('exit', () => process.getBuiltinModule('fs').writeFileSync(${JSON.stringify(list)}, ` +
      `process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)).join('\\n')));\n`,
  );
  const result = await runCli(args, { env: { NODE_OPTIONS: `--import=${pathToFileURL(recorder).href}` } });
  expect(result.code, describeRun(result)).toBe(0);
  return fs.readFileSync(list, 'utf8').split('\n');
}

it('a sync loads none of the built-ins it does not call', async () => {
  const loaded = await builtinsLoadedBy(['sync', path.join(root, 'src'), path.join(root, 'dst'), '--quiet']);
  // The recorder itself worked: the file system module is always there.
  expect(loaded).toContain('fs');
  expect(NOT_LOADED.filter((m) => loaded.includes(m))).toEqual([]);
  expect(fs.readFileSync(path.join(root, 'dst', 'sub', 'b.txt'), 'utf8')).toBe('b');
});
