/**
 * Boxes on the one internal format: N×4 `[x1, y1, x2, y2]` in absolute pixels, float32.
 *
 * `Boxes` is the structure every stage passes (detectron2's `structures/boxes.py`): a Float32Array
 * behind a checked length, validated once where it enters (user boxes, graph outputs), with the
 * operations the stages need (area, clip, nonempty, scale and unscale, expand, gather, toXywh). The free functions
 * below are the library's array API over the same kernels; each validates its argument.
 * Pure: typed arrays in, new typed arrays out (inputs are never modified).
 *
 * Glossary: N boxes; a box row is 4 consecutive floats.
 */
import { invalidInput } from '../errors.js';
import { checkBoxes, checkNumber, checkSizeHW, type BoxCheckOptions } from './validate.js';

const f32 = Math.fround;

// ---------------------------------------------------------------------------------------------
// Kernels, unchecked: the public functions and the `Boxes` methods call these after their checks.

/** Float32 areas `(x2 - x1) * (y2 - y1)` of N boxes (torchvision.ops.box_area). */
export function areasOf(boxes: Float32Array, n: number): Float32Array {
  const areas = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    areas[i] = f32(f32(boxes[4 * i + 2] - boxes[4 * i]) * f32(boxes[4 * i + 3] - boxes[4 * i + 1]));
  }
  return areas;
}

function clipRows(boxes: Float32Array, height: number, width: number): Float32Array {
  const out = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    out[i] = Math.min(Math.max(boxes[i], 0), width);
    out[i + 1] = Math.min(Math.max(boxes[i + 1], 0), height);
    out[i + 2] = Math.min(Math.max(boxes[i + 2], 0), width);
    out[i + 3] = Math.min(Math.max(boxes[i + 3], 0), height);
  }
  return out;
}

/**
 * How a box's float32 width and height are compared with a minimum size: `gte` keeps `>=`
 * (torchvision remove_small_boxes), `gt` keeps `>` (detectron2 `Boxes.nonempty`, so with 0 a
 * zero-width box is dropped).
 */
export type MinSizeRule = 'gte' | 'gt';

/** Indices of rows whose float32 width and height both pass `minSize` under `rule`. */
function rowsAtLeast(boxes: Float32Array, minSize: number, rule: MinSizeRule = 'gte'): Int32Array {
  const keep: number[] = [];
  const strict = rule === 'gt';
  for (let i = 0; i < boxes.length / 4; i++) {
    const w = f32(boxes[4 * i + 2] - boxes[4 * i]);
    const h = f32(boxes[4 * i + 3] - boxes[4 * i + 1]);
    if (strict ? w > minSize && h > minSize : w >= minSize && h >= minSize) keep.push(i);
  }
  return Int32Array.from(keep);
}

function scaleRows(boxes: Float32Array, scaleX: number, scaleY: number): Float32Array {
  const out = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    out[i] = boxes[i] * scaleX;
    out[i + 1] = boxes[i + 1] * scaleY;
    out[i + 2] = boxes[i + 2] * scaleX;
    out[i + 3] = boxes[i + 3] * scaleY;
  }
  return out;
}

function divideRows(boxes: Float32Array, scaleX: number, scaleY: number): Float32Array {
  const out = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    out[i] = boxes[i] / scaleX;
    out[i + 1] = boxes[i + 1] / scaleY;
    out[i + 2] = boxes[i + 2] / scaleX;
    out[i + 3] = boxes[i + 3] / scaleY;
  }
  return out;
}

function expandRows(boxes: Float32Array, factor: number): Float32Array {
  const out = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    const cx = (boxes[i] + boxes[i + 2]) / 2, cy = (boxes[i + 1] + boxes[i + 3]) / 2;
    const hw = ((boxes[i + 2] - boxes[i]) * factor) / 2, hh = ((boxes[i + 3] - boxes[i + 1]) * factor) / 2;
    out[i] = cx - hw;
    out[i + 1] = cy - hh;
    out[i + 2] = cx + hw;
    out[i + 3] = cy + hh;
  }
  return out;
}

function xywhRows(boxes: Float32Array): Float32Array {
  const out = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    out[i] = boxes[i];
    out[i + 1] = boxes[i + 1];
    out[i + 2] = boxes[i + 2] - boxes[i];
    out[i + 3] = boxes[i + 3] - boxes[i + 1];
  }
  return out;
}

/** Rows `indices` (in that order) of a row-major array with `width` values per row. Unchecked. */
export function gatherRows(rows: Float32Array, width: number, indices: ArrayLike<number>): Float32Array {
  const out = new Float32Array(width * indices.length);
  for (let k = 0; k < indices.length; k++) out.set(rows.subarray(width * indices[k], width * indices[k] + width), width * k);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The structure.

/**
 * N boxes, XYXY absolute pixels, float32 (detectron2 `Boxes`). Build with `Boxes.from` at an edge
 * (validates every coordinate) or `Boxes.of` for rows a stage produced itself (length checked);
 * every method returns new data and never re-validates.
 */
export class Boxes {
  /** N×4 row-major `[x1, y1, x2, y2]`. */
  readonly data: Float32Array;
  /** N. */
  readonly length: number;

  private constructor(data: Float32Array) {
    this.data = data;
    this.length = data.length / 4;
  }

  /**
   * Boxes from outside (a user, a file, a library caller): a Float32Array of N×4 finite
   * coordinates with x1 <= x2 and y1 <= y2 (unless `allowInverted`).
   * @throws InvalidInputError naming `name` and the first bad box.
   */
  static from(data: unknown, name = 'boxes', options: BoxCheckOptions = {}): Boxes {
    checkBoxes(name, data, options);
    return new Boxes(data as Float32Array);
  }

  /** Boxes a stage computed itself: only the N×4 length is checked. @throws InvalidInputError */
  static of(data: Float32Array): Boxes {
    if (!(data instanceof Float32Array) || data.length % 4 !== 0) {
      throw invalidInput('a Float32Array of N×4 [x1, y1, x2, y2] boxes', 'boxes', data instanceof Float32Array ? `length ${data.length}` : typeof data);
    }
    return new Boxes(data);
  }

  static empty(): Boxes {
    return new Boxes(new Float32Array(0));
  }

  /** Box i as `[x1, y1, x2, y2]`. */
  row(i: number): [number, number, number, number] {
    const d = this.data;
    return [d[4 * i], d[4 * i + 1], d[4 * i + 2], d[4 * i + 3]];
  }

  /** N float32 areas. */
  area(): Float32Array {
    return areasOf(this.data, this.length);
  }

  /** Clipped to an image of [height, width] (detectron2 `Boxes.clip`). */
  clip(imageSizeHW: readonly [number, number]): Boxes {
    return new Boxes(clipRows(this.data, imageSizeHW[0], imageSizeHW[1]));
  }

  /**
   * Indices (ascending) of boxes at least `minSize` wide and high: float32 `>=` (rule `gte`, torchvision
   * remove_small_boxes) or `>` (rule `gt`, detectron2 `nonempty`).
   */
  nonempty(minSize = 0, rule: MinSizeRule = 'gte'): Int32Array {
    return rowsAtLeast(this.data, minSize, rule);
  }

  /** x times `scaleX`, y times `scaleY` (e.g. between the original and the resized image). */
  scale(scaleX: number, scaleY: number = scaleX): Boxes {
    return new Boxes(scaleRows(this.data, scaleX, scaleY));
  }

  /** x divided by `scaleX`, y by `scaleY`: the inverse of a resize by those factors (back to the original image). */
  unscale(scaleX: number, scaleY: number = scaleX): Boxes {
    return new Boxes(divideRows(this.data, scaleX, scaleY));
  }

  /** Each box enlarged by `factor` around its centre (context for crops; 1 keeps the box). */
  expand(factor: number): Boxes {
    return new Boxes(expandRows(this.data, factor));
  }

  /** The boxes at `indices`, in that order. */
  gather(indices: ArrayLike<number>): Boxes {
    return new Boxes(gatherRows(this.data, 4, indices));
  }

  /** N×4 COCO `[x, y, w, h]`. */
  toXywh(): Float32Array {
    return xywhRows(this.data);
  }
}

// ---------------------------------------------------------------------------------------------
// The array API (exported by the library): each checks its arguments, then runs a kernel.

/** Number of boxes in an N×4 array (checked). */
export function boxCount(boxes: Float32Array, name = 'boxes'): number {
  return checkBoxes(name, boxes);
}

/** Area of each box, `(x2 - x1) * (y2 - y1)` in float32 (torchvision.ops.box_area). */
export function boxArea(boxes: Float32Array): Float32Array {
  return areasOf(boxes, checkBoxes('boxes', boxes));
}

/**
 * Clips boxes to an image of `[height, width]`: x to [0, width], y to [0, height]
 * (torchvision.ops.clip_boxes_to_image, detectron2 Boxes.clip).
 */
export function clipBoxes(boxes: Float32Array, imageSizeHW: [number, number]): Float32Array {
  checkBoxes('boxes', boxes);
  const [height, width] = checkSizeHW('imageSize', imageSizeHW);
  return clipRows(boxes, height, width);
}

/**
 * Indices (ascending) of the boxes whose width and height are both >= `minSize`
 * (torchvision.ops.remove_small_boxes; detectron2's `nonempty` uses a strict `>` instead).
 */
export function removeSmallBoxes(boxes: Float32Array, minSize: number): Int32Array {
  checkBoxes('boxes', boxes);
  checkNumber('minSize', minSize, 'nonNegative');
  return rowsAtLeast(boxes, minSize);
}

/** Scales x by `scaleX` and y by `scaleY` (e.g. to map boxes from a resized image back). */
export function scaleBoxes(boxes: Float32Array, scaleX: number, scaleY: number = scaleX): Float32Array {
  checkBoxes('boxes', boxes);
  checkNumber('scaleX', scaleX, 'positive');
  checkNumber('scaleY', scaleY, 'positive');
  return scaleRows(boxes, scaleX, scaleY);
}

/** `[x1, y1, x2, y2]` → `[x, y, w, h]` (COCO). */
export function xyxyToXywh(boxes: Float32Array): Float32Array {
  checkBoxes('boxes', boxes);
  return xywhRows(boxes);
}

/** `[x, y, w, h]` (COCO) → `[x1, y1, x2, y2]`. Widths and heights must be finite and >= 0. */
export function xywhToXyxy(boxes: Float32Array): Float32Array {
  if (!(boxes instanceof Float32Array) || boxes.length % 4 !== 0) {
    // Reuse the XYXY checker's message for type and length problems.
    checkBoxes('boxes', boxes, { allowInverted: true });
  }
  const n = boxes.length / 4;
  const out = new Float32Array(4 * n);
  for (let i = 0; i < 4 * n; i += 4) {
    const x = boxes[i], y = boxes[i + 1], w = boxes[i + 2], h = boxes[i + 3];
    if (![x, y, w, h].every(Number.isFinite) || w < 0 || h < 0) {
      throw invalidInput('finite [x, y, w, h] with w >= 0 and h >= 0', `boxes[${i / 4}]`, `[${x}, ${y}, ${w}, ${h}]`);
    }
    out[i] = x;
    out[i + 1] = y;
    out[i + 2] = x + w;
    out[i + 3] = y + h;
  }
  return out;
}
