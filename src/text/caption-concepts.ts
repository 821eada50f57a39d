/**
 * A concept pool's names found in captions, for `regionclip mine`: a pool name written in the caption
 * ("a statue of liberty and two hammer and wrenches") is one phrase, where the noun-phrase chunker
 * alone would split it ("statue", "liberty", "hammer", "wrench") or miss it.
 *
 * Words are compared lowercase with each word singular (`singularize`), so "two hammer and wrenches"
 * names "hammer and wrench". Matches are whole words, longest first, never overlapping. A number word
 * right before a match is its count ("two nesting dolls": 2), as `extractPhrases` counts.
 */
import { CARDINALS } from './lexicon.js';
import { extractPhrases, type ExtractedPhrase } from './phrases.js';
import { singularize } from './tagging.js';

const WORD = /[\p{L}\p{N}'’-]+/gu;
const wordsOf = (text: string) => (text.toLowerCase().match(WORD) ?? []).map((w) => singularize(w) || w);

interface PoolMatch { name: string; start: number; end: number; count?: number }

/** A concept pool indexed by first word, built once and searched per caption. */
export class ConceptIndex {
  private readonly byFirst = new Map<string, { name: string; words: string[] }[]>();

  constructor(readonly names: readonly string[]) {
    for (const name of names) {
      const words = wordsOf(name);
      if (words.length === 0) continue;
      const list = this.byFirst.get(words[0]) ?? [];
      list.push({ name, words });
      this.byFirst.set(words[0], list);
    }
    for (const list of this.byFirst.values()) list.sort((a, b) => b.words.length - a.words.length);
  }

  /** The pool names a text writes, in text order: whole words, longest first, not overlapping. */
  find(text: string): PoolMatch[] {
    const words = wordsOf(text);
    const matches: PoolMatch[] = [];
    for (let i = 0; i < words.length; ) {
      const hit = (this.byFirst.get(words[i]) ?? []).find((c) => c.words.every((w, k) => words[i + k] === w));
      if (hit === undefined) {
        i++;
        continue;
      }
      const count = i > 0 ? (/^\d+$/.test(words[i - 1]) ? Number(words[i - 1]) : CARDINALS.get(words[i - 1])) : undefined;
      matches.push({ name: hit.name, start: i, end: i + hit.words.length, ...(count !== undefined && count >= 1 ? { count } : {}) });
      i += hit.words.length;
    }
    return matches;
  }
}

/**
 * A caption's phrases with a concept pool: its noun phrases (`extractPhrases`), where a pool name of
 * several words that the caption writes replaces the noun phrases inside it ("statue of liberty", not
 * "statue" and "liberty"), plus the pool names the chunker missed. A pool name's phrase and concept are
 * the name. Without an index, the noun phrases alone.
 */
export function captionPhrases(caption: string, index?: ConceptIndex): ExtractedPhrase[] {
  const extracted = extractPhrases(caption);
  if (index === undefined) return extracted;
  const matches = index.find(caption);
  const multi = matches.filter((m) => m.end - m.start > 1).map((m) => ({ match: m, words: new Set(wordsOf(m.name)) }));
  const out: ExtractedPhrase[] = [];
  const has = (name: string) => out.some((p) => p.phrase === name || p.concept === name);
  const add = (m: PoolMatch, count?: number) => {
    const c = m.count ?? count;
    out.push({ phrase: m.name, concept: m.name, ...(c !== undefined ? { count: c } : {}) });
  };
  for (const phrase of extracted) {
    const inside = multi.find((m) => wordsOf(phrase.phrase).every((w) => m.words.has(w)));
    if (inside === undefined) {
      if (!has(phrase.phrase)) out.push(phrase);
    } else if (!has(inside.match.name)) add(inside.match, phrase.count);
  }
  for (const m of matches) if (!has(m.name)) add(m);
  return out;
}
