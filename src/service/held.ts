import type { HeldDeletions } from './service.js';

/** Dialogs do not wrap their text: lines are kept to this many characters. */
const WIDTH = 90;

/** The held deletions in words, for the tray's dialog and `synctray pair deletions`. */
export function heldSummary(destination: string, held: HeldDeletions): string {
  const files = `${held.count.toLocaleString('en-US')} file${held.count === 1 ? '' : 's'}`;
  const more = held.count > held.sample.length ? [`  … and ${(held.count - held.sample.length).toLocaleString('en-US')} more`] : [];
  return [
    ...wrap(held.reason),
    ...wrap(
      'So many deletions at once can mean the source is not what it should be (a drive not mounted, a folder ' +
        'moved or emptied by mistake). Nothing is deleted until you answer.',
    ),
    '',
    `The ${files} that mirroring would delete from ${destination}${held.count > held.sample.length ? ' include' : ''}:`,
    ...held.sample.map((p) => `  ${p}`),
    ...more,
  ].join('\n');
}

/** Words to lines of at most WIDTH characters (a longer word, a path say, gets a line of its own). */
export function wrap(text: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}
