/**
 * rclone's API names items in its own "standard" form: control characters are shown as their
 * Unicode pictures (newline as U+240A, DEL as U+2421), and a picture that is really in a name is
 * marked with U+201B before it. These two functions are its two ways, so that names reach the
 * remote, and come back, as the source has them. U+201B itself does not come back as it went
 * (rclone 1.60 writes one as two, and lists one or two as two): such names are refused.
 */
const QUOTE = '\u201b';
const DEL_PICTURE = 0x2421;
const PICTURES = 0x2400;

function isPicture(code: number): boolean {
  return (code > PICTURES && code <= PICTURES + 0x1f) || code === DEL_PICTURE;
}

/** Whether rclone can carry the name (see above). */
export function rcloneCanName(path: string): boolean {
  return !path.includes(QUOTE);
}

/** A path (names '/'-separated) as rclone's API takes it. */
export function toRclonePath(path: string): string {
  let out = '';
  for (const ch of path) {
    const code = ch.codePointAt(0)!;
    if (isPicture(code)) out += QUOTE + ch;
    else if (code >= 0x01 && code <= 0x1f) out += String.fromCodePoint(PICTURES + code);
    else if (code === 0x7f) out += String.fromCodePoint(DEL_PICTURE);
    else out += ch;
  }
  return out;
}

/** A name as rclone lists it, back to the name it stands for. */
export function fromRcloneName(name: string): string {
  let out = '';
  let quoted = false;
  for (const ch of name) {
    const code = ch.codePointAt(0)!;
    if (quoted) {
      out += ch;
      quoted = false;
    } else if (ch === QUOTE) quoted = true;
    else if (code === DEL_PICTURE) out += '\x7f';
    else if (isPicture(code)) out += String.fromCodePoint(code - PICTURES);
    else out += ch;
  }
  return out;
}
