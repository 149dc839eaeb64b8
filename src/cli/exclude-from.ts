import fs from 'node:fs';
import { UsageError } from './usage-error.js';

/**
 * The patterns in each `--exclude-from` file, as rsync reads them: one a line; blank lines, and
 * lines starting with `#` or `;`, are ignored. A file that cannot be read is a UsageError naming it.
 */
export function excludesFrom(files: readonly string[] | undefined): string[] {
  const patterns: string[] = [];
  for (const file of files ?? []) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (err as Error).message;
      throw new UsageError(
        `--exclude-from \`${file}\` cannot be read (${why}): give a file of exclude patterns, one a line.`,
      );
    }
    for (const line of text.split(/\r?\n/)) {
      if (line.trim() === '' || line.startsWith('#') || line.startsWith(';')) continue;
      patterns.push(line);
    }
  }
  return patterns;
}
