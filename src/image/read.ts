/**
 * Image decoding with sharp: a path or Buffer in, 8-bit HWC pixels out, oriented as a person sees
 * the image (EXIF orientation applied), with the Pillow-equivalent mode that decides how it is
 * resampled (see resample.ts).
 *
 * Formats: whatever sharp reads (JPEG, PNG, WebP, GIF — first frame of an animation —, TIFF, AVIF…).
 * CMYK and other colour spaces are converted to sRGB; 16-bit images are reduced to 8 bits;
 * grayscale stays one channel (resampled as one, then replicated, like Pillow's "L").
 * Alpha is kept here; the CLIP preprocessing resamples it premultiplied and then drops it without
 * compositing, exactly like CLIP's reference (PIL resize + convert('RGB')): fully transparent
 * pixels become black.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { InvalidInputError, IoError, describe, expectedMessage } from '../errors.js';
import type { PixelImage } from './resample.js';

/** Pillow's name for the decoded layout: decides the resampling (P and 1 use NEAREST in Pillow). */
export type PillowMode = 'L' | 'LA' | 'RGB' | 'RGBA' | 'P' | '1';

export interface DecodedImage extends PixelImage {
  mode: PillowMode;
  /** Where the image came from (a path, or "<buffer>"), for messages. */
  source: string;
}

export interface DecodeOptions {
  /**
   * Refuse images with more pixels than this (decompression bombs). Default: sharp's 268,402,689
   * (16383 × 16383). `false` disables the check.
   */
  maxPixels?: number | false;
}

export const DEFAULT_MAX_PIXELS = 0x3fff * 0x3fff;

function sourceName(input: string | Buffer): string {
  return typeof input === 'string' ? input : '<buffer>';
}

/** Decodes an image into 8-bit HWC pixels (1–4 channels) with EXIF orientation applied. */
export async function decodeImage(input: string | Buffer, options: DecodeOptions = {}): Promise<DecodedImage> {
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
    const gray = meta.space === 'b-w' || meta.space === 'grey16';
    const bilevel = gray && meta.bitsPerSample === 1 && meta.format === 'png';
    const hasAlpha = meta.hasAlpha === true;
    const mode: PillowMode = meta.isPalette ? 'P' : bilevel ? '1' : gray ? (hasAlpha ? 'LA' : 'L') : hasAlpha ? 'RGBA' : 'RGB';
    let pipeline = image.autoOrient().toColourspace(gray && !meta.isPalette ? 'b-w' : 'srgb');
    if (mode === 'P' || mode === '1' || mode === 'L' || mode === 'RGB') pipeline = pipeline.removeAlpha();
    const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const expectedChannels = mode === 'L' || mode === '1' ? 1 : mode === 'LA' ? 2 : mode === 'RGBA' ? 4 : 3;
    if (info.channels !== expectedChannels) {
      // A palette image with transparency decodes to RGBA; keep its colours and drop the alpha (Pillow's convert('RGB') from P).
      if (mode === 'P' && info.channels === 4) {
        const rgb = new Uint8Array(info.width * info.height * 3);
        for (let p = 0, q = 0; p < data.length; p += 4, q += 3) { rgb[q] = data[p]; rgb[q + 1] = data[p + 1]; rgb[q + 2] = data[p + 2]; }
        return { data: rgb, width: info.width, height: info.height, channels: 3, mode, source };
      }
      throw new InvalidInputError(expectedMessage(`${expectedChannels} channels after decoding`, source, `${info.channels}`));
    }
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: info.channels, mode, source };
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
