import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  NO_RULES,
  decodePath,
  encodePath,
  nameCodec,
  rulesRefuseNothing,
  type NameRules,
} from '../../src/core/name-encoding.js';
import { HOSTILE_NAMES } from '../helpers/tree-arbitraries.js';

const CONTROLS = Array.from({ length: 31 }, (_, i) => String.fromCharCode(i + 1)).join('');
/** FAT32 and Windows: the reserved characters, controls, and no trailing dot or space. */
const FAT: NameRules = { refused: `\\:*?"<>|${CONTROLS}`, trailingDot: true, trailingSpace: true };
/** What exfat-fuse was seen to refuse (drives-notes): only some, and it keeps a trailing dot. */
const EXFAT_FUSE: NameRules = { refused: ':?*"|', trailingDot: false, trailingSpace: false };

const fat = nameCodec(FAT);
const exfat = nameCodec(EXFAT_FUSE);
const Q = '\u201b'; // ‛

describe('each rule on its own', () => {
  const lookAlikes: [string, string][] = [
    [':', '\uff1a'],
    ['?', '\uff1f'],
    ['*', '\uff0a'],
    ['"', '\uff02'],
    ['<', '\uff1c'],
    ['>', '\uff1e'],
    ['|', '\uff5c'],
    ['\\', '\uff3c'],
  ];
  it.each(lookAlikes)('a refused %j is stored as its full-width look-alike %s, and read back', (ch, look) => {
    expect(fat.encode(`a${ch}b${ch}`)).toBe(`a${look}b${look}`);
    expect(fat.decode(`a${look}b${look}`)).toBe(`a${ch}b${ch}`);
  });

  it('a character the drive accepts is kept, and so is its look-alike', () => {
    expect(exfat.encode('a<b>\\')).toBe('a<b>\\');
    expect(exfat.encode('a\uff1cb')).toBe('a\uff1cb');
    expect(exfat.decode('a\uff1cb')).toBe('a\uff1cb');
    expect(exfat.encode('a:b')).toBe('a\uff1ab');
  });

  it.each([
    ['\x01', '\u2401'],
    ['\t', '\u2409'],
    ['\n', '\u240a'],
    ['\x1f', '\u241f'],
  ])('a refused control %j is stored as its picture %s', (ch, look) => {
    expect(fat.encode(`a${ch}`)).toBe(`a${look}`);
    expect(fat.decode(`a${look}`)).toBe(`a${ch}`);
  });

  it('only the controls refused are encoded', () => {
    const codec = nameCodec({ refused: '\t', trailingDot: false, trailingSpace: false });
    expect(codec.encode('a\tb\nc')).toBe('a\u2409b\nc');
    expect(codec.encode('\u240a')).toBe('\u240a');
  });

  it('a space or DEL refused anywhere takes its picture too', () => {
    const codec = nameCodec({ refused: ' \x7f', trailingDot: false, trailingSpace: false });
    expect(codec.encode(' a b\x7f')).toBe('\u2420a\u2420b\u2421');
    expect(codec.decode('\u2420a\u2420b\u2421')).toBe(' a b\x7f');
  });

  it.each([
    ['a.', 'a\uff0e'],
    ['a..', 'a.\uff0e'],
    ['...', '..\uff0e'],
    [' ...', ' ..\uff0e'],
    ['a.b', 'a.b'],
    ['.hidden', '.hidden'],
  ])('a trailing dot: %j is stored as %j', (name, stored) => {
    const codec = nameCodec({ refused: '', trailingDot: true, trailingSpace: false });
    expect(codec.encode(name)).toBe(stored);
    expect(codec.decode(stored)).toBe(name);
    expect(exfat.encode(name)).toBe(name);
  });

  it.each([
    ['a ', 'a\u2420'],
    ['a  ', 'a \u2420'],
    [' a', ' a'],
    ['a b', 'a b'],
  ])('a trailing space: %j is stored as %j', (name, stored) => {
    const codec = nameCodec({ refused: '', trailingDot: false, trailingSpace: true });
    expect(codec.encode(name)).toBe(stored);
    expect(codec.decode(stored)).toBe(name);
  });

  it('with both refused only the last character is encoded: nothing is left for Windows to strip', () => {
    expect(fat.encode('a. ')).toBe('a.\u2420');
    expect(fat.encode('a .')).toBe('a \uff0e');
    expect(fat.encode('. .')).toBe('. \uff0e');
    expect(fat.decode('a.\u2420')).toBe('a. ');
  });

  it('names with nothing to encode come back as they were', () => {
    for (const name of ['file.txt', 'with space', "it's", '日本語', '🎉 party', '.hidden']) {
      expect(fat.encode(name)).toBe(name);
      expect(fat.decode(name)).toBe(name);
    }
  });

  it('both Unicode normal forms are kept as they are', () => {
    for (const name of ['caf\u00e9', 'cafe\u0301', 'cafe\u0301:', 'cafe\u0301.']) {
      const stored = fat.encode(name);
      expect(stored.normalize('NFC') === stored).toBe(name.normalize('NFC') === name);
      expect(fat.decode(stored)).toBe(name);
    }
    expect(fat.encode('cafe\u0301:')).toBe('cafe\u0301\uff1a');
  });
});

describe('look-alikes and the quote mark a name really holds', () => {
  it.each([
    ['a\uff1ab', `a${Q}\uff1ab`],
    ['\uff1f', `${Q}\uff1f`],
    ['\u2401', `${Q}\u2401`],
    ['a\uff0e', `a${Q}\uff0e`], // a real full-width dot at the end
    ['a\u2420', `a${Q}\u2420`],
    ['a\uff0eb', 'a\uff0eb'], // not at the end: nothing special
    ['a\u2420b', 'a\u2420b'],
  ])('a literal look-alike %j is quoted where it would be special: %j', (name, stored) => {
    expect(fat.encode(name)).toBe(stored);
    expect(fat.decode(stored)).toBe(name);
  });

  it.each([
    [Q, Q],
    [`it${Q}s`, `it${Q}s`],
    [`${Q}${Q}a`, `${Q}${Q}a`],
    [`a${Q}`, `a${Q}`],
    [`${Q}:`, `${Q}${Q}\uff1a`],
    [`${Q}\uff1a`, `${Q}${Q}${Q}\uff1a`],
    [`${Q}${Q}:`, `${Q.repeat(4)}\uff1a`],
    [`x${Q} `, `x${Q}${Q}\u2420`],
    [`x${Q}.`, `x${Q}${Q}\uff0e`],
    [`x${Q}\uff0e`, `x${Q}${Q}${Q}\uff0e`],
    [`x${Q}.y`, `x${Q}.y`],
  ])('the quote mark %j is doubled only before something special: %j', (name, stored) => {
    expect(fat.encode(name)).toBe(stored);
    expect(fat.decode(stored)).toBe(name);
  });

  it('the stored name of a quote before a trailing dot still ends in no dot', () => {
    expect(fat.encode(`${Q}.`)).toBe(`${Q}${Q}\uff0e`);
    expect(fat.encode(`.${Q}.`).endsWith('.')).toBe(false);
  });
});

describe('decoding names no encoder wrote (put on the drive by someone else)', () => {
  it.each([
    ['a\uff1ab', 'a:b'], // rclone's reading: an unquoted look-alike stands for its character
    ['a\uff0e', 'a.'],
    [`${Q}a`, `${Q}a`],
    [Q, Q],
    [`${Q}${Q}`, `${Q}${Q}`],
    [`a${Q}\uff0eb`, `a${Q}\uff0eb`], // the dot is mid-name, so the quote quotes nothing
    ['\u2400', '\u2400'], // ␀ is not NUL here, unlike rclone
    ['a:b', 'a:b'], // a refused character someone wrote anyway stays
  ])('%j reads as %j', (stored, name) => {
    expect(fat.decode(stored)).toBe(name);
  });

  it('never yields . or .., which would step out of the folder', () => {
    expect(fat.decode('\uff0e')).toBe('\uff0e');
    expect(fat.decode('.\uff0e')).toBe('.\uff0e');
    const dots = nameCodec({ refused: '.', trailingDot: false, trailingSpace: false });
    expect(dots.decode('\uff0e\uff0e')).toBe('\uff0e\uff0e');
    expect(dots.decode('\uff0e\uff0e\uff0e')).toBe('...');
  });
});

describe('rules that refuse nothing', () => {
  it('give the identity, which returns the very string', () => {
    const codec = nameCodec(NO_RULES);
    expect(codec.identity).toBe(true);
    expect(rulesRefuseNothing(NO_RULES)).toBe(true);
    for (const name of ['a:b', 'a.', 'a ', '\uff1a', Q, '\x01']) {
      expect(codec.encode(name)).toBe(name);
      expect(codec.decode(name)).toBe(name);
    }
  });

  it("'/' and NUL never occur in a name, so refusing them refuses nothing", () => {
    const rules = { refused: '/\0', trailingDot: false, trailingSpace: false };
    expect(rulesRefuseNothing(rules)).toBe(true);
    expect(nameCodec(rules).identity).toBe(true);
    expect(nameCodec(FAT).identity).toBe(false);
    expect(rulesRefuseNothing({ ...NO_RULES, trailingSpace: true })).toBe(false);
    expect(rulesRefuseNothing({ ...NO_RULES, refused: '/:' })).toBe(false);
  });

  it('a refused character with no look-alike is a TypeError naming it', () => {
    expect(() => nameCodec({ ...NO_RULES, refused: ':é' })).toThrow(TypeError);
    expect(() => nameCodec({ ...NO_RULES, refused: ':é' })).toThrow(/"é"/);
  });
});

describe('paths', () => {
  it('are encoded and decoded component by component', () => {
    expect(encodePath(fat, 'a:b/c./d')).toBe('a\uff1ab/c\uff0e/d');
    expect(decodePath(fat, 'a\uff1ab/c\uff0e/d')).toBe('a:b/c./d');
    expect(encodePath(fat, '')).toBe('');
    expect(decodePath(fat, '')).toBe('');
    expect(encodePath(nameCodec(NO_RULES), 'a:b/c.')).toBe('a:b/c.');
  });
});

/**
 * What rclone does with the same names: its local backend with the encoding
 * Colon,Question,Asterisk,DoubleQuote,LtGt,Pipe,BackSlash,Ctl,RightPeriod,RightSpace (rclone 1.60,
 * copying a folder of such names in and listing one out), so a drive written by one reads back in
 * the other.
 */
describe('as rclone does', () => {
  it.each([
    ['a:b', 'a\uff1ab'],
    ['a\uff1ab', `a${Q}\uff1ab`],
    ['a.', 'a\uff0e'],
    ['a ', 'a\u2420'],
    ['a. ', 'a.\u2420'],
    ['a\uff0e', `a${Q}\uff0e`],
    ['a\uff0eb', 'a\uff0eb'],
    ['\x01', '\u2401'],
    ['\u2401', `${Q}\u2401`],
    [`x${Q}:`, `x${Q}${Q}\uff1a`],
    [`x${Q} `, `x${Q}${Q}\u2420`],
  ])('%j is stored as %j by both', (name, stored) => {
    expect(fat.encode(name)).toBe(stored);
  });

  it('differs on purpose where rclone would read two drive names as one, or misread its own', () => {
    // rclone stores it‛‛s for it‛s, and reads both it‛s and it‛‛s as it‛s.
    expect(fat.encode(`it${Q}s`)).toBe(`it${Q}s`);
    expect(fat.decode(`it${Q}${Q}s`)).toBe(`it${Q}${Q}s`);
    // rclone reads its own x‛‛␠ (for "x‛ ") as "x‛␠": it looks only at the one character before ␠.
    expect(fat.decode(`x${Q}${Q}\u2420`)).toBe(`x${Q} `);
  });
});

// Characters that make trouble for this encoding: every refusable kind, their look-alikes, the
// quote mark, and ordinary text of several widths, so short names meet every boundary.
const ALPHABET = [
  'a',
  'Z',
  '.',
  ' ',
  ':',
  '?',
  '*',
  '"',
  '<',
  '>',
  '|',
  '\\',
  '\x01',
  '\t',
  '\x1f',
  '\x7f',
  '\uff1a',
  '\uff1f',
  '\uff0a',
  '\uff02',
  '\uff1c',
  '\uff1e',
  '\uff5c',
  '\uff3c',
  '\uff0e',
  '\u2420',
  '\u2401',
  '\u2409',
  '\u241f',
  '\u2421',
  '\u2400',
  Q,
  Q,
  Q,
  'é',
  'e\u0301',
  '🎉',
];
const REFUSABLE = [...':?*"<>|\\. \x7f/', '\x01', '\t', '\x1f'];

const arbRules: fc.Arbitrary<NameRules> = fc.record({
  refused: fc.subarray(REFUSABLE).map((cs) => cs.join('')),
  trailingDot: fc.boolean(),
  trailingSpace: fc.boolean(),
});
const arbName: fc.Arbitrary<string> = fc
  .oneof(
    {
      arbitrary: fc.array(fc.constantFrom(...ALPHABET), { minLength: 1, maxLength: 10 }).map((cs) => cs.join('')),
      weight: 4,
    },
    { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }), weight: 1 },
  )
  .map((name) => name.replaceAll('/', '_').replaceAll('\0', '_'))
  .filter((name) => name !== '.' && name !== '..');

/** A name the drive holds: nothing it refuses, no ending it refuses. */
function storable(rules: NameRules, name: string): boolean {
  for (const ch of rules.refused) if (ch !== '/' && ch !== '\0' && name.includes(ch)) return false;
  return !(rules.trailingDot && name.endsWith('.')) && !(rules.trailingSpace && name.endsWith(' '));
}

describe('properties', () => {
  it('every name comes back from its stored name', () => {
    fc.assert(
      fc.property(arbRules, arbName, (rules, name) => {
        const codec = nameCodec(rules);
        expect(codec.decode(codec.encode(name))).toBe(name);
      }),
      { numRuns: 3000 },
    );
  });

  it('a stored name holds nothing the drive refuses', () => {
    fc.assert(
      fc.property(arbRules, arbName, (rules, name) => {
        expect(storable(rules, nameCodec(rules).encode(name))).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('two different names are never stored as one', () => {
    fc.assert(
      fc.property(arbRules, arbName, arbName, (rules, a, b) => {
        fc.pre(a !== b);
        const codec = nameCodec(rules);
        expect(codec.encode(a)).not.toBe(codec.encode(b));
      }),
      { numRuns: 3000 },
    );
  });

  it(
    'every name the drive holds, but the two that would stand for . and .., ' + 'is stored for the name it reads as',
    () => {
      fc.assert(
        fc.property(arbRules, arbName, (rules, stored) => {
          fc.pre(storable(rules, stored));
          const codec = nameCodec(rules);
          const name = codec.decode(stored);
          if ([codec.encode('.'), codec.encode('..')].includes(stored)) expect(name).toBe(stored);
          else expect(codec.encode(name)).toBe(stored);
        }),
        { numRuns: 3000 },
      );
    },
  );

  it('rules that refuse nothing change no string', () => {
    fc.assert(
      fc.property(fc.subarray(['/', '\0']), fc.string({ unit: 'binary' }), (refused, s) => {
        const codec = nameCodec({ refused: refused.join(''), trailingDot: false, trailingSpace: false });
        expect(codec.identity).toBe(true);
        expect(codec.encode(s)).toBe(s);
        expect(codec.decode(s)).toBe(s);
      }),
    );
  });

  it('decoding any string whatever returns a name, never . or .., and never throws', () => {
    fc.assert(
      fc.property(arbRules, fc.oneof(fc.string({ unit: 'binary' }), arbName), (rules, s) => {
        const name = nameCodec(rules).decode(s);
        expect(name === '').toBe(s === '');
        if (s !== '.' && s !== '..') expect(['.', '..']).not.toContain(name);
        expect(name.includes('/')).toBe(s.includes('/'));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('every short name over the troublesome characters', () => {
  const letters = ['a', '.', ' ', ':', '\uff1a', '\uff0e', '\u2420', Q];
  const names: string[] = [];
  const grow = (prefix: string, left: number) => {
    if (prefix !== '') names.push(prefix);
    if (left > 0) for (const l of letters) grow(prefix + l, left - 1);
  };
  grow('', 5);
  const all = names.filter((n) => n !== '.' && n !== '..');

  it.each([
    ['FAT', FAT],
    ['exfat-fuse', EXFAT_FUSE],
    ['trailing dot only', { refused: '', trailingDot: true, trailingSpace: false }],
    ['dots and spaces anywhere', { refused: '. ', trailingDot: true, trailingSpace: false }],
  ] as [string, NameRules][])('%s: one stored name each, each storable, each read back', (_, rules) => {
    const codec = nameCodec(rules);
    const stored = new Map<string, string>();
    for (const name of all) {
      const s = codec.encode(name);
      expect(storable(rules, s), JSON.stringify([name, s])).toBe(true);
      expect(codec.decode(s), JSON.stringify([name, s])).toBe(name);
      expect(stored.get(s), JSON.stringify([name, s])).toBeUndefined();
      stored.set(s, name);
    }
    const standsForDots = [codec.encode('.'), codec.encode('..')];
    for (const s of all.filter((n) => storable(rules, n) && !standsForDots.includes(n))) {
      expect(stored.get(s), JSON.stringify(s)).toBe(codec.decode(s));
    }
  });

  it('FAT: the hostile names of the tree tests come back', () => {
    for (const name of HOSTILE_NAMES) expect(fat.decode(fat.encode(name))).toBe(name);
  });
});
