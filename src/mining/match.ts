/**
 * Region–concept pseudo-labels (RegionCLIP's mining step and regionclip's caption rule), pure.
 *
 * `mineRegionPhrasePairs` is RegionCLIP's rule (`PretrainFastRCNN.get_psuedo_concept_labels`):
 * softmax(cosine / temperature) of every region over a concept pool, and each region whose best
 * probability passes `threshold` (CONCEPT_THRES, 0.1) is labelled with that concept. RegionCLIP keeps
 * every region when none passes; here such an image has no labels. `floor` adds, for every concept,
 * its best region when that probability passes it (phrase→region; not RegionCLIP's, off unless given).
 *
 * `groundPhrases` is the caption rule: the caption says which concepts are in the image, so each
 * caption phrase gets the boxes that best show it. Per region and phrase the score is
 * prob^(1−w) · objectness^w, where prob is the softmax over the phrases *and* a concept pool of
 * distractors (a region that looks more like another concept loses its probability) and objectness
 * the RPN's (whole objects over parts and context); then greedily, best score first, a phrase takes
 * a box while it has labels left (its quota: top-k, or the caption's count) and the box does not
 * overlap a box already taken (IoU > `nmsThreshold`, any phrase); labels under `minScore` are dropped;
 * each kept box is the score-weighted mean of its phrase's proposals that overlap it (IoU >
 * `voteThreshold`), box voting as in Gidaris & Komodakis (2015).
 *
 * Glossary: R regions, P phrases (labels), C candidates (the P phrases first, then distractors),
 * D embedding size. Boxes are R×4 XYXY in original-image pixels.
 */
import { invalidInput } from '../errors.js';
import { boxIou } from '../geometry/iou.js';
import { scoreRegions } from '../matching/scores.js';

export type LabelDirection = 'region→phrase' | 'phrase→region' | 'both';

export interface MinedPair {
  region: number;
  phrase: number;
  score: number;
  direction: LabelDirection;
}

export interface MatchOptions {
  temperature: number;
  /** K×D distractor phrases competing in the softmax, never mined (open-set scoring; default none). */
  distractorEmbeds?: Float32Array;
  /** Region→phrase: keep a region's best phrase when its probability is above this (RegionCLIP: 0.1). */
  threshold: number;
  /** Phrase→region: keep a phrase's best region when its probability is above this (default: never). */
  floor?: number;
}

/** RegionCLIP's rule over R regions and P concepts (phrases), plus the optional phrase→region floor. */
export function mineRegionPhrasePairs(regionEmbeds: Float32Array, phraseEmbeds: Float32Array, dim: number, options: MatchOptions): MinedPair[] {
  const R = regionEmbeds.length / dim, P = phraseEmbeds.length / dim;
  if (R === 0 || P === 0) return [];
  const probs = scoreRegions(regionEmbeds, phraseEmbeds, dim, { temperature: options.temperature, distractorEmbeds: options.distractorEmbeds });
  const pairs = new Map<number, MinedPair>(); // key r * P + p
  for (let r = 0; r < R; r++) {
    let best = 0;
    for (let p = 1; p < P; p++) if (probs[r * P + p] > probs[r * P + best]) best = p;
    const score = probs[r * P + best];
    if (score > options.threshold) pairs.set(r * P + best, { region: r, phrase: best, score, direction: 'region→phrase' });
  }
  if (options.floor !== undefined) {
    for (let p = 0; p < P; p++) {
      let best = 0;
      for (let r = 1; r < R; r++) if (probs[r * P + p] > probs[best * P + p]) best = r;
      const score = probs[best * P + p];
      if (score <= options.floor) continue;
      const existing = pairs.get(best * P + p);
      if (existing) existing.direction = 'both';
      else pairs.set(best * P + p, { region: best, phrase: p, score, direction: 'phrase→region' });
    }
  }
  return [...pairs.values()].sort((a, b) => a.region - b.region || a.phrase - b.phrase);
}

export interface GroundingInput {
  /** R×C probabilities (softmax over the C candidates), the P phrases in the first columns. */
  probs: Float32Array;
  candidates: number;
  /** The first `phrases` candidates are labels; the others only compete in the softmax. */
  phrases: number;
  /** R objectness probabilities (sigmoid of the RPN logits). */
  objectness: Float32Array;
  /** R×4 proposal boxes, XYXY. */
  boxes: Float32Array;
  /** Labels each phrase may take (length P). */
  quotas: readonly number[];
}

export interface GroundingOptions {
  /** w in prob^(1−w) · objectness^w: 0 ranks by probability alone (RegionCLIP), 1 by objectness alone. */
  objectnessWeight: number;
  /** A box overlapping a kept box by more than this IoU is not kept (any phrase). */
  nmsThreshold: number;
  /** Proposals of the phrase overlapping a kept box by more than this IoU vote on it (1: no voting). */
  voteThreshold: number;
  /** Labels scoring under this are dropped. */
  minScore: number;
}

export interface GroundedLabel {
  region: number;
  phrase: number;
  score: number;
  /** The voted box, XYXY. */
  box: [number, number, number, number];
}

/** The caption rule (see the module comment). Labels come out by phrase, best first. */
export function groundPhrases(input: GroundingInput, options: GroundingOptions): GroundedLabel[] {
  const { probs, candidates: C, phrases: P, objectness, boxes, quotas } = input;
  const R = objectness.length;
  if (probs.length !== R * C || boxes.length !== R * 4 || quotas.length !== P || P > C) {
    throw invalidInput(`${R * C} probabilities, ${R * 4} box values and ${P} quotas for ${R} regions`, 'groundPhrases', `${probs.length}, ${boxes.length} and ${quotas.length}`);
  }
  const w = options.objectnessWeight;
  const scores = new Float32Array(R * P);
  const order: number[] = [];
  for (let r = 0; r < R; r++) {
    for (let p = 0; p < P; p++) {
      scores[r * P + p] = Math.pow(probs[r * C + p], 1 - w) * Math.pow(objectness[r], w);
      order.push(r * P + p);
    }
  }
  order.sort((a, b) => scores[b] - scores[a] || a - b);
  const left = [...quotas];
  const kept: number[] = [];
  for (const k of order) {
    if (scores[k] < options.minScore || !(scores[k] > 0)) break;
    const r = Math.floor(k / P), p = k % P;
    if (left[p] <= 0) continue;
    if (kept.length > 0) {
      const iou = boxIou(boxes.subarray(r * 4, r * 4 + 4), Float32Array.from(kept.flatMap((j) => Array.from(boxes.subarray(Math.floor(j / P) * 4, Math.floor(j / P) * 4 + 4)))));
      if (iou.some((v) => v > options.nmsThreshold)) continue;
    }
    kept.push(k);
    left[p]--;
  }
  const labels = kept.map((k) => {
    const r = Math.floor(k / P), p = k % P;
    return { region: r, phrase: p, score: scores[k], box: votedBox(boxes, scores, P, r, p, options.voteThreshold) };
  });
  return labels.sort((a, b) => a.phrase - b.phrase || b.score - a.score);
}

/** The score-weighted mean of phrase p's proposals that overlap region r's box by more than `threshold` (r's box itself always counts). */
function votedBox(boxes: Float32Array, scores: Float32Array, P: number, r: number, p: number, threshold: number): [number, number, number, number] {
  const R = boxes.length / 4;
  const iou = boxIou(boxes.subarray(r * 4, r * 4 + 4), boxes);
  const sum = [0, 0, 0, 0];
  let total = 0;
  for (let j = 0; j < R; j++) {
    if (j !== r && !(iou[j] > threshold)) continue;
    const weight = scores[j * P + p];
    total += weight;
    for (let c = 0; c < 4; c++) sum[c] += weight * boxes[j * 4 + c];
  }
  return [sum[0] / total, sum[1] / total, sum[2] / total, sum[3] / total];
}
