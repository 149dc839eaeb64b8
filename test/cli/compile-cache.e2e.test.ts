/**
 * The bin keeps Node's compile cache in SyncTray's own cache folder, which must be the user's own
 * and writable by nobody else; whatever stands in the way, the command runs as it would have.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertCliBuilt, describeRun, runCli } from '../helpers/cli.js';
import { isRoot, NOBODY } from '../helpers/privilege.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { writeTree } from '../helpers/tree-spec.js';

let root: string;
beforeAll(() => assertCliBuilt());
beforeEach(() => {
  root = makeScratch('synctray-compile-cache-');
  writeTree(at('src'), { 'a.txt': 'a' });
});
afterEach(() => removeScratch(root));

const at = (p: string) => path.join(root, p);
const cacheFolder = () => at('cache/synctray/compile-cache');
/** What Node wrote there: its folder per Node version, holding one file per module. */
const cached = () =>
  fs.existsSync(cacheFolder())
    ? fs.readdirSync(cacheFolder(), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length
    : 0;
// Neither the tests' own settings nor a home folder's cache take part.
const env = (more: NodeJS.ProcessEnv = {}) => ({
  XDG_CACHE_HOME: at('cache'),
  NODE_COMPILE_CACHE: undefined,
  NODE_DISABLE_COMPILE_CACHE: undefined,
  ...more,
});

async function syncOk(more?: NodeJS.ProcessEnv) {
  const r = await runCli(['sync', at('src'), at('dst'), '--quiet'], { env: env(more) });
  expect(r.code, describeRun(r)).toBe(0);
  expect(r.stderr).toBe('');
  expect(fs.readFileSync(at('dst/a.txt'), 'utf8')).toBe('a');
}

describe.skipIf(process.platform !== 'linux')('compile cache', () => {
  it("is kept in SyncTray's cache folder, made for the user alone", async () => {
    await syncOk();
    expect(cached()).toBeGreaterThan(3);
    expect(fs.statSync(cacheFolder()).mode & 0o777).toBe(0o700);
    // The second run finds the code there; the first one's files stay as they were.
    const before = cached();
    await syncOk();
    expect(cached()).toBe(before);
  });

  it('is left off, the run going on as usual, where the cache folder cannot be made', async () => {
    fs.writeFileSync(at('cache'), 'a file where the cache folder would go');
    await syncOk();
  });

  it('is left off in a folder others can write to', async () => {
    fs.mkdirSync(cacheFolder(), { recursive: true });
    fs.chmodSync(cacheFolder(), 0o777);
    await syncOk();
    expect(cached()).toBe(0);
  });

  it.skipIf(!isRoot)('is left off in a folder of another user', async () => {
    fs.mkdirSync(cacheFolder(), { recursive: true, mode: 0o700 });
    fs.chownSync(cacheFolder(), NOBODY, NOBODY);
    await syncOk();
    expect(cached()).toBe(0);
  });

  it('is left off when the user turns it off, and goes where the user says', async () => {
    await syncOk({ NODE_DISABLE_COMPILE_CACHE: '1' });
    expect(fs.existsSync(at('cache'))).toBe(false);
    await syncOk({ NODE_COMPILE_CACHE: at('elsewhere') });
    expect(fs.existsSync(at('cache'))).toBe(false);
    expect(fs.readdirSync(at('elsewhere')).length).toBeGreaterThan(0);
  });
});
