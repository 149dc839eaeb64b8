// `npm run bench:binary [-- --runs N]`: how long the single binary takes to start
// (`synctray-linux-x64 --version`) beside `node -e 0` of the same Node, run alternately, medians.
// Run `npm run build:binary` first. It measures; it does not judge (exit 0 whatever the numbers).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatTable, median, runCommand } from './bench-lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BINARY = path.join(ROOT, 'dist', `synctray-${process.platform}-${process.arch}`);
const NODE = path.join(ROOT, 'node_modules', 'node', 'bin', 'node');
const { values } = parseArgs({ options: { runs: { type: 'string' } } });
const RUNS = Number(values.runs ?? 21);

if (!fs.existsSync(BINARY)) {
  console.error(`${path.relative(ROOT, BINARY)} is missing: run npm run build:binary first`);
  process.exit(1);
}
const times = { binary: [], node: [] };
// Warm the page cache for both before timing.
for (let i = 0; i < 3; i++) {
  await runCommand(BINARY, ['--version']);
  await runCommand(NODE, ['-e', '0']);
}
for (let i = 0; i < RUNS; i++) {
  const a = await runCommand(BINARY, ['--version']);
  if (a.status !== 0) throw new Error(`${BINARY} --version failed: ${a.stderr}`);
  times.binary.push(a.ms);
  times.node.push((await runCommand(NODE, ['-e', '0'])).ms);
}
const [b, n] = [median(times.binary), median(times.node)];
console.log(
  formatTable(
    ['command', 'median (ms)'],
    [
      [`${path.basename(BINARY)} --version`, b.toFixed(1)],
      ['node -e 0 (the same Node 24)', n.toFixed(1)],
    ],
  ),
);
console.log(
  `\nratio ${(b / n).toFixed(2)} (target <= 1.5), ${RUNS} runs each, alternating; binary ` +
    `${(fs.statSync(BINARY).size / 1e6).toFixed(1)} MB`,
);
