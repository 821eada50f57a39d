/**
 * Anchor generation in two styles, chosen by the manifest's `rpn.anchorStyle`:
 * - `torchvision` (AnchorGenerator, models/detection/anchor_utils.py): cell anchors rounded to
 *   integers, ratio-major; strides inferred as `H // h`, `W // w` of the padded image;
 * - `detectron2` (DefaultAnchorGenerator, modeling/anchor_generator.py, as RegionCLIP's offline RPNs
 *   use it with OFFSET 0): cell anchors computed in float64 and rounded once to float32, never to
 *   integers, size-major; strides fixed per level (FPN 4…64, C4 16).
 * A stride given per level overrides the inferred one in either style. Both place a cell's anchors at
 * `(x·sw, y·sh)` in float32.
 *
 * Glossary: L feature levels; per level S sizes and R aspect ratios (height / width) give A = R·S cell
 * anchors; a level of h×w cells gives h·w·A anchors ordered y, then x, then cell anchor; levels are
 * concatenated in order.
 */
import { describe, invalidInput } from '../errors.js';
import { checkInteger, checkSizeHW } from './validate.js';

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

export type AnchorStyle = 'torchvision' | 'detectron2';

/**
 * Cell anchors of one level, centred at 0, A×4 XYXY, in the given style (default torchvision; see the
 * module header).
 */
export function cellAnchors(sizes: number[], aspectRatios: number[], style: AnchorStyle = 'torchvision'): Float32Array {
  checkPositiveList('sizes', sizes);
  checkPositiveList('aspectRatios', aspectRatios);
  if (style === 'detectron2') return detectron2CellAnchors(sizes, aspectRatios);
  if (style !== 'torchvision') throw invalidInput('"torchvision" or "detectron2"', 'anchor style', describe(style));
  return torchvisionCellAnchors(sizes, aspectRatios);
}

/**
 * torchvision: `round([-ws, -hs, ws, hs] / 2)` with `hs = sqrt(ratio) · size`, `ws = size / sqrt(ratio)`
 * in float32, rounded half to even; ratio-major (for each ratio, each size).
 */
function torchvisionCellAnchors(sizes: number[], aspectRatios: number[]): Float32Array {
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

/**
 * detectron2 `generate_cell_anchors`: size-major (for each size, each ratio), `w = sqrt(size² / ratio)`,
 * `h = ratio · w` in float64, `[-w/2, -h/2, w/2, h/2]` rounded once to float32. Size 32, ratio 0.5 gives
 * ±22.627417 × ±11.313708 (torchvision: ±23 × ±11).
 */
function detectron2CellAnchors(sizes: number[], aspectRatios: number[]): Float32Array {
  const out = new Float32Array(sizes.length * aspectRatios.length * 4);
  let o = 0;
  for (const size of sizes) {
    for (const ratio of aspectRatios) {
      const w = Math.sqrt((size * size) / ratio);
      const h = ratio * w;
      out[o++] = -w / 2;
      out[o++] = -h / 2;
      out[o++] = w / 2;
      out[o++] = h / 2;
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
  /** Cell-anchor style (default torchvision). */
  style?: AnchorStyle;
  /** Per level, a fixed stride for both axes (detectron2: FPN 4, 8, 16, 32, 64; C4 16); a missing
   * entry (or list) is inferred as `[H // h, W // w]`. */
  strides?: readonly (number | undefined)[];
}

export interface Anchors {
  /** All anchors, levels concatenated: (Σ h·w·A)×4 XYXY. */
  anchors: Float32Array;
  /** Anchors per level (h·w·A). */
  anchorsPerLevel: number[];
  /** Cell anchors per location, per level (A). */
  anchorsPerLocation: number[];
  /** Strides per level [sh, sw]: the given stride, or [H // h, W // w]. */
  strides: [number, number][];
}

/**
 * Every level's anchors: the cell anchors (in `style`) shifted to `(x·sw, y·sh)` for every cell. Strides
 * are the given ones, else torchvision's integer quotients `H // h`, `W // w` (uneven when the sizes do
 * not divide: 800 // 13 = 61 for an FPN P6 whose true stride is 64).
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
  const cells = sizes.map((levelSizes, l) => cellAnchors(levelSizes, ratios.length === 1 ? ratios[0] : ratios[l], options.style));
  const maps = featureMapSizes.map((size, l) => checkSizeHW(`featureMapSizes[${l}]`, size));
  const strides = levelStrides(maps, [imageH, imageW], options.strides);
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

/** The given per-level strides (one for both axes), else `[H // h, W // w]`. */
function levelStrides(maps: [number, number][], [imageH, imageW]: [number, number], given: AnchorOptions['strides']): [number, number][] {
  if (given !== undefined && (!Array.isArray(given) || given.length !== maps.length)) {
    throw invalidInput(`one stride (or undefined) per level (${maps.length})`, 'strides', describe(given));
  }
  return maps.map(([h, w], l) => {
    const stride = given?.[l];
    if (stride === undefined) return [Math.floor(imageH / h), Math.floor(imageW / w)];
    checkInteger(`strides[${l}]`, stride, 1);
    return [stride, stride];
  });
}
