import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { makeScratch, removeScratch } from './helpers/scratch.js';
import { onWindows } from './helpers/requirements.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEPCRUISE = path.join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruiser.mjs');
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');

interface Violation {
  rule: string;
  from: string;
  to: string;
}

/** dependency-cruiser run over `dir`/src with the project's rules, as `npm run layers` does. */
function violations(dir: string): Violation[] {
  const run = spawnSync(process.execPath, [DEPCRUISE, 'src', '--config', CONFIG, '--output-type', 'json'], {
    cwd: dir,
    encoding: 'utf8',
  });
  if (!run.stdout) throw new Error(`dependency-cruiser printed nothing: ${run.stderr}`);
  const result = JSON.parse(run.stdout) as {
    summary: { violations: { rule: { name: string }; from: string; to: string }[] };
  };
  return result.summary.violations.map((v) => ({ rule: v.rule.name, from: v.from, to: v.to }));
}

// Skipped on Windows: the source is the same on every system and is checked where it is written;
// under Wine, git and this checkout's Linux builds of the checkers cannot run.
describe.skipIf(onWindows)('layers (.dependency-cruiser.cjs)', () => {
  it('src/ imports only downward and has no cycle', () => {
    expect(violations(ROOT)).toEqual([]);
  });

  describe('on a tree made to break them', () => {
    let dir: string | undefined;
    afterEach(() => dir && removeScratch(dir));

    /** Writes each file (path under src/ → the modules it imports) and returns what the check says. */
    const check = (files: Record<string, string[]>) => {
      dir = makeScratch('synctray-layers-');
      for (const [file, imports] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, 'src', file)), { recursive: true });
        fs.writeFileSync(path.join(dir, 'src', file), `${imports.map((i) => `import '${i}';\n`).join('')}export {};\n`);
      }
      return violations(dir);
    };

    it('rejects a module importing from the layer above its own, at every step', () => {
      const steps: [lower: string, upper: string][] = [
        ['core/a.ts', 'config/a.ts'],
        ['core/b.ts', 'storage/a.ts'],
        ['storage/b.ts', 'engine/a.ts'],
        ['engine/b.ts', 'watch/a.ts'],
        ['watch/b.ts', 'service/a.ts'],
        ['service/b.ts', 'desktop/a.ts'],
        ['desktop/b.ts', 'app.ts'],
        ['host.ts', 'cli/a.ts'],
        ['config/b.ts', 'storage/c.ts'],
      ];
      const files: Record<string, string[]> = {};
      for (const [lower, upper] of steps) {
        files[lower] = [
          path.posix
            .relative(path.posix.dirname(lower), upper)
            .replace(/^(?!\.)/, './')
            .replace(/\.ts$/, '.js'),
        ];
        files[upper] ??= [];
      }
      const found = check(files);
      expect(found.map((v) => [v.from, v.to]).sort()).toEqual(
        steps.map(([lower, upper]) => [`src/${lower}`, `src/${upper}`]).sort(),
      );
      expect(found.find((v) => v.from === 'src/service/b.ts')?.rule).toBe('service-not-upward');
      expect(found.find((v) => v.from === 'src/config/b.ts')?.rule).toBe('config-not-storage');
    });

    it('accepts imports downward and within a layer', () => {
      expect(
        check({
          'cli/a.ts': ['../host.js', '../desktop/a.js', './b.js'],
          'cli/b.ts': [],
          'host.ts': ['./app.js', './service/a.js'],
          'app.ts': ['./storage/a.js'],
          'desktop/a.ts': ['../service/a.js', '../single-binary.js'],
          'service/a.ts': ['../watch/a.js'],
          'watch/a.ts': ['../engine/a.js'],
          'engine/a.ts': ['../storage/a.js', '../config/a.js'],
          'storage/a.ts': ['../core/a.js'],
          'config/a.ts': ['../core/a.js'],
          'core/a.ts': [],
          'single-binary.ts': [],
        }),
      ).toEqual([]);
    });

    it('rejects a cycle, node:* modules in core/ and the single binary below the desktop', () => {
      const found = check({
        'engine/a.ts': ['./b.js'],
        'engine/b.ts': ['./a.js'],
        'core/a.ts': ['node:fs'],
        'storage/a.ts': ['../single-binary.js'],
        'single-binary.ts': [],
      });
      expect(found.map((v) => v.rule).sort()).toEqual(['core-is-plain', 'no-circular', 'single-binary-at-the-top']);
    });
  });
});
