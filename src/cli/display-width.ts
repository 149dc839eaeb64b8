/**
 * How many terminal columns text takes: East Asian wide and fullwidth characters and emoji take
 * two, combining marks and other zero-width ones none, the rest one. Counted per grapheme (what
 * a user sees as one character), so a flag or a family emoji counts once.
 */
let segmenter: Intl.Segmenter | undefined;

/** Made on first use: a run that draws no progress bar does not pay for loading ICU's break rules. */
function graphemes(text: string): string[] {
  segmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  return Array.from(segmenter.segment(text), (s) => s.segment);
}

/** The wide blocks of Unicode's East Asian Width table (W and F), first and last code point. */
const WIDE: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f], // Hangul Jamo initials
  [0x2e80, 0x303e], // CJK radicals, Kangxi, CJK symbols and punctuation
  [0x3041, 0x33ff], // Hiragana, Katakana, Bopomofo, Hangul compatibility Jamo, CJK compatibility
  [0x3400, 0x4dbf], // CJK extension A
  [0x4e00, 0x9fff], // CJK unified ideographs
  [0xa000, 0xa4cf], // Yi
  [0xa960, 0xa97f], // Hangul Jamo extended A
  [0xac00, 0xd7a3], // Hangul syllables
  [0xf900, 0xfaff], // CJK compatibility ideographs
  [0xfe10, 0xfe19], // vertical forms
  [0xfe30, 0xfe6f], // CJK compatibility forms, small form variants
  [0xff00, 0xff60], // fullwidth forms
  [0xffe0, 0xffe6], // fullwidth signs
  [0x1b000, 0x1b2ff], // Kana supplement and extensions
  [0x20000, 0x3fffd], // CJK extensions B and later
];

const EMOJI = /\p{Emoji_Presentation}|\p{Extended_Pictographic}\uFE0F/u;
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}]+$/u;

function graphemeWidth(g: string): number {
  if (ZERO_WIDTH.test(g)) return 0;
  if (EMOJI.test(g)) return 2;
  const cp = g.codePointAt(0)!;
  return WIDE.some(([first, last]) => cp >= first && cp <= last) ? 2 : 1;
}

export function displayWidth(text: string): number {
  return graphemes(text).reduce((width, g) => width + graphemeWidth(g), 0);
}

/** The end of `text` that fits in `width` columns, whole graphemes only. */
export function tailToWidth(text: string, width: number): string {
  const all = graphemes(text);
  let used = 0;
  let start = all.length;
  while (start > 0 && used + graphemeWidth(all[start - 1]!) <= width) used += graphemeWidth(all[--start]!);
  return all.slice(start).join('');
}
