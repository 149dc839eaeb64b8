/**
 * What each destination file may hold after an interrupted run: its source's version, or the old
 * one it had before. Anything else (a torn file, a file nobody put there) is a failure.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { listTree, sha256File, TEMP_NAME } from './tree-inspect.js';

interface Version {
  size: number;
  sha256: string;
  what: 'new' | 'old';
}

export class AllowedVersions {
  private readonly byPath = new Map<string, Version[]>();

  allow(rel: string, bytes: Uint8Array, what: Version['what']): void {
    const v = { size: bytes.length, sha256: crypto.createHash('sha256').update(bytes).digest('hex'), what };
    this.byPath.set(rel, [...(this.byPath.get(rel) ?? []), v]);
  }

  /** Every destination file whose content is neither of its allowed versions, with why. */
  unexpected(dst: string): string[] {
    const problems: string[] = [];
    for (const item of listTree(dst)) {
      if (item.rel === '' || item.type === 'dir' || TEMP_NAME.test(path.basename(item.rel))) continue;
      const versions = this.byPath.get(item.rel);
      if (item.type !== 'file' || !versions) {
        problems.push(`${item.rel}: a ${item.type} nobody put there`);
        continue;
      }
      const size = fs.lstatSync(item.abs).size;
      const sizeMatches = versions.filter((v) => v.size === size);
      const sha = sizeMatches.length > 0 ? sha256File(item.abs) : '';
      if (!sizeMatches.some((v) => v.sha256 === sha)) {
        problems.push(
          `${item.rel}: ${size} bytes matching neither ` +
            `${versions.map((v) => `${v.what} (${v.size} bytes)`).join(' or ')}`,
        );
      }
    }
    return problems;
  }
}
