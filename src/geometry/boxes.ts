/**
 * Box helpers on the one internal format: `Float32Array` of N×4 `[x1, y1, x2, y2]` in absolute
 * pixels. Pure: typed arrays in, new typed arrays out (inputs are never modified).
 *
 * Glossary: N boxes; a box row is 4 consecutive floats.
 */
import { invalidInput } from '../errors.js';
import { checkBoxes, checkNumber, checkSizeHW } from './validate.js';

const f32 = Math.fround;

/** Number of boxes in an N×4 array (checked). */
export function boxCount(boxes: Float32Array, name = 'boxes'): number {
  return checkBoxes(name, boxes);
}

/** Area of each box, `(x2 - x1) * (y2 - y1)` in float32 (torchvision.ops.box_area). */
export function boxArea(boxes: Float32Array): Float32Array {
  const n = checkBoxes('boxes', boxes);
  return areasOf(boxes, n);
}

/** Unchecked float32 areas; the callers have validated `boxes`. */
export function areasOf(boxes: Float32Array, n: number): Float32Array {
  const areas = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    areas[i] = f32(f32(boxes[4 * i + 2] - boxes[4 * i]) * f32(boxes[4 * i + 3] - boxes[4 * i + 1]));
  }
  return areas;
}

/**
 * Clips boxes to an image of `[height, width]`: x to [0, width], y to [0, height]
 * (torchvision.ops.clip_boxes_to_image, detectron2 Boxes.clip).
 */
export function clipBoxes(boxes: Float32Array, imageSizeHW: [number, number]): Float32Array {
  const n = checkBoxes('boxes', boxes);
  const [height, width] = checkSizeHW('imageSize', imageSizeHW);
  const out = new Float32Array(4 * n);
  for (let i = 0; i < 4 * n; i += 4) {
    out[i] = Math.min(Math.max(boxes[i], 0), width);
    out[i + 1] = Math.min(Math.max(boxes[i + 1], 0), height);
    out[i + 2] = Math.min(Math.max(boxes[i + 2], 0), width);
    out[i + 3] = Math.min(Math.max(boxes[i + 3], 0), height);
  }
  return out;
}

/**
 * Indices (ascending) of the boxes whose width and height are both >= `minSize`
 * (torchvision.ops.remove_small_boxes; detectron2's `nonempty` uses a strict `>` instead).
 */
export function removeSmallBoxes(boxes: Float32Array, minSize: number): Int32Array {
  const n = checkBoxes('boxes', boxes);
  checkNumber('minSize', minSize, 'nonNegative');
  const keep: number[] = [];
  for (let i = 0; i < n; i++) {
    const w = f32(boxes[4 * i + 2] - boxes[4 * i]);
    const h = f32(boxes[4 * i + 3] - boxes[4 * i + 1]);
    if (w >= minSize && h >= minSize) keep.push(i);
  }
  return Int32Array.from(keep);
}

/** Scales x by `scaleX` and y by `scaleY` (e.g. to map boxes from a resized image back). */
export function scaleBoxes(boxes: Float32Array, scaleX: number, scaleY: number = scaleX): Float32Array {
  const n = checkBoxes('boxes', boxes);
  checkNumber('scaleX', scaleX, 'positive');
  checkNumber('scaleY', scaleY, 'positive');
  const out = new Float32Array(4 * n);
  for (let i = 0; i < 4 * n; i += 4) {
    out[i] = boxes[i] * scaleX;
    out[i + 1] = boxes[i + 1] * scaleY;
    out[i + 2] = boxes[i + 2] * scaleX;
    out[i + 3] = boxes[i + 3] * scaleY;
  }
  return out;
}

/** `[x1, y1, x2, y2]` → `[x, y, w, h]` (COCO). */
export function xyxyToXywh(boxes: Float32Array): Float32Array {
  const n = checkBoxes('boxes', boxes);
  const out = new Float32Array(4 * n);
  for (let i = 0; i < 4 * n; i += 4) {
    out[i] = boxes[i];
    out[i + 1] = boxes[i + 1];
    out[i + 2] = boxes[i + 2] - boxes[i];
    out[i + 3] = boxes[i + 3] - boxes[i + 1];
  }
  return out;
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
