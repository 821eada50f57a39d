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
 */
import { areasOf } from './boxes.js';
import { checkBoxes, checkFraction, checkScores } from './validate.js';
import { describe, invalidInput } from '../errors.js';

const f32 = Math.fround;

/** Indices 0..N-1 ordered by decreasing score; equal scores keep ascending index order. */
export function argsortDescending(scores: Float32Array): Int32Array {
  const order = new Int32Array(scores.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  // TypedArray.prototype.sort is stable (ES2019+); break ties by index explicitly anyway.
  order.sort((i, j) => scores[j] - scores[i] || i - j);
  return order;
}

/**
 * Greedy NMS in visiting order: a box is kept when no already-kept box of the same class overlaps
 * it by more than the threshold. Comparing each box with the kept boxes only is the same decision
 * as torchvision's forward suppression (suppressed boxes never suppress) and lets the loop stop once
 * `maxKeep` boxes are kept: whether a box is kept depends only on higher-scoring boxes. Returns the
 * kept indices in visiting order. Unchecked: callers validate.
 */
function greedyKeep(boxes: Float32Array, areas: Float32Array, order: Int32Array, classIds: Int32Array | undefined, iouThreshold: number, maxKeep: number): Int32Array {
  // Kept boxes per class, stored contiguously (x1, y1, x2, y2, area) for a tight inner loop.
  interface Kept { rows: Float32Array; count: number }
  const keptByClass = new Map<number, Kept>();
  const keep: number[] = [];
  for (let oi = 0; oi < order.length && keep.length < maxKeep; oi++) {
    const j = order[oi];
    const cls = classIds === undefined ? 0 : classIds[j];
    let kept = keptByClass.get(cls);
    if (kept === undefined) keptByClass.set(cls, (kept = { rows: new Float32Array(5 * 16), count: 0 }));
    const jx1 = boxes[4 * j], jy1 = boxes[4 * j + 1], jx2 = boxes[4 * j + 2], jy2 = boxes[4 * j + 3];
    const jarea = areas[j];
    const rows = kept.rows;
    let suppressed = false;
    for (let k = 0, end = 5 * kept.count; k < end; k += 5) {
      const w = f32(Math.min(rows[k + 2], jx2) - Math.max(rows[k], jx1));
      if (w <= 0) continue; // no overlap: IoU is 0 (or NaN for two empty boxes), never > threshold
      const h = f32(Math.min(rows[k + 3], jy2) - Math.max(rows[k + 1], jy1));
      if (h <= 0) continue;
      const inter = f32(w * h);
      if (f32(inter / f32(f32(rows[k + 4] + jarea) - inter)) > iouThreshold) {
        suppressed = true;
        break;
      }
    }
    if (!suppressed) {
      if (5 * (kept.count + 1) > kept.rows.length) {
        const grown = new Float32Array(kept.rows.length * 2);
        grown.set(kept.rows);
        kept.rows = grown;
      }
      kept.rows.set([jx1, jy1, jx2, jy2, jarea], 5 * kept.count);
      kept.count++;
      keep.push(j);
    }
  }
  return Int32Array.from(keep);
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
  return greedyKeep(boxes, areasOf(boxes, n), argsortDescending(scores), undefined, iouThreshold, maxKeep);
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
  return greedyKeep(boxes, areasOf(boxes, n), argsortDescending(scores), classIds, iouThreshold, maxKeep);
}
