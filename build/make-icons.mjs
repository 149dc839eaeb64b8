// Draws the tray icons into assets/icons: one per overall state, as PNG (Linux), template PNG
// (macOS: black and alpha only, the system tints it) and ICO (Windows, PNG entries). They are
// drawn here, not in an editor, so that every size is rendered for its own pixel grid and any
// change is a reviewed diff. Run: npm run icons
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const OUT = path.resolve(import.meta.dirname, '../assets/icons');
const SAMPLES = 5; // per axis: 25 samples a pixel smooth the edges at 16 px

/** Distance from (x, y) to the segment a–b. */
function toSegment(x, y, [ax, ay], [bx, by]) {
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(x - (ax + t * dx), y - (ay + t * dy));
}

/** Whether (x, y) is inside the triangle a, b, c. */
function inTriangle(x, y, a, b, c) {
  const side = (p, q) => (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0]);
  const s1 = side(a, b);
  const s2 = side(b, c);
  const s3 = side(c, a);
  return (s1 >= 0 && s2 >= 0 && s3 >= 0) || (s1 <= 0 && s2 <= 0 && s3 <= 0);
}

// Glyphs in a unit square centred on 0 (y grows downwards), drawn white on the coloured disk.
const GLYPHS = {
  idle: (x, y) =>
    toSegment(x, y, [-0.42, 0.02], [-0.12, 0.32]) < 0.12 || toSegment(x, y, [-0.12, 0.32], [0.44, -0.3]) < 0.12,
  syncing: (x, y) => {
    const r = Math.hypot(x, y);
    const a = (Math.atan2(y, x) * 180) / Math.PI; // 0 at the right, 90 at the bottom
    const ring = r > 0.3 && r < 0.5 && !(a > -80 && a < -20);
    const head = inTriangle(x, y, [0.12, -0.63], [0.12, -0.17], [0.42, -0.4]);
    return ring || head;
  },
  paused: (x, y) => Math.abs(y) < 0.4 && ((x > -0.34 && x < -0.1) || (x > 0.1 && x < 0.34)),
  attention: (x, y) => (Math.abs(x) < 0.1 && y > -0.5 && y < 0.14) || Math.hypot(x, y - 0.36) < 0.12,
};

const COLOURS = {
  idle: [46, 157, 79],
  syncing: [47, 127, 216],
  paused: [122, 127, 135],
  attention: [210, 64, 47],
};

/**
 * RGBA pixels of one icon: the state's colour on a disk with the glyph cut out in white (or, as a
 * template, left transparent).
 */
function render(state, size, template) {
  const px = Buffer.alloc(size * size * 4);
  const glyph = GLYPHS[state];
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) {
      let disk = 0;
      let mark = 0;
      for (let sj = 0; sj < SAMPLES; sj++) {
        for (let si = 0; si < SAMPLES; si++) {
          const x = ((i + (si + 0.5) / SAMPLES) / size) * 2 - 1;
          const y = ((j + (sj + 0.5) / SAMPLES) / size) * 2 - 1;
          if (Math.hypot(x, y) <= 0.94) {
            disk++;
            if (glyph(x / 0.94, y / 0.94)) mark++;
          }
        }
      }
      const n = SAMPLES * SAMPLES;
      const o = (j * size + i) * 4;
      if (template) {
        px[o + 3] = Math.round((255 * (disk - mark)) / n);
      } else {
        const [r, g, b] = COLOURS[state];
        const white = disk === 0 ? 0 : mark / disk;
        px[o] = Math.round(r + (255 - r) * white);
        px[o + 1] = Math.round(g + (255 - g) * white);
        px[o + 2] = Math.round(b + (255 - b) * white);
        px[o + 3] = Math.round((255 * disk) / n);
      }
    }
  }
  return px;
}

function chunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

function png(px, size) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, no interlace
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let j = 0; j < size; j++) px.copy(rows, j * (size * 4 + 1) + 1, j * size * 4, (j + 1) * size * 4);
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(rows, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** An ICO holding PNG images (read by Windows Vista and later). */
function ico(images) {
  const head = Buffer.alloc(6 + 16 * images.length);
  head.writeUInt16LE(1, 2);
  head.writeUInt16LE(images.length, 4);
  let offset = head.length;
  images.forEach(({ size, data }, k) => {
    const e = 6 + 16 * k;
    head[e] = size >= 256 ? 0 : size;
    head[e + 1] = size >= 256 ? 0 : size;
    head.writeUInt16LE(1, e + 4);
    head.writeUInt16LE(32, e + 6);
    head.writeUInt32LE(data.length, e + 8);
    head.writeUInt32LE(offset, e + 12);
    offset += data.length;
  });
  return Buffer.concat([head, ...images.map((i) => i.data)]);
}

fs.mkdirSync(OUT, { recursive: true });
for (const state of Object.keys(GLYPHS)) {
  fs.writeFileSync(path.join(OUT, `${state}.png`), png(render(state, 32, false), 32));
  fs.writeFileSync(path.join(OUT, `${state}-template.png`), png(render(state, 32, true), 32));
  const sizes = [16, 24, 32, 48];
  fs.writeFileSync(
    path.join(OUT, `${state}.ico`),
    ico(sizes.map((size) => ({ size, data: png(render(state, size, false), size) }))),
  );
}
console.log(`icons written to ${OUT}`);
