import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { makeScratch, removeScratch } from './helpers/scratch.js';
import { onWindows } from './helpers/requirements.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIOME = path.join(ROOT, 'node_modules', '@biomejs', 'biome', 'bin', 'biome');
const MAX_LINE = 120;

/** `biome check` (the formatter's layout and the linter's rules, biome.jsonc; warnings too) run in `dir`. */
function biomeCheck(dir: string): { status: number | null; output: string } {
  const run = spawnSync(BIOME, ['check', '--error-on-warnings', '--colors=off', '--max-diagnostics=20', '.'], {
    cwd: dir,
    encoding: 'utf8',
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** Lines longer than MAX_LINE in the project's own code, as `file:line (length)`. */
function longLines(files: readonly string[]): string[] {
  const out: string[] = [];
  for (const file of files) {
    const lines = fs.readFileSync(path.join(ROOT, file), 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (line.length > MAX_LINE) out.push(`${file}:${i + 1} (${line.length})`);
    });
  }
  return out;
}

function projectCode(): string[] {
  const listed = execFileSync('git', ['ls-files', '-z', 'src', 'test', 'build'], { cwd: ROOT, encoding: 'utf8' });
  return listed.split('\0').filter((f) => /\.(ts|mjs|cjs)$/.test(f) && fs.existsSync(path.join(ROOT, f)));
}

// Skipped on Windows: the source is the same on every system and is checked where it is written;
// under Wine, git and this checkout's Linux builds of the checkers cannot run.
describe.skipIf(onWindows)('code style (biome.jsonc)', () => {
  let scratch: string | undefined;
  afterEach(() => {
    if (scratch) removeScratch(scratch);
    scratch = undefined;
  });

  it('is formatted and passes the linter', () => {
    const { status, output } = biomeCheck(ROOT);
    expect(status, output).toBe(0);
  });

  it(`keeps lines to ${MAX_LINE} characters, strings and comments included`, () => {
    expect(longLines(projectCode())).toEqual([]);
  });

  it('refuses code laid out otherwise, and code the linter finds wrong', () => {
    // The project's rules, over a sample in a folder of its own.
    scratch = makeScratch('style');
    fs.copyFileSync(path.join(ROOT, 'biome.jsonc'), path.join(scratch, 'biome.jsonc'));
    const file = path.join(scratch, 'src', 'sample.ts');
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(file, 'export const a = {b:1}\n');
    expect(biomeCheck(scratch).status).not.toBe(0);
    fs.writeFileSync(file, "import { unused } from 'node:fs';\nexport const a = { b: 1 };\n");
    expect(biomeCheck(scratch).status).not.toBe(0);
    fs.writeFileSync(file, 'export const a = { b: 1 };\n');
    expect(biomeCheck(scratch)).toEqual({ status: 0, output: expect.any(String) });
  });
});
