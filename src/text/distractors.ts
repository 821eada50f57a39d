/**
 * Open-set scoring's distractor pool. A softmax over the user's labels alone always hands out the
 * whole probability: asked for "giraffe" alone, every region is 100% giraffe. RegionCLIP answers
 * this with a trained background embedding; a model without one gets a pool of generic concepts
 * (`distractors.json`) whose phrase embeddings compete in the same softmax (`scoreRegions`'
 * `distractorEmbeds`) and are never reported, so a region that looks like none of the labels gives
 * its probability to a distractor instead.
 *
 * A label must never compete with itself: `distractorsFor` removes every pool entry that is the
 * same concept as a label — the same words once lowercased, articles dropped and each word made
 * singular ("Bicycles", "a bicycle" → "bicycle"), or the same head noun ("red car" and "sports car"
 * share "car"; "teddy bear" and "bear" share "bear").
 */
import pool from './distractors.json' with { type: 'json' };
import { singularize } from './tagging.js';

/** The built-in pool (documented in README "Open-set scoring"). */
export const BUILTIN_DISTRACTORS: readonly string[] = Object.freeze([...pool.concepts]);

const ARTICLES = new Set(['a', 'an', 'the']);

/** A phrase's words for comparison: lowercase, punctuation as spaces, articles dropped, each word singular. */
function conceptWords(phrase: string): string[] {
  const words = phrase.toLowerCase().replace(/[^\p{L}\p{N}'-]+/gu, ' ').trim().split(' ').filter((w) => w.length > 0);
  const content = words.filter((w, i) => !(i === 0 && ARTICLES.has(w) && words.length > 1));
  return content.map((w) => singularize(w));
}

/**
 * The pool without the entries that are a label's concept (same words, or the same head noun),
 * without repeats, in pool order.
 */
export function distractorsFor(poolConcepts: readonly string[], labels: readonly string[]): string[] {
  const keys = new Set<string>(), heads = new Set<string>();
  for (const label of labels) {
    const words = conceptWords(label);
    if (words.length === 0) continue;
    keys.add(words.join(' '));
    heads.add(words[words.length - 1]);
  }
  const kept: string[] = [];
  const seen = new Set<string>();
  for (const concept of poolConcepts) {
    const words = conceptWords(concept);
    if (words.length === 0) continue;
    const key = words.join(' ');
    if (keys.has(key) || heads.has(words[words.length - 1]) || seen.has(key)) continue;
    seen.add(key);
    kept.push(concept);
  }
  return kept;
}
