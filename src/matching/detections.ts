/**
 * Detection post-processing, RegionCLIP's fast_rcnn_inference_single_image for class-agnostic
 * boxes: every (region, phrase) pair whose score passes the threshold becomes a candidate, per-class
 * NMS (or, with `agnostic`, one NMS over every class, as ultralytics' `agnostic_nms`: overlapping
 * boxes of different labels suppress each other too), then the best `maxDetections`. Pure.
 *
 * Glossary: R regions, P phrases (classes); `scores` is R×P (the output of `scoreRegions`: the
 * background column, if any, already removed, objectness already fused), `boxes` the R regions.
 */
import { invalidInput } from '../errors.js';
import { Boxes } from '../geometry/boxes.js';
import { batchedNms } from '../geometry/nms.js';
import { checkFraction, checkInteger } from '../geometry/validate.js';

export interface SelectOptions {
  /** Minimum score of a detection (strict >, as detectron2's score_thresh). */
  scoreThreshold: number;
  /** NMS IoU threshold. */
  iouThreshold: number;
  maxDetections: number;
  /** One NMS over all classes instead of one per class (default false: per-class, as RegionCLIP). */
  agnostic?: boolean;
}

export interface SelectedDetections {
  boxes: Boxes;
  scores: Float32Array;
  classIds: Int32Array;
  /** The region each detection came from. */
  regionIds: Int32Array;
}

/**
 * `scores` R×P (from `scoreRegions`), `boxes` the R regions → the kept detections, best first.
 * @throws InvalidInputError for thresholds outside [0, 1], a negative or fractional
 *   `maxDetections`, or scores that are not R×P.
 */
export function selectDetections(scores: Float32Array, phraseCount: number, boxes: Boxes | Float32Array, options: SelectOptions): SelectedDetections {
  for (const moved of ['fusion', 'objectness']) {
    if (moved in options) throw invalidInput(`scoreThreshold, iouThreshold and maxDetections (objectness fusion moved to scoreRegions)`, 'selectDetections options', `"${moved}"`);
  }
  checkFraction('scoreThreshold', options.scoreThreshold);
  checkFraction('iouThreshold', options.iouThreshold);
  checkInteger('maxDetections', options.maxDetections, 0);
  const regions = boxes instanceof Boxes ? boxes : Boxes.from(boxes);
  const R = regions.length;
  if (scores.length !== R * phraseCount) throw invalidInput(`${R}×${phraseCount} scores`, 'scores', `length ${scores.length}`);
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
  if (options.agnostic !== undefined && typeof options.agnostic !== 'boolean') throw invalidInput('true or false', 'agnostic', String(options.agnostic));
  const candidates = regions.gather(candRegion);
  // Class-agnostic NMS is batched NMS with every candidate in one class.
  const nmsClasses = options.agnostic === true ? new Int32Array(candClass.length) : Int32Array.from(candClass);
  const keep = batchedNms(candidates.data, Float32Array.from(candScore), nmsClasses, options.iouThreshold, options.maxDetections);
  return {
    boxes: candidates.gather(keep),
    scores: Float32Array.from(keep, (i) => candScore[i]),
    classIds: Int32Array.from(keep, (i) => candClass[i]),
    regionIds: Int32Array.from(keep, (i) => candRegion[i]),
  };
}
