// Bundles the CLI into dist/cli/main.js (the package's bin) and the file worker beside it
// (dist/cli/fs-worker.js, where FsPool looks for it). One file loads in a fraction of the time of
// the forty modules it replaces: a no-op sync of 20,000 files starts about 8 ms sooner.
// Dependencies are bundled too, except node-notifier (its helpers for macOS and Windows sit beside it).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'dist');
const OUT = path.join(DIST, 'cli');

// Nothing stale from an earlier build may be picked up: dist/ is made afresh (the native library
// is built after this).
fs.rmSync(DIST, { recursive: true, force: true });

/**
 * Node's built-ins as the bundle takes them. An ES import of a built-in makes Node build the
 * module's namespace, which reads every export: node:process sets up stdin, stdout and stderr
 * (2 ms), node:util loads its diff and colour code (1 ms). And some built-ins are imported by
 * modules a one-shot sync loads but called only elsewhere (spawning a helper, a socket to adb, a
 * random temp name for a marker, the 30 modules of streams and readline node:fs/promises brings, the
 * worker threads used only without the native library): 8-10 ms at every start. So, for SyncTray's
 * own modules:
 * - node:process is the global `process` (the same object; a named import fails the build);
 * - the built-ins in LAZY are loaded on first call: each name SyncTray imports from them is a
 *   function that loads the module and calls the real one, and a default import is a proxy that
 *   loads it on first use. A name not listed fails the build ("No matching export"), so nothing
 *   is ever silently undefined: list it here.
 * Dependencies import Node's built-ins as they wrote them (node:process aside).
 */
const LAZY = {
  'node:child_process': ['execFile', 'spawn', 'spawnSync'],
  'node:crypto': ['createHash', 'randomBytes'],
  'node:fs/promises': [],
  // Only for rclone remotes: their rcd is asked over HTTP.
  'node:http': [],
  'node:net': [],
  'node:os': [],
  'node:readline': ['createInterface'],
  'node:sea': [],
  'node:stream/promises': ['pipeline'],
  'node:timers/promises': ['setTimeout'],
  'node:util': ['parseArgs'],
  // Only without the native library: its worker threads.
  'node:worker_threads': ['Worker'],
};
/**
 * Built-ins taken at once, but through require, with the names SyncTray imports from them: an ES
 * import of node:fs reads its `promises` getter, which loads node:fs/promises and the 30 modules
 * of streams and readline behind it (3 ms of every start).
 */
const REQUIRED = {
  'node:fs': ['constants'],
};
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    // One stand-in per importing module (named after it), bundled with it: one shared by modules
    // in different chunks would be a chunk of its own, one more file for each start to load.
    b.onResolve({ filter: /^node:/ }, (args) => {
      if (args.namespace === 'builtin') return undefined;
      const own = !args.importer.split(path.sep).includes('node_modules');
      if (args.path !== 'node:process' && !(own && (LAZY[args.path] || REQUIRED[args.path]))) return undefined;
      return {
        path: `${args.path}?for=${path.relative(ROOT, args.importer).split(path.sep).join('/')}`,
        namespace: 'builtin',
      };
    });
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => {
      const id = args.path.slice(0, args.path.indexOf('?'));
      return {
        contents:
          id === 'node:process'
            ? 'export default process;\n'
            : REQUIRED[id]
              ? `const m = require(${JSON.stringify(id)});\nexport default m;\n` +
                REQUIRED[id].map((name) => `export const ${name} = m.${name};\n`).join('')
              : `let loaded;\nconst load = () => (loaded ??= require(${JSON.stringify(id)}));\n` +
                LAZY[id]
                  // A class (Worker) is constructed with `new`, which a plain call of it refuses.
                  .map(
                    (name) =>
                      `export function ${name}(...args) {\n` +
                      `  return new.target ? new (load().${name})(...args) : load().${name}(...args);\n}\n`,
                  )
                  .join('') +
                'export default new Proxy({}, { get: (_, key) => load()[key] });\n',
        loader: 'js',
        resolveDir: ROOT,
      };
    });
  },
};

const common = {
  outdir: OUT,
  bundle: true,
  // node-notifier finds its helpers (for macOS and Windows) beside its own files: loaded from
  // node_modules as it is.
  external: ['node-notifier'],
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  define: {
    SYNCTRAY_VERSION: JSON.stringify(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version),
  },
  plugins: [lazyBuiltins],
  logLevel: 'warning',
  // CommonJS dependencies require Node's built-ins; in an ES module bundle that takes a real require,
  // made on first use (most chunks never require anything).
  banner: {
    js:
      "import { createRequire as __createRequire } from 'node:module'; let __required; const require = (id) => " +
      '(__required ??= __createRequire(import.meta.url))(id);',
  },
};
await build({
  ...common,
  entryPoints: { main: path.join(ROOT, 'src', 'cli', 'main.ts') },
  // Commands loaded on demand (pair, with conf and its validator) become chunks of their own, so
  // sync and watch do not parse them at every start.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
});
// The worker on its own, one file: as an entry of the build above it would be one more chunk for
// every command to load (the commands use a few of its functions), about 0.3 ms of each start.
await build({ ...common, entryPoints: { 'fs-worker': path.join(ROOT, 'src', 'storage', 'local', 'fs-worker.ts') } });
// esbuild keeps main.ts's shebang; the bin needs the execute bit on POSIX systems.
if (process.platform !== 'win32') fs.chmodSync(path.join(OUT, 'main.js'), 0o755);
