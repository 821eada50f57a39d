/**
 * Image decoding with sharp: a path or Buffer in, 8-bit HWC pixels out, oriented as a person sees
 * the image (EXIF orientation applied), with the Pillow-equivalent mode that decides how it is
 * resampled (see resample.ts).
 *
 * Formats: whatever sharp reads (JPEG, PNG, WebP, GIF — first frame of an animation —, TIFF, AVIF…).
 * CMYK and other colour spaces are converted to sRGB; 16-bit images are reduced to 8 bits (the
 * high byte); 1/2/4-bit gray is scaled to 0–255; grayscale stays one channel (resampled as one,
 * then replicated, like Pillow's "L"), gray with alpha two ("LA"); palette images (PNG, GIF) come
 * as their RGB colours. Alpha (an alpha channel: PNG colour types 4 and 6, WebP, TIFF…) is kept
 * here; the CLIP preprocessing resamples it premultiplied and then drops it without compositing,
 * exactly like CLIP's reference (PIL resize + convert('RGB')): fully transparent pixels become
 * black. A PNG tRNS chunk is not alpha (Pillow's modes L, RGB and P ignore it on convert('RGB')).
 */
import { readFile } from 'node:fs/promises';
import sharp, { type Metadata } from 'sharp';
import { InvalidInputError, IoError, describe, expectedMessage } from '../errors.js';
import type { PixelImage } from './resample.js';

/** Pillow's name for the decoded layout: decides the resampling (P and 1 use NEAREST in Pillow). */
export type PillowMode = 'L' | 'LA' | 'RGB' | 'RGBA' | 'P' | '1';

export interface DecodedImage extends PixelImage {
  mode: PillowMode;
  /** Where the image came from (a path, or "<buffer>"), for messages. */
  source: string;
}

/** Encoded image bytes with the name they go by in messages and results (e.g. "-" for stdin). */
export interface NamedBuffer {
  name: string;
  buffer: Buffer;
}

/** What decodeImage reads: a path, encoded bytes (named "<buffer>"), or named encoded bytes. */
export type ImageInput = string | Buffer | NamedBuffer;

export interface DecodeOptions {
  /**
   * Refuse images with more pixels than this (decompression bombs). Default: sharp's 268,402,689
   * (16383 × 16383). `false` disables the check.
   */
  maxPixels?: number | false;
}

export const DEFAULT_MAX_PIXELS = 0x3fff * 0x3fff;

/**
 * Which bands of the decoded sRGB (or b-w) pixels each mode keeps: gray is one band (R = G = B after
 * the conversion), LA is gray and alpha, palette images keep their colours and drop any alpha
 * (Pillow's convert('RGB') from P).
 */
const MODE_CHANNELS: Readonly<Record<PillowMode, readonly number[]>> = { '1': [0], L: [0], LA: [0, 3], RGB: [0, 1, 2], P: [0, 1, 2], RGBA: [0, 1, 2, 3] };

/** A PNG's IHDR colour type (0 gray, 2 RGB, 3 palette, 4 gray + alpha, 6 RGBA), read from its header. */
function pngColourType(bytes: Buffer): number | undefined {
  const isPng = bytes.length > 25 && bytes.readUInt32BE(0) === 0x89504e47 && bytes.toString('latin1', 12, 16) === 'IHDR';
  return isPng ? bytes[25] : undefined;
}

/**
 * The Pillow mode of an image as Image.open gives it. In a PNG only an alpha channel (colour types
 * 4 and 6) is alpha: a tRNS chunk (one transparent gray level or colour, or palette alphas) leaves
 * Pillow's mode L, 1, RGB or P, and convert('RGB') ignores it, so it is ignored here too.
 */
function pillowMode(meta: Metadata, bytes: Buffer): PillowMode {
  if (meta.isPalette) return 'P';
  const gray = meta.space === 'b-w' || meta.space === 'grey16';
  if (gray && meta.bitsPerSample === 1 && meta.format === 'png') return '1';
  const colourType = meta.format === 'png' ? pngColourType(bytes) : undefined;
  const hasAlpha = colourType === undefined ? meta.hasAlpha === true : colourType === 4 || colourType === 6;
  return gray ? (hasAlpha ? 'LA' : 'L') : hasAlpha ? 'RGBA' : 'RGB';
}

/** The mode's bands out of `channels`-band pixels (undefined when a band is missing, e.g. RGBA from 3 bands). */
function pickChannels(data: Buffer, channels: number, mode: PillowMode): Uint8Array | undefined {
  const bands = MODE_CHANNELS[mode];
  if (bands.some((b) => b >= channels)) return undefined;
  if (bands.length === channels) return new Uint8Array(data.buffer, data.byteOffset, data.length);
  const pixels = data.length / channels;
  const out = new Uint8Array(pixels * bands.length);
  for (let p = 0; p < pixels; p++) for (let k = 0; k < bands.length; k++) out[p * bands.length + k] = data[p * channels + bands[k]];
  return out;
}

const isNamedBuffer = (input: unknown): input is NamedBuffer =>
  typeof input === 'object' && input !== null && !Buffer.isBuffer(input) && typeof (input as NamedBuffer).name === 'string' && Buffer.isBuffer((input as NamedBuffer).buffer);

/** How an input is named in messages and results: its path, its name, or "<buffer>". */
export function sourceName(input: ImageInput): string {
  return typeof input === 'string' ? input : isNamedBuffer(input) ? input.name : '<buffer>';
}

/** Decodes an image into 8-bit HWC pixels (1–4 channels) with EXIF orientation applied. */
export async function decodeImage(input: ImageInput, options: DecodeOptions = {}): Promise<DecodedImage> {
  const source = sourceName(input);
  let bytes: Buffer;
  if (typeof input === 'string') {
    try {
      bytes = await readFile(input);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'an error';
      throw new IoError(expectedMessage('a readable image file', input, code === 'ENOENT' ? 'a path that does not exist' : code), { cause: error });
    }
  } else if (Buffer.isBuffer(input)) {
    bytes = input;
  } else if (isNamedBuffer(input)) {
    bytes = input.buffer;
  } else {
    throw new InvalidInputError(expectedMessage('an image path or Buffer', 'image', describe(input)));
  }
  if (bytes.length === 0) throw new InvalidInputError(expectedMessage('image data', source, 'an empty (0-byte) file'));

  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const limitInputPixels = maxPixels === false ? false : maxPixels;
  try {
    const image = sharp(bytes, { limitInputPixels, failOn: 'error', animated: false, pages: 1 });
    const meta = await image.metadata();
    const pixels = (meta.width ?? 0) * (meta.height ?? 0);
    if (limitInputPixels !== false && pixels > limitInputPixels) {
      throw new InvalidInputError(expectedMessage(`an image of at most ${limitInputPixels} pixels`, source, `${meta.width}×${meta.height} = ${pixels} pixels (raise maxPixels to allow it)`));
    }
    const mode = pillowMode(meta, bytes);
    // Gray through libvips' b-w (one band); everything else as sRGB (3 or 4 bands), from which the mode's channels are picked.
    const pipeline = image.autoOrient().toColourspace(mode === 'L' || mode === '1' ? 'b-w' : 'srgb');
    const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const picked = pickChannels(data, info.channels, mode);
    if (picked === undefined) {
      throw new InvalidInputError(expectedMessage(`${MODE_CHANNELS[mode].length} channels after decoding`, source, `${info.channels}`));
    }
    return { data: picked, width: info.width, height: info.height, channels: MODE_CHANNELS[mode].length, mode, source };
  } catch (error) {
    if (error instanceof InvalidInputError || error instanceof IoError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    if (/pixel limit/i.test(message)) {
      throw new InvalidInputError(expectedMessage(`an image of at most ${limitInputPixels} pixels`, source, 'a larger image (decompression bomb guard; raise maxPixels to allow it)'), { cause: error });
    }
    if (/unsupported image format/i.test(message)) {
      throw new InvalidInputError(expectedMessage('a supported image (JPEG, PNG, WebP, GIF, TIFF, AVIF)', source, 'data in an unknown format'), { cause: error });
    }
    throw new InvalidInputError(expectedMessage('a decodable image', source, `a file sharp cannot decode (${message.split('\n')[0]})`), { cause: error });
  }
}
