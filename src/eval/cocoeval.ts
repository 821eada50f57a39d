/**
 * COCO box evaluation with exactly pycocotools' semantics (COCOeval, iouType 'bbox', default Params),
 * plus the open-vocabulary novel/base summary RegionCLIP reports. Pure: objects in, numbers out.
 *
 * Glossary (pycocotools' own letters):
 *   T IoU thresholds (10: .50:.05:.95)   R recall thresholds (101: 0:.01:1)
 *   K categories (sorted ids)            A area ranges (all, small, medium, large)
 *   M maxDets (1, 10, 100)               I images (sorted ids)
 *   D detections and G ground truths of one (image, category)
 *
 * `precision` is T×R×K×A×M and `recall` T×K×A×M, row-major, -1 where a category has no
 * (non-ignored) ground truth: the same arrays as `COCOeval.eval['precision' | 'recall']`.
 *
 * What pycocotools does, and so what this does (the subtle parts are commented where they happen):
 * IoU in double from [x, y, w, h], over the detection's area for crowd gt; gt area ranges from the
 * `area` field, detection area w*h; stable sorts by score, per image and across images; greedy
 * matching at each threshold (>= min(t, 1-1e-10)); crowd and out-of-range gt are ignored, as are the
 * detections matched to them and unmatched detections outside the range; 101-point interpolated
 * precision with the monotone envelope and a left searchsorted; means over entries > -1.
 */
import { invalidInput } from '../errors.js';
import type { CocoDataset, CocoResult, CocoSplit } from './coco-format.js';
import { categoryMatcher } from './category-names.js';

/**
 * `np.linspace(start, stop, n)`: `i * step + start` with `step = (stop - start) / (n - 1)` and the last
 * element exactly `stop`. The doubles matter: an IoU equal to a printed threshold may fall either side.
 */
export function linspace(start: number, stop: number, n: number): number[] {
  const step = (stop - start) / (n - 1);
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? stop : i * step + start));
}

/** pycocotools `Params.iouThrs`: `np.linspace(.5, 0.95, 10)` (0.8999999999999999 included). */
export const COCO_IOU_THRESHOLDS: readonly number[] = Object.freeze(linspace(0.5, 0.95, 10));
/** pycocotools `Params.recThrs`: `np.linspace(0, 1, 101)` (0.35000000000000003 included). */
export const COCO_RECALL_THRESHOLDS: readonly number[] = Object.freeze(linspace(0, 1, 101));
export const COCO_MAX_DETS: readonly number[] = Object.freeze([1, 10, 100]);
/** Closed ranges on the gt `area` field / detection w*h: all, small (< 32²), medium (< 96²), large. */
export const COCO_AREA_RANGES: readonly (readonly [number, number])[] = Object.freeze([
  [0, 1e10], [0, 32 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e10],
] as const);
export const COCO_AREA_LABELS = Object.freeze(['all', 'small', 'medium', 'large'] as const);
/** The order of `stats`, as `COCOeval.summarize()` fills it. */
export const COCO_STAT_NAMES = Object.freeze(['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100', 'ARs', 'ARm', 'ARl'] as const);

/** pycocotools clamps the threshold so that an IoU of exactly 1 still matches at t = 1. */
const MAX_IOU_THRESHOLD = 1 - 1e-10;
/** `np.spacing(1)`, added to tp + fp in the precision's denominator. */
const EPS = 2.220446049250313e-16;

export interface CocoEvalOptions {
  /** Novel/base categories (ids or names) for the open-vocabulary summary. */
  split?: CocoSplit;
}

export interface CocoCategoryResult {
  id: number;
  name: string;
  /** AP@[.5:.95], area all, maxDets 100; -1 without ground truth. */
  ap: number;
  ap50: number;
  ap75: number;
  /** Recall averaged over the IoU thresholds, area all, maxDets 100 (AR@100); -1 without ground truth. */
  recall: number;
}

export interface CocoGroupResult {
  /** The group's category ids, sorted. */
  categoryIds: number[];
  /** AP@[.5:.95] over the group's categories (area all, maxDets 100); -1 if none has ground truth. */
  ap: number;
  /** AP at IoU .50 over the group's categories. */
  ap50: number;
}

export interface CocoSplitResult {
  novel: CocoGroupResult;
  base: CocoGroupResult;
  /** Novel and base together (RegionCLIP's "all"); categories in neither group are left out. */
  all: CocoGroupResult;
}

export interface CocoEvalResult {
  /** The 12 numbers of `COCOeval.summarize()`, in `COCO_STAT_NAMES` order; -1 where undefined. */
  stats: number[];
  perCategory: CocoCategoryResult[];
  split?: CocoSplitResult;
  /** T×R×K×A×M, pycocotools' `eval['precision']`. */
  precision: Float64Array;
  /** T×K×A×M, pycocotools' `eval['recall']`. */
  recall: Float64Array;
  dims: { T: number; R: number; K: number; A: number; M: number };
  imgIds: number[];
  catIds: number[];
  /** Non-fatal findings, e.g. an empty results list. */
  warnings: string[];
}

/** The `--json` object of `regionclip eval` (README, "regionclip eval"). */
export interface CocoEvalJson {
  stats: number[];
  perCategory: CocoCategoryResult[];
  split?: { novel: { ap: number; ap50: number }; base: { ap: number; ap50: number }; all: { ap: number; ap50: number } };
}

/**
 * numpy's pairwise summation (`pairwise_sum_DOUBLE`, blocks of 128 with 8 accumulators), so that
 * means are summed in the order `np.mean` sums them.
 */
function pairwiseSum(a: Float64Array | number[], start: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= 128) {
    const r = [a[start], a[start + 1], a[start + 2], a[start + 3], a[start + 4], a[start + 5], a[start + 6], a[start + 7]];
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] += a[start + i + j];
    }
    let res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

/** `np.mean(s[s > -1])`, or -1 when nothing is > -1 (summarize's rule). */
function meanDefined(values: number[]): number {
  const kept = values.filter((v) => v > -1);
  return kept.length === 0 ? -1 : pairwiseSum(kept, 0, kept.length) / kept.length;
}

/** Stable counting sort of 0..n-1 by integer keys in [0, range). */
function countingOrder(keys: Int32Array, range: number, order: Int32Array): Int32Array {
  const counts = new Int32Array(range + 1);
  for (let i = 0; i < order.length; i++) counts[keys[order[i]] + 1]++;
  for (let r = 0; r < range; r++) counts[r + 1] += counts[r];
  const out = new Int32Array(order.length);
  for (let i = 0; i < order.length; i++) out[counts[keys[order[i]]]++] = order[i];
  return out;
}

/** Indices grouped by category, then image, then file order. */
function groupByCategoryImage(catIdx: Int32Array, imgIdx: Int32Array, K: number, I: number): Int32Array {
  const identity = Int32Array.from({ length: catIdx.length }, (_, i) => i);
  return countingOrder(catIdx, K, countingOrder(imgIdx, I, identity));
}

function idIndex(ids: number[]): Map<number, number> {
  return new Map(ids.map((id, i) => [id, i]));
}

/**
 * `out[0..n)` = `order[from..from+n)` by descending score, ties in their given order: the result of
 * `np.argsort(-scores, kind='mergesort')`. Insertion sort for the usual handful, a stable sort beyond.
 */
function sortByScore(order: Int32Array, from: number, n: number, score: Float64Array, out: Int32Array): void {
  if (n > 32) {
    const sorted = Array.from(order.subarray(from, from + n)).sort((a, b) => score[b] - score[a] || a - b);
    for (let i = 0; i < n; i++) out[i] = sorted[i];
    return;
  }
  for (let i = 0; i < n; i++) {
    const value = order[from + i], s = score[value];
    let j = i;
    while (j > 0 && score[out[j - 1]] < s) { out[j] = out[j - 1]; j--; }
    out[j] = value;
  }
}

/** Detection states at one (area, threshold). */
const FP = 0, TP = 1, IGNORED = 2;

/**
 * Evaluates COCO results against a ground-truth dataset exactly as pycocotools' COCOeval (bbox) does.
 * `gt` must be valid (as `parseCocoDataset` / `readCocoDataset` return it); the results are checked
 * here: an image or category id absent from the ground truth is an error naming the entry (as in
 * pycocotools' `loadRes`), as is a non-finite box or score. An empty results list evaluates to zeros
 * (and -1 where there is no ground truth) with a warning; pycocotools itself cannot evaluate it.
 */
export function evaluateCoco(gt: CocoDataset, results: CocoResult[], options: CocoEvalOptions = {}): CocoEvalResult {
  // Typed copies of the parameters: the hot loops index them millions of times.
  const iouThrs = Float64Array.from(COCO_IOU_THRESHOLDS), recThrs = Float64Array.from(COCO_RECALL_THRESHOLDS);
  const maxDets = Int32Array.from(COCO_MAX_DETS);
  const areaLo = Float64Array.from(COCO_AREA_RANGES, (r) => r[0]), areaHi = Float64Array.from(COCO_AREA_RANGES, (r) => r[1]);
  const T = iouThrs.length, R = recThrs.length, A = areaLo.length, M = maxDets.length;
  const maxDetTop = maxDets[M - 1];
  const warnings: string[] = [];

  // Images and categories in sorted id order: pycocotools' default Params.imgIds / catIds.
  const imgIds = [...new Set(gt.images.map((im) => im.id))].sort((a, b) => a - b);
  const catIds = [...new Set(gt.categories.map((c) => c.id))].sort((a, b) => a - b);
  const I = imgIds.length, K = catIds.length;
  const imgIndex = idIndex(imgIds), catIndex = idIndex(catIds);
  const catName = new Map(gt.categories.map((c) => [c.id, c.name]));

  // Ground truth, columnar.
  const nG = gt.annotations.length;
  const gImg = new Int32Array(nG), gCat = new Int32Array(nG), gBox = new Float64Array(4 * nG), gArea = new Float64Array(nG);
  const gCrowd = new Uint8Array(nG), gId = new Float64Array(nG);
  gt.annotations.forEach((ann, i) => {
    const im = imgIndex.get(ann.image_id), c = catIndex.get(ann.category_id);
    if (im === undefined) throw invalidInput('the id of an image in the ground truth', `annotations[${i}].image_id`, String(ann.image_id));
    if (c === undefined) throw invalidInput('the id of a category in the ground truth', `annotations[${i}].category_id`, String(ann.category_id));
    gImg[i] = im; gCat[i] = c;
    gBox.set(ann.bbox, 4 * i);
    gArea[i] = ann.area;
    gCrowd[i] = ann.iscrowd ? 1 : 0;
    gId[i] = ann.id;
  });

  // Detections, columnar; area = w*h and id = 1-based position, as loadRes sets them.
  const nD = results.length;
  if (nD === 0) warnings.push('The results list is empty: every AP and AR is 0 (or -1 where there is no ground truth).');
  const dImg = new Int32Array(nD), dCat = new Int32Array(nD), dBox = new Float64Array(4 * nD), dScore = new Float64Array(nD);
  for (let i = 0; i < nD; i++) {
    const det = results[i];
    const im = imgIndex.get(det.image_id), c = catIndex.get(det.category_id);
    if (im === undefined) throw invalidInput('the id of an image in the ground truth', `results[${i}].image_id`, String(det.image_id));
    if (c === undefined) throw invalidInput('the id of a category in the ground truth', `results[${i}].category_id`, String(det.category_id));
    const b = det.bbox;
    if (!Array.isArray(b) || b.length !== 4 || !b.every(Number.isFinite) || b[2] < 0 || b[3] < 0) {
      throw invalidInput('4 finite numbers [x, y, w, h] with w, h >= 0', `results[${i}].bbox`, Array.isArray(b) ? `[${b.join(', ')}]` : String(b));
    }
    if (!Number.isFinite(det.score)) throw invalidInput('a finite number', `results[${i}].score`, String(det.score));
    dImg[i] = im; dCat[i] = c;
    dBox.set(b, 4 * i);
    dScore[i] = det.score;
  }

  const gOrder = groupByCategoryImage(gCat, gImg, K, I);
  const dOrder = groupByCategoryImage(dCat, dImg, K, I);

  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);

  // Scratch buffers, grown on demand.
  let ious: Float64Array = new Float64Array(0);
  let states: Uint8Array = new Uint8Array(0);
  let detsBuf = new Int32Array(0), dArea = new Float64Array(0);
  let gIgnore = new Uint8Array(0), gSorted = new Int32Array(0), gMatched = new Int32Array(0);
  let stamp = 0; // gMatched[s] === stamp: gt s is matched at the current (area, threshold)

  let gp = 0, dp = 0; // cursors into gOrder / dOrder
  for (let k = 0; k < K; k++) {
    const gStart = gp, dStart = dp;
    while (gp < nG && gCat[gOrder[gp]] === k) gp++;
    while (dp < nD && dCat[dOrder[dp]] === k) dp++;
    if (gp === gStart && dp === dStart) continue; // every evalImg is None: precision stays -1

    // Category k's detections kept per image (at most maxDetTop, by score), concatenated in image order.
    const kScore: number[] = [];
    const kRank: number[] = [];
    const npig = new Int32Array(A);
    // states[(a*T + t) * capacity + j]: FP / TP / IGNORED of concatenated detection j.
    const capacity = Math.min(dp - dStart, I * maxDetTop);
    if (states.length < A * T * capacity) states = new Uint8Array(A * T * capacity);

    let gi = gStart, di = dStart;
    while (gi < gp || di < dp) {
      const img = Math.min(gi < gp ? gImg[gOrder[gi]] : I, di < dp ? dImg[dOrder[di]] : I);
      const g0 = gi, d0 = di;
      while (gi < gp && gImg[gOrder[gi]] === img) gi++;
      while (di < dp && dImg[dOrder[di]] === img) di++;
      const G = gi - g0;

      // Detections by descending score, stable (np.argsort(-scores, kind='mergesort')), first maxDetTop.
      const nAll = di - d0;
      if (detsBuf.length < nAll) { detsBuf = new Int32Array(2 * nAll); dArea = new Float64Array(2 * nAll); }
      const dets = detsBuf;
      sortByScore(dOrder, d0, nAll, dScore, dets);
      const D = Math.min(nAll, maxDetTop);
      const offset = kScore.length;
      for (let j = 0; j < D; j++) {
        kScore.push(dScore[dets[j]]);
        kRank.push(j);
        dArea[j] = dBox[4 * dets[j] + 2] * dBox[4 * dets[j] + 3]; // loadRes: area = w*h
      }

      const gts = gOrder.subarray(g0, gi);
      if (ious.length < D * G) ious = new Float64Array(D * G);
      // maskApi bbIou in double: intersection over union, or over the detection's area for crowd gt.
      for (let j = 0; j < D; j++) {
        const b = 4 * dets[j];
        const dx = dBox[b], dy = dBox[b + 1], dw = dBox[b + 2], dh = dBox[b + 3];
        const da = dw * dh;
        for (let g = 0; g < G; g++) {
          const q = 4 * gts[g];
          const gx = gBox[q], gy = gBox[q + 1], gw = gBox[q + 2], gh = gBox[q + 3];
          let value = 0;
          const w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
          if (w > 0) {
            const h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
            if (h > 0) {
              const inter = w * h;
              value = inter / (gCrowd[gts[g]] ? da : da + gw * gh - inter);
            }
          }
          ious[j * G + g] = value;
        }
      }

      if (gIgnore.length < G) { gIgnore = new Uint8Array(2 * G); gSorted = new Int32Array(2 * G); gMatched = new Int32Array(2 * G); stamp = 0; }
      for (let a = 0; a < A; a++) {
        const lo = areaLo[a], hi = areaHi[a];
        // Crowd gt and gt whose area field is outside the closed range are ignored.
        let nIgnored = 0;
        for (let g = 0; g < G; g++) {
          const area = gArea[gts[g]];
          gIgnore[g] = gCrowd[gts[g]] || area < lo || area > hi ? 1 : 0;
          nIgnored += gIgnore[g];
        }
        npig[a] += G - nIgnored;
        // gt with non-ignored first, stable.
        let p = 0;
        for (let g = 0; g < G; g++) if (!gIgnore[g]) gSorted[p++] = g;
        for (let g = 0; g < G; g++) if (gIgnore[g]) gSorted[p++] = g;

        for (let t = 0; t < T; t++) {
          const threshold = Math.min(iouThrs[t], MAX_IOU_THRESHOLD);
          stamp++;
          const base = (a * T + t) * capacity + offset;
          for (let j = 0; j < D; j++) {
            let best = threshold;
            let m = -1;
            for (let s = 0; s < G; s++) {
              const g = gSorted[s];
              // A matched gt is taken, unless it is a crowd region.
              if (gMatched[s] === stamp && !gCrowd[gts[g]]) continue;
              // Once a regular gt matched, the ignored ones (sorted last) cannot replace it.
              if (m > -1 && !gIgnore[gSorted[m]] && gIgnore[g]) break;
              const iou = ious[j * G + g];
              if (iou < best) continue;
              best = iou;
              m = s;
            }
            let state: number;
            if (m === -1) {
              // Unmatched: a false positive, unless its own area (w*h) is outside the range.
              state = dArea[j] < lo || dArea[j] > hi ? IGNORED : FP;
            } else {
              gMatched[m] = stamp;
              const g = gSorted[m];
              if (gIgnore[g]) state = IGNORED;
              // pycocotools stores the matched gt's id and tests it for truth: a match to gt id 0
              // counts as unmatched (a false positive, or ignored outside the area range).
              else if (gId[gts[g]] !== 0) state = TP;
              else state = dArea[j] < lo || dArea[j] > hi ? IGNORED : FP;
            }
            states[base + j] = state;
          }
        }
      }
    }

    // accumulate(): all of category k's detections by descending score, stable, so ties keep image
    // order and then per-image order. The order for maxDets m is this one filtered by per-image rank.
    const N = kScore.length;
    const sorted = Int32Array.from({ length: N }, (_, j) => j).sort((a, b) => kScore[b] - kScore[a] || a - b);
    const kept = new Int32Array(N);
    const rc = new Float64Array(N), pr = new Float64Array(N);
    for (let m = 0; m < M; m++) {
      let nd = 0;
      for (let j = 0; j < N; j++) if (kRank[sorted[j]] < maxDets[m]) kept[nd++] = sorted[j];
      for (let a = 0; a < A; a++) {
        if (npig[a] === 0) continue; // no non-ignored gt: precision and recall stay -1
        const nGt = npig[a];
        for (let t = 0; t < T; t++) {
          const base = (a * T + t) * capacity;
          // Cumulative tp / fp over the non-ignored detections. pycocotools keeps the ignored ones
          // too, as repeats of the previous rc and pr (0 and 0 before the first): leaving them out
          // changes neither the envelope nor any searchsorted value, nor the last recall.
          let tp = 0, fp = 0, n = 0;
          for (let j = 0; j < nd; j++) {
            const state = states[base + kept[j]];
            if (state === IGNORED) continue;
            if (state === TP) tp++;
            else fp++;
            rc[n] = tp / nGt;
            pr[n] = tp / (fp + tp + EPS);
            n++;
          }
          recall[((t * K + k) * A + a) * M + m] = n > 0 ? rc[n - 1] : 0;
          // Precision envelope: non-increasing from the right.
          for (let j = n - 1; j > 0; j--) if (pr[j] > pr[j - 1]) pr[j - 1] = pr[j];
          // q[r] = pr[searchsorted_left(rc, recThrs[r])], 0 past the end.
          let j = 0;
          const out = ((t * R * K + k) * A + a) * M + m, stride = K * A * M;
          for (let r = 0; r < R; r++) {
            const threshold = recThrs[r];
            while (j < n && rc[j] < threshold) j++;
            precision[out + r * stride] = j < n ? pr[j] : 0;
          }
        }
      }
    }
  }

  const dims = { T, R, K, A, M };
  const stats = summarizeStats(precision, recall, dims);
  const perCategory = catIds.map((id, k) => ({
    id,
    name: catName.get(id) ?? String(id),
    ap: precisionMean(precision, dims, null, [k], 0, M - 1),
    ap50: precisionMean(precision, dims, thresholdIndex(0.5), [k], 0, M - 1),
    ap75: precisionMean(precision, dims, thresholdIndex(0.75), [k], 0, M - 1),
    recall: recallMean(recall, dims, null, [k], 0, M - 1),
  }));
  const result: CocoEvalResult = { stats, perCategory, precision, recall, dims, imgIds, catIds, warnings };
  if (options.split !== undefined) result.split = splitSummary(result, resolveSplit(options.split, gt));
  return result;
}

/** Index of `iouThr` in the thresholds by exact equality (pycocotools' `np.where(iouThr == p.iouThrs)`). */
function thresholdIndex(iouThr: number): number {
  return COCO_IOU_THRESHOLDS.indexOf(iouThr);
}

type Dims = CocoEvalResult['dims'];

/** Mean over entries > -1 of precision[t or all, :, cats, a, m], summed in C order (t, r, k). */
function precisionMean(precision: Float64Array, { T, R, K, A, M }: Dims, t: number | null, cats: number[], a: number, m: number): number {
  if (t === -1) return -1;
  const values: number[] = [];
  for (let ti = t ?? 0; ti < (t === null ? T : t + 1); ti++) {
    for (let r = 0; r < R; r++) for (const k of cats) values.push(precision[(((ti * R + r) * K + k) * A + a) * M + m]);
  }
  return meanDefined(values);
}

/** Mean over entries > -1 of recall[t or all, cats, a, m]. */
function recallMean(recall: Float64Array, { T, K, A, M }: Dims, t: number | null, cats: number[], a: number, m: number): number {
  const values: number[] = [];
  for (let ti = t ?? 0; ti < (t === null ? T : t + 1); ti++) for (const k of cats) values.push(recall[((ti * K + k) * A + a) * M + m]);
  return meanDefined(values);
}

/** The 12 stats of `COCOeval.summarize()` (`_summarizeDets`). */
function summarizeStats(precision: Float64Array, recall: Float64Array, dims: Dims): number[] {
  const all = Array.from({ length: dims.K }, (_, k) => k);
  const m100 = COCO_MAX_DETS.indexOf(100);
  const ap = (t: number | null, a: number) => precisionMean(precision, dims, t, all, a, m100);
  const ar = (a: number, m: number) => recallMean(recall, dims, null, all, a, m);
  return [
    ap(null, 0), ap(thresholdIndex(0.5), 0), ap(thresholdIndex(0.75), 0), ap(null, 1), ap(null, 2), ap(null, 3),
    ar(0, 0), ar(0, 1), ar(0, 2), ar(1, m100), ar(2, m100), ar(3, m100),
  ];
}

/**
 * Resolves a split's ids and names against the dataset's categories: sorted ids per group. Names
 * match by the one category-name rule (./category-names.ts: case, spacing and Unicode form ignored).
 * Unknown ids or names, ambiguous names and categories in both groups are errors.
 */
export function resolveSplit(split: CocoSplit, gt: Pick<CocoDataset, 'categories'>): { novel: number[]; base: number[] } {
  const ids = new Set(gt.categories.map((c) => c.id));
  const idOf = categoryMatcher(gt.categories, 'the ground truth', 'give the id instead');
  const resolve = (group: 'novel' | 'base') => {
    const out = new Set<number>();
    split[group].forEach((item, i) => {
      if (typeof item === 'number') {
        if (!ids.has(item)) throw invalidInput('the id of a category in the ground truth', `split ${group}[${i}]`, String(item));
        out.add(item);
        return;
      }
      out.add(idOf(item, `split ${group}[${i}]`));
    });
    return [...out].sort((a, b) => a - b);
  };
  const novel = resolve('novel'), base = resolve('base');
  const both = novel.filter((id) => base.includes(id));
  if (both.length > 0) throw invalidInput('disjoint novel and base groups', 'split', `category ${both[0]} in both`);
  return { novel, base };
}

function splitSummary(result: CocoEvalResult, groups: { novel: number[]; base: number[] }): CocoSplitResult {
  const index = idIndex(result.catIds);
  const group = (categoryIds: number[]): CocoGroupResult => {
    const ks = categoryIds.map((id) => index.get(id)!).sort((a, b) => a - b);
    return {
      categoryIds,
      ap: precisionMean(result.precision, result.dims, null, ks, 0, result.dims.M - 1),
      ap50: precisionMean(result.precision, result.dims, thresholdIndex(0.5), ks, 0, result.dims.M - 1),
    };
  };
  const all = [...groups.novel, ...groups.base].sort((a, b) => a - b);
  return { novel: group(groups.novel), base: group(groups.base), all: group(all) };
}

/** The documented machine-readable object (`regionclip eval --json`). */
export function cocoEvalJson(result: CocoEvalResult): CocoEvalJson {
  const out: CocoEvalJson = {
    stats: [...result.stats],
    perCategory: result.perCategory.map(({ id, name, ap, ap50, ap75, recall }) => ({ id, name, ap, ap50, ap75, recall })),
  };
  if (result.split !== undefined) {
    const pick = ({ ap, ap50 }: CocoGroupResult) => ({ ap, ap50 });
    out.split = { novel: pick(result.split.novel), base: pick(result.split.base), all: pick(result.split.all) };
  }
  return out;
}

/**
 * Python's `'{:0.3f}'.format(x)`: the exact double rounded half to even (JS `toFixed` rounds exact
 * halves up, e.g. 0.0625 → "0.063" where Python prints "0.062").
 */
export function formatFixed3(x: number): string {
  const fixed = x.toFixed(3);
  const exact = Math.abs(x).toFixed(60);
  const point = exact.indexOf('.');
  const tail = exact.slice(point + 4);
  if (/^50*$/.test(tail)) {
    const truncated = Math.trunc(Math.abs(x) * 1000); // exact: |x| * 1000 = n + 0.5 is representable here
    const down = truncated % 2 === 0;
    const magnitude = (down ? truncated : truncated + 1) / 1000;
    return (x < 0 ? '-' : '') + magnitude.toFixed(3);
  }
  return fixed;
}

/** The lines `COCOeval.summarize()` prints, character for character. */
export function summaryLines(stats: number[]): string[] {
  const iouAll = `${COCO_IOU_THRESHOLDS[0].toFixed(2)}:${COCO_IOU_THRESHOLDS[COCO_IOU_THRESHOLDS.length - 1].toFixed(2)}`;
  const rows: [boolean, string, string, number][] = [
    [true, iouAll, 'all', 100], [true, '0.50', 'all', 100], [true, '0.75', 'all', 100],
    [true, iouAll, 'small', 100], [true, iouAll, 'medium', 100], [true, iouAll, 'large', 100],
    [false, iouAll, 'all', 1], [false, iouAll, 'all', 10], [false, iouAll, 'all', 100],
    [false, iouAll, 'small', 100], [false, iouAll, 'medium', 100], [false, iouAll, 'large', 100],
  ];
  return rows.map(([isAp, iou, area, maxDet], i) => {
    const title = (isAp ? 'Average Precision' : 'Average Recall').padEnd(18);
    const type = isAp ? '(AP)' : '(AR)';
    return ` ${title} ${type} @[ IoU=${iou.padEnd(9)} | area=${area.padStart(6)} | maxDets=${String(maxDet).padStart(3)} ] = ${formatFixed3(stats[i])}`;
  });
}

/** The split lines printed after the summary. */
export function splitLines(split: CocoSplitResult): string[] {
  const row = (label: string, g: CocoGroupResult) =>
    ` Open-vocabulary ${label.padEnd(5)} (${String(g.categoryIds.length).padStart(4)} categories): AP50 = ${formatFixed3(g.ap50)} | AP@[0.50:0.95] = ${formatFixed3(g.ap)}`;
  return [row('novel', split.novel), row('base', split.base), row('all', split.all)];
}
