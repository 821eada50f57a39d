/**
 * Preprocessing: CLIP's (`clip.clip._transform(S)`: Resize(S, BICUBIC) → CenterCrop(S) →
 * convert('RGB') → ToTensor → Normalize) bit for bit, and the detector's shortest-edge resize
 * (detectron2 ResizeShortestEdge, PIL bilinear) with the scale factors that map boxes back.
 *
 * Glossary: S the CLIP input size; H×W the image; CHW / NCHW float32 tensors.
 */
import { invalidInput } from '../errors.js';
import { roundHalfToEven } from '../geometry/anchors.js';
import type { Tensor } from '../geometry/tensor.js';
import { checkInteger } from '../geometry/validate.js';
import { decodeImage, type DecodedImage, type DecodeOptions, type ImageInput } from './read.js';
import { dropAlpha, resizePillow, type PixelImage, type ResampleFilter } from './resample.js';

export interface NormalizeOptions {
  /** Per-channel mean (RGB order), in [0, 1] units. */
  mean: [number, number, number];
  /** Per-channel standard deviation (RGB order). */
  std: [number, number, number];
}

export interface ClipPreprocessOptions extends NormalizeOptions, DecodeOptions {
  /** Input size S of the image tower (224 for ViT-B/32). */
  size: number;
  /** Resampling filter (CLIP: bicubic). */
  interpolation?: 'bicubic' | 'bilinear';
  /** `center`: short side to S then a centred S×S crop (CLIP); `none`: resize straight to S×S. */
  crop?: 'center' | 'none';
}

/** OpenAI CLIP's normalization constants. */
export const CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

/** The filter Pillow really uses for a mode: palette and bilevel images are resized NEAREST. */
function effectiveFilter(image: DecodedImage | PixelImage, requested: ResampleFilter): ResampleFilter {
  const mode = (image as DecodedImage).mode;
  return mode === 'P' || mode === '1' ? 'nearest' : requested;
}

function hasAlpha(image: PixelImage): boolean {
  return image.channels === 2 || image.channels === 4;
}

/** torchvision Resize(S) on a PIL image: short side → S, long side → int(S · long / short). */
export function clipResizeSize(width: number, height: number, size: number): [number, number] {
  if (width <= height) return [size, Math.trunc((size * height) / width)];
  return [Math.trunc((size * width) / height), size];
}

/** 1 to 4 channels → RGB: gray is replicated, alpha dropped without compositing (PIL convert('RGB')). */
export function toRgb(image: PixelImage): PixelImage {
  const colour = dropAlpha(image);
  if (colour.channels === 3) return colour;
  const pixels = colour.width * colour.height;
  const out = new Uint8Array(pixels * 3);
  for (let p = 0; p < pixels; p++) out[3 * p] = out[3 * p + 1] = out[3 * p + 2] = colour.data[p];
  return { data: out, width: colour.width, height: colour.height, channels: 3 };
}

/** CLIP's Resize(S, BICUBIC) followed by convert('RGB'): the resized RGB image before the crop. */
export function clipResize(image: DecodedImage | PixelImage, size: number, filter: 'bicubic' | 'bilinear' = 'bicubic'): PixelImage {
  checkInteger('size', size, 1);
  const [width, height] = clipResizeSize(image.width, image.height, size);
  const resized = resizePillow(image, width, height, { filter: effectiveFilter(image, filter), hasAlpha: hasAlpha(image) });
  return toRgb(resized);
}

/** CenterCrop(S): offsets round((H - S) / 2) with Python's round-half-to-even. */
export function centerCrop(image: PixelImage, size: number): PixelImage {
  if (image.width < size || image.height < size) {
    throw invalidInput(`an image of at least ${size}×${size} to crop`, 'centerCrop', `${image.width}×${image.height}`);
  }
  const top = roundHalfToEven((image.height - size) / 2);
  const left = roundHalfToEven((image.width - size) / 2);
  const c = image.channels;
  const out = new Uint8Array(size * size * c);
  for (let y = 0; y < size; y++) {
    const from = ((top + y) * image.width + left) * c;
    out.set(image.data.subarray(from, from + size * c), y * size * c);
  }
  return { data: out, width: size, height: size, channels: c };
}

/**
 * ToTensor + Normalize on an RGB image → CHW float32, each step rounded to float32 like torch:
 * `(fround(u / 255) - fround(mean)) / fround(std)`.
 */
export function normalizeToChw(image: PixelImage, { mean, std }: NormalizeOptions): Tensor {
  if (image.channels !== 3) throw invalidInput('an RGB image (3 channels)', 'normalize', `${image.channels} channels`);
  const f32 = Math.fround;
  const plane = image.width * image.height;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const m = f32(mean[c]), s = f32(std[c]);
    // 256-entry lookup: the same float32 value for every occurrence of a byte.
    const table = new Float32Array(256);
    for (let u = 0; u < 256; u++) table[u] = f32(f32(f32(u / 255) - m) / s);
    for (let p = 0; p < plane; p++) out[c * plane + p] = table[image.data[3 * p + c]];
  }
  return { data: out, dims: [3, image.height, image.width] };
}

/** CLIP preprocessing of a decoded image → CHW float32 [3, S, S]. */
export function clipPreprocessPixels(image: DecodedImage | PixelImage, options: Omit<ClipPreprocessOptions, keyof DecodeOptions>): Tensor & { dims: [3, number, number] } {
  const filter = options.interpolation ?? 'bicubic';
  const square = options.crop === 'none'
    ? toRgb(resizePillow(image, options.size, options.size, { filter: effectiveFilter(image, filter), hasAlpha: hasAlpha(image) }))
    : centerCrop(clipResize(image, options.size, filter), options.size);
  const tensor = normalizeToChw(square, options);
  return tensor as Tensor & { dims: [3, number, number] };
}

/** CLIP's preprocessing of an image file or Buffer: `{ data, dims: [3, S, S] }`, bit-exact with OpenAI's. */
export async function preprocessClip(image: ImageInput, options: ClipPreprocessOptions): Promise<{ data: Float32Array; dims: [3, number, number] }> {
  return clipPreprocessPixels(await decodeImage(image, options), options);
}

export interface ShortestEdgeOptions {
  /** Target length of the shorter side (detectron2 default 800). */
  shortEdge: number;
  /** Upper bound on the longer side (detectron2 default 1333). */
  maxSize: number;
}

export interface ResizedForDetection {
  /** The resized RGB image. */
  image: PixelImage;
  /** resized width / original width: divide x coordinates by it to map boxes back. */
  scaleX: number;
  /** resized height / original height. */
  scaleY: number;
}

/** detectron2 ResizeShortestEdge.get_output_shape: [height, width] after the resize. */
export function shortestEdgeSize(height: number, width: number, { shortEdge, maxSize }: ShortestEdgeOptions): [number, number] {
  const scale = shortEdge / Math.min(height, width);
  let [newH, newW] = height < width ? [shortEdge, scale * width] : [scale * height, shortEdge];
  if (Math.max(newH, newW) > maxSize) {
    const down = maxSize / Math.max(newH, newW);
    newH *= down;
    newW *= down;
  }
  return [Math.trunc(newH + 0.5), Math.trunc(newW + 0.5)];
}

/** The detector's resize: shortest edge to `shortEdge`, longest at most `maxSize`, PIL bilinear, no crop. */
export function resizeForDetection(image: DecodedImage | PixelImage, options: ShortestEdgeOptions = { shortEdge: 800, maxSize: 1333 }): ResizedForDetection {
  checkInteger('shortEdge', options.shortEdge, 1);
  checkInteger('maxSize', options.maxSize, 1);
  const [height, width] = shortestEdgeSize(image.height, image.width, options);
  const resized = resizePillow(image, width, height, { filter: effectiveFilter(image, 'bilinear'), hasAlpha: hasAlpha(image) });
  return { image: toRgb(resized), scaleX: width / image.width, scaleY: height / image.height };
}

export interface PixelNormalization {
  channelOrder: 'RGB' | 'BGR';
  /** Per-channel mean in pixel units (0–255), in `channelOrder`. */
  pixelMean: [number, number, number];
  /** Per-channel standard deviation in pixel units, in `channelOrder`. */
  pixelStd: [number, number, number];
}

/**
 * A detector input: RGB pixels → [1, 3, Hp, Wp] float32, `(u - mean) / std` per channel in the
 * given channel order (detectron2 style, pixel units), zero-padded right and bottom to multiples of
 * `sizeDivisibility` (the padding is 0 after normalization, as in detectron2's ImageList).
 */
export function toDetectorTensor(image: PixelImage, norm: PixelNormalization, sizeDivisibility = 1): Tensor {
  if (image.channels !== 3) throw invalidInput('an RGB image (3 channels)', 'toDetectorTensor', `${image.channels} channels`);
  checkInteger('sizeDivisibility', sizeDivisibility, 1);
  const f32 = Math.fround;
  const { width, height } = image;
  const Hp = Math.ceil(height / sizeDivisibility) * sizeDivisibility;
  const Wp = Math.ceil(width / sizeDivisibility) * sizeDivisibility;
  const out = new Float32Array(3 * Hp * Wp);
  for (let c = 0; c < 3; c++) {
    const source = norm.channelOrder === 'BGR' ? 2 - c : c;
    const mean = f32(norm.pixelMean[c]), std = f32(norm.pixelStd[c]);
    const table = new Float32Array(256);
    for (let u = 0; u < 256; u++) table[u] = f32(f32(u - mean) / std);
    for (let y = 0; y < height; y++) {
      const row = (c * Hp + y) * Wp;
      for (let x = 0; x < width; x++) out[row + x] = table[image.data[(y * width + x) * 3 + source]];
    }
  }
  return { data: out, dims: [1, 3, Hp, Wp] };
}
