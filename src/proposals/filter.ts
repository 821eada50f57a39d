/**
 * RPN post-processing: raw per-level objectness logits and box deltas → proposals, in two styles
 * (the manifest's `rpn.anchorStyle`). Pure: typed arrays in, typed arrays out.
 * - `torchvision` (RegionProposalNetwork.filter_proposals): top-k logits per level, sigmoid, clip,
 *   min size, score threshold, NMS per level ordered by the sigmoid scores.
 * - `detectron2` (proposal_utils.find_top_rpn_proposals, RegionCLIP's offline RPN): top-k logits per
 *   level, drop non-finite, clip, min size, NMS per level ordered by the LOGITS (a float32 sigmoid
 *   saturates to 1 above ~17 and would tie), no score threshold.
 * Either way `scores` are probabilities, sigmoid(logit) in float32, and the raw `logits` come beside
 * them (detectron2 returns the logits as `objectness_logits`; our objectness fusion wants
 * probabilities). The min-size comparison (`>=` or detectron2's strict `>`) is `minSizeRule`.
 *
 * Glossary:
 *   L  feature levels        A  anchors per location     h, w  a level's feature map size
 *   K  proposals kept        imageSize  the resized, UNPADDED image [height, width]
 * A level's `objectnessLogits` is the graph output [1, A, h, w] (flattened) and its `deltas`
 * [1, 4A, h, w] (as [1, A, 4, h, w]: torchvision RPNHead and detectron2 StandardRPNHead alike). Both
 * are reordered to (y, x, a) — the anchor order of geometry/anchors.ts — before use.
 */
import { invalidInput } from '../errors.js';
import { Boxes, gatherRows, type MinSizeRule } from '../geometry/boxes.js';
import { checkBoxCoderWeights, decodeBoxesUnchecked, type BoxCoderWeights } from '../geometry/box-coder.js';
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
  /** Boxes narrower or shorter than this are dropped (torchvision: 1e-3; detectron2: 0 with rule `gt`). */
  minSize: number;
  /** `gte` keeps width and height `>= minSize` (torchvision, the default), `gt` keeps `> minSize` (detectron2). */
  minSizeRule?: MinSizeRule;
  /** torchvision style only: proposals with sigmoid(objectness) below this are dropped. detectron2 has
   * none: it must be 0 there. */
  scoreThreshold: number;
  /** Post-processing style (default torchvision; see the module header). */
  style?: 'torchvision' | 'detectron2';
}

export interface Proposals {
  /** K boxes in resized-image pixels, in decreasing objectness. */
  boxes: Boxes;
  /** K objectness probabilities (float32 sigmoid of the logits). */
  scores: Float32Array;
  /** K raw objectness logits (detectron2's `objectness_logits`). */
  logits: Float32Array;
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

/**
 * RPN proposals from raw level outputs, as numbered steps:
 * 1. per level, the `preNmsTopK` anchors by objectness logit, decoded against their anchors;
 * 2. rows with a non-finite box dropped (detectron2: or a non-finite logit), the rest clipped to the image;
 * 3. boxes under `minSize` (by `minSizeRule`) dropped; torchvision style: objectness under
 *    `scoreThreshold` too;
 * 4. NMS within each level (ordered by sigmoid score, detectron2 style by logit), then the best
 *    `postNmsTopK` over all levels.
 * @throws InvalidInputError for options out of range or level outputs of the wrong size.
 */
export function filterProposals(levels: readonly RpnLevelOutput[], options: ProposalOptions): Proposals {
  const { imageSize, weights } = checkProposalOptions(levels, options);
  const detectron2 = options.style === 'detectron2';
  const top = topAnchorsPerLevel(levels, options, weights);
  const finite: number[] = [];
  for (let i = 0; i < top.logits.length; i++) {
    if (top.boxes.subarray(4 * i, 4 * i + 4).every(Number.isFinite) && (!detectron2 || Number.isFinite(top.logits[i]))) finite.push(i);
  }
  const clipped = Boxes.of(gatherRows(top.boxes, 4, finite)).clip(imageSize);
  let kept = Array.from(clipped.nonempty(options.minSize, options.minSizeRule));
  if (!detectron2) kept = kept.filter((k) => sigmoid(top.logits[finite[k]]) >= options.scoreThreshold);
  const candidates = clipped.gather(kept);
  const logits = Float32Array.from(kept, (k) => top.logits[finite[k]]);
  const scores = logits.map(sigmoid);
  const levelIds = Int32Array.from(kept, (k) => top.levels[finite[k]]);
  const keep = batchedNms(candidates.data, detectron2 ? logits : scores, levelIds, options.nmsThreshold, options.postNmsTopK);
  return {
    boxes: candidates.gather(keep),
    scores: Float32Array.from(keep, (j) => scores[j]),
    logits: Float32Array.from(keep, (j) => logits[j]),
    levels: Int32Array.from(keep, (j) => levelIds[j]),
  };
}

/** The checks at filterProposals' edge (the anchors it reads are checked as it gathers them). */
function checkProposalOptions(levels: readonly RpnLevelOutput[], options: ProposalOptions): { imageSize: [number, number]; weights: BoxCoderWeights } {
  const imageSize = checkSizeHW('imageSize', options.imageSize);
  const weights = checkBoxCoderWeights(options.boxCoderWeights);
  checkInteger('preNmsTopK', options.preNmsTopK, 1);
  checkInteger('postNmsTopK', options.postNmsTopK, 1);
  checkFraction('nmsThreshold', options.nmsThreshold);
  checkFraction('scoreThreshold', options.scoreThreshold);
  checkNumber('minSize', options.minSize, 'nonNegative');
  const style = options.style ?? 'torchvision';
  if (style !== 'torchvision' && style !== 'detectron2') throw invalidInput('"torchvision" or "detectron2"', 'style', String(style));
  const rule = options.minSizeRule ?? 'gte';
  if (rule !== 'gte' && rule !== 'gt') throw invalidInput('"gte" or "gt"', 'minSizeRule', String(rule));
  if (style === 'detectron2' && options.scoreThreshold !== 0) {
    throw invalidInput('0 (detectron2 proposals have no score threshold)', 'scoreThreshold', String(options.scoreThreshold));
  }
  const total = levels.reduce((n, l) => n + l.anchorsPerLocation * l.height * l.width, 0);
  if (options.anchors.length !== 4 * total) {
    throw invalidInput(`${total}×4 anchors (one per RPN output location and anchor)`, 'anchors', `length ${options.anchors.length}`);
  }
  levels.forEach((level, l) => {
    const count = level.anchorsPerLocation * level.height * level.width;
    if (level.objectnessLogits.length !== count || level.deltas.length !== 4 * count) {
      throw invalidInput(`objectness of ${count} and deltas of ${4 * count} values`, `RPN level ${l}`, `${level.objectnessLogits.length} and ${level.deltas.length}`);
    }
  });
  return { imageSize, weights };
}

/** The gathered anchors (rows `offset + top[i]` of all anchors) must be finite: they are decoded. */
function checkFiniteRows(anchors: Float32Array, top: Int32Array, offset: number): void {
  for (let i = 0; i < top.length; i++) {
    if (!(Number.isFinite(anchors[4 * i]) && Number.isFinite(anchors[4 * i + 1]) && Number.isFinite(anchors[4 * i + 2]) && Number.isFinite(anchors[4 * i + 3]))) {
      throw invalidInput('finite coordinates', `anchors[${offset + top[i]}]`, `[${anchors.subarray(4 * i, 4 * i + 4).join(', ')}]`);
    }
  }
}

/** Step 1: per level, the top-k anchors by logit and their decoded boxes, levels concatenated. */
function topAnchorsPerLevel(levels: readonly RpnLevelOutput[], options: ProposalOptions, weights: BoxCoderWeights): { boxes: Float32Array; logits: number[]; levels: number[] } {
  const decoded: Float32Array[] = [], logits: number[] = [], levelIds: number[] = [];
  let anchorOffset = 0;
  levels.forEach((level, l) => {
    const levelLogits = objectnessToAnchorOrder(level);
    const top = topKIndices(levelLogits, options.preNmsTopK);
    const anchors = gatherRows(options.anchors.subarray(4 * anchorOffset), 4, top);
    checkFiniteRows(anchors, top, anchorOffset);
    decoded.push(decodeBoxesUnchecked(gatherRows(deltasToAnchorOrder(level), 4, top), anchors, weights));
    for (const i of top) {
      logits.push(levelLogits[i]);
      levelIds.push(l);
    }
    anchorOffset += level.anchorsPerLocation * level.height * level.width;
  });
  const boxes = new Float32Array(4 * logits.length);
  let o = 0;
  for (const b of decoded) { boxes.set(b, o); o += b.length; }
  return { boxes, logits, levels: levelIds };
}
