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
 * Greedy suppression over `order` (a subset of box indices in visiting order). Marks kept boxes in
 * `kept` and returns how many were kept. Unchecked: callers validate.
 */
function suppress(boxes: Float32Array, areas: Float32Array, order: Int32Array, iouThreshold: number, kept: Uint8Array): number {
  const count = order.length;
  const suppressed = new Uint8Array(count);
  let keptCount = 0;
  for (let oi = 0; oi < count; oi++) {
    if (suppressed[oi]) continue;
    const i = order[oi];
    kept[i] = 1;
    keptCount++;
    const ix1 = boxes[4 * i], iy1 = boxes[4 * i + 1], ix2 = boxes[4 * i + 2], iy2 = boxes[4 * i + 3];
    const iarea = areas[i];
    for (let oj = oi + 1; oj < count; oj++) {
      if (suppressed[oj]) continue;
      const j = order[oj];
      const w = f32(Math.min(ix2, boxes[4 * j + 2]) - Math.max(ix1, boxes[4 * j]));
      if (w <= 0) continue; // no overlap: IoU is 0 (or NaN for two empty boxes), never > threshold
      const h = f32(Math.min(iy2, boxes[4 * j + 3]) - Math.max(iy1, boxes[4 * j + 1]));
      if (h <= 0) continue;
      const inter = f32(w * h);
      const iou = f32(inter / f32(f32(iarea + areas[j]) - inter));
      if (iou > iouThreshold) suppressed[oj] = 1;
    }
  }
  return keptCount;
}

/**
 * torchvision.ops.nms: indices of the kept boxes, in decreasing score order.
 * Empty input gives an empty result.
 */
export function nms(boxes: Float32Array, scores: Float32Array, iouThreshold: number): Int32Array {
  const n = checkBoxes('boxes', boxes);
  checkScores('scores', scores, n);
  checkFraction('iouThreshold', iouThreshold);
  const order = argsortDescending(scores);
  const kept = new Uint8Array(n);
  const keptCount = suppress(boxes, areasOf(boxes, n), order, iouThreshold, kept);
  const keep = new Int32Array(keptCount);
  for (let oi = 0, k = 0; oi < n; oi++) if (kept[order[oi]]) keep[k++] = order[oi];
  return keep;
}

/**
 * torchvision.ops.batched_nms: NMS independently within each class id; the kept indices of all
 * classes together, in decreasing score order (ties by ascending index).
 */
export function batchedNms(boxes: Float32Array, scores: Float32Array, classIds: Int32Array, iouThreshold: number): Int32Array {
  const n = checkBoxes('boxes', boxes);
  checkScores('scores', scores, n);
  if (!(classIds instanceof Int32Array)) throw invalidInput(`an Int32Array of ${n} class ids`, 'classIds', describe(classIds));
  if (classIds.length !== n) throw invalidInput(`${n} class ids (one per box)`, 'classIds', `length ${classIds.length}`);
  checkFraction('iouThreshold', iouThreshold);

  const order = argsortDescending(scores);
  // Split the global visiting order by class, keeping each class's boxes in score order.
  const byClass = new Map<number, number[]>();
  for (let oi = 0; oi < n; oi++) {
    const i = order[oi];
    let members = byClass.get(classIds[i]);
    if (members === undefined) byClass.set(classIds[i], (members = []));
    members.push(i);
  }
  const areas = areasOf(boxes, n);
  const kept = new Uint8Array(n);
  let keptCount = 0;
  for (const members of byClass.values()) {
    keptCount += suppress(boxes, areas, Int32Array.from(members), iouThreshold, kept);
  }
  const keep = new Int32Array(keptCount);
  for (let oi = 0, k = 0; oi < n; oi++) if (kept[order[oi]]) keep[k++] = order[oi];
  return keep;
}
