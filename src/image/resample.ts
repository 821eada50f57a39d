/**
 * Pillow's resampler (Pillow 9.4, libImaging/Resample.c), ported exactly: separable convolution,
 * horizontal pass first, 8-bit fixed point with 22 fractional bits, antialiased downscaling (the
 * filter support grows with the scale factor). This is what CLIP's and detectron2's preprocessing
 * run (PIL `Image.resize`); sharp/libvips resamples differently (it ignores the kernel when
 * enlarging and is shifted by about half a pixel), so the pixels are decoded with sharp but
 * resampled here. Pure: Uint8Array HWC in, new Uint8Array HWC out.
 *
 * Glossary: H×W×C image, C channels interleaved (HWC); `in`/`out` sizes along one axis.
 */
import { invalidInput } from '../errors.js';

export type ResampleFilter = 'bicubic' | 'bilinear' | 'nearest';

/** An 8-bit image, channels interleaved (HWC). */
export interface PixelImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

const PRECISION_BITS = 32 - 8 - 2;
const FIXED_ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

function bilinear(x: number): number {
  if (x < 0) x = -x;
  return x < 1 ? 1 - x : 0;
}

const FILTERS = { bicubic: { fn: bicubic, support: 2 }, bilinear: { fn: bilinear, support: 1 } } as const;

interface Coefficients {
  /** Per output index, first input index. */
  bounds: Int32Array;
  /** Per output index, number of taps. */
  counts: Int32Array;
  /** Fixed-point weights, `kernelSize` per output index. */
  weights: Int32Array;
  kernelSize: number;
}

/** Pillow precompute_coeffs + normalize_coeffs_8bpc for one axis (box = the whole input). */
function coefficients(inSize: number, outSize: number, filter: 'bicubic' | 'bilinear'): Coefficients {
  const { fn, support: baseSupport } = FILTERS[filter];
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = baseSupport * filterScale;
  const kernelSize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize);
  const counts = new Int32Array(outSize);
  const weights = new Int32Array(outSize * kernelSize);
  const k = new Float64Array(kernelSize);
  const ss = 1 / filterScale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let sum = 0;
    for (let x = 0; x < xmax; x++) {
      const w = fn((x + xmin - center + 0.5) * ss);
      k[x] = w;
      sum += w;
    }
    for (let x = 0; x < xmax; x++) {
      if (sum !== 0) k[x] /= sum;
      // Round half away from zero into 22-bit fixed point (C's (int) truncates toward zero).
      weights[xx * kernelSize + x] = k[x] < 0 ? Math.trunc(-0.5 + k[x] * FIXED_ONE) : Math.trunc(0.5 + k[x] * FIXED_ONE);
    }
    bounds[xx] = xmin;
    counts[xx] = xmax;
  }
  return { bounds, counts, weights, kernelSize };
}

function clip8(value: number): number {
  if (value >= FIXED_ONE * 256) return 255;
  if (value <= 0) return 0;
  return Math.floor(value / FIXED_ONE);
}

function resampleHorizontal(src: PixelImage, outWidth: number, filter: 'bicubic' | 'bilinear'): PixelImage {
  const { width, height, channels, data } = src;
  const { bounds, counts, weights, kernelSize } = coefficients(width, outWidth, filter);
  const out = new Uint8Array(outWidth * height * channels);
  for (let y = 0; y < height; y++) {
    const row = y * width * channels;
    const outRow = y * outWidth * channels;
    for (let xx = 0; xx < outWidth; xx++) {
      const xmin = bounds[xx], n = counts[xx], kBase = xx * kernelSize;
      for (let c = 0; c < channels; c++) {
        let acc = HALF;
        for (let x = 0; x < n; x++) acc += data[row + (xmin + x) * channels + c] * weights[kBase + x];
        out[outRow + xx * channels + c] = clip8(acc);
      }
    }
  }
  return { data: out, width: outWidth, height, channels };
}

function resampleVertical(src: PixelImage, outHeight: number, filter: 'bicubic' | 'bilinear'): PixelImage {
  const { width, height, channels, data } = src;
  const { bounds, counts, weights, kernelSize } = coefficients(height, outHeight, filter);
  const rowSize = width * channels;
  const out = new Uint8Array(outHeight * rowSize);
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = bounds[yy], n = counts[yy], kBase = yy * kernelSize;
    for (let i = 0; i < rowSize; i++) {
      let acc = HALF;
      for (let y = 0; y < n; y++) acc += data[(ymin + y) * rowSize + i] * weights[kBase + y];
      out[yy * rowSize + i] = clip8(acc);
    }
  }
  return { data: out, width, height: outHeight, channels };
}

/**
 * Pillow's NEAREST resize (ImagingScaleAffine): the source index is trunc(acc), where acc starts at
 * scale/2 and scale is added once per output pixel, in double (so it can differ from
 * (i + 0.5)·scale in the last bit). Pillow uses it for palette ("P") and bilevel ("1") images.
 */
function resampleNearest(src: PixelImage, outWidth: number, outHeight: number): PixelImage {
  const { width, height, channels, data } = src;
  const indices = (inSize: number, outSize: number): Int32Array => {
    const scale = inSize / outSize;
    const table = new Int32Array(outSize);
    let acc = scale * 0.5;
    for (let i = 0; i < outSize; i++) {
      table[i] = Math.min(Math.trunc(acc), inSize - 1);
      acc += scale;
    }
    return table;
  };
  const xs = indices(width, outWidth), ys = indices(height, outHeight);
  const out = new Uint8Array(outWidth * outHeight * channels);
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      const from = (ys[y] * width + xs[x]) * channels, to = (y * outWidth + x) * channels;
      for (let c = 0; c < channels; c++) out[to + c] = data[from + c];
    }
  }
  return { data: out, width: outWidth, height: outHeight, channels };
}

/** Pillow RGBA → RGBa: colour × alpha / 255 with its rounding (MULDIV255). */
function premultiply(src: PixelImage): PixelImage {
  const out = new Uint8Array(src.data);
  const alphaIndex = src.channels - 1;
  for (let p = 0; p < out.length; p += src.channels) {
    const alpha = out[p + alphaIndex];
    if (alpha === 255) continue;
    for (let c = 0; c < alphaIndex; c++) {
      const t = out[p + c] * alpha + 128;
      out[p + c] = ((t >> 8) + t) >> 8;
    }
  }
  return { ...src, data: out };
}

/** Pillow RGBa → RGBA: colour × 255 / alpha (integer division, clipped), unchanged at alpha 0 or 255. */
function unpremultiply(src: PixelImage): PixelImage {
  const out = src.data;
  const alphaIndex = src.channels - 1;
  for (let p = 0; p < out.length; p += src.channels) {
    const alpha = out[p + alphaIndex];
    if (alpha === 255 || alpha === 0) continue;
    for (let c = 0; c < alphaIndex; c++) out[p + c] = Math.min(255, Math.floor((255 * out[p + c]) / alpha));
  }
  return src;
}

export interface ResizeOptions {
  filter: ResampleFilter;
  /**
   * The last channel is alpha (RGBA, LA): resample premultiplied, as Pillow does for these modes,
   * so colour under transparent pixels does not bleed into the result.
   */
  hasAlpha?: boolean;
}

/**
 * PIL `Image.resize((width, height), filter)` on an 8-bit image. Returns the input unchanged (same
 * object) when the size does not change, as Pillow does.
 */
export function resizePillow(image: PixelImage, width: number, height: number, options: ResizeOptions): PixelImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw invalidInput('a positive integer width and height', 'resize size', `${width}×${height}`);
  }
  if (image.data.length !== image.width * image.height * image.channels) {
    throw invalidInput(`${image.width}×${image.height}×${image.channels} bytes`, 'image data', `length ${image.data.length}`);
  }
  if (width === image.width && height === image.height) return image;
  if (options.filter === 'nearest') return resampleNearest(image, width, height);
  const premultiplied = options.hasAlpha ? premultiply(image) : image;
  let out = premultiplied;
  if (width !== out.width) out = resampleHorizontal(out, width, options.filter);
  if (height !== out.height) out = resampleVertical(out, height, options.filter);
  return options.hasAlpha ? unpremultiply(out) : out;
}

/** Drops the alpha channel without compositing (PIL `convert('RGB')` from RGBA: transparent stays as stored). */
export function dropAlpha(image: PixelImage): PixelImage {
  if (image.channels !== 4 && image.channels !== 2) return image;
  const colour = image.channels - 1;
  const pixels = image.width * image.height;
  const out = new Uint8Array(pixels * colour);
  for (let p = 0; p < pixels; p++) for (let c = 0; c < colour; c++) out[p * colour + c] = image.data[p * image.channels + c];
  return { data: out, width: image.width, height: image.height, channels: colour };
}
