/**
 * Tagged terms for the phrase chunker: compromise's part-of-speech tags behind a small typed
 * surface, and the only module of the extractor that calls compromise.
 *
 * `termsOf(text)` cleans the text (`prepareText`), tags it, and gives per sentence its terms: the
 * lowercase word, its compromise tags, the punctuation after it, and whether it is a possessive or a
 * capitalized name. `roleOf` reduces the tags to one coarse role per term. `singularize`,
 * `verbCapable` and `unchangedPast` are the three questions the rules ask compromise about a
 * single word; the answers are cached per word.
 *
 * compromise is read only through its public API: `nlp(text).docs` (typed terms, the same objects
 * `.json()` copies), `.verbs().conjugate()`, and `nlp.methods()` / `nlp.model()` for the noun
 * inflector (see `nounInflector`).
 */
import nlp from 'compromise';
import { RegionClipError, expectedMessage, describe as describeValue } from '../errors.js';
import { DETERMINERS, NON_VISUAL_HEADS, PLURAL_ONLY, PREPOSITIONS, SINGULAR } from './lexicon.js';

export interface Term {
  /** Lowercase word, possessive marker removed. */
  word: string;
  tags: ReadonlySet<string>;
  /** Punctuation after the word (compromise's `post`). */
  post: string;
  possessive: boolean;
  /** Written with a capital letter, not at the start of its sentence (a proper name). */
  capitalized: boolean;
}

/** A term's coarse part of speech, as the chunker uses it. */
export type Role = 'det' | 'num' | 'adj' | 'noun' | 'verb' | 'prep' | 'conj' | 'pron' | 'adv' | 'other';

/** One term as compromise gives it (`nlp(text).docs`), tags as a list. */
interface RawTerm { text: string; normal: string; tags: string[]; pre: string; post: string }

/** The words that end a phrase after them: commas, periods and other punctuation. */
export function breaksAfter(t: Term): boolean {
  return /[,.;:!?/&]/.test(t.post);
}

export function roleOf(t: Term): Role {
  const w = t.word;
  const tags = t.tags;
  if (PREPOSITIONS.has(w) && !tags.has('Determiner')) return 'prep';
  if (DETERMINERS.has(w) || tags.has('Determiner')) return 'det';
  if (tags.has('Pronoun') || (NON_VISUAL_HEADS.has(w) && !tags.has('Noun') && !tags.has('Adjective') && !tags.has('Verb'))) return 'pron';
  if (tags.has('Value') || tags.has('Cardinal') || /^\d+(?:[.,]\d+)?$/.test(w)) return 'num';
  if (tags.has('Preposition')) return 'prep';
  if (tags.has('Conjunction')) return 'conj';
  if (tags.has('Noun')) return 'noun';
  if (tags.has('Adjective') || tags.has('Comparable') || tags.has('Superlative')) return 'adj';
  if (tags.has('Verb') || tags.has('Copula') || tags.has('Auxiliary') || tags.has('Modal')) return 'verb';
  if (tags.has('Adverb')) return 'adv';
  if (tags.has('QuestionWord')) return 'pron';
  return 'other';
}

// ---------------------------------------------------------------------------------------------
// Text to terms

/** Emoji and pictographs, which never count as words. */
const EMOJI = /[\p{Extended_Pictographic}\p{Emoji_Modifier}\u200d\ufe0f\u20e3]/gu;
/** Quoted sign text after a verb of writing: `says "Welcome"`. */
const QUOTED_SIGN = /\b(says|say|saying|reads|read|reading|labeled|labelled|marked|written|writes|spelling|spells|word|words|text)\s*(["“”'‘’])[^"“”]*?["“”’']/giu;

export function prepareText(text: string): string {
  let t = text.normalize('NFC').replace(EMOJI, ' ');
  t = t.replace(QUOTED_SIGN, '$1 ');
  t = t.replace(/["“”]/g, ' ').replace(/[‘’]/g, "'");
  t = t.replace(/\s*[–—]\s*/g, ', ').replace(/[()\[\]{}]/g, ', ');
  t = t.replace(/[!?;:]+/g, '. ').replace(/\.{2,}/g, '. ');
  // ALL CAPS text confuses the tagger (it reads acronyms): lowercase it.
  const letters = t.replace(/[^\p{L}]/gu, '');
  const upper = t.replace(/[^\p{Lu}]/gu, '');
  if (letters.length > 3 && upper.length / letters.length > 0.6) t = t.toLowerCase();
  return t.replace(/\s+/g, ' ').trim();
}

/** The terms of each sentence of a prepared text. */
export function termsOf(text: string): Term[][] {
  return nlp(text).docs.map((sentence) => {
    const raw = sentence.map((t): RawTerm => ({ text: t.text, normal: t.normal, tags: [...(t.tags ?? [])], pre: t.pre, post: t.post }));
    return joinHyphenated(movePunctuationBack(raw)).map(toTerm);
  });
}

function toTerm(raw: RawTerm, index: number): Term {
  const tags = new Set(raw.tags);
  let word = (raw.normal || raw.text).toLowerCase();
  let possessive = tags.has('Possessive') && !tags.has('Pronoun');
  if (/['’]s$/.test(word)) {
    word = word.slice(0, -2);
    possessive = true;
  } else if (/['’]$/.test(word) || /^['’]/.test(raw.post)) {
    word = word.replace(/['’]$/, '');
    if (/s$/.test(word)) possessive = true;
  }
  word = word.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}-]+$/gu, '');
  const capitalized = index > 0 && /^\p{Lu}/u.test(raw.text);
  return { word, tags, post: raw.post, possessive, capitalized };
}

/** A comma or period written after a space ("a bottle , lying") belongs to the word before it. */
function movePunctuationBack(terms: RawTerm[]): RawTerm[] {
  const out = terms.map((t) => ({ ...t }));
  for (let i = 1; i < out.length; i++) {
    const m = /^\s*([,.;:!?&/]+)\s*/.exec(out[i].pre);
    if (m !== null) {
      out[i - 1].post = `${out[i - 1].post.trimEnd()}${m[1]} `;
      out[i].pre = out[i].pre.slice(m[0].length);
    }
  }
  return out;
}

/** compromise splits "double-decker" into two terms; join them, keeping the last part's tags. */
function joinHyphenated(terms: RawTerm[]): RawTerm[] {
  const out: RawTerm[] = [];
  for (let i = 0; i < terms.length; i++) {
    let t = { ...terms[i] };
    while (i + 1 < terms.length && /^[-‐]$/.test(t.post)) {
      const next = terms[++i];
      const tags = next.tags.some((g) => g === 'Noun' || g === 'Adjective' || g === 'Verb') ? next.tags : ['Adjective', 'Hyphenated'];
      t = { text: `${t.text}-${next.text}`, normal: `${t.normal || t.text}-${next.normal || next.text}`, tags, pre: t.pre, post: next.post };
    }
    out.push(t);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Questions about one word

/** A word's answer, computed once. */
function cached(compute: (word: string) => boolean): (word: string) => boolean {
  const known = new Map<string, boolean>();
  return (word) => {
    let answer = known.get(word);
    if (answer === undefined) {
      answer = compute(word);
      known.set(word, answer);
    }
    return answer;
  };
}

/** Verbs whose past participle is the base form ("cut", "split", "put"): "a sandwich cut in half". */
export const unchangedPast = cached((word) => {
  // `conjugate()` is typed `object[]`: the two forms are read with `in` checks, not a cast.
  const forms: object | undefined = nlp(`they ${word}`).verbs().conjugate()[0];
  return forms !== undefined && 'Infinitive' in forms && forms.Infinitive === word && 'PastTense' in forms && forms.PastTense === word;
});

/** Whether a word reads as a verb after "they"/"it" (compromise tags it Verb there). */
export const verbCapable = cached((word) => {
  const subject = /[^s]s$/.test(word) ? 'it' : 'they';
  const terms = nlp(`${subject} ${word}`).docs[0] ?? [];
  return terms.length === 2 && terms[1].tags?.has('Verb') === true;
});

/**
 * compromise's noun inflector, `methods().two.transform.noun.toSingular(word, model)`. Its
 * `nlp.methods()` is public but typed `object`, so the function is looked up and checked at run
 * time instead of cast; a compromise without it is an internal error naming the path.
 */
function nounInflector(): (word: string) => unknown {
  let found: unknown = nlp.methods();
  for (const key of ['two', 'transform', 'noun', 'toSingular']) {
    found = typeof found === 'object' && found !== null ? Reflect.get(found, key) : undefined;
  }
  const toSingular = found;
  if (typeof toSingular !== 'function') {
    throw new RegionClipError(expectedMessage('a function', "compromise's nlp.methods().two.transform.noun.toSingular", describeValue(toSingular)));
  }
  const model = nlp.model();
  return (word) => toSingular(word, model);
}
let toSingular: ((word: string) => unknown) | undefined;

/** Singular of a head noun: irregular table, plural-only nouns, then compromise's inflector. */
export function singularize(word: string): string {
  const w = word.toLowerCase();
  if (PLURAL_ONLY.has(w)) return w;
  const irregular = SINGULAR.get(w);
  if (irregular !== undefined) return irregular;
  if (w.includes('-')) {
    const i = w.lastIndexOf('-');
    return w.slice(0, i + 1) + singularize(w.slice(i + 1));
  }
  if (!/[a-z]s$/.test(w) || /(?:ss|us|is)$/.test(w)) return w;
  toSingular ??= nounInflector();
  const s = toSingular(w);
  return typeof s === 'string' && s.length > 0 ? s : w;
}
