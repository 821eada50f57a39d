/**
 * Greedy non-maximum suppression, index for index the same as torchvision.ops.nms and
 * torchvision.ops.batched_nms (CPU kernels).
 *
 * Glossary: N boxes (XYXY, float32), N scores, N class ids; results are indices into the inputs.
 *
 * Reference semantics reproduced here:
 * - boxes are visited in decreasing score order; ties keep their input order (a stable sort, which
 *   is what torchvision returned on the tied-score golden case);
 * - IoU is computed in float32 — area, intersection and union each rounded to float32 — and the
 *   float32 IoU is then compared with the (double) threshold. This matters: float32(3/10) is
 *   0.300000012 > 0.3, so a float64 IoU would keep boxes torchvision suppresses;
 * - a box is suppressed only when IoU > threshold (equal keeps); a NaN IoU (two zero-area boxes)
 *   never suppresses.
 *
 * How it is fast (same decisions, less work): the visiting order is a radix sort of the scores'
 * float32 bits (linear time, stable); each box is compared only with the boxes already kept in its
 * class, stored contiguously, and the comparison stops at the first that suppresses it; a pair whose
 * x- or y-extents do not overlap is rejected before any float32 rounding. batchedNms partitions the
 * visiting order by class once and runs the same kernel per class.
 */
import { areasOf } from './boxes.js';
import { checkBoxes, checkFraction, checkScores } from './validate.js';
import { describe, invalidInput } from '../errors.js';

const f32 = Math.fround;

/**
 * Indices 0..N-1 ordered by decreasing score; equal scores (-0 and +0 included) keep ascending index
 * order. An LSD radix sort, 8 bits per pass, of keys whose unsigned order is descending float order
 * (NaN, which the public functions reject, sorts by its bits).
 */
export function argsortDescending(scores: Float32Array): Int32Array {
  const n = scores.length;
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = scores[i] + 0; // -0 + 0 is +0: the two zeros tie
  let keys = new Uint32Array(values.buffer);
  const counts = new Int32Array(4 * 256);
  for (let i = 0; i < n; i++) {
    const bits = keys[i];
    // Non-negative floats: invert all bits (larger first); negative floats: keep (more negative last).
    const key = bits >= 0x80000000 ? bits : ~bits & 0x7fffffff;
    keys[i] = key;
    counts[key & 0xff]++;
    counts[256 + ((key >>> 8) & 0xff)]++;
    counts[512 + ((key >>> 16) & 0xff)]++;
    counts[768 + (key >>> 24)]++;
  }
  let order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let nextKeys = new Uint32Array(n), nextOrder = new Int32Array(n);
  for (let pass = 0; pass < 4; pass++) {
    const base = 256 * pass, shift = 8 * pass;
    if (n === 0 || counts[base + ((keys[0] >>> shift) & 0xff)] === n) continue; // one digit: already in order
    let start = 0;
    for (let d = 0; d < 256; d++) {
      const c = counts[base + d];
      counts[base + d] = start;
      start += c;
    }
    for (let i = 0; i < n; i++) {
      const key = keys[i];
      const slot = counts[base + ((key >>> shift) & 0xff)]++;
      nextKeys[slot] = key;
      nextOrder[slot] = order[i];
    }
    [keys, nextKeys] = [nextKeys, keys];
    [order, nextOrder] = [nextOrder, order];
  }
  return order;
}

/** Whether kept row k of `rows` (x1, y1, x2, y2, area) overlaps the box by a float32 IoU > threshold. */
function suppresses(rows: Float64Array, k: number, x1: number, y1: number, x2: number, y2: number, area: number, iouThreshold: number): boolean {
  const o = 5 * k;
  // A difference of two float32 values has the sign of its float32 rounding: test before rounding.
  const w = Math.min(rows[o + 2], x2) - Math.max(rows[o], x1);
  if (w <= 0) return false; // no overlap: IoU is 0 (or NaN for two empty boxes), never > threshold
  const h = Math.min(rows[o + 3], y2) - Math.max(rows[o + 1], y1);
  if (h <= 0) return false;
  const inter = f32(f32(w) * f32(h));
  return f32(inter / f32(f32(rows[o + 4] + area) - inter)) > iouThreshold;
}

/** Appends box j as kept row `count` of `rows`. */
function keepRow(rows: Float64Array, count: number, boxes: Float32Array, areas: Float32Array, j: number): void {
  const o = 5 * count;
  rows[o] = boxes[4 * j];
  rows[o + 1] = boxes[4 * j + 1];
  rows[o + 2] = boxes[4 * j + 2];
  rows[o + 3] = boxes[4 * j + 3];
  rows[o + 4] = areas[j];
}

/**
 * Greedy NMS of one class, visiting `order[from..to)`: a box is kept when no box kept before it
 * overlaps it by more than the threshold. Comparing each box with the kept boxes only is the same
 * decision as torchvision's forward suppression (suppressed boxes never suppress) and lets the loop
 * stop once `maxKeep` boxes are kept. Writes the kept indices, in visiting order, to
 * `kept[keptFrom..]` and returns how many. Large classes go through `ReachGrid`, which skips pairs
 * that cannot overlap by more than the threshold. Unchecked: callers validate.
 */
function keepGreedy(boxes: Float32Array, areas: Float32Array, order: Int32Array, from: number, to: number, iouThreshold: number, maxKeep: number, kept: Int32Array, keptFrom: number): number {
  const rows = new Float64Array(5 * Math.min(to - from, maxKeep));
  if (to - from >= GRID_MIN_BOXES) return new ReachGrid(boxes, order, from, to, iouThreshold).keep(boxes, areas, rows, maxKeep, kept, keptFrom);
  let count = 0;
  for (let oi = from; oi < to && count < maxKeep; oi++) {
    const j = order[oi];
    const x1 = boxes[4 * j], y1 = boxes[4 * j + 1], x2 = boxes[4 * j + 2], y2 = boxes[4 * j + 3], area = areas[j];
    let k = 0;
    while (k < count && !suppresses(rows, k, x1, y1, x2, y2, area, iouThreshold)) k++;
    if (k === count) {
      keepRow(rows, count, boxes, areas, j);
      kept[keptFrom + count++] = j;
    }
  }
  return count;
}

/** Classes with at least this many boxes use the grid; below it, scanning every kept box is faster. */
const GRID_MIN_BOXES = 256;
/** A kept box whose reach covers more cells than this is compared with every box instead. */
const GRID_MAX_CELLS = 16;
/** Sides and coordinates in this range keep float32 rounding small enough for the reach bound. */
const REGULAR_MIN_SIDE = 2 ** -40, REGULAR_MAX_COORD = 2 ** 60;

/**
 * A uniform grid over box centres that finds, for a box, the kept boxes that could overlap it by more
 * than the threshold t. Exactly, IoU > t needs the intersection width wI above t·max(wA, wB) (the
 * intersection is at most wI times either height, the union at least either area), and
 * wI <= (wA + wB)/2 - |cxA - cxB|; so |cxA - cxB| < (wA + wB)/2 - t·max(wA, wB) <= (1 - t)·(wA + wB)/2,
 * and likewise in y. Each box's reach is its centre ± (1 - t)·side/2; two boxes are compared only
 * when their reaches overlap. The float32 IoU the decision uses is within 2^-19 of the exact one
 * (relative) when both boxes have sides of 0 or at least 2^-40, coordinates within ±2^60 and an
 * intersection of at least 2^-126 (below that their float32 IoU is under 2^-46), so t is lowered by
 * 2^-16 (relative; to 0 when t < 2^-40) and the reach widened by a rounding margin; other boxes are
 * compared with everything. Kept boxes whose reach covers many cells go to a list every query scans.
 */
class ReachGrid {
  private readonly cx: Float64Array;
  private readonly cy: Float64Array;
  private readonly rx: Float64Array;
  private readonly ry: Float64Array;
  private readonly regular: Uint8Array;
  private x0 = Infinity;
  private y0 = Infinity;
  private invX = 0;
  private invY = 0;
  private gx = 1;
  private gy = 1;
  private readonly head: Int32Array;
  private next = new Int32Array(1024);
  private item = new Int32Array(1024);
  private entries = 0;
  private readonly wide: Int32Array;
  private wideCount = 0;
  private readonly stamp: Int32Array;

  constructor(boxes: Float32Array, private readonly order: Int32Array, private readonly from: number, private readonly to: number, private readonly iouThreshold: number) {
    const m = to - from;
    this.cx = new Float64Array(m);
    this.cy = new Float64Array(m);
    this.rx = new Float64Array(m);
    this.ry = new Float64Array(m);
    this.regular = new Uint8Array(m);
    this.wide = new Int32Array(m);
    this.stamp = new Int32Array(m).fill(-1);
    const slack = (1 - (iouThreshold < 2 ** -40 ? 0 : iouThreshold * (1 - 2 ** -16))) / 2;
    let x1Max = -Infinity, y1Max = -Infinity, sumX = 0, sumY = 0, regularCount = 0;
    for (let q = 0; q < m; q++) {
      const j = order[from + q];
      const x1 = boxes[4 * j], y1 = boxes[4 * j + 1], x2 = boxes[4 * j + 2], y2 = boxes[4 * j + 3];
      const w = x2 - x1, h = y2 - y1;
      const big = Math.max(Math.abs(x1), Math.abs(x2), Math.abs(y1), Math.abs(y2));
      if (!((w === 0 || w >= REGULAR_MIN_SIDE) && (h === 0 || h >= REGULAR_MIN_SIDE) && big <= REGULAR_MAX_COORD)) continue;
      this.regular[q] = 1;
      regularCount++;
      const cx = (this.cx[q] = (x1 + x2) / 2), cy = (this.cy[q] = (y1 + y2) / 2);
      const rx = (this.rx[q] = slack * w + 2 ** -40 * big), ry = (this.ry[q] = slack * h + 2 ** -40 * big);
      this.x0 = Math.min(this.x0, cx - rx);
      this.y0 = Math.min(this.y0, cy - ry);
      x1Max = Math.max(x1Max, cx + rx);
      y1Max = Math.max(y1Max, cy + ry);
      sumX += 2 * rx;
      sumY += 2 * ry;
    }
    // Cells about as large as an average reach: a reach then covers about 4 cells.
    if (regularCount > 0) {
      const spanX = x1Max - this.x0, spanY = y1Max - this.y0;
      this.gx = Math.max(1, Math.min(128, Math.round(spanX / Math.max(sumX / regularCount, spanX / 128))));
      this.gy = Math.max(1, Math.min(128, Math.round(spanY / Math.max(sumY / regularCount, spanY / 128))));
      this.invX = spanX > 0 ? this.gx / spanX : 0;
      this.invY = spanY > 0 ? this.gy / spanY : 0;
    }
    this.head = new Int32Array(this.gx * this.gy).fill(-1);
  }

  private cellX(x: number): number {
    return Math.min(this.gx - 1, Math.max(0, Math.floor((x - this.x0) * this.invX)));
  }

  private cellY(y: number): number {
    return Math.min(this.gy - 1, Math.max(0, Math.floor((y - this.y0) * this.invY)));
  }

  /** The greedy loop of `keepGreedy` with the grid's candidates. */
  keep(boxes: Float32Array, areas: Float32Array, rows: Float64Array, maxKeep: number, kept: Int32Array, keptFrom: number): number {
    const { order, from, to, iouThreshold } = this;
    let count = 0;
    for (let oi = from; oi < to && count < maxKeep; oi++) {
      const q = oi - from, j = order[oi];
      const x1 = boxes[4 * j], y1 = boxes[4 * j + 1], x2 = boxes[4 * j + 2], y2 = boxes[4 * j + 3], area = areas[j];
      let suppressed = false;
      const cx0 = this.cellX(this.cx[q] - this.rx[q]), cx1 = this.cellX(this.cx[q] + this.rx[q]);
      const cy0 = this.cellY(this.cy[q] - this.ry[q]), cy1 = this.cellY(this.cy[q] + this.ry[q]);
      const cells = (cx1 - cx0 + 1) * (cy1 - cy0 + 1);
      if (this.regular[q] === 0 || cells > GRID_MAX_CELLS) {
        for (let k = 0; k < count && !suppressed; k++) suppressed = suppresses(rows, k, x1, y1, x2, y2, area, iouThreshold);
      } else {
        for (let w = 0; w < this.wideCount && !suppressed; w++) suppressed = suppresses(rows, this.wide[w], x1, y1, x2, y2, area, iouThreshold);
        for (let gy = cy0; gy <= cy1 && !suppressed; gy++) {
          for (let gx = cx0; gx <= cx1 && !suppressed; gx++) {
            for (let e = this.head[gy * this.gx + gx]; e >= 0 && !suppressed; e = this.next[e]) {
              const k = this.item[e];
              if (this.stamp[k] === q) continue;
              this.stamp[k] = q;
              suppressed = suppresses(rows, k, x1, y1, x2, y2, area, iouThreshold);
            }
          }
        }
      }
      if (suppressed) continue;
      keepRow(rows, count, boxes, areas, j);
      if (this.regular[q] === 0 || cells > GRID_MAX_CELLS) this.wide[this.wideCount++] = count;
      else for (let gy = cy0; gy <= cy1; gy++) for (let gx = cx0; gx <= cx1; gx++) this.add(gy * this.gx + gx, count);
      kept[keptFrom + count++] = j;
    }
    return count;
  }

  /** Files kept row k under cell c. */
  private add(c: number, k: number): void {
    if (this.entries === this.item.length) {
      const item = new Int32Array(2 * this.item.length), next = new Int32Array(2 * this.next.length);
      item.set(this.item);
      next.set(this.next);
      this.item = item;
      this.next = next;
    }
    this.item[this.entries] = k;
    this.next[this.entries] = this.head[c];
    this.head[c] = this.entries++;
  }
}

/** Class ids → dense group numbers 0..G-1 (in order of first appearance) and G. */
function denseGroups(classIds: Int32Array): { groupOf: Int32Array; groups: number } {
  const n = classIds.length;
  const groupOf = new Int32Array(n);
  let min = 0, max = -1;
  for (let i = 0; i < n; i++) {
    const c = classIds[i];
    if (i === 0 || c < min) min = c;
    if (i === 0 || c > max) max = c;
  }
  let groups = 0;
  if (max - min < 4 * n + 1024) {
    const table = new Int32Array(max - min + 1).fill(-1);
    for (let i = 0; i < n; i++) {
      const t = classIds[i] - min;
      if (table[t] < 0) table[t] = groups++;
      groupOf[i] = table[t];
    }
  } else {
    const table = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      let g = table.get(classIds[i]);
      if (g === undefined) table.set(classIds[i], (g = groups++));
      groupOf[i] = g;
    }
  }
  return { groupOf, groups };
}

/**
 * NMS of all boxes (`classIds` undefined) or within each class: the kept indices in decreasing score
 * order (ties by ascending index), at most `maxKeep`. Unchecked: callers validate.
 */
function greedyNms(boxes: Float32Array, n: number, scores: Float32Array, classIds: Int32Array | undefined, iouThreshold: number, maxKeep: number): Int32Array {
  const order = argsortDescending(scores);
  const areas = areasOf(boxes, n);
  const kept = new Int32Array(n);
  if (classIds === undefined) {
    const count = keepGreedy(boxes, areas, order, 0, n, iouThreshold, maxKeep, kept, 0);
    return kept.slice(0, count);
  }
  // The visiting order partitioned by class (a stable counting sort), one kernel run per class.
  const { groupOf, groups } = denseGroups(classIds);
  const starts = new Int32Array(groups + 1);
  for (let i = 0; i < n; i++) starts[groupOf[i] + 1]++;
  for (let g = 0; g < groups; g++) starts[g + 1] += starts[g];
  const byClass = new Int32Array(n), next = starts.slice(0, groups);
  for (let oi = 0; oi < n; oi++) byClass[next[groupOf[order[oi]]]++] = order[oi];
  const isKept = new Uint8Array(n);
  for (let g = 0; g < groups; g++) {
    // No class can contribute more than maxKeep boxes to the first maxKeep overall.
    const count = keepGreedy(boxes, areas, byClass, starts[g], starts[g + 1], iouThreshold, maxKeep, kept, starts[g]);
    for (let i = starts[g], end = starts[g] + count; i < end; i++) isKept[kept[i]] = 1;
  }
  let count = 0;
  for (let oi = 0; oi < n && count < maxKeep; oi++) if (isKept[order[oi]] === 1) kept[count++] = order[oi];
  return kept.slice(0, count);
}

function checkMaxKeep(maxKeep: number): void {
  if (!(maxKeep === Infinity || (Number.isInteger(maxKeep) && maxKeep >= 0))) throw invalidInput('an integer >= 0 (or Infinity)', 'maxKeep', describe(maxKeep));
}

/**
 * torchvision.ops.nms: indices of the kept boxes, in decreasing score order.
 * Empty input gives an empty result. `maxKeep` returns only the first that many (`keep[:maxKeep]`),
 * computed without visiting the rest.
 */
export function nms(boxes: Float32Array, scores: Float32Array, iouThreshold: number, maxKeep = Infinity): Int32Array {
  const n = checkBoxes('boxes', boxes);
  checkScores('scores', scores, n);
  checkFraction('iouThreshold', iouThreshold);
  checkMaxKeep(maxKeep);
  return greedyNms(boxes, n, scores, undefined, iouThreshold, maxKeep);
}

/**
 * torchvision.ops.batched_nms: NMS independently within each class id; the kept indices of all
 * classes together, in decreasing score order (ties by ascending index). `maxKeep` as in `nms`.
 */
export function batchedNms(boxes: Float32Array, scores: Float32Array, classIds: Int32Array, iouThreshold: number, maxKeep = Infinity): Int32Array {
  const n = checkBoxes('boxes', boxes);
  checkScores('scores', scores, n);
  if (!(classIds instanceof Int32Array)) throw invalidInput(`an Int32Array of ${n} class ids`, 'classIds', describe(classIds));
  if (classIds.length !== n) throw invalidInput(`${n} class ids (one per box)`, 'classIds', `length ${classIds.length}`);
  checkFraction('iouThreshold', iouThreshold);
  checkMaxKeep(maxKeep);
  return greedyNms(boxes, n, scores, classIds, iouThreshold, maxKeep);
}
