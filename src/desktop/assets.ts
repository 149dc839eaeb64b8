import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { embeddedFile, isSingleBinary } from '../single-binary.js';

/**
 * The folder of SyncTray's assets (icons, dialog scripts): found upwards from this code, which
 * runs from src/ in tests and from dist/cli or dist/cli/chunks once built; in the single binary,
 * the embedded copy.
 */
export function assetsDir(): string {
  if (isSingleBinary()) return embeddedFile('assets');
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'assets');
    if (fs.existsSync(path.join(candidate, 'icons'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error("SyncTray's assets folder (icons, dialogs) is missing: reinstall SyncTray.");
}
