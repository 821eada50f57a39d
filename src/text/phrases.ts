/**
 * Noun phrases from captions and queries (what `--caption` looks for and `mine` pairs with regions),
 * and the verbatim `--vocab` list parser.
 *
 * `extractPhrases(text)` tags the text with compromise, then chunks the tagged terms itself:
 * a phrase is a maximal run of pre-modifiers (adjectives, participles, noun modifiers, hyphenated
 * words, coordinated adjectives) ending in a head noun. Runs break at determiners, numbers,
 * prepositions, conjunctions between nouns, possessives, verbs and punctuation. Each phrase is
 * written lowercase with its head singularized; its `concept` is the head noun, or the last two or
 * three words when they form a fixed compound name (`traffic light`, `teddy bear`).
 * Dropped: pronouns, words for the image itself, relational and time nouns, empty space,
 * activities and abstract nouns, colours used as nouns, quoted sign text, emoji, collective and
 * measure nouns before "of". The rules are those of ../shared/golden/phrases/README.md.
 *
 * Where things live: the word lists in ./lexicon.ts; compromise and the per-term roles in
 * ./tagging.ts; the role corrections and drops as tables of named rules, each with its example
 * sentence, in ./phrase-rules.ts. This module is the driver that applies them.
 */
import { invalidInput, describe as describeValue } from '../errors.js';
import { ADJECTIVE_ENDING, CARDINALS, COLOURS, COMPOUND_CONCEPTS, DETERMINERS, PLACE_TAGS, PLURAL_DETERMINERS, SINGULAR_DETERMINERS } from './lexicon.js';
import { breaksAfter, prepareText, singularize, termsOf, type Role, type Term } from './tagging.js';
import { DROP_RULES, Sentence, correctRole, type Chunk, type HeadedChunk, type TermContext } from './phrase-rules.js';

export { COMPOUND_CONCEPTS } from './lexicon.js';
export { singularize } from './tagging.js';

export interface ExtractedPhrase {
  /** The noun phrase with its pre-modifiers, lowercase, head singular ("red jacket", "parked car"). */
  phrase: string;
  /** The head noun or fixed compound name ("jacket", "car", "traffic light"). */
  concept: string;
  /** How many the text says there are, when a number comes right before the phrase ("two dogs": 2); absent otherwise. */
  count?: number;
}

/**
 * Noun phrases of a caption or query, in order of first appearance, de-duplicated by phrase.
 * Never throws on text (non-Latin scripts, emoji and control characters give fewer or no phrases).
 */
export function extractPhrases(text: string): ExtractedPhrase[] {
  return extract(text);
}

/**
 * The names of the rules of ./phrase-rules.ts that decided a text's phrases, in the order they
 * fired (repeats kept): a debugging aid, and how the rule tables' examples are tested.
 */
export function phraseRulesFired(text: string): string[] {
  const fired: string[] = [];
  extract(text, (name) => fired.push(name));
  return fired;
}

function extract(text: string, onRule?: (name: string) => void): ExtractedPhrase[] {
  if (typeof text !== 'string') throw invalidInput('a string', 'the text to extract phrases from', describeValue(text));
  const prepared = prepareText(text);
  if (!/\p{L}/u.test(prepared)) return [];
  const out: ExtractedPhrase[] = [];
  for (const terms of termsOf(prepared)) {
    for (const chunk of new Chunker(new Sentence(terms, onRule), onRule).run()) {
      const result = finishChunk(chunk, onRule);
      if (result === null) continue;
      const earlier = out.find((p) => p.phrase === result.phrase);
      // A phrase named twice keeps its first place; a count said either time is kept (the larger).
      if (earlier !== undefined) {
        if (result.count !== undefined && (earlier.count ?? 0) < result.count) earlier.count = result.count;
        continue;
      }
      out.push(result);
    }
  }
  return out;
}

/**
 * Walks a sentence term by term: each term's role is corrected by the term rules, then a noun or
 * adjective extends the open phrase, and anything else closes it.
 */
class Chunker {
  private readonly chunks: Chunk[] = [];
  private current: Chunk | null = null;
  private lastDet = '';
  private prevRole: Role | '' = '';
  private finiteVerbSeen = false;

  constructor(private readonly sentence: Sentence, private readonly onRule?: (name: string) => void) {}

  run(): Chunk[] {
    for (let i = 0; i < this.sentence.terms.length; i++) this.step(i);
    this.close('', '');
    return this.chunks;
  }

  private step(i: number): void {
    const { terms } = this.sentence;
    const t = terms[i];
    if (t.word.length === 0) {
      // compromise reads the "'s" of a possessive as a separate (empty) term: the possessor then
      // determines what follows, like "his" ("the man's left hand").
      this.close('', '');
      this.prevRole = i > 0 && terms[i - 1].possessive ? 'det' : 'other';
      return;
    }
    const role = correctRole(this.context(i), this.onRule);
    if (role === 'adj' || role === 'noun') this.extend(i, t, role);
    else if (role === 'conj') this.conjunction(i, t);
    else {
      if (role === 'verb' && !t.tags.has('Gerund') && !t.tags.has('Infinitive')) this.finiteVerbSeen = true;
      this.close(t.word, role);
    }
    if (role === 'det') this.lastDet = t.word;
    this.prevRole = breaksAfter(t) ? '' : t.possessive ? 'det' : role;
    if (t.possessive) this.lastDet = "'s";
    if (breaksAfter(t)) this.close('', '');
  }

  private context(i: number): TermContext {
    const { sentence, current, prevRole, lastDet, finiteVerbSeen } = this;
    const next = sentence.terms[i + 1];
    return { sentence, i, t: sentence.terms[i], next, nextRole: sentence.roles[i + 1] ?? '', prevRole, lastDet, current, finiteVerbSeen };
  }

  /** A noun or adjective joins the open phrase (or opens one); a possessive closes it: the possessor is its own phrase. */
  private extend(i: number, t: Term, role: 'adj' | 'noun'): void {
    this.current ??= this.open(i);
    this.current.words.push(t.word);
    this.current.roles.push(role);
    this.current.places.push(PLACE_TAGS.some((g) => t.tags.has(g)));
    this.current.proper.push(t.capitalized);
    if (t.possessive) this.close(t.word, 'other');
    else if (breaksAfter(t)) this.close('', '');
  }

  /** Coordinated adjectives stay in one phrase ("brown and white cow"); any other conjunction closes it. */
  private conjunction(i: number, t: Term): void {
    const c = this.current;
    const joinsAdjectives = c !== null && !c.roles.includes('noun') && c.roles[c.roles.length - 1] === 'adj' &&
      (t.word === 'and' || t.word === 'or') && this.sentence.roles[i + 1] === 'adj' && !breaksAfter(t);
    if (!joinsAdjectives) return this.close(t.word, 'conj');
    c.words.push(t.word);
    c.roles.push('conj');
    c.places.push(false);
    c.proper.push(false);
  }

  private open(startIndex: number): Chunk {
    const { prevRole, lastDet } = this;
    return {
      words: [], roles: [], places: [], proper: [],
      determined: prevRole === 'det',
      singularDet: prevRole === 'det' && SINGULAR_DETERMINERS.has(lastDet),
      pluralDet: prevRole === 'num' || (prevRole === 'det' && PLURAL_DETERMINERS.has(lastDet)),
      before: prevRole, startIndex, afterWord: '', afterRole: '',
      ...(prevRole === 'num' ? countOf(this.sentence.terms[startIndex - 1]) : {}),
    };
  }

  private close(afterWord: string, afterRole: Role | ''): void {
    if (this.current !== null && this.current.words.length > 0) {
      this.current.afterWord = afterWord;
      this.current.afterRole = afterRole;
      this.chunks.push(this.current);
    }
    this.current = null;
  }
}

/** The count a number term says ("two", "3"), as `{ count }`; nothing for other numbers ("first", "1.5"). */
function countOf(term: Term | undefined): { count?: number } {
  if (term === undefined) return {};
  const value = /^\d+$/.test(term.word) ? Number(term.word) : CARDINALS.get(term.word);
  return value !== undefined && value >= 1 && Number.isSafeInteger(value) ? { count: value } : {};
}

/** The index of a chunk's head: its last noun, or an adjective that names a thing; -1 if none. */
function headIndex(chunk: Chunk): number {
  const { words, roles } = chunk;
  const last = roles.lastIndexOf('noun');
  if (last >= 0) return last;
  const lastWord = words[words.length - 1];
  // A bare adjective in a list of queries ("cell phone, remote, keyboard") names a thing, and so
  // does an adjective ending a determined phrase ("a dusty plain" when "plain" is read as an adjective).
  if (words.length === 1 && chunk.before === '' && chunk.afterRole === '' && !COLOURS.has(lastWord) && roles[0] === 'adj') return 0;
  if (chunk.determined && roles[roles.length - 1] === 'adj' && !COLOURS.has(lastWord) && !ADJECTIVE_ENDING.test(lastWord) && chunk.afterRole !== 'noun') return roles.length - 1;
  return -1;
}

/** The phrase a chunk names, cut at its head (trailing adjectives, "the dog is brown", are not part of it), or null when dropped. */
function finishChunk(chunk: Chunk, onRule?: (name: string) => void): ExtractedPhrase | null {
  const last = headIndex(chunk);
  if (last < 0) return null;
  const words = chunk.words.slice(0, last + 1);
  const head = words[words.length - 1];
  const isCompound = conceptOf([...words.slice(0, -1), singularize(head)]).includes(' ');
  const headed: HeadedChunk = { chunk, words, head, last, isCompound };
  const drop = DROP_RULES.find((rule) => rule.drops(headed));
  if (drop !== undefined) {
    onRule?.(drop.name);
    return null;
  }
  // "glasses of wine" are drinking glasses; "glasses" alone is eyewear.
  let singularHead = head === 'glasses' && chunk.afterWord === 'of' ? 'glass' : singularize(head);
  if (singularHead.length === 0) singularHead = head;
  const phraseWords = [...words.slice(0, -1), singularHead].filter((w, i, arr) => !(DETERMINERS.has(w) && i < arr.length - 1));
  // Numbers inside hyphenated modifiers are kept by the term joiner; bare leading numbers are not.
  const phrase = phraseWords.join(' ').trim();
  if (phrase.length === 0) return null;
  return { phrase, concept: conceptOf(phraseWords), ...(chunk.count !== undefined ? { count: chunk.count } : {}) };
}

/** The last three or two words when they are a fixed compound name, else the head. */
function conceptOf(words: string[]): string {
  for (const n of [3, 2]) {
    if (words.length >= n) {
      const tail = words.slice(-n).join(' ');
      if (COMPOUND_CONCEPTS.has(tail)) return tail;
    }
  }
  return words[words.length - 1];
}

/**
 * A user's `--vocab` list: entries separated by commas, semicolons or newlines, each trimmed and
 * taken verbatim (original case kept for display), duplicates (case-insensitive) dropped.
 * Throws `InvalidInputError` when no entry remains.
 */
export function parseVocab(input: string | readonly string[]): string[] {
  const parts: string[] = [];
  if (typeof input === 'string') parts.push(...input.split(/[,;\r\n]+/));
  else if (Array.isArray(input)) for (const item of input) {
    if (typeof item !== 'string') throw invalidInput('a list of strings', 'the vocabulary', `an entry ${describeValue(item)}`);
    parts.push(...item.split(/[,;\r\n]+/));
  } else throw invalidInput('a comma, semicolon or newline separated string', 'the vocabulary', describeValue(input));
  const out: string[] = [];
  const seen = new Set<string>();
  for (const part of parts) {
    const entry = part.replace(/\s+/g, ' ').trim();
    if (entry.length === 0) continue;
    const key = entry.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(entry);
  }
  if (out.length === 0) {
    throw invalidInput('at least one non-empty entry (comma, semicolon or newline separated)', 'the vocabulary', describeValue(typeof input === 'string' ? input : input.join(',')));
  }
  return out;
}
