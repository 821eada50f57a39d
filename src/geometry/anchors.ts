/**
 * Anchor generation, matching torchvision's AnchorGenerator (models/detection/anchor_utils.py).
 *
 * Glossary: L feature levels; per level S sizes and R aspect ratios give A = R·S cell anchors
 * (ratio-major, then size); a level of h×w cells gives h·w·A anchors ordered y, then x, then cell
 * anchor; levels are concatenated in order.
 */
import { describe, invalidInput } from '../errors.js';
import { checkSizeHW } from './validate.js';

const f32 = Math.fround;

/** Python's round(): halves go to the even neighbour (torch.round does the same). */
export function roundHalfToEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function checkPositiveList(name: string, values: unknown): number[] {
  if (!Array.isArray(values) || values.length === 0 || !values.every((v) => typeof v === 'number' && Number.isFinite(v) && v > 0)) {
    throw invalidInput('a non-empty list of positive numbers', name, Array.isArray(values) ? `[${values.join(', ')}]` : describe(values));
  }
  return values;
}

/**
 * Cell anchors of one level, centred at 0: A×4 `round([-ws, -hs, ws, hs] / 2)` with
 * `hs = sqrt(ratio) · size`, `ws = size / sqrt(ratio)` in float32 (aspect ratio = height / width),
 * rounded half to even.
 */
export function cellAnchors(sizes: number[], aspectRatios: number[]): Float32Array {
  checkPositiveList('sizes', sizes);
  checkPositiveList('aspectRatios', aspectRatios);
  const out = new Float32Array(sizes.length * aspectRatios.length * 4);
  let o = 0;
  for (const ratio of aspectRatios) {
    const hRatio = f32(Math.sqrt(f32(ratio)));
    const wRatio = f32(1 / hRatio);
    for (const size of sizes) {
      const ws = f32(wRatio * f32(size));
      const hs = f32(hRatio * f32(size));
      out[o++] = roundHalfToEven(f32(-ws / 2));
      out[o++] = roundHalfToEven(f32(-hs / 2));
      out[o++] = roundHalfToEven(f32(ws / 2));
      out[o++] = roundHalfToEven(f32(hs / 2));
    }
  }
  return out;
}

export interface AnchorOptions {
  /** Per level, the anchor sizes (square-root of the area, in image pixels). */
  sizes: number[][];
  /** Per level (or one list for all levels), aspect ratios height / width. */
  aspectRatios: number[][];
  /** The (padded) image size [H, W]. */
  imageSize: [number, number];
  /** Per level, the feature map size [h, w]. */
  featureMapSizes: [number, number][];
}

export interface Anchors {
  /** All anchors, levels concatenated: (Σ h·w·A)×4 XYXY. */
  anchors: Float32Array;
  /** Anchors per level (h·w·A). */
  anchorsPerLevel: number[];
  /** Cell anchors per location, per level (A). */
  anchorsPerLocation: number[];
  /** Strides per level [sh, sw] = [H // h, W // w]. */
  strides: [number, number][];
}

/**
 * torchvision AnchorGenerator: strides are the integer quotients `H // h`, `W // w` (uneven when
 * the sizes do not divide), and each level's anchors are the cell anchors shifted to
 * `(x·sw, y·sh)` for every cell.
 */
export function generateAnchors(options: AnchorOptions): Anchors {
  const { sizes, featureMapSizes } = options;
  const [imageH, imageW] = checkSizeHW('imageSize', options.imageSize);
  if (!Array.isArray(sizes) || sizes.length === 0) throw invalidInput('a list of anchor sizes per level', 'sizes', describe(sizes));
  if (!Array.isArray(featureMapSizes) || featureMapSizes.length !== sizes.length) {
    throw invalidInput(`one feature map size per level (${sizes.length})`, 'featureMapSizes', describe(featureMapSizes));
  }
  const ratios = options.aspectRatios;
  if (!Array.isArray(ratios) || (ratios.length !== sizes.length && ratios.length !== 1)) {
    throw invalidInput(`one aspect-ratio list per level (${sizes.length}), or one for all`, 'aspectRatios', describe(ratios));
  }
  const cells = sizes.map((levelSizes, l) => cellAnchors(levelSizes, ratios.length === 1 ? ratios[0] : ratios[l]));
  const maps = featureMapSizes.map((size, l) => checkSizeHW(`featureMapSizes[${l}]`, size));
  const strides = maps.map(([h, w]) => [Math.floor(imageH / h), Math.floor(imageW / w)] as [number, number]);
  const anchorsPerLocation = cells.map((c) => c.length / 4);
  const anchorsPerLevel = maps.map(([h, w], l) => h * w * anchorsPerLocation[l]);
  const anchors = new Float32Array(4 * anchorsPerLevel.reduce((a, b) => a + b, 0));
  let o = 0;
  maps.forEach(([h, w], l) => {
    const cell = cells[l];
    const [sh, sw] = strides[l];
    for (let y = 0; y < h; y++) {
      const shiftY = y * sh;
      for (let x = 0; x < w; x++) {
        const shiftX = x * sw;
        for (let a = 0; a < cell.length; a += 4) {
          anchors[o++] = f32(shiftX + cell[a]);
          anchors[o++] = f32(shiftY + cell[a + 1]);
          anchors[o++] = f32(shiftX + cell[a + 2]);
          anchors[o++] = f32(shiftY + cell[a + 3]);
        }
      }
    }
  });
  return { anchors, anchorsPerLevel, anchorsPerLocation, strides };
}
