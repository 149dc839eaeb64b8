/**
 * Tests that need something the machine may lack (a system tool, root): on a user's machine
 * without it they skip with a printed reason, but under CI=true they always run, and fail if it
 * is missing, so CI never passes by skipping.
 */
import { spawnSync } from 'node:child_process';

/** Whether a system tool is on PATH. */
export function hasTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Why tests needing something must be skipped, or undefined when they run: undefined when it is
 * `available` or under CI=true; otherwise `reason`, which is also printed.
 */
export function skipReasonOutsideCi(available: boolean, reason: string): string | undefined {
  if (available || process.env.CI === 'true') return undefined;
  console.warn(reason);
  return reason;
}
