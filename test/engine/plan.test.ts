import { describe, expect, it } from 'vitest';
import type { Entry, EntryType } from '../../src/core/entry.js';
import { RefusedError } from '../../src/core/errors.js';
import type { SyncMode } from '../../src/core/modes.js';
import { checkGuards } from '../../src/engine/guards.js';
import { doomedFiles, plan, type Action, type Plan, type PlanOptions } from '../../src/engine/plan.js';
import type { Tree } from '../../src/engine/tree.js';

const T0 = 1_700_000_000_000_000_000n;
const MS = 1_000_000n;

type Spec = string | [EntryType, Partial<Entry>?];

/** `{ 'a/b.txt': 'hello' }` is a file with that content's length; tuples give a type and overrides. */
function tree(spec: Record<string, Spec>, extra: Partial<Tree> = {}): Tree {
  const entries = new Map<string, Entry>();
  entries.set('', entry('', 'dir'));
  for (const [path, s] of Object.entries(spec)) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!entries.has(dir)) entries.set(dir, entry(parts[i - 1]!, 'dir'));
    }
    const name = parts[parts.length - 1]!;
    entries.set(
      path,
      typeof s === 'string' ? { ...entry(name, 'file'), size: s.length } : { ...entry(name, s[0]), ...s[1] },
    );
  }
  return { entries, errors: [], temps: [], holdsExcluded: new Set(), equalItems: 0, ...extra };
}

function entry(name: string, type: EntryType): Entry {
  return {
    name,
    type,
    size: 0,
    mtimeNs: T0,
    atimeNs: T0,
    mode: type === 'dir' ? 0o755 : 0o644,
    ...(type === 'symlink' ? { target: 'x' } : {}),
  };
}

function run(src: Tree, dst: Tree, mode: SyncMode, more: Partial<PlanOptions> = {}): Plan {
  return plan(src, dst, {
    mode,
    srcPrecisionNs: MS,
    dstPrecisionNs: MS,
    compareModes: true,
    allowDeletes: true,
    ...more,
  });
}

/** A plan as short strings, phase by phase, for readable table tests. */
function describePlan(p: Plan): string[] {
  const show = (a: Action) => {
    switch (a.op) {
      case 'mkdir':
        return `mkdir ${a.path}${a.replace.length ? ` (replacing ${a.replace.map((r) => r.path).join(',')})` : ''}`;
      case 'copy':
        return (
          `copy ${a.path}` +
          `${a.replace.length ? ` (replacing ${a.replace.map((r) => `${r.path}:${r.entry.type}`).join(',')})` : ''}`
        );
      case 'meta':
        return `meta ${a.path}${a.mtime ? ' mtime' : ''}${a.mode ? ' mode' : ''}`;
      case 'delete':
        return `${a.temp ? 'remove-temp' : 'delete'} ${a.path}`;
      case 'dirMeta':
        return `dirMeta ${a.path || '.'}${a.mode ? ' mode' : ''}`;
    }
  };
  return [...p.mkdirs, ...p.transfers, ...p.deletes, ...p.dirMetas]
    .map(show)
    .concat(p.skipped.map((s) => `skip ${s.path} ${s.reason}`));
}

describe('plan: mirror', () => {
  const cases: {
    name: string;
    src: Tree;
    dst: Tree;
    want: string[];
    unchanged?: number;
    more?: Partial<PlanOptions>;
  }[] = [
    {
      name: 'equal trees do nothing',
      src: tree({ 'a/b': 'xy', c: 'z' }),
      dst: tree({ 'a/b': 'xy', c: 'z' }),
      want: [],
      unchanged: 2,
    },
    {
      name: 'new file and folder',
      src: tree({ 'a/b': 'xy' }),
      dst: tree({}),
      want: ['mkdir a', 'copy a/b', 'dirMeta a mode', 'dirMeta .'],
    },
    {
      name: 'size change copies',
      src: tree({ f: 'abc' }),
      dst: tree({ f: 'ab' }),
      want: ['copy f (replacing f:file)', 'dirMeta .'],
    },
    {
      name: 'mtime beyond the window copies',
      src: tree({ f: ['file', { size: 3, mtimeNs: T0 + 2n * MS }] }),
      dst: tree({ f: ['file', { size: 3 }] }),
      want: ['copy f (replacing f:file)', 'dirMeta .'],
    },
    {
      name: 'mtime within the window is equal',
      src: tree({ f: ['file', { size: 3, mtimeNs: T0 + MS }] }),
      dst: tree({ f: ['file', { size: 3 }] }),
      want: [],
      unchanged: 1,
    },
    {
      name: 'checksum: same content, other mtime fixes metadata only',
      src: tree({ f: ['file', { size: 3, mtimeNs: T0 + 5n * MS }] }),
      dst: tree({ f: ['file', { size: 3 }] }),
      more: { contentDiffers: new Map([['f', false]]) },
      want: ['meta f mtime'],
      unchanged: 1,
    },
    {
      name: 'checksum: same size and mtime but other content copies',
      src: tree({ f: 'abc' }),
      dst: tree({ f: 'xyz' }),
      more: { contentDiffers: new Map([['f', true]]) },
      want: ['copy f (replacing f:file)', 'dirMeta .'],
    },
    {
      name: 'mode change only',
      src: tree({ f: ['file', { mode: 0o600 }] }),
      dst: tree({ f: ['file'] }),
      want: ['meta f mode'],
      unchanged: 1,
    },
    {
      name: 'modes ignored when a side has none',
      src: tree({ f: ['file', { mode: 0o600 }] }),
      dst: tree({ f: ['file'] }),
      more: { compareModes: false },
      want: [],
      unchanged: 1,
    },
    {
      name: 'extras deleted deepest first',
      src: tree({ keep: 'k' }),
      dst: tree({ keep: 'k', 'x/y/z': 'z', 'x/w': 'w' }),
      want: ['delete x/y/z', 'delete x/y', 'delete x/w', 'delete x', 'dirMeta .'],
      unchanged: 1,
    },
    {
      name: 'file becomes folder',
      src: tree({ p: ['dir'], 'p/q': 'q' }),
      dst: tree({ p: 'old' }),
      want: ['mkdir p (replacing p)', 'copy p/q', 'dirMeta p mode', 'dirMeta .'],
    },
    {
      name: 'folder becomes file: the folder and its contents are replaced, not deleted twice',
      src: tree({ p: 'new' }),
      dst: tree({ 'p/q': 'q', 'p/r/s': 's' }),
      want: ['copy p (replacing p/r/s:file,p/q:file,p/r:dir,p:dir)', 'dirMeta .'],
    },
    {
      name: 'file becomes symlink',
      src: tree({ l: ['symlink', { target: 't' }] }),
      dst: tree({ l: 'f' }),
      want: ['copy l (replacing l:file)', 'dirMeta .'],
    },
    {
      name: 'symlink target change',
      src: tree({ l: ['symlink', { target: 'new' }] }),
      dst: tree({ l: ['symlink', { target: 'old' }] }),
      want: ['copy l (replacing l:symlink)', 'dirMeta .'],
    },
    {
      name: 'special files are skipped',
      src: tree({ fifo: ['special'] }),
      dst: tree({}),
      want: ['skip fifo special-file'],
    },
    {
      name: 'our leftover temp files are removed',
      src: tree({}),
      dst: tree({}, { temps: ['a/.~synctray-0123456789abcdef.part'] }),
      want: ['remove-temp a/.~synctray-0123456789abcdef.part'],
    },
    {
      name: 'folders holding excluded items are kept',
      src: tree({}),
      dst: tree({ 'cache/x': 'x' }, { holdsExcluded: new Set(['cache', '']) }),
      want: ['delete cache/x'],
    },
    {
      name: 'no deletions when the source scan had errors',
      src: tree({ a: 'a' }),
      dst: tree({ a: 'a', extra: 'e' }),
      more: { allowDeletes: false },
      want: [],
      unchanged: 1,
    },
    {
      name: 'folder metadata only',
      src: tree({ d: ['dir', { mode: 0o700, mtimeNs: T0 + 9n * MS }] }),
      dst: tree({ d: ['dir'] }),
      want: ['dirMeta d mode'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const p = run(c.src, c.dst, 'mirror', c.more);
      expect(describePlan(p)).toEqual(c.want);
      if (c.unchanged !== undefined) expect(p.unchanged).toBe(c.unchanged);
    });
  }

  it('counts deleted files for the guard, replacements included', () => {
    const p = run(tree({ p: 'new' }), tree({ 'p/q': 'q', 'p/r/s': 's', other: 'o' }), 'mirror');
    expect(p.deletedFiles).toBe(3);
  });
  it('names the files it deletes or replaces by another kind of item, updates aside', () => {
    const src = tree({ p: 'new', l: ['symlink', { target: 't' }], 'd/x': 'x', c: 'changed', same: 's' });
    const dst = tree({ 'p/q': 'q', 'p/r/s': 's', l: 'data', d: 'file', c: 'old', same: 's', gone: 'g', 'old/y': 'y' });
    const p = run(src, dst, 'mirror');
    expect(doomedFiles(p).sort()).toEqual(['d', 'gone', 'l', 'old/y', 'p/q', 'p/r/s']);
    expect(doomedFiles(p)).toHaveLength(p.deletedFiles);
  });
});

describe('plan: update', () => {
  it('copies new and changed, never deletes', () => {
    const p = run(tree({ n: 'new', c: 'changed' }), tree({ c: 'old', extra: 'e' }), 'update');
    expect(describePlan(p)).toEqual(['copy n', 'copy c (replacing c:file)', 'dirMeta .']);
  });
  it('leaves a newer destination file alone', () => {
    const p = run(
      tree({ f: ['file', { size: 1 }] }),
      tree({ f: ['file', { size: 2, mtimeNs: T0 + 1000n * MS }] }),
      'update',
    );
    expect(describePlan(p)).toEqual(['skip f destination-newer']);
  });
  it('never replaces a destination folder by a file', () => {
    const p = run(tree({ p: 'file' }), tree({ 'p/q': 'q' }), 'update');
    expect(describePlan(p)).toEqual(['skip p type-conflict']);
  });
  it('never replaces a destination file by a folder or a link', () => {
    const p = run(tree({ 'p/q': 'q', l: ['symlink', { target: 't' }] }), tree({ p: 'file', l: 'data' }), 'update');
    expect(describePlan(p)).toEqual(['skip p type-conflict', 'skip l type-conflict']);
  });
});

describe('plan: what the destination listing could not see', () => {
  it('writes nothing into a destination folder that could not be listed, and keeps it', () => {
    const dst = tree(
      { locked: ['dir'], 'gone/x': 'x' },
      {
        errors: [{ path: 'locked', code: 'PERMISSION', message: 'locked: permission denied' }],
        holdsExcluded: new Set(['locked', '']),
      },
    );
    const p = run(tree({ 'locked/new': 'n', 'locked/sub/deep': 'd', other: 'o' }), dst, 'mirror');
    expect(describePlan(p)).toEqual(['copy other', 'delete gone/x', 'delete gone', 'dirMeta .']);
  });
});

describe('plan: case-insensitive destination', () => {
  it('matches items whatever their case, and never deletes what a case-only rename wrote', () => {
    const p = run(tree({ foo: 'new content' }), tree({ Foo: 'old' }), 'mirror', { dstCaseSensitive: false });
    expect(describePlan(p)).toEqual(['copy foo (replacing foo:file)', 'dirMeta .']);
  });
  it('a case-sensitive destination keeps both names apart', () => {
    const p = run(tree({ foo: 'new content' }), tree({ Foo: 'old' }), 'mirror');
    expect(describePlan(p)).toEqual(['copy foo', 'delete Foo', 'dirMeta .']);
  });
});

describe('plan: missing', () => {
  it('copies only what the destination lacks', () => {
    const p = run(tree({ n: 'new', c: 'changed', 'd/x': 'x' }), tree({ c: 'old', extra: 'e', d: ['dir'] }), 'missing');
    expect(describePlan(p)).toEqual(['copy n', 'copy d/x']);
    expect(p.deletes).toEqual([]);
  });
  it('skips a type conflict and everything below it', () => {
    const p = run(tree({ 'p/q': 'q', 'p/r/s': 's' }), tree({ p: 'file' }), 'missing');
    expect(describePlan(p)).toEqual(['skip p type-conflict']);
  });
  it('sets metadata on folders it creates only', () => {
    const p = run(tree({ 'n/x': 'x' }), tree({}), 'missing');
    expect(describePlan(p)).toEqual(['mkdir n', 'copy n/x', 'dirMeta n mode']);
  });
});

describe('guards', () => {
  const files = (n: number, prefix = 'f') =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, 'x']));
  const guard = (
    src: Tree,
    dst: Tree,
    more: { maxDelete?: number; force?: boolean; approvedDeletes?: ReadonlySet<string> } = {},
  ) => checkGuards(run(src, dst, 'mirror'), src, dst, { mode: 'mirror', ...more }, '/src', '/dst');

  it('refuses an empty source over a non-empty destination', () => {
    expect(() => guard(tree({}), tree({ a: 'a' }))).toThrow(/Source `\/src` is empty/);
    expect(() => guard(tree({}), tree({ a: 'a' }), { force: true })).not.toThrow();
  });
  it('refuses deleting more than half of more than ten files', () => {
    expect(() => guard(tree(files(5)), tree(files(12)))).toThrow(RefusedError);
    expect(() => guard(tree(files(6)), tree(files(12)))).not.toThrow();
    expect(() => guard(tree(files(1)), tree(files(10)))).not.toThrow();
  });
  it('--max-delete allows that many and no more', () => {
    expect(() => guard(tree(files(5)), tree(files(12)), { maxDelete: 7 })).not.toThrow();
    expect(() => guard(tree(files(5)), tree(files(12)), { maxDelete: 6 })).toThrow(/more than --max-delete 6/);
    expect(() => guard(tree(files(11)), tree(files(12)), { maxDelete: 0 })).toThrow(RefusedError);
  });
  it('deletions the user approved pass every guard, but not one file besides them', () => {
    const names = (from: number, to: number) => new Set(Array.from({ length: to - from }, (_, i) => `f${from + i}`));
    expect(() => guard(tree({}), tree(files(12)), { approvedDeletes: names(0, 12) })).not.toThrow();
    expect(() => guard(tree({}), tree(files(12)), { approvedDeletes: names(0, 11) })).toThrow(/is empty/);
    expect(() => guard(tree(files(5)), tree(files(12)), { approvedDeletes: names(5, 12) })).not.toThrow();
    expect(() => guard(tree(files(5)), tree(files(12)), { approvedDeletes: names(4, 12) })).not.toThrow();
    expect(() => guard(tree(files(4)), tree(files(12)), { approvedDeletes: names(5, 12) })).toThrow(
      /would delete 8 of the 12/,
    );
    // As many files as approved, but another one among them: not what the user saw.
    expect(() => guard(tree({ ...files(4), f5: 'x' }), tree(files(12)), { approvedDeletes: names(5, 12) })).toThrow(
      /would delete 7 of the 12/,
    );
  });
});

describe('plan: what the destination cannot hold is skipped and reported, never failed or deleted', () => {
  const exfat = {
    symlinks: false,
    maxName: { length: 255, unit: 'utf16' as const },
    names: { refused: ':*?"<>|\\', trailingDot: false, trailingSpace: false },
  };

  it('skips symlinks where the destination has none; a later run does the same and deletes nothing', () => {
    const src = tree({ f: 'x', link: ['symlink', { target: 'f' }] });
    const first = run(src, tree({}), 'mirror', { storable: exfat });
    expect(describePlan(first)).toEqual(['copy f', 'dirMeta .', 'skip link no-symlinks']);
    const again = run(src, tree({ f: 'x' }), 'mirror', { storable: exfat });
    expect(describePlan(again)).toEqual(['skip link no-symlinks']);
  });

  it('copies symlinks where the destination holds them', () => {
    const src = tree({ link: ['symlink', { target: 'f' }] });
    expect(describePlan(run(src, tree({}), 'mirror', { storable: { ...exfat, symlinks: true } }))).toEqual([
      'copy link',
      'dirMeta .',
    ]);
  });

  it('names both sides of a case clash in one skip, writes neither, and leaves the copy already there', () => {
    const src = tree({ 'Case.txt': 'AAA', 'case.txt': 'b', other: 'o' });
    const dst = tree({ 'Case.txt': 'old' });
    const p = run(src, dst, 'mirror', { storable: exfat, dstCaseSensitive: false });
    expect(p.skipped).toEqual([{ path: 'Case.txt', reason: 'case-clash', with: ['case.txt'] }]);
    expect(describePlan(p)).toEqual(['copy other', 'dirMeta .', 'skip Case.txt case-clash']);
    // The next run plans the same: no ping-pong between the two.
    expect(
      describePlan(
        run(src, tree({ 'Case.txt': 'old', other: 'o' }), 'mirror', { storable: exfat, dstCaseSensitive: false }),
      ),
    ).toEqual(['skip Case.txt case-clash']);
  });

  it('skips a whole folder caught in a case clash, with nothing below it reported or deleted', () => {
    const src = tree({ 'Dir/a': 'a', 'dir/a': 'b', 'dir/b': 'c' });
    const dst = tree({ 'Dir/a': 'a', 'Dir/gone': 'g' });
    const p = run(src, dst, 'mirror', { storable: exfat, dstCaseSensitive: false });
    expect(p.skipped).toEqual([{ path: 'Dir', reason: 'case-clash', with: ['dir'] }]);
    expect(p.deletes).toEqual([]);
    expect(p.transfers).toEqual([]);
  });

  it('sees no clash on a case-sensitive destination', () => {
    const p = run(tree({ 'Case.txt': 'a', 'case.txt': 'b' }), tree({}), 'mirror', {
      storable: exfat,
      dstCaseSensitive: true,
    });
    expect(p.skipped).toEqual([]);
    expect(p.transfers).toHaveLength(2);
  });

  it('skips files over the largest the destination holds', () => {
    const src = tree({ big: ['file', { size: 2 ** 32 }], fits: ['file', { size: 2 ** 32 - 1 }] });
    const p = run(src, tree({}), 'mirror', { storable: { symlinks: true, maxFileBytes: 2 ** 32 - 1 } });
    expect(describePlan(p)).toEqual(['copy fits', 'dirMeta .', 'skip big too-large']);
  });

  it('measures a name as the destination stores it: encoded, in bytes or UTF-16 units', () => {
    const colons = ':'.repeat(100); // 100 bytes as it is, 300 bytes encoded (full-width), 100 units either way
    const src = tree({ [colons]: 'x', ['é'.repeat(200)]: 'y' });
    const bytes = run(src, tree({}), 'mirror', { storable: { ...exfat, maxName: { length: 255, unit: 'byte' } } });
    expect(bytes.skipped.map((s) => s.reason)).toEqual(['name-too-long', 'name-too-long']);
    const units = run(src, tree({}), 'mirror', { storable: exfat });
    expect(units.skipped).toEqual([]);
    const plain = run(src, tree({}), 'mirror', {
      storable: { symlinks: true, maxName: { length: 255, unit: 'byte' } },
    });
    expect(plain.skipped.map((s) => s.path)).toEqual(['é'.repeat(200)]);
  });

  it('skips the names Windows reserves where the destination refuses them, and only there', () => {
    const src = tree({
      'aux.c': 'a',
      CON: 'c',
      'com1.txt': '1',
      'console.log': 'l',
      'nul ': 'n',
      'LPT9.x.y': 'p',
      'com0.txt': '0',
    });
    const refused = run(src, tree({}), 'mirror', { storable: { symlinks: true, reservedNames: true } });
    expect(refused.skipped.map((s) => s.path).sort()).toEqual(['CON', 'LPT9.x.y', 'aux.c', 'com1.txt', 'nul ']);
    expect(refused.transfers.map((a) => a.path).sort()).toEqual(['com0.txt', 'console.log']);
    expect(run(src, tree({}), 'mirror', { storable: { symlinks: true } }).skipped).toEqual([]);
  });

  it('leaves what is inside a folder whose name is too long to the folder skip', () => {
    const long = 'n'.repeat(300);
    const p = run(tree({ [`${long}/a`]: 'a', [`${long}/b`]: 'b' }), tree({}), 'mirror', { storable: exfat });
    expect(describePlan(p)).toEqual([`skip ${long} name-too-long`]);
  });
});

describe('plan: names that are one name on a case-insensitive drive', () => {
  it('folds as the drive does: a word-final ς and σ are both Σ', () => {
    const src = tree({
      'ΦΩΤΟΓΡΑΦΙΕΣ/a.txt': 'upper',
      'φωτογραφιες/a.txt': 'lower',
      'φωτογραφιεσ/b.txt': 'b',
    });
    const p = run(src, tree({}), 'mirror', { dstCaseSensitive: false });
    expect(p.skipped).toEqual([
      {
        path: 'ΦΩΤΟΓΡΑΦΙΕΣ',
        reason: 'case-clash',
        with: ['φωτογραφιες', 'φωτογραφιεσ'],
      },
    ]);
  });
});

describe('plan: times a drive cannot hold', () => {
  it('compares a time before 1980 or after 2107 as the drive holds it, not as a change', () => {
    const range = [315_532_800n * 1_000_000_000n, 4_354_819_199n * 1_000_000_000n] as const; // 1980 to 2107
    const src = tree({
      epoch: ['file', { mtimeNs: 0n, size: 1 }],
      far: ['file', { mtimeNs: 7_258_118_400n * 1_000_000_000n, size: 1 }],
      now: ['file', { size: 1 }],
    });
    const stored = tree({
      epoch: ['file', { mtimeNs: range[0], size: 1 }],
      far: ['file', { mtimeNs: range[1], size: 1 }],
      now: ['file', { size: 1 }],
    });
    expect(describePlan(run(src, stored, 'mirror', { dstTimeRange: range }))).toEqual([]);
    expect(describePlan(run(src, stored, 'mirror'))).toEqual([
      'copy epoch (replacing epoch:file)',
      'copy far (replacing far:file)',
      'dirMeta .',
    ]);
  });
});

describe('plan: a name in NFC and in NFD on a case-insensitive drive', () => {
  const nfc = 'caf\u00e9.txt';
  const nfd = 'cafe\u0301.txt';
  it('are two names on a drive that keeps forms apart (exFAT), one where it normalises (macOS)', () => {
    const src = tree({ [nfc]: 'a', [nfd]: 'b' });
    expect(run(src, tree({}), 'mirror', { dstCaseSensitive: false, dstNormalizesNames: false }).skipped).toEqual([]);
    expect(run(src, tree({}), 'mirror', { dstCaseSensitive: false, dstNormalizesNames: true }).skipped).toEqual([
      { path: nfd, reason: 'case-clash', with: [nfc] },
    ]);
  });
});
