// The whole vitest suite under Windows' node.exe in Wine (npm run test:wine:full): the tests as a
// Windows user's machine would run them, with every Windows skip saying why. It prepares what it
// needs in a throwaway prefix (the Windows builds of vitest's native modules, a DLL Wine lacks)
// and leaves the checkout as it found it. Wine is not Windows: a pass here is not a Windows pass.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildPrngStub, findMingw, packWindowsModules } from './native-deps.mjs';
import { APP_DRIVE, ROOT, WinePrefix, WORK_DRIVE, windowsNode } from './windows-node.mjs';

/** Where the Windows modules folder is mapped; NODE_PATH points there, so require() finds them. */
const MODULES_DRIVE = 'F:';

/** What vitest may take before it is stopped and the run failed: about 4 minutes on 2 cores. */
const BUDGET_MS = 15 * 60_000;

const REPORT = `${WORK_DRIVE}\\vitest.json`;

/** The checkout as Windows sees it. */
const CHECKOUT = `${APP_DRIVE}\\${path.basename(ROOT)}`;

/** Runs the suite; resolves to the process exit code (0: no test failed). */
export async function fullSuite(wine, args) {
  const gcc = findMingw();
  if (!gcc) {
    console.error(
      'x86_64-w64-mingw32-gcc is not installed (Debian: apt-get install gcc-mingw-w64-x86-64-win32): ' +
        'it builds the bcryptprimitives.dll that vitest needs under Wine 8, so the suite cannot run there.',
    );
    return process.env.CI === 'true' ? 1 : 0;
  }
  const t0 = performance.now();
  const nodeExe = windowsNode();
  const prefix = new WinePrefix(wine);
  const stop = () => void prefix.remove().finally(() => process.exit(1));
  process.once('SIGINT', stop).once('SIGTERM', stop);
  try {
    // vite cannot take a drive's root for the project's (it makes E:/E: of E:\), so the drive is
    // the checkout's parent folder and the checkout a folder on it.
    await prefix.create({ appDir: path.dirname(ROOT) });
    const modules = packWindowsModules(path.join(prefix.base, 'modules'));
    buildPrngStub(gcc, prefix.system32());
    prefix.mapDrive(MODULES_DRIVE, path.dirname(modules));
    prefix.extraEnv.NODE_PATH = `${MODULES_DRIVE}\\node_modules`;
    fs.copyFileSync(nodeExe, prefix.here('node.exe'));
    console.log(`Full suite under Wine: prefix ready in ${seconds(performance.now() - t0)}`);
    const status = await runVitest(prefix, args);
    const report = readReport(prefix.here('vitest.json'));
    summarize(report, fs.readFileSync(status.run.err, 'utf8'), performance.now() - t0);
    return status.code === 0 && report?.numFailedTests === 0 ? 0 : 1;
  } finally {
    await prefix.remove();
    process.off('SIGINT', stop).off('SIGTERM', stop);
  }
}

/** vitest run in the checkout, its output followed as it goes; `args` are passed on to vitest. */
async function runVitest(prefix, args) {
  const vitest = `${CHECKOUT}\\node_modules\\vitest\\vitest.mjs`;
  const reporters = ['--reporter=default', '--reporter=json', `--outputFile.json=${REPORT}`];
  const run = prefix.start([prefix.win('node.exe'), vitest, 'run', ...reporters, ...args], { cwd: ROOT });
  const following = [follow(run.out, process.stdout), follow(run.err, process.stderr)];
  const timer = setTimeout(() => run.child.kill('SIGKILL'), BUDGET_MS);
  const { status, signal } = await run.exited;
  clearTimeout(timer);
  for (const f of following) f.stop();
  if (signal === 'SIGKILL') console.error(`vitest ran past ${BUDGET_MS / 60_000} minutes: stopped.`);
  return { code: status, run };
}

/** Copies what is appended to `file` to `sink` every second, until stopped (then the rest). */
function follow(file, sink) {
  let offset = 0;
  const copy = () => {
    const fd = fs.openSync(file, 'r');
    const buffer = Buffer.alloc(1 << 16);
    for (let n; (n = fs.readSync(fd, buffer, 0, buffer.length, offset)) > 0; offset += n) {
      sink.write(buffer.subarray(0, n));
    }
    fs.closeSync(fd);
  };
  const timer = setInterval(copy, 1000);
  return {
    stop() {
      clearInterval(timer);
      copy();
    },
  };
}

function readReport(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The counts, every failed test by name, and each distinct reason a test was skipped for (as the
 * tests print them on stderr), so a green run still shows what it did not run.
 */
function summarize(report, stderr, ms) {
  if (!report) {
    console.log(`\nvitest wrote no report: the run did not finish (${seconds(ms)}).`);
    return;
  }
  const reasons = new Map();
  for (const said of testStderr(stderr).filter((text) => /skip|not tested/i.test(text))) {
    reasons.set(said, (reasons.get(said) ?? 0) + 1);
  }
  if (reasons.size > 0) {
    console.log('\nSkip reasons printed by the tests (times printed):');
    for (const [said, n] of [...reasons].sort()) console.log(`  ${n}x ${said}`);
  }
  const failed = report.testResults.flatMap((file) => [
    ...(file.status === 'failed' && file.assertionResults.length === 0 ? [`${file.name}: ${file.message}`] : []),
    ...file.assertionResults.filter((t) => t.status === 'failed').map((t) => `${file.name}: ${t.fullName}`),
  ]);
  if (failed.length > 0) console.log(`\nFailed:\n- ${failed.join('\n- ')}`);
  const skipped = report.numPendingTests + report.numTodoTests;
  console.log(
    `\nFull suite under Wine: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ` +
      `${skipped} skipped of ${report.numTotalTests}, in ${seconds(ms)}.`,
  );
}

/**
 * The lines the tests wrote to stderr, without colours: vitest prints them in blocks, each under a
 * `stderr | FILE` line and ended by an empty one.
 */
function testStderr(stderr) {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the escape that starts a colour
  const lines = stderr.replace(/\x1b\[[0-9;]*m/g, '').split(/\r?\n/);
  const said = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^stderr \| /.test(lines[i])) continue;
    while (++i < lines.length && lines[i].trim() !== '') said.push(lines[i].trim());
  }
  return said;
}

function seconds(ms) {
  return ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 60_000).toFixed(1)} min`;
}
