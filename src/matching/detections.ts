/**
 * Detection post-processing, RegionCLIP's fast_rcnn_inference_single_image for class-agnostic
 * boxes: every (region, phrase) pair whose score passes the threshold becomes a candidate, per-class
 * NMS, then the best `maxDetections`. Pure.
 *
 * Glossary: R regions, P phrases (classes); `probs` is R×P (a background column, if any, already
 * removed), `boxes` R×4 XYXY.
 */
import { invalidInput } from '../errors.js';
import { batchedNms } from '../geometry/nms.js';
import { checkFraction, checkInteger } from '../geometry/validate.js';

/**
 * How RPN objectness enters the final score.
 * - `none`: score = class probability (RegionCLIP's default zero-shot setting).
 * - `geometric`: score = sqrt(prob · sigmoid(objectness)). RegionCLIP's own fusion multiplies the
 *   probability by the raw objectness logit and takes a power, which turns negative logits into NaN
 *   that are then silently dropped; the sigmoid keeps every region and stays in [0, 1].
 */
export type ObjectnessFusion = 'none' | 'geometric';

export interface SelectOptions {
  /** Minimum score of a detection (strict >, as detectron2's score_thresh). */
  scoreThreshold: number;
  /** Per-class NMS IoU threshold. */
  iouThreshold: number;
  maxDetections: number;
  fusion?: ObjectnessFusion;
  /** R objectness probabilities (sigmoid), needed for `geometric` fusion. */
  objectness?: Float32Array;
}

export interface SelectedDetections {
  boxes: Float32Array;
  scores: Float32Array;
  classIds: Int32Array;
  /** The region each detection came from. */
  regionIds: Int32Array;
}

export function fuseScores(probs: Float32Array, phraseCount: number, fusion: ObjectnessFusion, objectness?: Float32Array): Float32Array {
  if (fusion === 'none') return probs;
  const R = phraseCount === 0 ? 0 : probs.length / phraseCount;
  if (objectness === undefined || objectness.length !== R) {
    throw invalidInput(`${R} objectness probabilities for geometric fusion`, 'objectness', objectness === undefined ? 'none' : `length ${objectness.length}`);
  }
  const out = new Float32Array(probs.length);
  for (let r = 0; r < R; r++) for (let p = 0; p < phraseCount; p++) out[r * phraseCount + p] = Math.sqrt(probs[r * phraseCount + p] * objectness[r]);
  return out;
}

export function selectDetections(probs: Float32Array, phraseCount: number, boxes: Float32Array, options: SelectOptions): SelectedDetections {
  checkFraction('scoreThreshold', options.scoreThreshold);
  checkFraction('iouThreshold', options.iouThreshold);
  checkInteger('maxDetections', options.maxDetections, 0);
  const R = boxes.length / 4;
  if (probs.length !== R * phraseCount) throw invalidInput(`${R}×${phraseCount} probabilities`, 'probs', `length ${probs.length}`);
  const scores = fuseScores(probs, phraseCount, options.fusion ?? 'none', options.objectness);
  const candRegion: number[] = [], candClass: number[] = [], candScore: number[] = [];
  for (let r = 0; r < R; r++) {
    for (let p = 0; p < phraseCount; p++) {
      const s = scores[r * phraseCount + p];
      if (s > options.scoreThreshold) {
        candRegion.push(r);
        candClass.push(p);
        candScore.push(s);
      }
    }
  }
  const candBoxes = new Float32Array(4 * candRegion.length);
  candRegion.forEach((r, i) => candBoxes.set(boxes.subarray(4 * r, 4 * r + 4), 4 * i));
  const keep = batchedNms(candBoxes, Float32Array.from(candScore), Int32Array.from(candClass), options.iouThreshold, options.maxDetections);
  const out: SelectedDetections = { boxes: new Float32Array(4 * keep.length), scores: new Float32Array(keep.length), classIds: new Int32Array(keep.length), regionIds: new Int32Array(keep.length) };
  keep.forEach((i, k) => {
    out.boxes.set(candBoxes.subarray(4 * i, 4 * i + 4), 4 * k);
    out.scores[k] = candScore[i];
    out.classIds[k] = candClass[i];
    out.regionIds[k] = candRegion[i];
  });
  return out;
}
