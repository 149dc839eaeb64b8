import type { HeldDeletions } from './service.js';

/** The held deletions in words, for the tray's dialog and `synctray pair deletions`. */
export function heldSummary(destination: string, held: HeldDeletions): string {
  const files = `${held.count.toLocaleString('en-US')} file${held.count === 1 ? '' : 's'}`;
  const more = held.count > held.sample.length ? [`… and ${(held.count - held.sample.length).toLocaleString('en-US')} more`] : [];
  return [
    `${held.reason}`,
    '',
    `Mirroring would delete ${files} from ${destination}, among them:`,
    ...held.sample.map((p) => `  ${p}`),
    ...more,
  ].join('\n');
}
