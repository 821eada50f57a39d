import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/image/read.js';
import { InvalidInputError, IoError } from '../../src/errors.js';
import { resizePillow } from '../../src/image/resample.js';
import { clipResize, resizeForDetection, shortestEdgeSize, toRgb } from '../../src/image/preprocess.js';
import { fixtureGolden } from '../helpers/golden.js';
import { encodePng, type PngSpec } from '../helpers/png.js';

const scratch = mkdtempSync(join(tmpdir(), 'regionclip-images-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A 6×4 RGB test pattern: left half red, right half blue, top-left pixel green. */
function pattern(): Buffer {
  const px = Buffer.alloc(6 * 4 * 3);
  for (let y = 0; y < 4; y++) for (let x = 0; x < 6; x++) px.set(x < 3 ? [255, 0, 0] : [0, 0, 255], (y * 6 + x) * 3);
  px.set([0, 255, 0], 0);
  return px;
}
const raw = { raw: { width: 6, height: 4, channels: 3 as const } };

describe('decodeImage', () => {
  it('decodes lossless formats to identical RGB pixels (PNG, WebP lossless, TIFF, GIF first frame)', async () => {
    for (const [name, encode] of [
      ['png', (s: ReturnType<typeof sharp>) => s.png()],
      ['webp', (s: ReturnType<typeof sharp>) => s.webp({ lossless: true })],
      ['tiff', (s: ReturnType<typeof sharp>) => s.tiff({ compression: 'lzw' })],
    ] as const) {
      const bytes = await encode(sharp(pattern(), raw)).toBuffer();
      const image = await decodeImage(bytes);
      expect([image.width, image.height, image.channels, image.mode], name).toEqual([6, 4, 3, 'RGB']);
      expect(Buffer.from(image.data).equals(pattern()), name).toBe(true);
    }
    const gif = await sharp(pattern(), raw).gif().toBuffer();
    const decoded = await decodeImage(gif);
    expect([decoded.width, decoded.height, decoded.mode]).toEqual([6, 4, 'P']);
    expect(Array.from(decoded.data.subarray(0, 3))).toEqual([0, 255, 0]);
  });

  it('decodes AVIF', async () => {
    const bytes = await sharp(pattern(), raw).resize(64, 48).avif({ quality: 90 }).toBuffer();
    const image = await decodeImage(bytes);
    expect([image.width, image.height, image.channels]).toEqual([64, 48, 3]);
  });

  it('applies EXIF orientation so boxes refer to the image as a person sees it', async () => {
    // Orientation 6: stored 6×4, displayed rotated 90° clockwise as 4×6; the green pixel moves to the top-right.
    const bytes = await sharp(pattern(), raw).png().withMetadata({ orientation: 6 }).toBuffer();
    const image = await decodeImage(bytes);
    expect([image.width, image.height]).toEqual([4, 6]);
    expect(Array.from(image.data.subarray(3 * 3, 3 * 4))).toEqual([0, 255, 0]);
  });

  it('keeps grayscale as one channel (Pillow "L") and alpha as a fourth', async () => {
    const gray = await decodeImage(await sharp(pattern(), raw).toColourspace('b-w').png().toBuffer());
    expect([gray.channels, gray.mode]).toEqual([1, 'L']);
    expect(toRgb(gray).channels).toBe(3);
    const rgba = await decodeImage(await sharp(pattern(), raw).ensureAlpha(0.5).png().toBuffer());
    expect([rgba.channels, rgba.mode]).toEqual([4, 'RGBA']);
  });

  it('converts CMYK and 16-bit images to 8-bit sRGB', async () => {
    const cmyk = await decodeImage(await sharp(pattern(), raw).resize(24, 16).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer());
    expect([cmyk.channels, cmyk.mode]).toEqual([3, 'RGB']);
    expect(cmyk.data[(8 * 24 + 2) * 3]).toBeGreaterThan(200); // still red on the left
    const sixteen = await decodeImage(await sharp(pattern(), raw).toColourspace('rgb16').png().toBuffer());
    expect([sixteen.channels, sixteen.data[3]]).toEqual([3, 255]);
    expect(Buffer.from(sixteen.data).equals(pattern())).toBe(true);
  });

  it('refuses bad inputs with typed errors', async () => {
    const missing = join(scratch, 'missing.jpg');
    await expect(decodeImage(missing)).rejects.toThrow(IoError);
    await expect(decodeImage(missing)).rejects.toThrow(/readable image file for .*missing.jpg but received a path that does not exist/);
    const empty = join(scratch, 'empty.png');
    writeFileSync(empty, '');
    await expect(decodeImage(empty)).rejects.toThrow(/an empty \(0-byte\) file/);
    const text = join(scratch, 'notes.jpg');
    writeFileSync(text, 'this is not an image at all');
    await expect(decodeImage(text)).rejects.toThrow(InvalidInputError);
    await expect(decodeImage(text)).rejects.toThrow(/unknown format/);
    const jpeg = await sharp(pattern(), raw).resize(64, 64).jpeg().toBuffer();
    await expect(decodeImage(jpeg.subarray(0, jpeg.length / 2))).rejects.toThrow(InvalidInputError);
    await expect(decodeImage(await sharp(pattern(), raw).png().toBuffer(), { maxPixels: 20 })).rejects.toThrow(/Expected an image of at most 20 pixels for <buffer> but received .*(24 pixels|larger image)/);
    await expect(decodeImage(42 as unknown as string)).rejects.toThrow(/an image path or Buffer/);
  });
});

describe('Pillow resampler', () => {
  it('leaves an image untouched when the size does not change', () => {
    const image = { data: new Uint8Array(12), width: 2, height: 2, channels: 3 };
    expect(resizePillow(image, 2, 2, { filter: 'bicubic' })).toBe(image);
  });
  it('averages under antialiased downscaling and reproduces a constant image', () => {
    const image = { data: new Uint8Array(8 * 8 * 3).fill(77), width: 8, height: 8, channels: 3 };
    expect(Array.from(new Set(resizePillow(image, 3, 5, { filter: 'bicubic' }).data))).toEqual([77]);
    const stripes = { data: Uint8Array.from({ length: 8 }, (_, i) => (i % 2 ? 200 : 0)), width: 8, height: 1, channels: 1 };
    // Interior outputs average both stripes; the borders see the edge clamp (Pillow: 86 and 114).
    expect(Array.from(resizePillow(stripes, 4, 1, { filter: 'bilinear' }).data)).toEqual([86, 100, 100, 114]);
  });
  it('premultiplies alpha: colour under transparent pixels does not bleed', () => {
    // Left pixel transparent white, right opaque black.
    const image = { data: Uint8Array.from([255, 255, 255, 0, 0, 0, 0, 255]), width: 2, height: 1, channels: 4 };
    const out = resizePillow(image, 1, 1, { filter: 'bilinear', hasAlpha: true });
    expect(Array.from(out.data.subarray(0, 3))).toEqual([0, 0, 0]);
  });
  it('computes the CLIP and detector resize sizes like torchvision and detectron2', () => {
    const image = { data: new Uint8Array(640 * 480 * 3), width: 640, height: 480, channels: 3 };
    expect([clipResize(image, 224).width, clipResize(image, 224).height]).toEqual([298, 224]);
    expect(shortestEdgeSize(480, 640, { shortEdge: 800, maxSize: 1333 })).toEqual([800, 1067]);
    expect(shortestEdgeSize(100, 1000, { shortEdge: 800, maxSize: 1333 })).toEqual([133, 1333]);
    const resized = resizeForDetection(image);
    expect([resized.image.width, resized.image.height]).toEqual([1067, 800]);
    expect(resized.scaleX).toBeCloseTo(1067 / 640, 12);
    expect(resized.scaleY).toBeCloseTo(800 / 480, 12);
  });
});

describe('Pillow parity on random images (fixtures/golden/pillow-resize.json)', () => {
  const golden = fixtureGolden<{ cases: { mode: string; channels: number; filter: 'bicubic' | 'bilinear' | 'nearest'; size: [number, number]; out_size: [number, number]; input: number[]; output: number[] }[] }>('pillow-resize.json');
  it.each(golden.cases.map((c) => [`${c.mode} ${c.filter} ${c.size.join('×')}→${c.out_size.join('×')}`, c] as const))('%s identical', (_name, c) => {
    const image = { data: Uint8Array.from(c.input), width: c.size[0], height: c.size[1], channels: c.channels };
    const out = resizePillow(image, c.out_size[0], c.out_size[1], { filter: c.filter, hasAlpha: c.mode === 'RGBA' });
    expect(Array.from(out.data)).toEqual(c.output);
  });
});

/**
 * Every colour type and bit depth PNG allows, written by hand (test/helpers/png.ts), against the
 * RGB the samples mean: gray replicated (1/2/4-bit scaled to 0–255, 16-bit to its high byte),
 * palette entries looked up, alpha kept as its own channel (LA, RGBA) and dropped by toRgb without
 * compositing; a tRNS chunk is not an alpha channel (Pillow's L, RGB and P ignore it on convert('RGB')).
 */
describe('decodeImage: every PNG colour type and bit depth', () => {
  const W = 8;
  const H = 2;
  const PALETTE = [[10, 20, 30], [200, 100, 50], [0, 255, 0], [255, 255, 255], [1, 2, 3], [90, 80, 70], [17, 34, 51], [250, 5, 128]] as const;
  /** 8-bit values that give every pixel a different value; 16-bit samples are v × 257 (high byte = rounded v/257 = v). */
  const values8 = (n: number, seed: number) => Array.from({ length: n }, (_, i) => (i * 37 + seed * 11) % 256);
  const widen = (v: number, depth: number) => (depth === 16 ? v * 257 : v);
  const gray = (depth: 1 | 2 | 4 | 8 | 16): { spec: PngSpec; rgb: number[] } => {
    const max = 2 ** Math.min(depth, 8) - 1;
    const levels = depth < 8 ? Array.from({ length: W * H }, (_, i) => i % (max + 1)) : values8(W * H, depth);
    const eight = depth < 8 ? levels.map((v) => (v * 255) / max) : levels;
    return { spec: { width: W, height: H, colourType: 'gray', bitDepth: depth, samples: levels.map((v) => widen(v, depth)) }, rgb: eight.flatMap((v) => [v, v, v]) };
  };
  type Case = { name: string; spec: PngSpec; mode: string; rgb: number[]; alpha?: number[] };
  const cases: Case[] = [];
  for (const depth of [1, 2, 4, 8, 16] as const) {
    const { spec, rgb } = gray(depth);
    cases.push({ name: `gray ${depth}-bit`, spec, mode: depth === 1 ? '1' : 'L', rgb });
    // tRNS names one gray level transparent: not an alpha channel (Pillow keeps mode L / 1).
    cases.push({ name: `gray ${depth}-bit + tRNS`, spec: { ...spec, transparency: [spec.samples[1]] }, mode: depth === 1 ? '1' : 'L', rgb });
  }
  for (const depth of [8, 16] as const) {
    const g = values8(W * H, 1);
    const a = values8(W * H, 5).map((v, i) => (i === 0 ? 0 : i === 1 ? 255 : v));
    cases.push({
      name: `gray+alpha ${depth}-bit`, mode: 'LA', rgb: g.flatMap((v) => [v, v, v]), alpha: a,
      spec: { width: W, height: H, colourType: 'grayAlpha', bitDepth: depth, samples: g.flatMap((v, i) => [widen(v, depth), widen(a[i], depth)]) },
    });
    const rgb = values8(W * H * 3, 2);
    cases.push({ name: `RGB ${depth}-bit`, mode: 'RGB', rgb, spec: { width: W, height: H, colourType: 'rgb', bitDepth: depth, samples: rgb.map((v) => widen(v, depth)) } });
    cases.push({
      name: `RGB ${depth}-bit + tRNS`, mode: 'RGB', rgb,
      spec: { width: W, height: H, colourType: 'rgb', bitDepth: depth, samples: rgb.map((v) => widen(v, depth)), transparency: rgb.slice(0, 3).map((v) => widen(v, depth)) },
    });
    cases.push({
      name: `RGBA ${depth}-bit`, mode: 'RGBA', rgb, alpha: a,
      spec: { width: W, height: H, colourType: 'rgba', bitDepth: depth, samples: rgb.flatMap((v, i) => (i % 3 === 2 ? [widen(v, depth), widen(a[(i - 2) / 3], depth)] : [widen(v, depth)])) },
    });
  }
  for (const depth of [1, 2, 4, 8] as const) {
    const entries = PALETTE.slice(0, Math.min(PALETTE.length, 2 ** depth));
    const indices = Array.from({ length: W * H }, (_, i) => (i * 3) % entries.length);
    const spec: PngSpec = { width: W, height: H, colourType: 'palette', bitDepth: depth, palette: entries, samples: indices };
    const rgb = indices.flatMap((i) => [...entries[i]]);
    cases.push({ name: `palette ${depth}-bit`, spec, mode: 'P', rgb });
    cases.push({ name: `palette ${depth}-bit + tRNS`, spec: { ...spec, transparency: [0, 128] }, mode: 'P', rgb });
  }

  it('covers the 26 cases', () => expect(cases.length).toBe(26));

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const image = await decodeImage(encodePng(c.spec));
    const channels = ({ '1': 1, L: 1, LA: 2, RGB: 3, RGBA: 4, P: 3 } as Record<string, number>)[c.mode];
    expect([image.width, image.height, image.mode, image.channels]).toEqual([W, H, c.mode, channels]);
    expect(Array.from(toRgb(image).data)).toEqual(c.rgb);
    if (c.alpha !== undefined) expect(Array.from(image.data.filter((_, i) => i % channels === channels - 1))).toEqual(c.alpha);
  });

  it('reduces every 16-bit sample to its high byte, gray as RGB (Pillow\'s ;16B rawmodes)', async () => {
    // 255 → 0 and 384 → 1: truncation, where rounding v/256 or v/257 would give 1 and 2.
    const samples = [255, 384, 65406, 200];
    const high = samples.map((v) => v >> 8);
    const gray = await decodeImage(encodePng({ width: 4, height: 1, colourType: 'gray', bitDepth: 16, samples }));
    expect(Array.from(gray.data)).toEqual(high);
    const grayAlpha = await decodeImage(encodePng({ width: 2, height: 1, colourType: 'grayAlpha', bitDepth: 16, samples }));
    expect([grayAlpha.mode, ...grayAlpha.data]).toEqual(['LA', ...high]);
    const rgba = await decodeImage(encodePng({ width: 1, height: 1, colourType: 'rgba', bitDepth: 16, samples }));
    expect([rgba.mode, ...rgba.data]).toEqual(['RGBA', ...high]);
    const rgb = await decodeImage(encodePng({ width: 1, height: 1, colourType: 'rgb', bitDepth: 16, samples: samples.slice(0, 3) }));
    expect([rgb.mode, ...rgb.data]).toEqual(['RGB', ...high.slice(0, 3)]);
  });

  it('a gray+alpha PNG goes through CLIP preprocessing (premultiplied, alpha dropped: transparent is black)', async () => {
    // Each row: a transparent 200 and an opaque 100. Premultiplied, the 200 weighs nothing: the
    // 2×2 → 1×1 bilinear average is 50 at alpha 128, un-premultiplied as Pillow does to 99 (a plain
    // average of the gray band would be 150).
    const spec: PngSpec = { width: 2, height: 2, colourType: 'grayAlpha', bitDepth: 8, samples: [200, 0, 100, 255, 200, 0, 100, 255] };
    const resized = clipResize(await decodeImage(encodePng(spec)), 1, 'bilinear');
    expect([resized.width, resized.height, resized.channels, ...resized.data]).toEqual([1, 1, 3, 99, 99, 99]);
  });
});

describe('decodeImage: JPEG, WebP, GIF and TIFF variants against their source pixels', () => {
  /**
   * 32×32 in four flat quadrants of muted colours (inside the CMYK gamut, so a CMYK round trip can
   * come back). Lossless formats must return every pixel exactly; lossy ones are compared inside
   * the quadrants (4 pixels from their edges), where JPEG and WebP blocks are flat.
   */
  const S = 32;
  const QUADRANTS = [[180, 120, 100], [120, 160, 130], [110, 120, 170], [200, 200, 150]] as const;
  const quadrant = (x: number, y: number) => QUADRANTS[(y >= S / 2 ? 2 : 0) + (x >= S / 2 ? 1 : 0)];
  const rgbOf = () => Array.from({ length: S * S }, (_, p) => quadrant(p % S, Math.floor(p / S))).flat();
  const source = (alpha?: number) => {
    const c = alpha === undefined ? 3 : 4;
    const px = Buffer.alloc(S * S * c);
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) px.set([...quadrant(x, y), ...(alpha === undefined ? [] : [x < S / 2 ? alpha : 255])], (y * S + x) * c);
    return sharp(px, { raw: { width: S, height: S, channels: c } });
  };
  /** The largest difference from the source over the compared pixels (all, or the quadrant interiors). */
  const maxDiff = (data: Uint8Array, interiorOnly: boolean) => {
    expect(data.length).toBe(S * S * 3);
    const inside = (v: number) => (v % (S / 2)) >= 4 && (v % (S / 2)) < S / 2 - 4;
    let m = 0;
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
      if (interiorOnly && !(inside(x) && inside(y))) continue;
      quadrant(x, y).forEach((v, k) => (m = Math.max(m, Math.abs(data[(y * S + x) * 3 + k] - v))));
    }
    return m;
  };

  it.each([
    ['JPEG RGB', (s: ReturnType<typeof sharp>) => s.jpeg({ quality: 100, chromaSubsampling: '4:4:4' }), 'RGB', 3],
    ['JPEG CMYK', (s: ReturnType<typeof sharp>) => s.toColourspace('cmyk').jpeg({ quality: 100, chromaSubsampling: '4:4:4' }), 'RGB', 8],
    ['WebP lossy', (s: ReturnType<typeof sharp>) => s.webp({ quality: 100 }), 'RGB', 3],
  ] as const)('%s decodes to its source RGB (lossy: within %s of each quadrant\'s colour)', async (_name, encode, mode, tolerance) => {
    const image = await decodeImage(await encode(source()).toBuffer());
    expect([image.width, image.height, image.mode, image.channels]).toEqual([S, S, mode, 3]);
    expect(maxDiff(image.data, true)).toBeLessThanOrEqual(tolerance);
  });

  it.each([
    ['WebP lossless', (s: ReturnType<typeof sharp>) => s.webp({ lossless: true }), 'RGB'],
    ['GIF', (s: ReturnType<typeof sharp>) => s.gif({ dither: 0 }), 'P'],
    ['TIFF 8-bit', (s: ReturnType<typeof sharp>) => s.tiff({ compression: 'lzw' }), 'RGB'],
    ['TIFF 16-bit', (s: ReturnType<typeof sharp>) => s.toColourspace('rgb16').tiff({ compression: 'lzw' }), 'RGB'],
  ] as const)('%s decodes to exactly its source RGB', async (_name, encode, mode) => {
    const image = await decodeImage(await encode(source()).toBuffer());
    expect([image.width, image.height, image.mode, image.channels]).toEqual([S, S, mode, 3]);
    expect(Array.from(image.data)).toEqual(rgbOf());
  });

  it('JPEG grayscale decodes to one channel (L) equal to its source gray', async () => {
    const levels = Array.from({ length: S * S }, (_, p) => [30, 90, 160, 230][(p >= (S * S) / 2 ? 2 : 0) + (p % S >= S / 2 ? 1 : 0)]);
    const bytes = await sharp(Buffer.from(levels), { raw: { width: S, height: S, channels: 1 } }).toColourspace('b-w').jpeg({ quality: 100 }).toBuffer();
    const image = await decodeImage(bytes);
    expect([image.mode, image.channels]).toEqual(['L', 1]);
    expect(Math.max(...Array.from(image.data, (v, i) => Math.abs(v - levels[i])))).toBeLessThanOrEqual(2);
    expect(Array.from(toRgb(image).data)).toEqual(Array.from(image.data).flatMap((v) => [v, v, v]));
  });

  it.each([
    ['WebP lossless + alpha', (s: ReturnType<typeof sharp>) => s.webp({ lossless: true })],
    ['TIFF + alpha', (s: ReturnType<typeof sharp>) => s.tiff({ compression: 'lzw' })],
  ] as const)('%s keeps alpha as a fourth channel, and toRgb drops it without compositing', async (_name, encode) => {
    // The left half is 40/255 opaque: its colours come back as they were, not blended with any background.
    const image = await decodeImage(await encode(source(40)).toBuffer());
    expect([image.width, image.height, image.mode, image.channels]).toEqual([S, S, 'RGBA', 4]);
    expect(Array.from(image.data.filter((_, i) => i % 4 === 3).subarray(0, S))).toEqual([...Array(S / 2).fill(40), ...Array(S / 2).fill(255)]);
    expect(Array.from(toRgb(image).data)).toEqual(rgbOf());
  });
});
