/**
 * fast-check arbitraries for random trees (see tree-spec.ts): hostile names, boundary mtimes,
 * modes, sizes around chunk boundaries, symlinks that may dangle, nested folders.
 */
import fc from 'fast-check';
import { NS_PER_SEC } from './mtimes.js';
import type { DirSpec, FileSpec, LinkSpec, NodeSpec } from './tree-spec.js';

/**
 * Names a careless sync tool gets wrong: spaces (leading and trailing too), quotes, a leading dash,
 * shell and glob characters, both Unicode normal forms of one word, emoji, a 255-byte name, and
 * a name that looks like, but is not, one of the engine's temp files.
 */
export const HOSTILE_NAMES: readonly string[] = [
  'a',
  'B',
  'file.txt',
  'with space',
  ' leading space',
  'trailing space ',
  'ünïcødé',
  'caf\u00e9',
  'cafe\u0301',
  '日本語のファイル',
  '🎉 party',
  "it's",
  '"double quoted"',
  '-dash',
  '--double-dash',
  '#hash',
  'semi;colon & amp',
  'back\\slash',
  '$HOME',
  '*star?',
  '[brackets]',
  '.hidden',
  '~tilde',
  '.~synctray-notatemp.part',
  'x'.repeat(255),
];

/** Few short names, so two independently drawn trees share many paths. */
export const OVERLAPPING_NAMES: readonly string[] = ['a', 'b', 'c d', 'é'];

export const FILE_MODES = [0o644, 0o600, 0o755, 0o444] as const;
export const DIR_MODES = [0o755, 0o700] as const;

const SECOND_BASES = [
  1_700_000_000n, // 2023
  1_000_000_000n, // 2001
  2_147_483_647n, // the last second a signed 32-bit time_t holds
  4_102_444_800n, // 2100
  315_532_800n, // 1980, the FAT epoch
];

/**
 * Mtimes as integer nanoseconds: whole seconds, X.999999999, X.000000001, odd nanoseconds, all
 * around a few bases with neighbouring seconds so boundary cases meet. With `pre1970`, some are
 * before the epoch (whole or half seconds: the only kind Node can set exactly there).
 */
export function arbMtimeNs(options: { pre1970?: boolean } = {}): fc.Arbitrary<bigint> {
  const positive = fc
    .tuple(
      fc.constantFrom(...SECOND_BASES),
      fc.integer({ min: -2, max: 2 }),
      fc.oneof(
        fc.constant(0),
        fc.constant(999_999_999),
        fc.constant(1),
        fc.constant(500_000_000),
        fc.constant(999_999_000),
        fc.integer({ min: 0, max: 999_999_999 }),
      ),
    )
    .map(([base, offset, nanos]) => (base + BigInt(offset)) * NS_PER_SEC + BigInt(nanos));
  if (!options.pre1970) return positive;
  const negative = fc
    .tuple(fc.constantFrom(-1n, -2n, -31_536_000n), fc.boolean())
    .map(([sec, half]) => sec * NS_PER_SEC + (half ? NS_PER_SEC / 2n : 0n));
  return fc.oneof({ arbitrary: positive, weight: 9 }, { arbitrary: negative, weight: 1 });
}

export interface TreeOptions {
  names: readonly string[];
  /** Most items directly in one folder. */
  maxChildren?: number;
  /** Folder nesting below the root. */
  maxDepth?: number;
  pre1970?: boolean;
}

export interface TreeArbs {
  mtime: fc.Arbitrary<bigint>;
  name: fc.Arbitrary<string>;
  file: fc.Arbitrary<FileSpec>;
  link: fc.Arbitrary<LinkSpec>;
  /** A folder with random contents. */
  dir: fc.Arbitrary<DirSpec>;
  /** The root of a tree: a folder holding at least one item, often many. */
  root: fc.Arbitrary<DirSpec>;
}

/** Arbitraries for random trees drawn from `names`. */
export function treeArbs(options: TreeOptions): TreeArbs {
  const { names, maxChildren = 5, maxDepth = 3 } = options;
  const mtime = arbMtimeNs({ pre1970: options.pre1970 });
  const name = fc.constantFrom(...names);
  const size = fc.oneof(
    { arbitrary: fc.constant(0), weight: 2 },
    { arbitrary: fc.integer({ min: 1, max: 64 }), weight: 4 },
    { arbitrary: fc.integer({ min: 65, max: 70_000 }), weight: 3 },
    // Around the 1 MiB a local read yields at a time, so comparisons cross a chunk boundary.
    { arbitrary: fc.integer({ min: (1 << 20) - 2, max: (1 << 20) + 2 }), weight: 1 },
  );
  const file: fc.Arbitrary<FileSpec> = fc.record({
    type: fc.constant('file' as const),
    size,
    seed: fc.integer({ min: 0, max: 0x7fffffff }),
    mode: fc.constantFrom(...FILE_MODES),
    mtimeNs: mtime,
  });
  // Relative targets only: siblings (which may or may not exist), up and down the tree, and
  // plainly dangling ones.
  const target = fc.oneof(
    name,
    name.map((n) => `../${n}`),
    fc.tuple(name, name).map(([a, b]) => `${a}/${b}`),
    fc.constantFrom('nowhere', '../../missing/deep', '.', '..', 'dir with space/'),
  );
  const link: fc.Arbitrary<LinkSpec> = fc.record({ type: fc.constant('symlink' as const), target, mtimeNs: mtime });
  const depthIdentifier = fc.createDepthIdentifier();
  const { dir, node } = fc.letrec<{ node: NodeSpec; dir: DirSpec }>((tie) => ({
    node: fc.oneof(
      { maxDepth, depthIdentifier, depthSize: 'medium', withCrossShrink: true },
      { arbitrary: file, weight: 5 },
      { arbitrary: link, weight: 2 },
      { arbitrary: tie('dir'), weight: 2 },
    ),
    dir: fc.record({
      type: fc.constant('dir' as const),
      mode: fc.constantFrom(...DIR_MODES),
      mtimeNs: mtime,
      children: fc.uniqueArray(fc.tuple(name, tie('node')), {
        selector: ([n]) => n,
        maxLength: maxChildren,
        depthIdentifier,
        size: 'medium',
      }),
    }),
  }));
  const root: fc.Arbitrary<DirSpec> = fc.record({
    type: fc.constant('dir' as const),
    mode: fc.constantFrom(...DIR_MODES),
    mtimeNs: mtime,
    children: fc.uniqueArray(fc.tuple(name, node), {
      selector: ([n]) => n,
      minLength: 1,
      maxLength: 2 * maxChildren,
      size: 'medium',
    }),
  });
  return { mtime, name, file, link, dir, root };
}
