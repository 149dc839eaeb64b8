// The Wine lane (npm run test:wine): SyncTray's built CLI (dist/) run by Windows' node.exe under
// Wine, in a throwaway prefix, on what Windows treats differently. Wine is not Windows: a pass
// here is a smoke test, and what it cannot show is printed at the end. Needs `npm run build` first.
// With --full (npm run test:wine:full) it runs the whole vitest suite there instead; arguments
// after --full go to vitest.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fullSuite } from './wine/full-suite.mjs';
import { Lane } from './wine/lane.mjs';
import { autostartCases, pairCases, serviceCases } from './wine/service-cases.mjs';
import { syncCases } from './wine/sync-cases.mjs';
import { findWine, NODE_WIN_VERSION, ROOT, WinePrefix, windowsNode } from './wine/windows-node.mjs';

/** The lane must end well within CI's ten minutes; past this it stops, cleans up and fails. */
const BUDGET_MS = 9 * 60_000;

/** What no Wine run can tell, said at every run so that a pass is not read as more than it is. */
const NOT_TESTED = [
  'PowerShell folder pickers and dialogs (assets/dialogs): Wine has no PowerShell',
  'notifications (SnoreToast) and the tray helper: they need a Windows desktop',
  "the Scheduled Task of 'synctray service install': Wine's schtasks is not Windows' Task Scheduler",
  `Node 24: it does not start under Wine 8 (V8's MEM_RESERVE_PLACEHOLDER request); node.exe ${NODE_WIN_VERSION} ran`,
  'the native library: it is built for Linux only, so Windows runs the portable code (worker threads)',
  "creation times: Wine reports a file's creation time as its modification time",
  'NTFS itself: the folders are a Linux file system that Wine makes look case-insensitive',
  'renaming over a file made read-only in the destination: Wine allows it, Windows refuses it (EPERM)',
];

async function main() {
  const t0 = performance.now();
  const wine = findWine();
  if (!wine) {
    const why = 'wine64 is not installed (Debian: apt-get install wine64): the Wine lane cannot run.';
    console.error(why);
    process.exit(process.env.CI === 'true' ? 1 : 0);
  }
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))) {
    console.error('dist/cli/main.js is missing: run `npm run build` first.');
    process.exit(1);
  }
  const full = process.argv.indexOf('--full');
  if (full !== -1) process.exit(await fullSuite(wine, process.argv.slice(full + 1)));
  const nodeExe = windowsNode();
  const prefix = new WinePrefix(wine);
  const budget = setTimeout(() => {
    console.error(`The Wine lane ran past ${BUDGET_MS / 60_000} minutes: stopped.`);
    void prefix.remove().finally(() => process.exit(1));
  }, BUDGET_MS);
  const lane = new Lane(prefix, nodeExe);
  try {
    await prefix.create();
    lane.installNode();
    const version = await prefix.exec([lane.node(), '--version']);
    console.log(`Wine lane: node.exe ${version.stdout.trim()} under ${path.basename(wine)}, prefix ready`);
    await syncCases(lane);
    await pairCases(lane);
    await serviceCases(lane);
    await autostartCases(lane);
  } finally {
    await prefix.remove();
    clearTimeout(budget);
  }
  report(lane, performance.now() - t0);
  process.exit(lane.results.every((r) => r.ok) ? 0 : 1);
}

function report(lane, ms) {
  for (const r of lane.results) {
    console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name} (${(r.ms / 1000).toFixed(1)} s)`);
    if (!r.ok) console.log(`     ${r.message.split('\n').join('\n     ')}`);
  }
  const failed = lane.results.filter((r) => !r.ok).length;
  console.log(`\n${lane.results.length - failed} passed, ${failed} failed, in ${(ms / 1000).toFixed(1)} s.`);
  if (lane.notAsserted.length > 0) console.log(`\nNot asserted under Wine:\n- ${lane.notAsserted.join('\n- ')}`);
  console.log(`\nNot tested here (only a real Windows machine can tell):\n- ${NOT_TESTED.join('\n- ')}`);
}

await main();
