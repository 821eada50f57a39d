/**
 * Region–phrase pseudo-labels (RegionCLIP's mining step), pure: given region embeddings and the
 * image's phrase embeddings, softmax(cosine / temperature) over the phrases for every region; keep
 * region→phrase labels whose best probability passes `threshold`, and for every phrase its best
 * region (phrase→region) when that probability passes `floor`. A pair found both ways is one label.
 *
 * Glossary: R regions, P phrases, D embedding size.
 */
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
  /** Phrase→region: keep a phrase's best region when its probability is above this. */
  floor: number;
}

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
  for (let p = 0; p < P; p++) {
    let best = 0;
    for (let r = 1; r < R; r++) if (probs[r * P + p] > probs[best * P + p]) best = r;
    const score = probs[best * P + p];
    if (score <= options.floor) continue;
    const existing = pairs.get(best * P + p);
    if (existing) existing.direction = 'both';
    else pairs.set(best * P + p, { region: best, phrase: p, score, direction: 'phrase→region' });
  }
  return [...pairs.values()].sort((a, b) => a.region - b.region || a.phrase - b.phrase);
}
