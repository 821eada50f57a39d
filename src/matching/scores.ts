/**
 * Region–phrase scoring, RegionCLIP's recipe as one pure function with named constants:
 * L2-normalize both sides, cosine similarity, an optional background column, divide by a
 * temperature, softmax over the phrases (and background).
 *
 * Glossary: R regions (or images), P phrases, D embedding size. `regionEmbeds` is R×D,
 * `phraseEmbeds` P×D, row-major; results are R×P (R×(P+1) with a background column, last).
 */
import { invalidInput } from '../errors.js';

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

/** R×P cosine similarities of L2-normalized rows. */
export function cosineSimilarity(regionEmbeds: Float32Array, phraseEmbeds: Float32Array, dim: number): Float32Array {
  const R = rowsOf('regionEmbeds', regionEmbeds, dim);
  const P = rowsOf('phraseEmbeds', phraseEmbeds, dim);
  const a = normalizeRows(regionEmbeds, dim), b = normalizeRows(phraseEmbeds, dim);
  const out = new Float32Array(R * P);
  for (let r = 0; r < R; r++) {
    for (let p = 0; p < P; p++) {
      let dot = 0;
      for (let i = 0; i < dim; i++) dot += a[r * dim + i] * b[p * dim + i];
      out[r * P + p] = dot;
    }
  }
  return out;
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
