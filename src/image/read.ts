/**
 * Image decoding with sharp: a path or Buffer in, 8-bit HWC pixels out, oriented as a person sees
 * the image (EXIF orientation applied), with the Pillow-equivalent mode that decides how it is
 * resampled (see resample.ts).
 *
 * Formats: whatever sharp reads (JPEG, PNG, WebP, GIF — first frame of an animation —, TIFF, AVIF…).
 * CMYK and other colour spaces are converted to sRGB; 16-bit images are reduced to 8 bits (the
 * high byte of every sample); 1/2/4-bit gray is scaled to 0–255; grayscale stays one channel (resampled as one,
 * then replicated, like Pillow's "L"), gray with alpha two ("LA"); palette images (PNG, GIF) come
 * as their RGB colours. Alpha (an alpha channel: PNG colour types 4 and 6, WebP, TIFF…) is kept
 * here; the CLIP preprocessing resamples it premultiplied and then drops it without compositing,
 * exactly like CLIP's reference (PIL resize + convert('RGB')): fully transparent pixels become
 * black. A PNG tRNS chunk is not alpha (Pillow's modes L, RGB and P ignore it on convert('RGB')).
 */
import { readFile } from 'node:fs/promises';
import sharp, { type Metadata, type Sharp } from 'sharp';
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

/** Channels per mode: gray (1, bilevel 1), gray + alpha, RGB (palette images as their colours), RGBA. */
const MODE_CHANNELS: Readonly<Record<PillowMode, number>> = { '1': 1, L: 1, LA: 2, RGB: 3, P: 3, RGBA: 4 };

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

/**
 * The mode's channels out of decoded pixels laid out as gray (+ alpha: 1–2 bands) or RGB (+ alpha:
 * 3–4 bands), 16-bit samples reduced to their high byte (as Pillow reads 16-bit RGB, RGBA and LA;
 * its 16-bit gray stays I;16, which convert('RGB') would clip at 255 — the high byte is used here too): gray from
 * RGB is its R (the two only meet for a gray image converted to sRGB, R = G = B); a palette image's
 * alpha is dropped. Undefined when a channel is missing (RGBA from 3 bands, RGB from gray).
 */
function pickChannels(data: Uint8Array | Uint16Array, bands: number, mode: PillowMode): Uint8Array | undefined {
  const colour = bands <= 2 ? 1 : 3;
  const wanted = MODE_CHANNELS[mode];
  const wantAlpha = mode === 'LA' || mode === 'RGBA';
  if ((wanted - (wantAlpha ? 1 : 0)) > colour || (wantAlpha && bands !== colour + 1)) return undefined;
  const picks = [...Array(wanted - (wantAlpha ? 1 : 0)).keys(), ...(wantAlpha ? [colour] : [])];
  const shift = data instanceof Uint16Array ? 8 : 0;
  if (data instanceof Uint8Array && picks.length === bands) return data;
  const pixels = data.length / bands;
  const out = new Uint8Array(pixels * picks.length);
  for (let p = 0; p < pixels; p++) for (let k = 0; k < picks.length; k++) out[p * picks.length + k] = data[p * bands + picks[k]] >> shift;
  return out;
}

/**
 * Oriented pixels in the colour space the mode needs: gray as libvips' b-w (one band) or, with
 * alpha, sRGB (b-w drops alpha); the rest as sRGB; 16-bit images in their 16-bit space (grey16
 * keeps alpha), so that pickChannels reduces every sample the same way.
 */
async function decodePixels(image: Sharp, mode: PillowMode, sixteen: boolean): Promise<{ data: Uint8Array | Uint16Array; channels: number; width: number; height: number }> {
  const gray = mode === 'L' || mode === '1' || mode === 'LA';
  const space = sixteen ? (gray ? 'grey16' : 'rgb16') : gray && mode !== 'LA' ? 'b-w' : 'srgb';
  const { data, info } = await image.autoOrient().toColourspace(space).raw({ depth: sixteen ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
  // Native-endian 16-bit samples; copied first in the unlikely case the buffer is not 2-byte aligned.
  const aligned = data.byteOffset % 2 === 0 ? data : Buffer.from(data);
  const samples = sixteen ? new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.length / 2) : new Uint8Array(data.buffer, data.byteOffset, data.length);
  return { data: samples, channels: info.channels, width: info.width, height: info.height };
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
    const { data, channels, width, height } = await decodePixels(image, mode, meta.depth === 'ushort');
    const picked = pickChannels(data, channels, mode);
    if (picked === undefined) throw new InvalidInputError(expectedMessage(`${MODE_CHANNELS[mode]} channels after decoding`, source, `${channels}`));
    return { data: picked, width, height, channels: MODE_CHANNELS[mode], mode, source };
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
