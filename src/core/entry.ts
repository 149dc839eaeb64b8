/** What a path is. `special` covers FIFOs, sockets and devices: listed so they can be reported, never copied. */
export type EntryType = 'file' | 'dir' | 'symlink' | 'special';

/**
 * One item as a storage lists it, with the metadata the engine compares.
 * Times are integer nanoseconds since the epoch so that no precision is lost between stat and set;
 * a backend with coarser clocks fills in what it has (and says so in its capabilities).
 */
export interface Entry {
  name: string;
  type: EntryType;
  /** Bytes for files, 0 for everything else. */
  size: number;
  mtimeNs: bigint;
  atimeNs: bigint;
  /** Permission bits (0o7777 mask); 0 where the backend has none. */
  mode: number;
  /** Symlinks only: the link's text, never resolved. */
  target?: string;
  /**
   * Set where the item stands in for a symlink that was followed (`--links copy`): the path its
   * bytes (or, for a folder, its items) are read from. Its other fields are those of that item.
   */
  via?: string;
}

export const NS_PER_MS = 1_000_000n;
export const NS_PER_SEC = 1_000_000_000n;
