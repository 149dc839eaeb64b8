import fs from 'node:fs';
import path from 'node:path';
import sea from 'node:sea';
import envPaths from 'env-paths';

/**
 * Set by the single-binary build (build/build-binary.mjs): SyncTray's version and a hash of the
 * files embedded beside the code. Undefined everywhere else.
 */
declare const SYNCTRAY_BINARY_ID: string | undefined;

/** Whether this is the single executable, with its files embedded (see build/build-binary.mjs). */
export function isSingleBinary(): boolean {
  return typeof SYNCTRAY_BINARY_ID === 'string' && sea.isSea();
}

let root: string | undefined;

/**
 * An embedded file (`assets/icons/idle.png`, `helpers/tray_linux_release`, …) as a real file: all
 * of them are written once to a cache folder named after the version and their contents, each
 * through a temp name and a rename, executables 0755; later starts find them there.
 */
export function embeddedFile(key: string): string {
  root ??= extractAll();
  return path.join(root, ...key.split('/'));
}

interface Manifest {
  files: { key: string; executable: boolean }[];
}

function extractAll(): string {
  const dir = path.join(envPaths('synctray', { suffix: '' }).cache, `binary-${SYNCTRAY_BINARY_ID}`);
  const complete = path.join(dir, '.complete');
  if (fs.existsSync(complete)) return dir;
  const manifest = JSON.parse(sea.getAsset('manifest.json', 'utf8')) as Manifest;
  for (const { key, executable } of manifest.files) {
    const target = path.join(dir, ...key.split('/'));
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
    const temp = `${target}.${process.pid}.tmp`;
    fs.writeFileSync(temp, new Uint8Array(sea.getAsset(key)), { mode: executable ? 0o755 : 0o644 });
    fs.renameSync(temp, target);
  }
  fs.writeFileSync(complete, '');
  return dir;
}
