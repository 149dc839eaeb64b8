/**
 * Names a drive refuses, stored under a reversible encoding so they are still backed up
 * (issue 14, point 3). The engine only ever sees decoded names; a storage whose drive refuses
 * something encodes each path component on the way to the disk and decodes each listed name.
 *
 * The encoding is rclone's (lib/encoder), so a drive written by one tool reads back in the other:
 * a refused character is stored as a Unicode look-alike, and a look-alike the name really holds is
 * told apart by the quote mark ‛ (U+201B) in front of it. Where this file deliberately differs
 * from rclone, the rule below says so.
 */

/** What a drive was seen to refuse (the probe measures it). */
export interface NameRules {
  /** Characters the drive refuses anywhere in a name, e.g. ':*?"<>|\\' ; may include control chars. */
  readonly refused: string;
  /** The drive refuses (or silently drops) a trailing dot / a trailing space. */
  readonly trailingDot: boolean;
  readonly trailingSpace: boolean;
}

/** A drive that stores every name a path component can hold (ext4, tmpfs, NTFS through ntfs-3g). */
export const NO_RULES: NameRules = Object.freeze({ refused: '', trailingDot: false, trailingSpace: false });

/** Encodes and decodes one name component under one rule set; build it once with nameCodec. */
export interface NameCodec {
  /** True when the rules refuse nothing: encode and decode return their argument. */
  readonly identity: boolean;
  /** A name as the engine has it (non-empty, no '/', not '.' or '..') to the name stored on the drive. */
  encode(name: string): string;
  /** A name listed on the drive to the name the engine sees; never throws. */
  decode(name: string): string;
}

const QUOTE = 0x201b; // ‛ SINGLE HIGH-REVERSED-9 QUOTATION MARK, rclone's QuoteRune
const DOT = 0x2e;
const SPACE = 0x20;
const SLASH = 0x2f;
const QUOTE_CHAR = String.fromCharCode(QUOTE);
// What nameCodec's storedAs returns beside look-alike codes, which are all above 0x2400.
const PLAIN = -1;
const QUOTED = -2;

/**
 * The look-alike a refused character is stored as, as rclone picks it: controls (and a space
 * refused anywhere) take their picture from the Control Pictures block (0x01 → ␁ U+2401,
 * space → ␠ U+2420), DEL takes ␡ (U+2421), and the other printable ASCII characters their
 * FULLWIDTH form (':' → '：' U+FF1A, '.' → '．' U+FF0E). NUL and '/' never occur in a name
 * component, so refusing them changes nothing (-1). Outside ASCII nothing is defined.
 */
function lookAlikeOf(code: number): number {
  if (code === 0 || code === SLASH) return -1;
  if (code <= SPACE) return 0x2400 + code;
  if (code === 0x7f) return 0x2421;
  if (code < 0x7f) return code + 0xfee0;
  throw new TypeError(
    `NameRules.refused holds ${JSON.stringify(String.fromCharCode(code))}, which has no look-alike to store it ` +
      'under: only ASCII characters can be refused.',
  );
}

/** The characters `rules` make encode change, anywhere in a name and at its end only. */
function mappings(rules: NameRules): { anywhere: Map<number, number>; atEnd: Map<number, number> } {
  const anywhere = new Map<number, number>();
  for (let i = 0; i < rules.refused.length; i++) {
    const code = rules.refused.charCodeAt(i);
    const look = lookAlikeOf(code);
    if (look >= 0) anywhere.set(code, look);
  }
  const atEnd = new Map<number, number>();
  // A dot or space refused anywhere is already taken care of at the end too.
  if (rules.trailingDot && !anywhere.has(DOT)) atEnd.set(DOT, lookAlikeOf(DOT));
  if (rules.trailingSpace && !anywhere.has(SPACE)) atEnd.set(SPACE, lookAlikeOf(SPACE));
  return { anywhere, atEnd };
}

/** True when no name changes under `rules`: the codec for them is the identity. */
export function rulesRefuseNothing(rules: NameRules): boolean {
  if (rules.trailingDot || rules.trailingSpace) return false;
  for (let i = 0; i < rules.refused.length; i++) {
    const code = rules.refused.charCodeAt(i);
    if (code !== 0 && code !== SLASH) return false;
  }
  return true;
}

const IDENTITY: NameCodec = Object.freeze({
  identity: true,
  encode: (name: string) => name,
  decode: (name: string) => name,
});

/**
 * The rule. Call a character *special* at a place in a stored name when it is the look-alike of a
 * character the rules refuse anywhere, or, in the last place only, the look-alike of a trailing dot
 * or space the rules refuse (．, ␠). A look-alike the rules do not use is an ordinary character.
 *
 * encode, character by character:
 * - a refused character becomes its look-alike (lookAlikeOf); so does a final '.' or ' ' where the
 *   rules refuse a trailing dot or space. Only the final character counts, as on Windows, which
 *   strips the dots and spaces at the end and so never sees one once the last is encoded: "a. "
 *   is stored as "a.␠".
 * - a character that would be special in its place is stored with ‛ in front ("：" → "‛：");
 * - a run of ‛ directly before a special character of the stored name (a look-alike written for a
 *   refused character, or a quoted one) is doubled, so the reader can tell the quote marks the name
 *   holds from the one that quotes; any other ‛ is stored as it is.
 *
 * decode undoes exactly that, left to right: a special character alone becomes the character it
 * stands for; a run of k ‛ before a special character is ⌊k/2⌋ ‛ followed, when k is odd, by the
 * special character as it is, and when k is even, by what it stands for; every other character,
 * a run of ‛ before an ordinary one included, stays as it is.
 *
 * What follows:
 * - decode(encode(x)) === x for every name x, so encode never stores two names as one.
 * - No stored name holds a refused character or ends in a refused dot or space.
 * - Every name the drive can hold (no refused character, no refused ending), but the two named
 *   below, is what encode stores for exactly one name, decode(y): a file someone else put on the
 *   drive is seen under one name and written back under the same name, and no two files on the
 *   drive read as one name.
 * - A name holding a refused character anyway (written by something that did not refuse it) stays
 *   as it is, and then decodes to the same name as its encoded twin ("a:b" and "a：b"); the storage
 *   must report the clash rather than write one over the other.
 * - decode never yields '.' or '..', so a decoded name never steps outside its folder: the stored
 *   names that would stand for them ("．" and ".．" where a trailing dot is refused), which encode
 *   never writes, stay as listed. They are the only names the drive can hold that read as the same
 *   name as another ("‛．", ".‛．"). Nor does decode yield '/' or NUL, which are never encoded.
 * - Both Unicode normal forms are kept as they are: only the special characters and ‛ change, none
 *   of them has a canonical decomposition, and a combining mark after one is an ordinary character.
 *
 * Differences from rclone's lib/encoder, each on purpose (checked against rclone 1.60's local
 * backend with the same rules):
 * - rclone doubles every ‛ and reads every ‛‛ as one, so a name holding a lone ‛ that something else
 *   wrote ("it‛s") reads as a name rclone stores otherwise ("it‛‛s"): it cannot open that file, and
 *   two such files read as one name. Doubling only the runs before a special character is what makes
 *   every name on the drive read as a name of its own. Each side reads the other's names alike
 *   except for a run of ‛ before an ordinary character: rclone halves a run of two or more, and
 *   this decoder keeps the run rclone doubled.
 * - rclone tells whether a final ．/␠ is quoted from the one character before it, so it reads its
 *   own "x‛‛␠" (for "x‛ ") as "x‛␠"; counting the whole run gets "x‛ " back.
 * - rclone reads ␀ (U+2400) as NUL, which no name can hold; here ␀ is an ordinary character.
 * - rclone reads a stored "．" or ".．" as '.' or '..'; see above.
 * - rclone's flags take groups of characters (all controls, both of '<>'); here each refused
 *   character is encoded on its own, as the probe found it.
 */
export function nameCodec(rules: NameRules): NameCodec {
  const { anywhere, atEnd } = mappings(rules);
  if (anywhere.size === 0 && atEnd.size === 0) return IDENTITY;

  const fromLook = new Map<number, number>();
  for (const [code, look] of anywhere) fromLook.set(look, code);
  const fromLookAtEnd = new Map<number, number>();
  for (const [code, look] of atEnd) fromLookAtEnd.set(look, code);

  // Most names hold nothing special: one test, and they pass through untouched. ‛ alone changes
  // nothing, since it is only ever doubled in front of something that matches these.
  const needsEncoding = anyOf([...anywhere.keys(), ...fromLook.keys()], [...atEnd.keys(), ...fromLookAtEnd.keys()]);
  const needsDecoding = anyOf([...fromLook.keys()], [...fromLookAtEnd.keys()]);

  /** What `name`'s unit at `i` is stored as: a look-alike's code, QUOTED for itself behind ‛, or PLAIN. */
  const storedAs = (name: string, i: number): number => {
    const code = name.charCodeAt(i);
    const last = i === name.length - 1;
    const look = anywhere.get(code) ?? (last ? atEnd.get(code) : undefined);
    if (look !== undefined) return look;
    return fromLook.has(code) || (last && fromLookAtEnd.has(code)) ? QUOTED : PLAIN;
  };

  const encode = (name: string): string => {
    if (!needsEncoding.test(name)) return name;
    let out = '';
    for (let i = 0; i < name.length; ) {
      if (name.charCodeAt(i) === QUOTE) {
        const end = endOfQuotes(name, i);
        const doubled = end < name.length && storedAs(name, end) !== PLAIN;
        out += QUOTE_CHAR.repeat(doubled ? 2 * (end - i) : end - i);
        i = end;
        continue;
      }
      const stored = storedAs(name, i);
      if (stored === PLAIN) out += name[i];
      else if (stored === QUOTED) out += QUOTE_CHAR + name[i];
      else out += String.fromCharCode(stored);
      i++;
    }
    return out;
  };

  /** The character a special unit of a stored name stands for, or -1 where it is ordinary. */
  const standsFor = (stored: string, i: number): number => {
    const code = stored.charCodeAt(i);
    return fromLook.get(code) ?? (i === stored.length - 1 ? fromLookAtEnd.get(code) : undefined) ?? -1;
  };

  const decode = (stored: string): string => {
    if (!needsDecoding.test(stored)) return stored;
    let out = '';
    for (let i = 0; i < stored.length; ) {
      if (stored.charCodeAt(i) === QUOTE) {
        const end = endOfQuotes(stored, i);
        const run = end - i;
        const next = end < stored.length ? standsFor(stored, end) : -1;
        if (next < 0) {
          out += QUOTE_CHAR.repeat(run);
          i = end;
        } else {
          out += QUOTE_CHAR.repeat(run >> 1) + (run & 1 ? stored[end] : String.fromCharCode(next));
          i = end + 1;
        }
        continue;
      }
      const code = standsFor(stored, i);
      out += code < 0 ? stored[i] : String.fromCharCode(code);
      i++;
    }
    return out === '.' || out === '..' ? stored : out;
  };

  return Object.freeze({ identity: false, encode, decode });
}

function endOfQuotes(s: string, from: number): number {
  let end = from;
  while (end < s.length && s.charCodeAt(end) === QUOTE) end++;
  return end;
}

/** A regex matching any of `anywhere` in a string, or any of `atEnd` as its last unit. */
function anyOf(anywhere: number[], atEnd: number[]): RegExp {
  const cls = (codes: number[]) => `[${codes.map((c) => `\\u${c.toString(16).padStart(4, '0')}`).join('')}]`;
  const parts: string[] = [];
  if (anywhere.length > 0) parts.push(cls(anywhere));
  if (atEnd.length > 0) parts.push(`${cls(atEnd)}$`);
  return new RegExp(parts.join('|'));
}

/** A whole '/'-separated relative path, encoded component by component ('' stays ''). */
export function encodePath(codec: NameCodec, path: string): string {
  if (codec.identity || path === '') return path;
  return path
    .split('/')
    .map((part) => codec.encode(part))
    .join('/');
}

/** A whole '/'-separated relative path as listed, decoded component by component ('' stays ''). */
export function decodePath(codec: NameCodec, path: string): string {
  if (codec.identity || path === '') return path;
  return path
    .split('/')
    .map((part) => codec.decode(part))
    .join('/');
}
