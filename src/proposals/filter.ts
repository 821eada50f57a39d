/**
 * RPN post-processing: raw per-level objectness logits and box deltas → proposals, exactly as
 * torchvision's RegionProposalNetwork.filter_proposals (and, with the same settings, detectron2's
 * find_top_rpn_proposals). Pure: typed arrays in, typed arrays out.
 *
 * Glossary:
 *   L  feature levels        A  anchors per location     h, w  a level's feature-map size
 *   K  proposals kept        imageSize  the resized, UNPADDED image [height, width]
 * A level's `objectnessLogits` is the graph output [1, A, h, w] (flattened) and its `deltas`
 * [1, 4A, h, w] (torchvision RPNHead layout). Both are reordered to (y, x, a) — the anchor order of
 * geometry/anchors.ts — before use.
 */
import { invalidInput } from '../errors.js';
import { clipBoxes } from '../geometry/boxes.js';
import { decodeBoxes, type BoxCoderWeights } from '../geometry/box-coder.js';
import { batchedNms } from '../geometry/nms.js';
import { checkFraction, checkInteger, checkNumber, checkSizeHW } from '../geometry/validate.js';

export interface RpnLevelOutput {
  /** [1, A, h, w] objectness logits, flattened. */
  objectnessLogits: Float32Array;
  /** [1, 4A, h, w] box deltas, flattened. */
  deltas: Float32Array;
  /** Anchors per location A and the map size. */
  anchorsPerLocation: number;
  height: number;
  width: number;
}

export interface ProposalOptions {
  /** Anchors of all levels concatenated, (y, x, a) order per level: Σ h·w·A × 4. */
  anchors: Float32Array;
  /** The resized, unpadded image [height, width]: proposals are clipped to it. */
  imageSize: [number, number];
  boxCoderWeights: BoxCoderWeights;
  /** Highest-scoring anchors kept per level before NMS. */
  preNmsTopK: number;
  /** Proposals kept after NMS (all levels together). */
  postNmsTopK: number;
  /** NMS IoU threshold, applied within each level. */
  nmsThreshold: number;
  /** Boxes narrower or shorter than this are dropped (torchvision: 1e-3). */
  minSize: number;
  /** Proposals with sigmoid(objectness) below this are dropped. */
  scoreThreshold: number;
}

export interface Proposals {
  /** K×4 XYXY in resized-image pixels, in decreasing objectness. */
  boxes: Float32Array;
  /** K objectness probabilities (sigmoid of the logits). */
  scores: Float32Array;
  /** K feature-level indices. */
  levels: Int32Array;
}

/** [1, A, h, w] → (y, x, a) order. */
function objectnessToAnchorOrder(level: RpnLevelOutput): Float32Array {
  const { anchorsPerLocation: A, height: h, width: w } = level;
  const out = new Float32Array(A * h * w);
  for (let a = 0; a < A; a++) for (let p = 0; p < h * w; p++) out[p * A + a] = level.objectnessLogits[a * h * w + p];
  return out;
}

/** [1, 4A, h, w] (as [A, 4, h, w]) → (y, x, a) rows of 4. */
function deltasToAnchorOrder(level: RpnLevelOutput): Float32Array {
  const { anchorsPerLocation: A, height: h, width: w } = level;
  const plane = h * w;
  const out = new Float32Array(4 * A * plane);
  for (let a = 0; a < A; a++) {
    for (let k = 0; k < 4; k++) {
      const src = (a * 4 + k) * plane;
      for (let p = 0; p < plane; p++) out[(p * A + a) * 4 + k] = level.deltas[src + p];
    }
  }
  return out;
}

/** Indices of the k largest values, largest first; ties by lower index. */
export function topKIndices(values: Float32Array, k: number): Int32Array {
  const order = Int32Array.from(values.keys());
  order.sort((i, j) => values[j] - values[i] || i - j);
  return order.subarray(0, Math.min(k, values.length));
}

/** float32 sigmoid as torch computes it: 1 / (1 + exp(-x)). */
function sigmoid(x: number): number {
  return Math.fround(1 / (1 + Math.exp(-x)));
}

export function filterProposals(levels: readonly RpnLevelOutput[], options: ProposalOptions): Proposals {
  const [height, width] = checkSizeHW('imageSize', options.imageSize);
  checkInteger('preNmsTopK', options.preNmsTopK, 1);
  checkInteger('postNmsTopK', options.postNmsTopK, 1);
  checkFraction('nmsThreshold', options.nmsThreshold);
  checkFraction('scoreThreshold', options.scoreThreshold);
  checkNumber('minSize', options.minSize, 'nonNegative');
  const total = levels.reduce((n, l) => n + l.anchorsPerLocation * l.height * l.width, 0);
  if (options.anchors.length !== 4 * total) {
    throw invalidInput(`${total}×4 anchors (one per RPN output location and anchor)`, 'anchors', `length ${options.anchors.length}`);
  }

  // Per level: the top-k anchors by logit, their decoded boxes.
  const selBoxes: Float32Array[] = [], selLogits: number[] = [], selLevels: number[] = [];
  let anchorOffset = 0;
  levels.forEach((level, l) => {
    const count = level.anchorsPerLocation * level.height * level.width;
    if (level.objectnessLogits.length !== count || level.deltas.length !== 4 * count) {
      throw invalidInput(`objectness of ${count} and deltas of ${4 * count} values`, `RPN level ${l}`, `${level.objectnessLogits.length} and ${level.deltas.length}`);
    }
    const logits = objectnessToAnchorOrder(level);
    const deltas = deltasToAnchorOrder(level);
    const top = topKIndices(logits, options.preNmsTopK);
    const topDeltas = new Float32Array(4 * top.length), topAnchors = new Float32Array(4 * top.length);
    top.forEach((i, k) => {
      topDeltas.set(deltas.subarray(4 * i, 4 * i + 4), 4 * k);
      topAnchors.set(options.anchors.subarray(4 * (anchorOffset + i), 4 * (anchorOffset + i) + 4), 4 * k);
      selLogits.push(logits[i]);
      selLevels.push(l);
    });
    selBoxes.push(decodeBoxes(topDeltas, topAnchors, options.boxCoderWeights));
    anchorOffset += count;
  });

  const n = selLogits.length;
  const decoded = new Float32Array(4 * n);
  let o = 0;
  for (const b of selBoxes) { decoded.set(b, o); o += b.length; }
  // Non-finite decoded boxes (a diverged head) cannot be clipped meaningfully: drop them.
  const finite: number[] = [];
  for (let i = 0; i < n; i++) if (decoded.subarray(4 * i, 4 * i + 4).every(Number.isFinite)) finite.push(i);
  const boxes = clipBoxes(Float32Array.from(finite.flatMap((i) => Array.from(decoded.subarray(4 * i, 4 * i + 4)))), [height, width]);

  // Small boxes and low scores out, then NMS within each level.
  const keptIdx: number[] = [];
  for (let k = 0; k < finite.length; k++) {
    const w = Math.fround(boxes[4 * k + 2] - boxes[4 * k]), h = Math.fround(boxes[4 * k + 3] - boxes[4 * k + 1]);
    if (w >= options.minSize && h >= options.minSize && sigmoid(selLogits[finite[k]]) >= options.scoreThreshold) keptIdx.push(k);
  }
  const candBoxes = new Float32Array(4 * keptIdx.length);
  const candScores = new Float32Array(keptIdx.length);
  const candLevels = new Int32Array(keptIdx.length);
  keptIdx.forEach((k, j) => {
    candBoxes.set(boxes.subarray(4 * k, 4 * k + 4), 4 * j);
    candScores[j] = sigmoid(selLogits[finite[k]]);
    candLevels[j] = selLevels[finite[k]];
  });
  const keep = batchedNms(candBoxes, candScores, candLevels, options.nmsThreshold, options.postNmsTopK);
  const out: Proposals = { boxes: new Float32Array(4 * keep.length), scores: new Float32Array(keep.length), levels: new Int32Array(keep.length) };
  keep.forEach((j, k) => {
    out.boxes.set(candBoxes.subarray(4 * j, 4 * j + 4), 4 * k);
    out.scores[k] = candScores[j];
    out.levels[k] = candLevels[j];
  });
  return out;
}
