/**
 * The phrase chunker's rules, as tables of named rules, each with its example sentence and the
 * phrases `extractPhrases` gives for it (test/text/phrase-rules.test.ts runs every example).
 *
 * compromise tags every term; `roleOf` reduces the tags to one role. The tagger is often wrong in
 * captions (a plural subject read as a verb, its verb read as a noun), so the chunker corrects the
 * roles in three passes, each a table applied in order:
 *
 *   SENTENCE_RULES  rewrite the roles of a whole sentence before chunking (compound names, "next to")
 *   TERM_RULES      correct one term's role as the chunker reaches it, seeing the phrase open so far;
 *                   each rule turns a role in `from` into `to`, and later rules see the new role
 *   DROP_RULES      drop a finished phrase whose head names nothing that could be boxed
 *
 * A term rule sees the roles of the sentence pass (`sentence.roles`), not those corrected by term
 * rules for earlier terms; only `prevRole` and the open phrase reflect earlier corrections.
 */
import { breaksAfter, roleOf, singularize, unchangedPast, verbCapable, type Role, type Term } from './tagging.js';
import {
  CLAUSE_STARTS, COLLECTIVE_ALONE, COLLECTIVE_BEFORE_OF, COLOURS, COMPOUND_CONCEPTS, ING_NOUNS, INSTRUCTION_VERBS, INTRANSITIVE_S_VERBS, NON_VISUAL_COMPOUNDS,
  NON_VISUAL_HEADS, PARTICLES, PLURAL_ONLY, RELATIVE_DETERMINERS, RESULT_PARTICLES, SUBORDINATORS, UNMARKED_PLURALS,
} from './lexicon.js';

/** What every rule carries besides its test: a name, one line on what it does, and its example. */
export interface RuleDoc {
  name: string;
  description: string;
  /** A sentence the rule decides. */
  example: string;
  /** `extractPhrases(example)`'s phrases. */
  expected: string[];
}

/** A phrase being built, and when finished, what came before and after it. */
export interface Chunk {
  words: string[];
  roles: Role[];
  /** Per word: tagged as a place name (city, country, region), which names no box on its own. */
  places: boolean[];
  /** Per word: written capitalized inside the sentence (compromise tags "boardwalk" ProperNoun too). */
  proper: boolean[];
  /** Started right after a determiner. */
  determined: boolean;
  /** The determiner before the chunk was singular ("a", "an", "one", "each", "every"). */
  singularDet: boolean;
  /** A plural determiner or number came before the chunk ("two", "several", "these"). */
  pluralDet: boolean;
  /** The number written right before the chunk ("two" in "two dogs", "3" in "3 cats"), if any. */
  count?: number;
  /** The role of the token before the chunk ('' at the start of a sentence or after punctuation). */
  before: Role | '';
  /** Index of the chunk's first term in its sentence. */
  startIndex: number;
  /** Word after the chunk ends. */
  afterWord: string;
  afterRole: Role | '';
}

const has = (t: Term, ...tags: string[]): boolean => tags.some((g) => t.tags.has(g));
/** Ends in a single "s": a plural noun, or a verb agreeing with a singular subject ("sits"). */
const endsInS = (word: string): boolean => /[^s]s$/.test(word);

// ---------------------------------------------------------------------------------------------
// The sentence: roles after the sentence rules, and its clauses

/**
 * A sentence's terms and roles after SENTENCE_RULES, split into clauses at subordinating words and
 * punctuation: "a verb in this clause" is what tells a subject noun from a verb.
 */
export class Sentence {
  readonly roles: Role[];
  /** Terms of a known compound name: nouns whatever else the tagger or a rule says. */
  readonly forced = new Set<number>();
  readonly hasAnd: boolean;
  private readonly clauseOf: Int32Array;

  constructor(readonly terms: readonly Term[], onRule?: (name: string) => void) {
    this.roles = terms.map(roleOf);
    for (const rule of SENTENCE_RULES) if (rule.apply(terms, this.roles, this.forced)) onRule?.(rule.name);
    this.clauseOf = new Int32Array(terms.length);
    for (let i = 1, c = 0; i < terms.length; i++) {
      if (CLAUSE_STARTS.has(terms[i].word) || breaksAfter(terms[i - 1])) c++;
      this.clauseOf[i] = c;
    }
    this.hasAnd = terms.some((t) => t.word === 'and');
  }

  /** A present-tense, copula, auxiliary or modal verb, not after "to". */
  isFinite(k: number): boolean {
    const t = this.terms[k];
    return this.roles[k] === 'verb' && has(t, 'PresentTense', 'Copula', 'Auxiliary', 'Modal') && !t.tags.has('Gerund') && this.terms[k - 1]?.word !== 'to';
  }

  /** Whether the clause of term k has a finite verb other than the terms `except`. */
  clauseHasFiniteVerb(k: number, ...except: number[]): boolean {
    return this.terms.some((_, j) => !except.includes(j) && this.clauseOf[j] === this.clauseOf[k] && this.isFinite(j));
  }

  /** The index of the "and" before the phrase starting at term k ("X and (the) Y"), or -1. */
  coordinationAt(k: number): number {
    const { terms, roles } = this;
    let j = k - 1;
    while (j >= 0 && roles[j] === 'det' && !breaksAfter(terms[j])) j--;
    return j >= 1 && terms[j].word === 'and' && roles[j - 1] === 'noun' && !terms[j - 1].possessive && !breaksAfter(terms[j - 1]) ? j : -1;
  }

  /** Whether the clause holding term k is opened by a subordinator, so it must have a verb ("as the catcher ... watch"). */
  inSubordinateClause(k: number): boolean {
    let j = k;
    while (j > 0 && this.clauseOf[j - 1] === this.clauseOf[k]) j--;
    return SUBORDINATORS.has(this.terms[j].word);
  }

  /** Before the first or after the last term, punctuation, "and" or "or". */
  isListSeparator(k: number): boolean {
    const t = this.terms[k];
    return k < 0 || k >= this.terms.length || breaksAfter(t) || t.word === 'or' || t.word === 'and';
  }
}

// ---------------------------------------------------------------------------------------------
// Sentence rules

export interface SentenceRule extends RuleDoc {
  /** Rewrites `roles` (and `forced`) in place; true when it changed something. */
  apply(terms: readonly Term[], roles: Role[], forced: Set<number>): boolean;
}

export const SENTENCE_RULES: readonly SentenceRule[] = [
  {
    name: 'compound-names-are-nouns',
    description: 'The words of a known compound name are nouns whatever the tagger said.',
    example: 'show me every stop sign in the picture',
    expected: ['stop sign'],
    apply: (terms, roles, forced) => {
      let changed = false;
      for (let i = 0; i + 1 < terms.length; i++) {
        const n = compoundAt(terms, i);
        for (let k = 0; k < n; k++) {
          roles[i + k] = 'noun';
          forced.add(i + k);
          changed = true;
        }
      }
      return changed;
    },
  },
  {
    name: 'bare-plural-subject',
    description: 'A bare plural subject read as a verb and its verb read as a noun swap roles.',
    example: 'Boats float in the harbor at sunrise.',
    expected: ['boat', 'harbor'],
    apply: (terms, roles) => {
      const swap = terms.length > 2 && roles[0] === 'verb' && terms[0].tags.has('PresentTense') && endsInS(terms[0].word) && !breaksAfter(terms[0]) &&
        roles[1] === 'noun' && !/s$/.test(terms[1].word) && !terms[1].possessive && !breaksAfter(terms[1]) &&
        ['prep', 'det', 'adv', 'noun'].includes(roles[2]) && verbCapable(terms[1].word);
      if (swap) [roles[0], roles[1]] = ['noun', 'verb'];
      return swap;
    },
  },
  {
    name: 'bare-singular-subject',
    description: 'A headline\'s bare singular subject read as a verb and its "-s" verb read as a plural noun swap roles, when an object (or a preposition after a verb that takes none) follows.',
    example: 'Snow covers trees',
    expected: ['snow', 'tree'],
    apply: (terms, roles, forced) => {
      const [first, second, third] = terms;
      // "work boots", "flower pots on windowsill": without an object the two words are a compound
      const object = third !== undefined && !breaksAfter(second) && (['noun', 'adj', 'det', 'num'].includes(roles[2]) ||
        (roles[2] === 'verb' && (third.tags.has('Infinitive') || endsInS(third.word))) || (roles[2] === 'prep' && INTRANSITIVE_S_VERBS.has(second.word)));
      const swap = object && roles[0] === 'verb' && !forced.has(0) && !forced.has(1) && has(first, 'Infinitive', 'Imperative') &&
        !has(first, 'Gerund', 'PastTense', 'Copula', 'Auxiliary', 'Modal') && !/s$/.test(first.word) && !INSTRUCTION_VERBS.has(first.word) &&
        !breaksAfter(first) && roles[1] === 'noun' && endsInS(second.word) && !second.possessive && !PLURAL_ONLY.has(second.word) &&
        verbCapable(second.word);
      if (swap) [roles[0], roles[1]] = ['noun', 'verb'];
      return swap;
    },
  },
  {
    name: 'next-to-is-preposition',
    description: '"next to" is a preposition.',
    example: 'a low-poly tree next to a small wooden house',
    expected: ['low-poly tree', 'small wooden house'],
    apply: (terms, roles) => {
      let changed = false;
      for (let i = 0; i + 1 < terms.length; i++) {
        if (terms[i].word === 'next' && terms[i + 1].word === 'to') {
          roles[i] = 'prep';
          changed = true;
        }
      }
      return changed;
    },
  },
];

/** The length (3 or 2) of a compound name starting at term i, its last word singularized; 0 if none. */
function compoundAt(terms: readonly Term[], i: number): number {
  for (const n of [3, 2]) {
    if (i + n > terms.length) continue;
    const span = terms.slice(i, i + n);
    const words = span.map((t, k) => (k === n - 1 ? singularize(t.word) : t.word));
    if (COMPOUND_CONCEPTS.has(words.join(' ')) && span.slice(0, -1).every((t) => !breaksAfter(t) && !t.possessive)) return n;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Term rules

/** What a term rule sees: term i of the sentence, and the chunker's state just before it. */
export interface TermContext {
  readonly sentence: Sentence;
  readonly i: number;
  readonly t: Term;
  readonly next: Term | undefined;
  /** The sentence-pass role of the next term, '' after the last. */
  readonly nextRole: Role | '';
  /** The corrected role of the previous term; '' at the start or after punctuation, 'det' after a possessive. */
  readonly prevRole: Role | '';
  /** The last determiner seen ("'s" after a possessive). */
  readonly lastDet: string;
  /** The phrase open before term i, if any. */
  readonly current: Chunk | null;
  /** A finite verb (not a gerund or base form) came earlier in the sentence. */
  readonly finiteVerbSeen: boolean;
}

export interface TermRule extends RuleDoc {
  /** The roles the rule corrects. */
  from: readonly Role[];
  to: Role;
  when(c: TermContext): boolean;
}

/** The last role of the open phrase is a noun. */
const afterNoun = (c: TermContext): c is TermContext & { current: Chunk } => c.current !== null && c.current.roles[c.current.roles.length - 1] === 'noun';
/** Followed by a preposition, adverb, determiner or particle ("sits on", "drives past"), or nothing. */
const beforeComplement = ({ t, next, nextRole }: TermContext): boolean =>
  nextRole === 'prep' || nextRole === 'adv' || nextRole === 'det' || next === undefined || PARTICLES.has(next.word) || breaksAfter(t);

export const TERM_RULES: readonly TermRule[] = [
  {
    name: 'list-item-not-verb',
    description: 'A lone base-form "verb" between list separators is a noun.',
    example: 'knife, fork or spoon?',
    expected: ['knife', 'fork', 'spoon'],
    from: ['verb'], to: 'noun',
    when: ({ sentence: s, i, t }) => t.tags.has('Infinitive') && (i === 0 || s.isListSeparator(i - 1)) && s.terms.length > 1 &&
      (breaksAfter(t) || i + 1 >= s.terms.length || ['or', 'and'].includes(s.terms[i + 1].word)),
  },
  {
    name: 'single-word-not-verb',
    description: 'A text of one word is a noun, unless it is a gerund or a past form ("bikes", "chair").',
    example: 'bikes',
    expected: ['bike'],
    from: ['verb'], to: 'noun',
    when: ({ sentence: s, t }) => s.terms.length === 1 && !has(t, 'Gerund', 'PastTense', 'Copula', 'Auxiliary', 'Modal'),
  },
  {
    name: 'plural-list-item-not-verb',
    description: 'A plural-looking present-tense "verb" listed after a noun and a comma is a noun.',
    example: 'Knives, forks and spoons are laid out on a dining table.',
    expected: ['knife', 'fork', 'spoon', 'dining table'],
    from: ['verb'], to: 'noun',
    when: ({ sentence: s, i, t, next }) => !s.forced.has(i) && i > 0 && s.roles[i - 1] === 'noun' && breaksAfter(s.terms[i - 1]) && endsInS(t.word) &&
      t.tags.has('PresentTense') && !has(t, 'Copula', 'Auxiliary') && (breaksAfter(t) || ['and', 'or'].includes(next?.word ?? '')),
  },
  {
    name: 'query-head-before-with',
    description: 'A sentence-initial base-form "verb" followed by "with" is a query noun.',
    example: 'kid with a kite',
    expected: ['kid', 'kite'],
    from: ['verb'], to: 'noun',
    when: ({ sentence: s, i, t }) => i === 0 && t.tags.has('Infinitive') && s.terms[1]?.word === 'with' && !s.clauseHasFiniteVerb(0, 0),
  },
  {
    name: 'second-coordinated-noun',
    description: 'The second of two coordinated nouns ending a clause is a noun ("pots and pans.", not "runs and jumps").',
    example: 'A shelf with pots and pans.',
    expected: ['shelf', 'pot', 'pan'],
    from: ['verb'], to: 'noun',
    when: ({ sentence: s, i, t, next, nextRole, prevRole }) => !s.forced.has(i) && prevRole === 'conj' && i >= 2 && s.roles[i - 2] === 'noun' &&
      ['and', 'or'].includes(s.terms[i - 1].word) && !has(t, 'Gerund', 'PastTense', 'Copula') && (next === undefined || breaksAfter(t) || nextRole === 'prep'),
  },
  {
    name: 'no-verb-after-determiner',
    description: 'A determiner (or a determined adjective) is not followed by a finite verb.',
    example: 'a low-poly fox in the snow',
    expected: ['low-poly fox', 'snow'],
    from: ['verb'], to: 'noun',
    when: ({ sentence: s, i, t, nextRole, prevRole, lastDet, current }) =>
      !s.forced.has(i) && ((prevRole === 'det' && !RELATIVE_DETERMINERS.has(lastDet)) || (current !== null && current.determined && prevRole === 'adj')) &&
      !has(t, 'Gerund', 'PastTense', 'Copula', 'Auxiliary', 'Modal') && nextRole !== 'noun' && nextRole !== 'adj' && nextRole !== 'det',
  },
  {
    name: 'no-verb-after-preposition',
    description: 'A present-tense "verb" right after a preposition (not "to") and before a break is its object noun ("at desks").',
    example: 'Students sit at desks',
    expected: ['student', 'desk'],
    from: ['verb'], to: 'noun',
    when: ({ sentence: s, i, t, next, nextRole, prevRole }) =>
      !s.forced.has(i) && prevRole === 'prep' && s.terms[i - 1]?.word !== 'to' && t.tags.has('PresentTense') &&
      !has(t, 'Gerund', 'PastTense', 'Participle', 'Copula', 'Auxiliary', 'Modal') && (next === undefined || breaksAfter(t) || nextRole === 'prep' || nextRole === 'conj'),
  },
  {
    name: 'object-after-headline-verb',
    description: 'In "subject verbs X", a base-form or plural "verb" X right after the "-s" verb and before a break or preposition is its object.',
    example: 'Train crosses bridge over river.',
    expected: ['train', 'bridge', 'river'],
    from: ['verb'], to: 'noun',
    when: ({ sentence: s, i, t, next, nextRole, prevRole }) =>
      !s.forced.has(i) && prevRole === 'verb' && i >= 2 && endsInS(s.terms[i - 1].word) && s.roles[i - 2] === 'noun' && !s.terms[i - 2].possessive &&
      (t.tags.has('Infinitive') || endsInS(t.word)) && !has(t, 'Gerund', 'PastTense', 'Copula', 'Auxiliary', 'Modal') &&
      (next === undefined || breaksAfter(t) || nextRole === 'prep' || nextRole === 'det'),
  },
  {
    name: 'bare-noun-before-preposition',
    description: 'A text that opens with a base-form "verb" and a preposition, and has no other verb, opens with a noun ("Bridge over river"); instructions ("look at") stay verbs.',
    example: 'Bridge over river',
    expected: ['bridge', 'river'],
    from: ['verb'], to: 'noun',
    when: ({ sentence: s, i, t, next, nextRole }) =>
      i === 0 && !s.forced.has(0) && has(t, 'Infinitive', 'Imperative') && !has(t, 'Gerund', 'PastTense', 'Copula', 'Auxiliary', 'Modal') &&
      !INSTRUCTION_VERBS.has(t.word) && nextRole === 'prep' && next?.word !== 'to' && !breaksAfter(t) && !s.clauseHasFiniteVerb(0, 0),
  },
  {
    name: 'noun-modifier-opening-text',
    description: 'A text that opens with a base-form "verb" before a noun, and has no other verb, opens with a noun modifier ("work boots"); instructions ("find chairs") stay verbs.',
    example: 'work boots',
    expected: ['work boot'],
    from: ['verb'], to: 'noun',
    when: ({ sentence: s, i, t, nextRole }) =>
      i === 0 && !s.forced.has(0) && has(t, 'Infinitive', 'Imperative') && !has(t, 'Gerund', 'PastTense', 'Copula', 'Auxiliary', 'Modal') &&
      !INSTRUCTION_VERBS.has(t.word) && nextRole === 'noun' && !breaksAfter(t) && !s.clauseHasFiniteVerb(0, 0),
  },
  {
    name: 'participle-modifier',
    description: 'A participle or gerund opening a phrase modifies the noun after it ("a parked car"); after a noun it is the verb.',
    example: 'sliced bananas on a plate',
    expected: ['sliced banana', 'plate'],
    from: ['verb', 'adv'], to: 'adj',
    when: ({ t, next, nextRole, prevRole, current }) =>
      (has(t, 'Gerund', 'PastTense', 'Participle') || /(?:ed|ing)$/.test(t.word)) && (nextRole === 'noun' || nextRole === 'adj') &&
      current === null && !breaksAfter(t) && ['det', 'prep', 'num', '', 'conj'].includes(prevRole) && !(next !== undefined && next.tags.has('Determiner')),
  },
  {
    name: 'gerund-after-noun',
    description: 'An "-ing" word tagged as a noun right after a noun is the verb ("dog chasing").',
    example: 'A man surfing a huge wave at dawn.',
    expected: ['man', 'huge wave'],
    from: ['noun'], to: 'verb',
    when: ({ t, prevRole, current }) => /..ing$/.test(t.word) && !ING_NOUNS.has(t.word) && prevRole === 'noun' && current !== null,
  },
  {
    name: 'verb-agreeing-with-subject',
    description: 'In a clause without a finite verb, a noun after the subject that agrees with it and takes a complement is the verb.',
    example: 'Three mice nibble on a wedge of cheese.',
    expected: ['mouse', 'wedge', 'cheese'],
    from: ['noun'], to: 'verb',
    when: (c) => {
      const { sentence: s, i, t, next, nextRole } = c;
      if (!afterNoun(c) || s.forced.has(i) || s.clauseHasFiniteVerb(i, i) || t.possessive || PLURAL_ONLY.has(t.word)) return false;
      if (next === undefined || breaksAfter(t)) return false;
      if (!(nextRole === 'prep' || nextRole === 'adv' || nextRole === 'det' || (nextRole === 'verb' && !next.tags.has('PresentTense')) || next.word === 'to' || PARTICLES.has(next.word))) return false;
      const subject = c.current.words[c.current.words.length - 1];
      const subjectPlural = singularize(subject) !== subject || UNMARKED_PLURALS.has(subject);
      const agrees = endsInS(t.word) ? !subjectPlural && !c.current.pluralDet : subjectPlural || s.hasAnd;
      return agrees && verbCapable(t.word);
    },
  },
  {
    name: 'headline-verb-after-subject',
    description: 'In a clause without a finite verb, an "-s" noun after a bare singular subject opening the sentence and before its object is the verb ("Dog chases cat", "Man flies kite").',
    example: 'Man flies kite on beach.',
    expected: ['man', 'kite', 'beach'],
    from: ['noun'], to: 'verb',
    when: (c) => {
      const { sentence: s, i, t, next, nextRole } = c;
      // the object may be tagged as a present-tense verb itself ("kite", "plants"): it does not count as the clause's verb
      if (!afterNoun(c) || s.forced.has(i) || s.clauseHasFiniteVerb(i, i, i + 1) || t.possessive || PLURAL_ONLY.has(t.word) || !endsInS(t.word)) return false;
      if (next === undefined || breaksAfter(t) || !verbCapable(t.word)) return false;
      // a headline's subject opens its sentence or clause bare: "right of three ferris wheels" is no headline
      const subject = s.terms[i - 1];
      if (c.current.before !== '' || c.current.determined || singularize(subject.word) !== subject.word || UNMARKED_PLURALS.has(subject.word)) return false;
      // object: a noun, a plural tagged as a verb ("waters plants"), or, after a person, a base form ("flies kite"; "car keys hang" stays a compound)
      return nextRole === 'noun' || (nextRole === 'verb' && (endsInS(next.word) || (next.tags.has('Infinitive') && subject.tags.has('Actor'))));
    },
  },
  {
    name: 'plural-verb-after-coordinated-subject',
    description: 'After a coordinated subject, a base-form noun that can be a verb is the plural verb when the clause has none.',
    example: 'A mother and her child feed ducks at the edge of a lake.',
    expected: ['mother', 'child', 'duck', 'lake'],
    from: ['noun'], to: 'verb',
    when: ({ sentence: s, i, t, next, nextRole, current }) => {
      if (current === null || s.forced.has(i) || s.clauseHasFiniteVerb(i, i) || t.possessive || /s$/.test(t.word)) return false;
      if (current.roles.length !== 1 || current.roles[0] !== 'noun' || s.coordinationAt(current.startIndex) < 0) return false;
      const endsClause = next === undefined || breaksAfter(t);
      // at the end of a clause only when the clause needs a verb: "a football and a water bottle." is a list
      const needsVerb = endsClause ? s.inSubordinateClause(s.coordinationAt(current.startIndex) - 1) : nextRole === 'noun';
      return (needsVerb || nextRole === 'det' || nextRole === 'prep' || nextRole === 'adv' || nextRole === 'num') && verbCapable(t.word);
    },
  },
  {
    name: 'verb-after-predicate-adjective',
    description: 'A verb-like plural noun after a predicate adjective ("painted yellow") and before a complement is the verb.',
    example: 'A fire hydrant painted yellow sits on the sidewalk.',
    expected: ['fire hydrant', 'sidewalk'],
    from: ['noun'], to: 'verb',
    when: (c) => {
      const { sentence: s, i, t, current } = c;
      return current !== null && !s.forced.has(i) && current.before === 'verb' && !current.determined && current.roles.every((r) => r === 'adj') &&
        endsInS(t.word) && !PLURAL_ONLY.has(t.word) && !t.possessive && beforeComplement(c) && verbCapable(t.word);
    },
  },
  {
    name: 'reduced-relative-participle',
    description: 'A participle that looks like its base form, after a noun and before a particle, is a verb ("logs split into pieces").',
    example: 'A sandwich cut in half on a plate.',
    expected: ['sandwich', 'plate'],
    from: ['noun'], to: 'verb',
    when: (c) => {
      const { sentence: s, i, t, next } = c;
      return afterNoun(c) && !s.forced.has(i) && !s.clauseHasFiniteVerb(i, i) && !t.possessive && next !== undefined && !breaksAfter(t) &&
        RESULT_PARTICLES.has(next.word) && !COLLECTIVE_BEFORE_OF.has(t.word) && unchangedPast(t.word);
    },
  },
  {
    name: 'verb-after-singular-subject',
    description: 'Before any finite verb, an "s" noun after a noun phrase opened by "a"/"an" and before a complement is the verb.',
    example: 'a jetliner taxis on the runway',
    expected: ['jetliner', 'runway'],
    from: ['noun'], to: 'verb',
    when: (c) => {
      const { t, current } = c;
      return current !== null && !c.finiteVerbSeen && current.singularDet && current.roles.includes('noun') &&
        endsInS(t.word) && !PLURAL_ONLY.has(t.word) && !t.possessive && beforeComplement(c);
    },
  },
  {
    name: 'particle-not-noun',
    description: 'An adverb-like particle tagged as a noun is an adverb, unless a determiner precedes it.',
    example: 'birds fly overhead',
    expected: ['bird'],
    from: ['noun'], to: 'adv',
    when: ({ t, prevRole }) => PARTICLES.has(t.word) && prevRole !== 'det',
  },
];

/** Term i's role after the term rules, each rule seeing the role left by the rules before it. */
export function correctRole(c: TermContext, onRule?: (name: string) => void): Role {
  let role = c.sentence.roles[c.i];
  for (const rule of TERM_RULES) {
    if (rule.from.includes(role) && rule.when(c)) {
      role = rule.to;
      onRule?.(rule.name);
    }
  }
  return role;
}

// ---------------------------------------------------------------------------------------------
// Drop rules

/** A finished phrase cut at its head: the words up to the head (index `last` of the chunk). */
export interface HeadedChunk {
  readonly chunk: Chunk;
  readonly words: readonly string[];
  readonly head: string;
  readonly last: number;
  /** The words end in a fixed compound name ("traffic light"), which keeps even a non-visual head. */
  readonly isCompound: boolean;
}

export interface DropRule extends RuleDoc {
  drops(h: HeadedChunk): boolean;
}

export const DROP_RULES: readonly DropRule[] = [
  {
    name: 'non-visual-compound',
    description: 'A phrase ending in a compound that names nothing visible ("tug of war", "clip art").',
    example: 'a close up of a cat',
    expected: ['cat'],
    drops: ({ words }) => [...NON_VISUAL_COMPOUNDS].some((compound) => words.join(' ').endsWith(compound)),
  },
  {
    name: 'non-visual-head',
    description: 'A head that names no box: pronoun, the image itself, time, relative position, space, activity, abstract.',
    example: 'a photo of a cat on top of a car at sunset',
    expected: ['cat', 'car'],
    drops: ({ head, isCompound }) => NON_VISUAL_HEADS.has(head) && !isCompound,
  },
  {
    name: 'place-name-head',
    description: 'A capitalized place name as the head; as a modifier it stays ("a New York taxi").',
    example: 'A woman reads a book about the history of Paris.',
    expected: ['woman', 'book'],
    drops: ({ chunk, last, isCompound }) => chunk.places[last] && chunk.proper[last] && !isCompound,
  },
  {
    name: 'collective-before-of',
    description: 'A collective or measure noun before "of": the noun after "of" is the phrase.',
    example: 'A flock of birds sits on a wire above the street.',
    expected: ['bird', 'wire', 'street'],
    drops: ({ chunk, head }) => chunk.afterWord === 'of' && COLLECTIVE_BEFORE_OF.has(singularize(head)),
  },
  {
    name: 'collective-alone',
    description: 'A bare collective noun without "of" ("parked in a row").',
    example: 'Bikes are parked in a row.',
    expected: ['bike'],
    drops: ({ words, head }) => words.length === 1 && COLLECTIVE_ALONE.has(head),
  },
  {
    name: 'colour-as-noun',
    description: 'A colour as a noun without a determiner ("in navy", "dressed in blue").',
    example: 'a sweater in navy',
    expected: ['sweater'],
    drops: ({ chunk, words, head }) => COLOURS.has(head) && words.length === 1 && !chunk.determined && !/s$/.test(head),
  },
];
