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
