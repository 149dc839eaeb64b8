/**
 * Ordinary-user runs when the tests run as root (as CI does), so that permission bits mean
 * something: the CLI runs as NOBODY (see `unprivileged` in cli.ts) on folders handed to NOBODY.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The uid/gid that `unprivileged` runs use when the tests run as root. */
export const NOBODY = 65534;
export const isRoot = process.getuid?.() === 0;

/** Hands a test folder to NOBODY when running as root, so an unprivileged CLI can work in it. */
export function giveToNobody(dir: string): void {
  if (!isRoot) return;
  fs.chmodSync(dir, 0o755);
  const walk = (p: string) => {
    fs.lchownSync(p, NOBODY, NOBODY);
    if (fs.lstatSync(p).isDirectory()) for (const n of fs.readdirSync(p)) walk(path.join(p, n));
  };
  walk(dir);
}
