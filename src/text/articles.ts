/**
 * The article fix-up of prompt templates (`text.articles`, on by default; RegionCLIP fills its
 * templates verbatim, "a photo of a apple."): the "a" or "an" right before `{}` is chosen by the
 * label's first sound, unless the label brings its own determiner.
 *
 * - `hasOwnDeterminer`: the label starts with a determiner, possessive, quantifier or count ("a man",
 *   "the dog", "my car", "two dogs", "11 eggs"); the template is then filled verbatim. Plurals and
 *   mass nouns without one get an article by sound like any noun ("a photo of a apples" is not
 *   detectable without a tagger; phrases from captions are singular anyway).
 * - `indefiniteArticle`: by sound. Numbers as spoken ("an 8-ball", "an 18-wheeler", "a 100-dollar
 *   bill"); a single letter before a hyphen or dot by its name ("an X-ray", "a T-shirt"); capitals
 *   read letter by letter ("an MRI", "an SUV", "a USB", "an FBI agent") unless the acronym is read
 *   as a word ("a NASA rocket", "an IKEA shelf"), or the whole label is shouted ("an UMBRELLA": a
 *   label without lowercase letters is read as letters only when it is one word of at most four);
 *   lowercase acronyms that phrases from captions bring ("an mri scanner", "an lcd screen");
 *   then words, with the exceptions of silent h ("an hour", "an honest man", "an heir") and of
 *   vowels sounded as consonants ("a university", "a one-way street", "a European", "a urinal").
 *
 * The word lists live in ./articles.json, which training/detector_common.py reads too, so the
 * Python tools fill templates the same way; `ARTICLE_RULE_VERSION` changes with them (it is part
 * of the text-embedding cache key).
 */
import data from './articles.json' with { type: 'json' };

export type Article = 'a' | 'an';

/** Bumped whenever the rule or its lists change: prompts, and so cached embeddings, change with it. */
export const ARTICLE_RULE_VERSION: number = data.version;

const DETERMINERS: ReadonlySet<string> = new Set(data.determiners);
const VOWEL_SOUND_LETTERS: ReadonlySet<string> = new Set(data.vowelSoundLetters);
const AN_BEFORE_CONSONANT_LETTER = new RegExp(data.anBeforeConsonantLetter);
const A_BEFORE_VOWEL_LETTER = new RegExp(data.aBeforeVowelLetter);
const AN_BEFORE_NUMBER = new RegExp(data.anBeforeNumber);
const WORD_ACRONYMS: ReadonlyMap<string, Article> = new Map(Object.entries(data.wordAcronyms).map(([word, article]) => [word, article === 'an' ? 'an' : 'a']));
const INITIALISMS: ReadonlySet<string> = new Set(data.initialisms);
const ABBREVIATIONS: ReadonlySet<string> = new Set(data.abbreviations);

/** Letters, then digits, none of them a vowel: a lowercase initialism ("tv", "lcd", "mp3"). */
const NO_VOWELS = /^[bcdfghjklmnpqrstvwxz]{2,}[0-9]*s?$/;
/** A capital, then capitals or digits, perhaps a plural "s": "MRI", "SUVs", "MP3", "A4". */
const CAPITALS = /^\p{Lu}[\p{Lu}\p{N}]+s?$/u;

const wordsOf = (label: string): string[] => label.trim().split(/\s+/).filter((w) => w.length > 0);
/** By the name of the word's first letter: "an" for A, E, F, H, I, L, M, N, O, R, S, X ("an MRI", "a USB"). */
const byLetterName = (word: string): Article => (VOWEL_SOUND_LETTERS.has(word[0].toLowerCase()) ? 'an' : 'a');

/** Whether the label starts with its own determiner or count, so a template's article is not touched. */
export function hasOwnDeterminer(label: string): boolean {
  const words = wordsOf(label);
  if (words.length === 0) return false;
  const first = words[0].toLowerCase();
  return DETERMINERS.has(first) || (words.length > 1 && /^[0-9]+(?:[.,][0-9]+)*$/.test(first));
}

/** "a" or "an" for a label, by its first sound (see the module header). */
export function indefiniteArticle(label: string): Article {
  const words = wordsOf(label);
  const first = (words[0] ?? '').replace(/^[^\p{L}\p{N}]+/u, '');
  if (first.length === 0) return 'a';
  if (/^[0-9]/.test(first)) return AN_BEFORE_NUMBER.test(first) ? 'an' : 'a';
  // "X-ray", "T-shirt", "e-bike", "U.S.": a lone letter is said by its name
  const segment = first.split(/[-.]/)[0];
  if (segment.length === 1 && /\p{L}/u.test(segment)) return byLetterName(segment);
  const lower = segment.toLowerCase();
  const singular = lower.replace(/(?<=.)s$/, '');
  const shouted = !/\p{Ll}/u.test(label);
  if (CAPITALS.test(segment) && (!shouted || (words.length === 1 && segment.replace(/\P{L}/gu, '').length <= 4))) {
    return WORD_ACRONYMS.get(singular) ?? byLetterName(segment);
  }
  if (INITIALISMS.has(lower) || INITIALISMS.has(singular) || (NO_VOWELS.test(lower) && !ABBREVIATIONS.has(lower))) return byLetterName(lower);
  const asWord = WORD_ACRONYMS.get(lower);
  if (asWord !== undefined) return asWord;
  if (AN_BEFORE_CONSONANT_LETTER.test(lower)) return 'an';
  if (A_BEFORE_VOWEL_LETTER.test(lower)) return 'a';
  return /^[aeiou]/.test(lower) ? 'an' : 'a';
}
