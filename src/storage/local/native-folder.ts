import type { Entry } from '../../core/entry.js';
import type { FolderListing } from '../storage.js';
import { META_PER_ITEM, NATIVE_KINDS, TIMES_PER_ITEM, type NativeListing } from './native.js';

const DIR = NATIVE_KINDS.indexOf('dir');

/** A folder as the native library listed it, its entries built only when asked for. */
export class NativeFolder implements FolderListing {
  readonly summary: string | undefined;
  readonly nonFolders: number;
  private readonly names: string;
  private readonly meta: Float64Array;
  private readonly times: BigInt64Array;
  private readonly targets: string;

  constructor([names, meta, times, targets, summary]: NativeListing) {
    this.names = names;
    this.meta = meta;
    this.times = times;
    this.targets = targets;
    this.summary = summary === '' ? undefined : summary;
    let folders = 0;
    for (let m = 0; m < meta.length; m += META_PER_ITEM) if (meta[m] === DIR) folders++;
    this.nonFolders = meta.length / META_PER_ITEM - folders;
  }

  entries(): Entry[] {
    return this.build(false);
  }

  folders(): Entry[] {
    return this.nonFolders * META_PER_ITEM === this.meta.length ? [] : this.build(true);
  }

  namesInclude(fragment: string): boolean {
    return this.names.includes(fragment);
  }

  private build(foldersOnly: boolean): Entry[] {
    const { meta, times } = this;
    const count = meta.length / META_PER_ITEM;
    // Names and link texts each come as one string, every part ended by NUL.
    const names = this.names.split('\0');
    const targets = this.targets.split('\0');
    const entries: Entry[] = [];
    let link = 0;
    for (let i = 0; i < count; i++) {
      const m = i * META_PER_ITEM;
      const t = i * TIMES_PER_ITEM;
      const type = NATIVE_KINDS[meta[m]!]!;
      const target = type === 'symlink' ? targets[link++]! : undefined;
      if (foldersOnly && type !== 'dir') continue;
      const entry: Entry = {
        name: names[i]!,
        type,
        size: meta[m + 1]!,
        mtimeNs: times[t]!,
        atimeNs: times[t + 1]!,
        mode: meta[m + 2]!,
      };
      if (target !== undefined) entry.target = target;
      entries.push(entry);
    }
    return entries;
  }
}
