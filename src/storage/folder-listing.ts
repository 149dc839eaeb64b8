import type { Entry } from '../core/entry.js';
import type { FolderListing } from './storage.js';

/** A FolderListing from a plain list() result: no summary, so never compared whole. */
export function plainFolder(entries: Entry[]): FolderListing {
  return {
    summary: undefined,
    nonFolders: entries.filter((e) => e.type !== 'dir').length,
    entries: () => entries,
    folders: () => entries.filter((e) => e.type === 'dir'),
    namesInclude: (fragment) => entries.some((e) => e.name.includes(fragment)),
  };
}
