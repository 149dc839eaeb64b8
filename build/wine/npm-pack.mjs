// Packages fetched from the npm registry with `npm pack` (which checks a tarball against the
// registry's integrity, and reuses npm's cache) and unpacked with tar: no install, no scripts run.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** `npm pack SPEC` into `dir`; the tarball's path. */
export function npmPack(spec, dir) {
  fs.mkdirSync(dir, { recursive: true });
  const packed = spawnSync('npm', ['pack', spec, '--silent', '--pack-destination', dir], { encoding: 'utf8' });
  if (packed.status !== 0) throw new Error(`npm pack ${spec} failed: ${packed.stderr}`);
  return path.join(dir, packed.stdout.trim().split('\n').pop());
}

/** Unpacks `tarball` into `dir`, dropping `strip` leading path parts (npm's `package/`: 1). */
export function untar(tarball, dir, strip = 0) {
  fs.mkdirSync(dir, { recursive: true });
  const untarred = spawnSync('tar', ['-xzf', tarball, '-C', dir, `--strip-components=${strip}`], {
    encoding: 'utf8',
  });
  if (untarred.status !== 0) throw new Error(`could not unpack ${tarball}: ${untarred.stderr}`);
}
