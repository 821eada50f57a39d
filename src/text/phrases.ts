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
 */
import nlp from 'compromise';
import { invalidInput, describe as describeValue } from '../errors.js';

export interface ExtractedPhrase {
  /** The noun phrase with its pre-modifiers, lowercase, head singular ("red jacket", "parked car"). */
  phrase: string;
  /** The head noun or fixed compound name ("jacket", "car", "traffic light"). */
  concept: string;
}

// ---------------------------------------------------------------------------------------------
// Word lists (lowercase). They name kinds of words, never particular sentences.

/** Heads that never name a box: pronoun-like, image words, time, relation, space, abstract. */
const NON_VISUAL_HEADS = new Set([
  // pronouns and indefinites compromise may tag as nouns
  'it', 'they', 'them', 'him', 'he', 'she', 'me', 'i', 'we', 'us', 'you', 'something', 'anything', 'someone', 'anyone',
  'everything', 'everyone', 'nothing', 'nobody', 'somebody', 'anybody', 'everybody', 'one', 'ones', 'other', 'others',
  'what', 'which', 'who', 'whom', 'whose', 'where', 'when', 'why', 'how', 'there', 'here', 'this', 'that', 'these', 'those',
  // the image itself
  'picture', 'photo', 'photograph', 'image', 'scene', 'view', 'shot', 'illustration', 'drawing', 'sketch', 'painting',
  'render', 'rendering', 'icon', 'collage', 'art', 'artwork', 'clipart', 'snapshot', 'closeup', 'close-up', 'selfie', 'frame',
  'background', 'foreground', 'vector', 'graphic', 'cartoon', 'screenshot', 'depiction', 'example',
  // time
  'time', 'day', 'night', 'morning', 'evening', 'afternoon', 'noon', 'midnight', 'dawn', 'dusk', 'sunset', 'sunrise',
  'today', 'tonight', 'moment', 'while', 'year', 'week', 'hour', 'minute', 'season', 'summer', 'winter', 'spring', 'autumn',
  // relative position
  'top', 'side', 'front', 'back', 'middle', 'edge', 'corner', 'end', 'distance', 'bottom', 'left', 'right', 'center',
  'centre', 'inside', 'outside', 'rear', 'near', 'behind', 'past', 'part', 'area', 'place', 'direction', 'way',
  // empty space
  'air', 'space', 'mid-air', 'midair', 'mid-flight', 'midflight', 'mid-jump', 'mid-stride',
  // activities, events, abstract
  'game', 'match', 'race', 'trick', 'kind', 'sort', 'type', 'tug', 'war', 'fun', 'lot', 'number', 'amount',
  'color', 'colour', 'shape', 'size', 'style', 'look', 'order', 'attention', 'use', 'idea', 'thing', 'stuff',
  'word', 'words', 'text', 'rest', 'turn', 'walk', 'ride', 'play', 'trip', 'event', 'party', 'ceremony', 'show',
  'sit', 'wait', 'meal', 'lunch', 'dinner', 'breakfast', 'weather', 'light', 'sunlight', 'shade', 'shadow',
  // sports as activities ("play soccer"); their gear keeps its own head ("tennis racket")
  'history', 'story', 'life', 'love', 'music', 'song', 'news', 'information', 'name', 'joy', 'fun', 'beauty', 'memory',
  'nature', 'culture', 'science', 'peace', 'freedom', 'health', 'safety', 'help', 'problem', 'question', 'answer', 'reason',
  'fact', 'detail', 'attempt', 'chance', 'moment', 'lesson', 'practice', 'exercise', 'fashion', 'business',
  'soccer', 'tennis', 'baseball', 'basketball', 'volleyball', 'golf', 'hockey', 'cricket', 'rugby', 'chess', 'polo',
]);

/** Collective and measure nouns dropped before "of" ("a group of people" → person). */
const COLLECTIVE_BEFORE_OF = new Set([
  'group', 'crowd', 'herd', 'flock', 'bunch', 'pair', 'couple', 'row', 'line', 'stack', 'pile', 'set', 'lot', 'number',
  'lots', 'team', 'pack', 'swarm', 'school', 'collection', 'variety', 'assortment', 'array', 'series', 'handful', 'dozen',
  'kind', 'sort', 'type', 'bit', 'front', 'back', 'side', 'top', 'middle', 'edge', 'corner', 'end', 'photo', 'picture',
  'image', 'view', 'scene', 'sketch', 'drawing', 'illustration', 'painting', 'render', 'icon', 'collage', 'shot',
  'close-up', 'closeup', 'part', 'rest',
]);

/** Colour words: a colour as a head without a determiner ("dressed in blue") names nothing. */
const COLOURS = new Set([
  'red', 'orange', 'yellow', 'green', 'blue', 'purple', 'pink', 'brown', 'black', 'white', 'grey', 'gray', 'beige',
  'gold', 'silver', 'violet', 'turquoise', 'navy', 'maroon', 'tan', 'teal',
]);

/** Words that determine or count: stripped, and they start a new phrase. */
const DETERMINERS = new Set([
  'a', 'an', 'the', 'this', 'that', 'these', 'those', 'his', 'her', 'its', 'their', 'my', 'your', 'our', 'some', 'any',
  'each', 'every', 'all', 'both', 'several', 'many', 'few', 'no', 'other', 'another', 'dozen', 'more', 'most', 'much',
  'such', 'own', 'various', 'numerous', 'either', 'neither', 'whose', 'what', 'which', 'plenty', 'lots',
]);

/** Adverb-like words compromise sometimes tags as nouns after a verb ("drives past"). */
const PARTICLES = new Set(['past', 'away', 'together', 'ahead', 'nearby', 'around', 'home', 'upstairs', 'downstairs', 'outdoors', 'indoors', 'apart', 'alone', 'high', 'low', 'far',
  'overhead', 'uphill', 'downhill', 'upstream', 'downstream', 'underwater', 'offshore', 'abroad', 'aboard', 'ashore', 'afloat',
  'back', 'forward', 'backward', 'backwards', 'sideways', 'outward', 'inward', 'upward', 'downward', 'everywhere', 'somewhere']);

/** Nouns that stay plural (eyewear "glasses" handled separately: "glasses of" → glass). */
const PLURAL_ONLY = new Set([
  'pants', 'trousers', 'jeans', 'shorts', 'scissors', 'glasses', 'sunglasses', 'goggles', 'binoculars', 'headphones',
  'earphones', 'clothes', 'cattle', 'tongs', 'pliers', 'leggings', 'tights', 'overalls', 'pajamas', 'pyjamas', 'briefs',
  'trunks', 'jeans', 'shears', 'clippers', 'tweezers', 'suspenders', 'braces', 'earmuffs', 'mittens', 'contents', 'stairs',
  'remains', 'surroundings', 'premises', 'outskirts', 'dreadlocks', 'news', 'physics', 'chess', 'dominoes',
]);

/** Irregular singulars compromise may miss, and plural-looking words that are already singular. */
const SINGULAR: Record<string, string> = {
  people: 'person', persons: 'person', mice: 'mouse', geese: 'goose', oxen: 'ox', teeth: 'tooth', feet: 'foot',
  men: 'man', women: 'woman', children: 'child', leaves: 'leaf', knives: 'knife', wolves: 'wolf', calves: 'calf',
  loaves: 'loaf', halves: 'half', shelves: 'shelf', scarves: 'scarf', lice: 'louse', dice: 'die', cacti: 'cactus',
  fungi: 'fungus', octopi: 'octopus', alumni: 'alumnus', bus: 'bus', glass: 'glass', grass: 'grass', dress: 'dress',
  canvas: 'canvas', bonus: 'bonus', cactus: 'cactus', octopus: 'octopus', walrus: 'walrus', hippopotamus: 'hippopotamus',
  platypus: 'platypus', asparagus: 'asparagus', hummus: 'hummus', lotus: 'lotus', iris: 'iris', compass: 'compass',
  mattress: 'mattress', fries: 'fry', teepees: 'teepee', tortillas: 'tortilla', pies: 'pie', ties: 'tie', lies: 'lie',
  boots: 'boot', dominoes: 'domino', potatoes: 'potato', tomatoes: 'tomato', heroes: 'hero', mangoes: 'mango',
  geckos: 'gecko', zeros: 'zero', sheep: 'sheep', fish: 'fish', deer: 'deer', moose: 'moose', bison: 'bison',
  salmon: 'salmon', trout: 'trout', shrimp: 'shrimp', aircraft: 'aircraft', species: 'species', series: 'series',
  chassis: 'chassis', kiwis: 'kiwi', skis: 'ski', taxis: 'taxi', sandals: 'sandal', gas: 'gas', lens: 'lens',
};

/**
 * Fixed compound names kept whole as concepts: the COCO multiword categories, and names whose head
 * alone would name something else (a teddy bear is not a bear).
 */
export const COMPOUND_CONCEPTS: ReadonlySet<string> = new Set([
  // COCO
  'fire hydrant', 'stop sign', 'parking meter', 'traffic light', 'teddy bear', 'hot dog', 'cell phone', 'tennis racket',
  'baseball bat', 'baseball glove', 'wine glass', 'dining table', 'hair drier', 'hair dryer', 'sports ball', 'potted plant',
  // head alone names something else, or fixed names looked up as a unit.
  // Not here: names whose modifier only describes an ordinary example of the head (README table:
  // purpose, place, species, material, sport), e.g. picnic table, train station, palm tree, fire truck.
  'bus stop', 'cutting board', 'high chair', 'ice cream', 'rubber duck', 'tank top', 'swimming pool',
  'washing machine', 'tennis court', 'remote control', 'sea lion', 'guinea pig', 'french fries', 'french fry',
  'hot air balloon', 'air conditioner', 'fire engine', 'traffic cone', 'ice skate', 'roller skate', 'life jacket',
  'life vest', 'christmas tree', 'jack-o-lantern', 'bow tie', 'top hat', 'tee shirt', 'crop top', 'flip flop',
  'high heel', 'sweat shirt', 'dining room', 'living room', 'bath tub', 'toilet paper', 'fire place',
  'fire extinguisher', 'light bulb', 'street light', 'street lamp', 'traffic signal', 'parking lot',
  'zebra crossing', 'cross walk', 'sea gull', 'ladybug', 'fruit fly', 'jelly fish', 'star fish', 'killer whale',
  'peanut butter', 'corn dog', 'chicken wing', 'spring roll', 'french toast', 'cotton candy', 'sweet potato',
  'bell pepper', 'chili pepper', 'brussels sprout', 'green bean', 'hard drive', 'power line', 'power outlet',
  'vending machine', 'slot machine', 'sewing machine', 'sleeping bag', 'tape measure', 'golf club', 'surf board',
  'ski lift', 'soccer goal', 'pool table', 'ping pong', 'pine cone', 'sun flower', 'water lily', 'lily pad',
  'fire pit', 'hard hat',
]);

const NON_VISUAL_COMPOUNDS = new Set(['tug of war', 'clip art', 'digital art', 'pixel art', 'line art', 'close up']);

// ---------------------------------------------------------------------------------------------

interface Term {
  /** Lowercase word, possessive marker removed. */
  word: string;
  tags: Set<string>;
  /** Punctuation after the word (compromise's `post`). */
  post: string;
  pre: string;
  possessive: boolean;
  /** Written with a capital letter, not at the start of its sentence (a proper name). */
  capitalized: boolean;
  /** The word is joined to the next by a hyphen. */
  hyphenNext: boolean;
}

type Role = 'det' | 'num' | 'adj' | 'noun' | 'verb' | 'prep' | 'conj' | 'pron' | 'adv' | 'other';

/** Words that open a new clause (its own subject and verb). */
const SUBORDINATORS = new Set(['while', 'as', 'when', 'whilst', 'because', 'though', 'although', 'since', 'until', 'after', 'before', 'where', 'whereas', 'if', 'once']);
const CLAUSE_STARTS = new Set(['while', 'as', 'when', 'where', 'because', 'but', 'after', 'before', 'until', 'that', 'which', 'who', 'and', 'whilst', 'though', 'although', 'since', 'so']);

/** Prepositions compromise sometimes tags as adjectives or nouns ("high above people"). */
const PREPOSITIONS = new Set([
  'above', 'below', 'under', 'beneath', 'underneath', 'over', 'near', 'beside', 'besides', 'behind', 'across', 'along',
  'alongside', 'through', 'toward', 'towards', 'onto', 'into', 'upon', 'between', 'among', 'amongst', 'around',
  'against', 'beyond', 'atop', 'within', 'without', 'throughout', 'inside', 'outside', 'past', 'via', 'of', 'with',
]);

/** "-ing" words that are ordinary nouns, not gerunds ("a wooden building", "a gold ring"). */
const ING_NOUNS = new Set([
  'building', 'ceiling', 'clothing', 'railing', 'awning', 'painting', 'drawing', 'frosting', 'icing', 'topping',
  'stuffing', 'wedding', 'pudding', 'dumpling', 'wing', 'king', 'ring', 'string', 'swing', 'spring', 'thing', 'sling',
  'sibling', 'duckling', 'seedling', 'earring', 'stocking', 'landing', 'lighting', 'crossing', 'bedding', 'siding',
  'fencing', 'flooring', 'dressing', 'filling', 'seasoning', 'sapling', 'herring', 'whiting', 'darling', 'evening',
  'morning', 'opening', 'outing', 'clearing', 'carving', 'ending', 'parking', 'housing',
  'lodging', 'offering', 'mooring', 'planking', 'tubing', 'piping',
  'wiring', 'plumbing', 'scaffolding', 'molding', 'moulding', 'paneling', 'panelling', 'shelving', 'netting',
  'coating', 'covering', 'bunting', 'casing', 'setting', 'wrapping', 'packaging', 'viking',
]);

const unchangedPastCache = new Map<string, boolean>();
/** Verbs whose past participle is the base form ("cut", "split", "put"): "a sandwich cut in half". */
function unchangedPast(word: string): boolean {
  let known = unchangedPastCache.get(word);
  if (known === undefined) {
    const forms = (nlp(`they ${word}`).verbs() as unknown as { conjugate: () => { Infinitive?: string; PastTense?: string }[] }).conjugate()[0];
    known = forms !== undefined && forms.Infinitive === word && forms.PastTense === word;
    unchangedPastCache.set(word, known);
  }
  return known;
}

const verbCapableCache = new Map<string, boolean>();
/** Whether a word reads as a verb after "they"/"it" (compromise tags it Verb there). */
function verbCapable(word: string): boolean {
  let known = verbCapableCache.get(word);
  if (known === undefined) {
    const subject = /[^s]s$/.test(word) ? 'it' : 'they';
    const terms = (nlp(`${subject} ${word}`).json({ terms: { tags: true }, text: false }) as { terms: { tags: string[] }[] }[])[0]?.terms ?? [];
    known = terms.length === 2 && terms[1].tags.includes('Verb');
    verbCapableCache.set(word, known);
  }
  return known;
}

function roleOf(t: Term): Role {
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

const world = nlp.world() as unknown as {
  methods: { two: { transform: { noun: { toSingular: (s: string, model: unknown) => string } } } };
  model: unknown;
};

/** Singular of a head noun: irregular table, plural-only nouns, then compromise's inflector. */
export function singularize(word: string): string {
  const w = word.toLowerCase();
  if (PLURAL_ONLY.has(w)) return w;
  const irregular = SINGULAR[w];
  if (irregular !== undefined) return irregular;
  if (w.includes('-')) {
    const i = w.lastIndexOf('-');
    return w.slice(0, i + 1) + singularize(w.slice(i + 1));
  }
  if (!/[a-z]s$/.test(w) || /(?:ss|us|is)$/.test(w)) return w;
  const s = world.methods.two.transform.noun.toSingular(w, world.model);
  return s && s.length > 0 ? s : w;
}

/** Emoji and pictographs, which never count as words. */
const EMOJI = /[\p{Extended_Pictographic}\p{Emoji_Modifier}\u200d\ufe0f\u20e3]/gu;
/** Quoted sign text after a verb of writing: `says "Welcome"`. */
const QUOTED_SIGN = /\b(says|say|saying|reads|read|reading|labeled|labelled|marked|written|writes|spelling|spells|word|words|text)\s*(["“”'‘’])[^"“”]*?["“”’']/giu;

function prepareText(text: string): string {
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

function termsOf(text: string): Term[][] {
  const json = nlp(text).json({ terms: { tags: true, normal: true }, text: false }) as {
    terms: RawTerm[];
  }[];
  return json.map((sentence) =>
    joinHyphenated(movePunctuationBack(sentence.terms)).map((raw, index) => {
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
      return { word, tags, post: raw.post, pre: raw.pre, possessive, capitalized, hyphenNext: /^-\s*$/.test(raw.post.trim()) && !/\s/.test(raw.post) };
    }),
  );
}

interface RawTerm { text: string; normal: string; tags: string[]; pre: string; post: string }

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

/** The words that end a phrase after them: commas, periods and other punctuation. */
function breaksAfter(t: Term): boolean {
  return /[,.;:!?/&]/.test(t.post);
}

function conceptOf(words: string[]): string {
  for (const n of [3, 2]) {
    if (words.length >= n) {
      const tail = words.slice(-n).join(' ');
      if (COMPOUND_CONCEPTS.has(tail)) return tail;
    }
  }
  const head = words[words.length - 1];
  return head;
}

interface Chunk {
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
  /** The token before the chunk (or '' at the start). */
  before: Role | '';
  beforeWord: string;
  /** Index of the chunk's first term in its sentence. */
  startIndex: number;
  /** Word after the chunk ends. */
  afterWord: string;
  afterRole: Role | '';
}

/**
 * Noun phrases of a caption or query, in order of first appearance, de-duplicated by phrase.
 * Never throws on text (non-Latin scripts, emoji and control characters give fewer or no phrases).
 */
export function extractPhrases(text: string): ExtractedPhrase[] {
  if (typeof text !== 'string') throw invalidInput('a string', 'the text to extract phrases from', describeValue(text));
  const prepared = prepareText(text);
  if (!/\p{L}/u.test(prepared)) return [];
  const out: ExtractedPhrase[] = [];
  const seen = new Set<string>();
  for (const sentence of termsOf(prepared)) {
    for (const chunk of chunkSentence(sentence)) {
      const result = finishChunk(chunk);
      if (result === null || seen.has(result.phrase)) continue;
      seen.add(result.phrase);
      out.push(result);
    }
  }
  return out;
}

function chunkSentence(terms: Term[]): Chunk[] {
  const chunks: Chunk[] = [];
  const roles = terms.map(roleOf);
  let current: Chunk | null = null;
  let lastDet = '';
  let prevRole: Role | '' = '';
  let prevWord = '';
  let finiteVerbSeen = false;

  const close = (afterWord: string, afterRole: Role | '') => {
    if (current !== null && current.words.length > 0) {
      current.afterWord = afterWord;
      current.afterRole = afterRole;
      chunks.push(current);
    }
    current = null;
  };
  const open = (): Chunk => ({
    words: [],
    roles: [],
    places: [],
    proper: [],
    determined: prevRole === 'det',
    singularDet: prevRole === 'det' && ['a', 'an', 'one', 'each', 'every', 'another', 'this', 'that'].includes(lastDet),
    pluralDet: prevRole === 'num' || (prevRole === 'det' && ['these', 'those', 'several', 'many', 'few', 'both', 'some', 'all', 'various'].includes(lastDet)),
    before: prevRole,
    beforeWord: prevWord,
    startIndex: -1,
    afterWord: '',
    afterRole: '',
  });

  // Known compound names are nouns whatever the tagger said ("bus stop", "traffic light").
  const forced = new Set<number>();
  for (let i = 0; i + 1 < terms.length; i++) {
    for (const n of [3, 2]) {
      if (i + n > terms.length) continue;
      const span = terms.slice(i, i + n);
      const words = span.map((t, k) => (k === n - 1 ? singularize(t.word) : t.word));
      if (COMPOUND_CONCEPTS.has(words.join(' ')) && span.slice(0, -1).every((t) => !breaksAfter(t) && !t.possessive)) {
        for (let k = 0; k < n; k++) {
          roles[i + k] = 'noun';
          forced.add(i + k);
        }
        break;
      }
    }
  }
  // A bare plural subject read as a verb, its verb read as a noun: "Boats float in the harbor".
  if (
    terms.length > 2 && roles[0] === 'verb' && terms[0].tags.has('PresentTense') && /[^s]s$/.test(terms[0].word) && !breaksAfter(terms[0]) &&
    roles[1] === 'noun' && !/s$/.test(terms[1].word) && !terms[1].possessive && !breaksAfter(terms[1]) &&
    ['prep', 'det', 'adv'].includes(roles[2]) && verbCapable(terms[1].word)
  ) {
    roles[0] = 'noun';
    roles[1] = 'verb';
  }
  // "next to" is a preposition.
  for (let i = 0; i + 1 < terms.length; i++) if (terms[i].word === 'next' && terms[i + 1].word === 'to') roles[i] = 'prep';
  // Clauses end at subordinating words; "a verb in this clause" is what tells a subject noun from a verb.
  const clauseOf = new Int32Array(terms.length);
  for (let i = 1, c = 0; i < terms.length; i++) {
    if (CLAUSE_STARTS.has(terms[i].word) || breaksAfter(terms[i - 1])) c++;
    clauseOf[i] = c;
  }
  const isFinite = (k: number): boolean => {
    const t = terms[k];
    return roles[k] === 'verb' && (t.tags.has('PresentTense') || t.tags.has('Copula') || t.tags.has('Auxiliary') || t.tags.has('Modal')) &&
      !t.tags.has('Gerund') && terms[k - 1]?.word !== 'to';
  };
  const clauseHasFiniteVerb = (k: number, except: number): boolean => terms.some((_, j) => j !== except && clauseOf[j] === clauseOf[k] && isFinite(j));
  /** Whether the phrase starting at term k is the second of two coordinated nouns ("X and (the) Y"). */
  const coordinatedBefore = (k: number): boolean => coordinationAt(k) >= 0;
  /** The index of the "and" before the phrase starting at term k, or -1. */
  const coordinationAt = (k: number): number => {
    let j = k - 1;
    while (j >= 0 && roles[j] === 'det' && !breaksAfter(terms[j])) j--;
    return j >= 1 && terms[j].word === 'and' && roles[j - 1] === 'noun' && !terms[j - 1].possessive && !breaksAfter(terms[j - 1]) ? j : -1;
  };
  /** Whether the clause holding term k is opened by a subordinator, so it must have a verb ("as the catcher ... watch"). */
  const inSubordinateClause = (k: number): boolean => {
    let j = k;
    while (j > 0 && clauseOf[j - 1] === clauseOf[k]) j--;
    return SUBORDINATORS.has(terms[j].word);
  };
  const sentenceHasFiniteVerb = terms.some((_, j) => isFinite(j));
  const sentenceHasAnd = terms.some((t) => t.word === 'and');
  const isListSeparator = (k: number): boolean =>
    k < 0 || k >= terms.length || breaksAfter(terms[k]) || terms[k].word === 'or' || terms[k].word === 'and';

  for (let i = 0; i < terms.length; i++) {
    const t = terms[i];
    let role = roles[i];
    const next = terms[i + 1];
    const nextRole = roles[i + 1] ?? '';
    // A lone base-form "verb" between list separators is a noun ("knife, fork or spoon").
    if (role === 'verb' && t.tags.has('Infinitive') && (i === 0 || isListSeparator(i - 1)) && (breaksAfter(t) || i + 1 >= terms.length || ['or', 'and'].includes(terms[i + 1].word)) && terms.length > 1) {
      role = 'noun';
    }
    // A plural-looking present-tense "verb" listed after a noun: "knives, forks and spoons".
    if (
      role === 'verb' && !forced.has(i) && i > 0 && roles[i - 1] === 'noun' && breaksAfter(terms[i - 1]) && /[^s]s$/.test(t.word) &&
      t.tags.has('PresentTense') && !t.tags.has('Copula') && !t.tags.has('Auxiliary') && (breaksAfter(t) || ['and', 'or'].includes(terms[i + 1]?.word ?? ''))
    ) {
      role = 'noun';
    }
    // A sentence-initial base-form "verb" directly followed by "with" is a query noun ("kid with a kite").
    if (role === 'verb' && i === 0 && t.tags.has('Infinitive') && terms[1]?.word === 'with' && !clauseHasFiniteVerb(0, 0)) role = 'noun';
    // The second of two coordinated nouns ending a clause: "pots and pans." (not "runs and jumps").
    if (
      role === 'verb' && !forced.has(i) && prevRole === 'conj' && i >= 2 && roles[i - 2] === 'noun' && ['and', 'or'].includes(terms[i - 1].word) &&
      !t.tags.has('Gerund') && !t.tags.has('PastTense') && !t.tags.has('Copula') && (next === undefined || breaksAfter(t) || nextRole === 'prep')
    ) {
      role = 'noun';
    }
    // A determiner cannot be followed by a finite verb: "a low-poly fox in", "near some dunes".
    if (
      role === 'verb' && !forced.has(i) && ((prevRole === 'det' && !['that', 'which', 'what', 'whose'].includes(lastDet)) || (current !== null && (current as Chunk).determined && prevRole === 'adj')) &&
      !t.tags.has('Gerund') && !t.tags.has('PastTense') && !t.tags.has('Copula') && !t.tags.has('Auxiliary') && !t.tags.has('Modal') &&
      nextRole !== 'noun' && nextRole !== 'adj' && nextRole !== 'det'
    ) {
      role = 'noun';
    }
    if (t.word.length === 0) {
      close('', '');
      // compromise reads the "'s" of a possessive as a separate (empty) term: the possessor then
      // determines what follows, like "his" ("the man's left hand").
      prevRole = i > 0 && terms[i - 1].possessive ? 'det' : 'other';
      continue;
    }
    // Participles and gerunds modify a following noun when they open a phrase ("a parked car",
    // "sliced bananas"); after a noun they are the verb ("a man surfing").
    if (
      (role === 'verb' || role === 'adv') &&
      (t.tags.has('Gerund') || t.tags.has('PastTense') || t.tags.has('Participle') || /(?:ed|ing)$/.test(t.word)) &&
      (nextRole === 'noun' || nextRole === 'adj') &&
      current === null && prevRole !== 'noun' && !breaksAfter(t) &&
      (prevRole === 'det' || prevRole === 'prep' || prevRole === 'num' || prevRole === '' || prevRole === 'conj') &&
      !(next && next.tags.has('Determiner'))
    ) {
      role = 'adj';
    }
    // A gerund tagged as a noun right after a noun is the verb ("dog chasing").
    if (role === 'noun' && /..ing$/.test(t.word) && !ING_NOUNS.has(t.word) && prevRole === 'noun' && current !== null) role = 'verb';
    // In a sentence without a finite verb, a noun after the subject noun that agrees with it as a
    // verb and is followed by a preposition, adverb or determiner is that verb ("horses stand in",
    // "a cat sleeps curled up", "a zebra walk across").
    if (
      role === 'noun' && current !== null && !forced.has(i) && !clauseHasFiniteVerb(i, i) &&
      (current as Chunk).roles[(current as Chunk).roles.length - 1] === 'noun' && !t.possessive && !PLURAL_ONLY.has(t.word) &&
      next !== undefined && !breaksAfter(t) &&
      (nextRole === 'prep' || nextRole === 'adv' || nextRole === 'det' || (nextRole === 'verb' && !next.tags.has('PresentTense')) || next.word === 'to' || PARTICLES.has(next.word))
    ) {
      const prev = (current as Chunk).words[(current as Chunk).words.length - 1];
      const prevPlural = singularize(prev) !== prev || ['people', 'mice', 'geese', 'men', 'women', 'children', 'sheep', 'fish', 'deer', 'cattle'].includes(prev);
      const thirdSingular = /[^s]s$/.test(t.word);
      const agrees = thirdSingular ? !prevPlural && !(current as Chunk).pluralDet : prevPlural || sentenceHasAnd;
      if (agrees && verbCapable(t.word)) role = 'verb';
    }
    // After a coordinated subject ("a mother and her child", "the catcher and the umpire") a
    // base-form noun that can be a verb is the plural verb when the clause has none, whether it
    // ends the clause or an object follows ("... feed ducks", "... watch.").
    if (
      role === 'noun' && current !== null && !forced.has(i) && !clauseHasFiniteVerb(i, i) && !t.possessive &&
      (current as Chunk).roles.length === 1 && (current as Chunk).roles[0] === 'noun' && !/s$/.test(t.word) &&
      coordinatedBefore((current as Chunk).startIndex) &&
      // at the end of a clause only when the clause needs a verb: "a football and a water bottle." is a list
      (((next === undefined || breaksAfter(t)) && inSubordinateClause(coordinationAt((current as Chunk).startIndex) - 1)) ||
        (next !== undefined && !breaksAfter(t) && nextRole === 'noun') || nextRole === 'det' || nextRole === 'prep' || nextRole === 'adv' || nextRole === 'num') &&
      verbCapable(t.word)
    ) {
      role = 'verb';
    }
    // A predicate adjective ("a hydrant painted yellow") followed by a verb-like plural noun and a
    // preposition, adverb or determiner: the noun is the verb ("... yellow sits on the sidewalk").
    if (
      role === 'noun' && current !== null && !forced.has(i) && (current as Chunk).before === 'verb' && !(current as Chunk).determined &&
      (current as Chunk).roles.every((r) => r === 'adj') && /[^s]s$/.test(t.word) && !PLURAL_ONLY.has(t.word) && !t.possessive &&
      (nextRole === 'prep' || nextRole === 'adv' || nextRole === 'det' || next === undefined || breaksAfter(t) || PARTICLES.has(next.word)) &&
      verbCapable(t.word)
    ) {
      role = 'verb';
    }
    // A participle that looks like its base form after a noun, then a preposition or particle:
    // a reduced relative clause ("a sandwich cut in half", "logs split into pieces").
    if (
      role === 'noun' && current !== null && !forced.has(i) && !clauseHasFiniteVerb(i, i) && !t.possessive &&
      (current as Chunk).roles[(current as Chunk).roles.length - 1] === 'noun' && next !== undefined && !breaksAfter(t) &&
      ['in', 'into', 'on', 'onto', 'up', 'down', 'off', 'out', 'open', 'apart', 'across', 'through'].includes(next.word) &&
      !COLLECTIVE_BEFORE_OF.has(t.word) && unchangedPast(t.word)
    ) {
      role = 'verb';
    }
    // A noun after "a"/"an" in subject position whose last word is plural and followed by a
    // preposition or an adverb is a verb ("a jetliner taxis on", "a truck drives past").
    if (
      role === 'noun' && current !== null && !finiteVerbSeen && (current as Chunk).singularDet &&
      (current as Chunk).roles.includes('noun') && /[^s]s$/.test(t.word) && !PLURAL_ONLY.has(t.word) && !t.possessive &&
      (nextRole === 'prep' || nextRole === 'adv' || nextRole === 'det' || next === undefined || PARTICLES.has(next.word) || breaksAfter(t))
    ) {
      role = 'verb';
    }
    if (role === 'noun' && PARTICLES.has(t.word) && prevRole !== 'det') role = 'adv';

    switch (role) {
      case 'adj':
      case 'noun': {
        // A noun followed by a determiner-less noun in a new clause is fine; a noun after a
        // possessive starts a new phrase (the possessor is its own phrase).
        if (current === null) current = { ...open(), startIndex: i };
        current.words.push(t.word);
        current.roles.push(role);
        current.places.push(['Place', 'City', 'Country', 'Region'].some((g) => t.tags.has(g)));
        current.proper.push(t.capitalized);
        if (t.possessive) close(t.word, 'other');
        else if (breaksAfter(t)) close('', '');
        break;
      }
      case 'conj': {
        // Coordinated adjectives stay in one phrase: "brown and white cow".
        const c = current as Chunk | null;
        if (
          c !== null && !c.roles.includes('noun') && c.roles[c.roles.length - 1] === 'adj' &&
          (t.word === 'and' || t.word === 'or') && nextRole === 'adj' && !breaksAfter(t)
        ) {
          c.words.push(t.word);
          c.roles.push('conj');
          c.places.push(false);
          c.proper.push(false);
        } else {
          close(t.word, role);
        }
        break;
      }
      default:
        if (role === 'verb' && !t.tags.has('Gerund') && !t.tags.has('Infinitive')) finiteVerbSeen = true;
        close(t.word, role);
    }
    if (role === 'det') lastDet = t.word;
    prevRole = breaksAfter(t) ? '' : t.possessive ? 'det' : role;
    if (t.possessive) lastDet = "'s";
    prevWord = t.word;
    if (breaksAfter(t)) close('', '');
  }
  close('', '');
  return chunks;
}

function finishChunk(chunk: Chunk): ExtractedPhrase | null {
  let { words, roles } = chunk;
  // The head is the last noun; trailing adjectives ("the dog is brown") are not part of it.
  let last = roles.lastIndexOf('noun');
  if (last < 0) {
    const lastWord = words[words.length - 1];
    // A bare adjective in a list of queries ("cell phone, remote, keyboard") names a thing, and so
    // does an adjective ending a determined phrase ("a dusty plain" when "plain" is read as an adjective).
    if (words.length === 1 && chunk.before === '' && chunk.afterRole === '' && !COLOURS.has(lastWord) && roles[0] === 'adj') last = 0;
    else if (chunk.determined && roles[roles.length - 1] === 'adj' && !COLOURS.has(lastWord) && !/(?:ed|ing|ful|ous|ive|ic|al|able|ible|less|ish)$/.test(lastWord) && chunk.afterRole !== 'noun') last = roles.length - 1;
    else return null;
  }
  words = words.slice(0, last + 1);
  roles = roles.slice(0, last + 1);
  const head = words[words.length - 1];
  const full = words.join(' ');
  for (const compound of NON_VISUAL_COMPOUNDS) if (full.endsWith(compound)) return null;
  const isCompound = conceptOf([...words.slice(0, -1), singularize(head)]).includes(' ');
  if (NON_VISUAL_HEADS.has(head) && !isCompound) return null;
  // A place name as the head ("the history of Paris"); as a modifier it stays ("a New York taxi").
  if (chunk.places[last] && chunk.proper[last] && !isCompound) return null;
  // Collective and measure nouns before "of" are dropped; "in a row" names nothing either.
  if (COLLECTIVE_BEFORE_OF.has(singularize(head)) && chunk.afterWord === 'of') return null;
  if (COLLECTIVE_BEFORE_OF.has(head) && (chunk.afterWord === 'of' || words.length === 1)) {
    if (chunk.afterWord === 'of' || ['row', 'line', 'pile', 'stack', 'set', 'lot', 'group', 'pair', 'couple', 'bunch', 'crowd', 'number'].includes(head)) return null;
  }
  // A colour as a noun without a determiner ("dressed in blue").
  if (COLOURS.has(head) && words.length === 1 && !chunk.determined && !/s$/.test(head)) return null;
  // "glasses of wine" are drinking glasses; "glasses" alone is eyewear.
  let singularHead = head === 'glasses' && chunk.afterWord === 'of' ? 'glass' : singularize(head);
  if (singularHead.length === 0) singularHead = head;
  const phraseWords = [...words.slice(0, -1), singularHead].filter((w, i, arr) => !(DETERMINERS.has(w) && i < arr.length - 1));
  // Numbers inside hyphenated modifiers are kept by the term joiner; bare leading numbers are not.
  const phrase = phraseWords.join(' ').trim();
  if (phrase.length === 0) return null;
  return { phrase, concept: conceptOf(phraseWords) };
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
