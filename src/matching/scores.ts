/**
 * Region–phrase scoring, RegionCLIP's recipe as one pure function with named constants
 * (`scoreRegions`): L2-normalize both sides, cosine similarity, optional competitor columns
 * (distractor phrases, a background), divide by a temperature, softmax over the phrases and the
 * competitors, the competitor columns dropped again, then optional objectness fusion. detect,
 * classify and mine all score with it;
 * the pieces (`cosineSimilarity`, `softmaxRows`, `regionPhraseProbs`, `fuseScores`) are exported
 * for tests and for callers that need the background column itself.
 *
 * Matches RegionCLIP's `clip_roi_heads` zero-shot scoring (cosine / 0.01 with a background
 * embedding, softmax), except objectness fusion (see `ObjectnessFusion`) and distractors, which
 * RegionCLIP does not have: open-set scoring for models without a trained background
 * (text/distractors.ts; README "Open-set scoring").
 *
 * Glossary: R regions (or images), P phrases, K distractors, D embedding size. `regionEmbeds` is
 * R×D, `phraseEmbeds` P×D, `distractorEmbeds` K×D, row-major; results are R×P (`regionPhraseProbs`:
 * R×(P+1) with a background column, last).
 */
import { invalidInput } from '../errors.js';
import { dotRows } from './dot-rows.js';

/** RegionCLIP's zero-shot temperature: logits = cosine / 0.01 (CLIP's trained logit scale of 100). */
export const REGIONCLIP_TEMPERATURE = 0.01;

function rowsOf(name: string, x: Float32Array, dim: number): number {
  if (!(x instanceof Float32Array) || !Number.isInteger(dim) || dim < 1 || x.length % dim !== 0) {
    throw invalidInput(`a Float32Array of N×${dim}`, name, x instanceof Float32Array ? `length ${x.length}` : String(x));
  }
  return x.length / dim;
}

/** Rows of D scaled to unit L2 norm (a zero row stays zero), as a new array. Unchecked. */
export function normalizeRows(x: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let o = 0; o < x.length; o += dim) {
    let sum = 0;
    for (let i = 0; i < dim; i++) sum += x[o + i] * x[o + i];
    const inv = sum > 0 ? 1 / Math.sqrt(sum) : 0;
    for (let i = 0; i < dim; i++) out[o + i] = x[o + i] * inv;
  }
  return out;
}

/** R×P cosine similarities of L2-normalized rows (the products: `dotRows`, WebAssembly SIMD, float64 sums). */
export function cosineSimilarity(regionEmbeds: Float32Array, phraseEmbeds: Float32Array, dim: number): Float32Array {
  const R = rowsOf('regionEmbeds', regionEmbeds, dim);
  const P = rowsOf('phraseEmbeds', phraseEmbeds, dim);
  return dotRows(normalizeRows(regionEmbeds, dim), R, normalizeRows(phraseEmbeds, dim), P, dim);
}

/** Row-wise softmax of an R×C matrix (max-subtracted), as a new array. */
export function softmaxRows(logits: Float32Array, cols: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let o = 0; o < logits.length; o += cols) {
    let max = -Infinity;
    for (let c = 0; c < cols; c++) max = Math.max(max, logits[o + c]);
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += (out[o + c] = Math.exp(logits[o + c] - max));
    for (let c = 0; c < cols; c++) out[o + c] /= sum;
  }
  return out;
}

export interface RegionScoreOptions {
  /** logits = cosine / temperature (RegionCLIP: 0.01; CLIP zero-shot: 1 / logitScale). */
  temperature: number;
  /** A D-vector for "background", appended as the last column (RegionCLIP's bg embedding). */
  backgroundEmbed?: Float32Array;
}

/**
 * Softmax probabilities R×P (or R×(P+1) with a background column, last) of every region over
 * the phrases: softmax(cos(region, phrase) / temperature).
 */
export function regionPhraseProbs(regionEmbeds: Float32Array, phraseEmbeds: Float32Array, dim: number, options: RegionScoreOptions): Float32Array {
  if (!(options.temperature > 0) || !Number.isFinite(options.temperature)) throw invalidInput('a finite number > 0', 'temperature', String(options.temperature));
  let phrases = phraseEmbeds;
  if (options.backgroundEmbed !== undefined) {
    if (options.backgroundEmbed.length !== dim) throw invalidInput(`a Float32Array of ${dim}`, 'backgroundEmbed', `length ${options.backgroundEmbed.length}`);
    phrases = new Float32Array(phraseEmbeds.length + dim);
    phrases.set(phraseEmbeds);
    phrases.set(options.backgroundEmbed, phraseEmbeds.length);
  }
  const cols = rowsOf('phraseEmbeds', phrases, dim);
  const logits = cosineSimilarity(regionEmbeds, phrases, dim);
  for (let i = 0; i < logits.length; i++) logits[i] /= options.temperature;
  return cols === 0 ? logits : softmaxRows(logits, cols);
}

/**
 * How RPN objectness enters the final score.
 * - `none`: score = class probability (RegionCLIP's default zero-shot setting).
 * - `geometric`: score = sqrt(prob · sigmoid(objectness)). RegionCLIP's own fusion multiplies the
 *   probability by the raw objectness logit and takes a power, which turns negative logits into NaN
 *   that are then silently dropped; the sigmoid keeps every region and stays in [0, 1].
 */
export const OBJECTNESS_FUSIONS = ['none', 'geometric'] as const;
export type ObjectnessFusion = (typeof OBJECTNESS_FUSIONS)[number];

/** R×P fused scores; `objectness` holds R sigmoid probabilities (needed for `geometric`). */
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

export interface ScoreRegionsOptions {
  /** logits = cosine / temperature (default REGIONCLIP_TEMPERATURE; CLIP classification: 1 / logitScale). */
  temperature?: number;
  /** A D-vector for "background": it competes in the softmax and is dropped from the result. */
  backgroundEmbed?: Float32Array;
  /** K×D distractor phrases (open-set scoring): they compete in the softmax like the background and are dropped from the result. */
  distractorEmbeds?: Float32Array;
  /** How objectness enters the score (default `none`). */
  fusion?: ObjectnessFusion;
  /** R objectness probabilities (sigmoid), for `geometric` fusion. */
  objectness?: Float32Array;
}

/**
 * The scoring stage: R×P scores of every region for every phrase, softmax(cos / temperature) over
 * the phrases and their competitors — the K distractors and the background, whose columns are
 * dropped: they only take probability mass away, so a region that matches none of the phrases
 * scores low for all of them — then objectness fusion. Embeddings need not be normalized.
 * @throws InvalidInputError for mismatched shapes, a temperature that is not a finite number > 0,
 *   or `geometric` fusion without R objectness values.
 */
export function scoreRegions(regionEmbeds: Float32Array, phraseEmbeds: Float32Array, dim: number, options: ScoreRegionsOptions = {}): Float32Array {
  const P = rowsOf('phraseEmbeds', phraseEmbeds, dim);
  const K = options.distractorEmbeds === undefined ? 0 : rowsOf('distractorEmbeds', options.distractorEmbeds, dim);
  let competing = phraseEmbeds;
  if (K > 0) {
    competing = new Float32Array((P + K) * dim);
    competing.set(phraseEmbeds);
    competing.set(options.distractorEmbeds!, P * dim);
  }
  const probsWithCompetitors = regionPhraseProbs(regionEmbeds, competing, dim, {
    temperature: options.temperature ?? REGIONCLIP_TEMPERATURE,
    backgroundEmbed: options.backgroundEmbed,
  });
  const columns = P + K + (options.backgroundEmbed === undefined ? 0 : 1);
  let probs = probsWithCompetitors;
  if (columns !== P) {
    const R = regionEmbeds.length / dim;
    probs = new Float32Array(R * P);
    for (let r = 0; r < R; r++) probs.set(probsWithCompetitors.subarray(r * columns, r * columns + P), r * P);
  }
  return fuseScores(probs, P, options.fusion ?? 'none', options.objectness);
}

/**
 * ViLD's ensemble (Gu et al. 2022, "ViLD-ensemble"; F-VLM's has the same form): R×P probabilities of two region
 * classifiers on the same regions combined per label by a weighted geometric mean, p^(1−λ) · q^λ, λ = `weights[p]`
 * (ViLD: 1/3 for base labels, 2/3 for novel ones). Without `other` every q is 1, the upper bound: `ensembleProbs(p,
 * undefined, w)` bounds every ensemble score from above (`ensembleCandidates`). Objectness fusion applies after
 * (`fuseScores`).
 * @throws InvalidInputError for mismatched shapes or a weight outside [0, 1].
 */
export function ensembleProbs(primary: Float32Array, other: Float32Array | undefined, weights: Float32Array): Float32Array {
  const P = weights.length;
  if (P === 0 || primary.length % P !== 0) throw invalidInput(`R×${P} probabilities`, 'primary', `length ${primary.length}`);
  if (other !== undefined && other.length !== primary.length) throw invalidInput(`${primary.length / P}×${P} probabilities`, 'other', `length ${other.length}`);
  const bad = weights.findIndex((w) => !(w >= 0 && w <= 1));
  if (bad >= 0) throw invalidInput('weights in [0, 1]', `weights[${bad}]`, String(weights[bad]));
  const out = new Float32Array(primary.length);
  for (let i = 0; i < primary.length; i++) {
    const lambda = weights[i % P];
    out[i] = primary[i] ** (1 - lambda) * (other === undefined ? 1 : other[i] ** lambda);
  }
  return out;
}

/**
 * The regions (indices, ascending) for which the ensemble partner must be run: those where some label's bound, the
 * ensemble score with q = 1 (`ensembleProbs(probs, undefined, weights)`, fused with objectness as the scores are),
 * passes `scoreThreshold` (strict >, as `selectDetections`). Every other region's ensemble score is at most its bound
 * (q ≤ 1; powers, products, float32 rounding and the fusion's square root are monotone), so it could not pass: the
 * detections are those of every region scored. `probs` R×P, before fusion; `weights` P.
 * @throws InvalidInputError as `ensembleProbs` and `fuseScores`.
 */
export function ensembleCandidates(probs: Float32Array, weights: Float32Array, scoreThreshold: number, fusion: ObjectnessFusion, objectness?: Float32Array): Int32Array {
  const P = weights.length;
  const bound = fuseScores(ensembleProbs(probs, undefined, weights), P, fusion, objectness);
  const out: number[] = [];
  for (let r = 0; r < bound.length / P; r++) {
    for (let p = 0; p < P; p++) {
      if (bound[r * P + p] > scoreThreshold) {
        out.push(r);
        break;
      }
    }
  }
  return Int32Array.from(out);
}
