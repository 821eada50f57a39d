/**
 * A hand-written PNG encoder for tests: every colour type and bit depth the PNG specification
 * allows (gray 1/2/4/8/16, gray+alpha 8/16, RGB 8/16, RGBA 8/16, palette 1/2/4/8), with an optional
 * PLTE and tRNS chunk, from plain sample values. sharp (libvips) cannot write most of these, and a
 * decoder test needs bytes whose every sample is known.
 */
import { deflateSync } from 'node:zlib';

/** PNG colour types (IHDR byte 9). */
export const PNG_COLOUR_TYPES = { gray: 0, rgb: 2, palette: 3, grayAlpha: 4, rgba: 6 } as const;
export type PngColourType = keyof typeof PNG_COLOUR_TYPES;

/** Samples per pixel of each colour type. */
export const PNG_SAMPLES: Readonly<Record<PngColourType, number>> = { gray: 1, rgb: 3, palette: 1, grayAlpha: 2, rgba: 4 };

export interface PngSpec {
  width: number;
  height: number;
  colourType: PngColourType;
  bitDepth: 1 | 2 | 4 | 8 | 16;
  /** width × height × samples values, row-major, each in [0, 2^bitDepth) (palette: indices). */
  samples: readonly number[];
  /** PLTE entries ([r, g, b], 8-bit), for palette images. */
  palette?: readonly (readonly [number, number, number])[];
  /** tRNS: alphas per palette entry; or the one transparent gray value / [r, g, b] colour. */
  transparency?: readonly number[];
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), 8 + data.length);
  return out;
}

/** Packs one row's samples at `bitDepth` bits each (MSB first; 16-bit big-endian), after filter byte 0. */
function packRow(samples: readonly number[], bitDepth: number): Buffer {
  if (bitDepth === 16) {
    const row = Buffer.alloc(1 + 2 * samples.length);
    samples.forEach((v, i) => row.writeUInt16BE(v, 1 + 2 * i));
    return row;
  }
  const row = Buffer.alloc(1 + Math.ceil((samples.length * bitDepth) / 8));
  samples.forEach((v, i) => {
    const bit = i * bitDepth;
    row[1 + (bit >> 3)] |= v << (8 - bitDepth - (bit & 7));
  });
  return row;
}

/** The PNG file of `spec`. */
export function encodePng(spec: PngSpec): Buffer {
  const n = PNG_SAMPLES[spec.colourType];
  if (spec.samples.length !== spec.width * spec.height * n) throw new Error(`encodePng: ${spec.samples.length} samples for ${spec.width}×${spec.height}×${n}`);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(spec.width, 0);
  ihdr.writeUInt32BE(spec.height, 4);
  ihdr.set([spec.bitDepth, PNG_COLOUR_TYPES[spec.colourType], 0, 0, 0], 8);
  const rows: Buffer[] = [];
  for (let y = 0; y < spec.height; y++) rows.push(packRow(spec.samples.slice(y * spec.width * n, (y + 1) * spec.width * n), spec.bitDepth));
  const chunks = [chunk('IHDR', ihdr)];
  if (spec.palette !== undefined) chunks.push(chunk('PLTE', Uint8Array.from(spec.palette.flat())));
  if (spec.transparency !== undefined) {
    const t = spec.transparency;
    const data = spec.colourType === 'palette' ? Uint8Array.from(t) : Buffer.concat(t.map((v) => {
      const b = Buffer.alloc(2);
      b.writeUInt16BE(v, 0);
      return b;
    }));
    chunks.push(chunk('tRNS', data));
  }
  chunks.push(chunk('IDAT', deflateSync(Buffer.concat(rows))), chunk('IEND', new Uint8Array(0)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ...chunks]);
}
