import { spawnSync } from 'node:child_process';

/** Whether a system tool is on PATH. */
export function hasTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Tests that need a system tool skip with a printed reason on a user's machine without it, but
 * under CI=true they run, and fail if the tool is missing.
 */
export function needsTool(name: string): boolean {
  const present = hasTool(name);
  if (!present && process.env.CI !== 'true') {
    console.warn(`skipping tests that need \`${name}\`: it is not installed (apt-get install ${name})`);
    return false;
  }
  return true;
}

/** `rsync -anic --delete SRC/ DST/`: prints nothing when the trees match (types, sizes, content, mtimes, modes, links). */
export function rsyncDiff(src: string, dst: string): string {
  const r = spawnSync('rsync', ['-anic', '--delete', `${src}/`, `${dst}/`], { encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`rsync failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}
