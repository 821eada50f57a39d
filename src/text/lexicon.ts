/**
 * The phrase extractor's lexicon: the kinds of words its rules name (src/text/phrases.ts,
 * src/text/phrase-rules.ts). All lowercase; each list names a kind of word, never a particular
 * sentence. The rules these lists serve are those of ../shared/golden/phrases/README.md.
 */

// ---------------------------------------------------------------------------------------------
// What names nothing: heads and phrases dropped

/** Heads that never name a box: pronoun-like, image words, time, relation, space, abstract. */
export const NON_VISUAL_HEADS: ReadonlySet<string> = new Set([
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
  'history', 'story', 'life', 'love', 'music', 'song', 'news', 'information', 'name', 'joy', 'fun', 'beauty', 'memory',
  'nature', 'culture', 'science', 'peace', 'freedom', 'health', 'safety', 'help', 'problem', 'question', 'answer', 'reason',
  'fact', 'detail', 'attempt', 'chance', 'moment', 'lesson', 'practice', 'exercise', 'fashion', 'business',
  // sports as activities ("play soccer"); their gear keeps its own head ("tennis racket")
  'soccer', 'tennis', 'baseball', 'basketball', 'volleyball', 'golf', 'hockey', 'cricket', 'rugby', 'chess', 'polo',
]);

/** Word sequences that end a phrase naming nothing visible ("two dogs play tug of war"). */
export const NON_VISUAL_COMPOUNDS: ReadonlySet<string> = new Set(['tug of war', 'clip art', 'digital art', 'pixel art', 'line art', 'close up']);

/** Collective and measure nouns dropped before "of" ("a group of people" → person). */
export const COLLECTIVE_BEFORE_OF: ReadonlySet<string> = new Set([
  'group', 'crowd', 'herd', 'flock', 'bunch', 'pair', 'couple', 'row', 'line', 'stack', 'pile', 'set', 'lot', 'number',
  'lots', 'team', 'pack', 'swarm', 'school', 'collection', 'variety', 'assortment', 'array', 'series', 'handful', 'dozen',
  'kind', 'sort', 'type', 'bit', 'front', 'back', 'side', 'top', 'middle', 'edge', 'corner', 'end', 'photo', 'picture',
  'image', 'view', 'scene', 'sketch', 'drawing', 'illustration', 'painting', 'render', 'icon', 'collage', 'shot',
  'close-up', 'closeup', 'part', 'rest',
]);

/** Collective nouns that name nothing on their own, even without "of" ("parked in a row"). */
export const COLLECTIVE_ALONE: ReadonlySet<string> = new Set(['row', 'line', 'pile', 'stack', 'set', 'lot', 'group', 'pair', 'couple', 'bunch', 'crowd', 'number']);

/** Colour words: a colour as a head without a determiner ("dressed in blue") names nothing. */
export const COLOURS: ReadonlySet<string> = new Set([
  'red', 'orange', 'yellow', 'green', 'blue', 'purple', 'pink', 'brown', 'black', 'white', 'grey', 'gray', 'beige',
  'gold', 'silver', 'violet', 'turquoise', 'navy', 'maroon', 'tan', 'teal',
]);

/** compromise tags of place names: a place as a head names no box ("the history of Paris"). */
export const PLACE_TAGS: readonly string[] = ['Place', 'City', 'Country', 'Region'];

// ---------------------------------------------------------------------------------------------
// Fixed compound names

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

// ---------------------------------------------------------------------------------------------
// Word classes the tagger gets wrong or the rules need

/** Words that determine or count: stripped, and they start a new phrase. */
export const DETERMINERS: ReadonlySet<string> = new Set([
  'a', 'an', 'the', 'this', 'that', 'these', 'those', 'his', 'her', 'its', 'their', 'my', 'your', 'our', 'some', 'any',
  'each', 'every', 'all', 'both', 'several', 'many', 'few', 'no', 'other', 'another', 'dozen', 'more', 'most', 'much',
  'such', 'own', 'various', 'numerous', 'either', 'neither', 'whose', 'what', 'which', 'plenty', 'lots',
]);

/** Determiners of one thing: a phrase after them is singular ("a truck drives past"). */
export const SINGULAR_DETERMINERS: ReadonlySet<string> = new Set(['a', 'an', 'one', 'each', 'every', 'another', 'this', 'that']);

/** Determiners of several things: a phrase after them is plural ("several boats"). */
/** Number words a caption counts objects with ("two dogs"): what `ExtractedPhrase.count` reads. */
export const CARDINALS: ReadonlyMap<string, number> = new Map([
  ['one', 1], ['two', 2], ['three', 3], ['four', 4], ['five', 5], ['six', 6], ['seven', 7], ['eight', 8], ['nine', 9], ['ten', 10],
  ['eleven', 11], ['twelve', 12],
]);

export const PLURAL_DETERMINERS: ReadonlySet<string> = new Set(['these', 'those', 'several', 'many', 'few', 'both', 'some', 'all', 'various']);

/** Determiners that also open a relative clause, so a finite verb may follow them ("the dog that runs"). */
export const RELATIVE_DETERMINERS: ReadonlySet<string> = new Set(['that', 'which', 'what', 'whose']);

/** Prepositions compromise sometimes tags as adjectives or nouns ("high above people"). */
export const PREPOSITIONS: ReadonlySet<string> = new Set([
  'above', 'below', 'under', 'beneath', 'underneath', 'over', 'near', 'beside', 'besides', 'behind', 'across', 'along',
  'alongside', 'through', 'toward', 'towards', 'onto', 'into', 'upon', 'between', 'among', 'amongst', 'around',
  'against', 'beyond', 'atop', 'within', 'without', 'throughout', 'inside', 'outside', 'past', 'via', 'of', 'with',
]);

/** Adverb-like words compromise sometimes tags as nouns after a verb ("drives past"). */
export const PARTICLES: ReadonlySet<string> = new Set(['past', 'away', 'together', 'ahead', 'nearby', 'around', 'home', 'upstairs', 'downstairs', 'outdoors', 'indoors', 'apart', 'alone', 'high', 'low', 'far',
  'overhead', 'uphill', 'downhill', 'upstream', 'downstream', 'underwater', 'offshore', 'abroad', 'aboard', 'ashore', 'afloat',
  'back', 'forward', 'backward', 'backwards', 'sideways', 'outward', 'inward', 'upward', 'downward', 'everywhere', 'somewhere']);

/** Words that follow a participle in a reduced relative clause ("a sandwich cut in half", "logs split open"). */
export const RESULT_PARTICLES: ReadonlySet<string> = new Set(['in', 'into', 'on', 'onto', 'up', 'down', 'off', 'out', 'open', 'apart', 'across', 'through']);

/** "-ing" words that are ordinary nouns, not gerunds ("a wooden building", "a gold ring"). */
export const ING_NOUNS: ReadonlySet<string> = new Set([
  'building', 'ceiling', 'clothing', 'railing', 'awning', 'painting', 'drawing', 'frosting', 'icing', 'topping',
  'stuffing', 'wedding', 'pudding', 'dumpling', 'wing', 'king', 'ring', 'string', 'swing', 'spring', 'thing', 'sling',
  'sibling', 'duckling', 'seedling', 'earring', 'stocking', 'landing', 'lighting', 'crossing', 'bedding', 'siding',
  'fencing', 'flooring', 'dressing', 'filling', 'seasoning', 'sapling', 'herring', 'whiting', 'darling', 'evening',
  'morning', 'opening', 'outing', 'clearing', 'carving', 'ending', 'parking', 'housing',
  'lodging', 'offering', 'mooring', 'planking', 'tubing', 'piping',
  'wiring', 'plumbing', 'scaffolding', 'molding', 'moulding', 'paneling', 'panelling', 'shelving', 'netting',
  'coating', 'covering', 'bunting', 'casing', 'setting', 'wrapping', 'packaging', 'viking',
]);

/** Endings of words that are adjectives only: a determined phrase ending in one has no head ("a wooden"), while "a dusty plain" keeps "plain". */
export const ADJECTIVE_ENDING = /(?:ed|ing|ful|ous|ive|ic|al|able|ible|less|ish)$/;

// ---------------------------------------------------------------------------------------------
// Number: singular heads

/** Nouns that stay plural (eyewear "glasses" handled separately: "glasses of" → glass). */
export const PLURAL_ONLY: ReadonlySet<string> = new Set([
  'pants', 'trousers', 'jeans', 'shorts', 'scissors', 'glasses', 'sunglasses', 'goggles', 'binoculars', 'headphones',
  'earphones', 'clothes', 'cattle', 'tongs', 'pliers', 'leggings', 'tights', 'overalls', 'pajamas', 'pyjamas', 'briefs',
  'trunks', 'jeans', 'shears', 'clippers', 'tweezers', 'suspenders', 'braces', 'earmuffs', 'mittens', 'contents', 'stairs',
  'remains', 'surroundings', 'premises', 'outskirts', 'dreadlocks', 'news', 'physics', 'chess', 'dominoes',
]);

/** Irregular singulars compromise may miss, and plural-looking words that are already singular. */
export const SINGULAR: ReadonlyMap<string, string> = new Map(Object.entries({
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
}));

/** Plurals that do not end in "s" (or equal their singular): a verb after them agrees as plural. */
export const UNMARKED_PLURALS: ReadonlySet<string> = new Set(['people', 'mice', 'geese', 'men', 'women', 'children', 'sheep', 'fish', 'deer', 'cattle']);

// ---------------------------------------------------------------------------------------------
// Clauses

/** Words that open a new clause (its own subject and verb). */
export const SUBORDINATORS: ReadonlySet<string> = new Set(['while', 'as', 'when', 'whilst', 'because', 'though', 'although', 'since', 'until', 'after', 'before', 'where', 'whereas', 'if', 'once']);

/** Words that start a new clause when they appear inside a sentence. */
export const CLAUSE_STARTS: ReadonlySet<string> = new Set(['while', 'as', 'when', 'where', 'because', 'but', 'after', 'before', 'until', 'that', 'which', 'who', 'and', 'whilst', 'though', 'although', 'since', 'so']);

/**
 * Verbs that open a query as an instruction ("find chairs in the room"), not a subject: a headline's
 * bare subject tagged as a verb ("Train crosses bridge") is corrected, an instruction is not.
 */
export const INSTRUCTION_VERBS: ReadonlySet<string> = new Set([
  'find', 'show', 'detect', 'locate', 'spot', 'count', 'highlight', 'identify', 'search', 'look', 'see', 'get', 'give',
  'select', 'pick', 'segment', 'outline', 'label', 'mark', 'track', 'meet', 'enjoy', 'visit', 'explore', 'discover', 'try',
  'make', 'take', 'buy', 'check', 'help', 'let', 'keep', 'use', 'bring', 'put', 'draw', 'add', 'remove', 'imagine',
  'capture', 'feed', 'save', 'join', 'learn', 'go', 'come', 'watch', 'eat', 'drink', 'hold', 'wear', 'read', 'open', 'wash', 'clean',
]);

/**
 * "-s" verbs a headline uses without an object ("Smoke rises from chimney") and that are rarely plural
 * nouns: before a preposition they mark the verb; other "-s" words there may be the head of a compound
 * ("Flower pots on windowsill").
 */
export const INTRANSITIVE_S_VERBS: ReadonlySet<string> = new Set([
  'rises', 'floats', 'drifts', 'glides', 'soars', 'hovers', 'sleeps', 'grazes', 'swims', 'arrives', 'departs', 'leans',
  'perches', 'flows', 'shines', 'sits', 'lies', 'waits', 'leaps', 'dives', 'crawls', 'wanders', 'strolls', 'gallops',
  'roams', 'bathes', 'relaxes', 'naps', 'jogs', 'kneels', 'smiles', 'laughs', 'sings', 'sails', 'burns', 'melts', 'sinks',
]);
