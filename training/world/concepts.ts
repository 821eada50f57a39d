/**
 * Builds the world's concept table, training/world/concepts.json (committed; the generator reads it):
 *
 *   npx tsx training/world/concepts.ts [--out training/world/concepts.json] [--wordnet /usr/share/wordnet]
 *
 * Concepts: emojibase-data entries of the groups animals-nature, food-drink, travel-places, activities,
 * objects (minus time — except the clocks and watches —, place-map and moon phases) and people-body
 * (subgroups person, person-role, body-parts), without skin-tone, gender and hair-style variants
 * and non-objects (card suits, musical notes, volume levels); "X face" is merged into "X". The COCO-65
 * analogue classes (coco65.ts) take over the emoji whose icons define them and are named as in COCO.
 * Split: COCO-65 as COCO's 48/17; every other concept is novel when sha1(name) mod 100 < 25.
 *
 * Words: `synonyms` are the caption words besides the name: the lemmas of the name's first physical
 * WordNet synset, plus emojibase tags / emojilib keywords that are physical WordNet nouns found in no
 * other concept's words (bicycle → bike, dog → puppy; not "animal", "red", "faithful"). `tags` and
 * `keywords` keep the raw words. WordNet (Debian wordnet-base) is required to rebuild the table:
 * `apt-get install wordnet-base`.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COCO65, type Coco65Class } from './coco65.js';
import { STYLES, STYLE_NAMES, type StyleName } from './styles.js';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, 'package.json'));

export interface Concept {
  /** Stable category id: COCO's id for the COCO-65 classes (1..90), 101.. for the rest (emojibase order). */
  id: number;
  name: string;
  split: 'base' | 'novel';
  coco65: boolean;
  /** emojibase group / subgroup (for the mdi-only COCO classes: "objects" / "household"). */
  group: string;
  subgroup: string;
  emoji: string[];
  synonyms: string[];
  hypernyms: string[];
  tags: string[];
  keywords: string[];
  /** Icon names per style (Iconify names, aliases allowed); a style the concept lacks is absent. */
  icons: Partial<Record<StyleName, string[]>>;
  crop?: 'fork-half';
}

export interface ConceptTable {
  version: 1;
  sources: Record<string, string>;
  concepts: Concept[];
}

interface EmojibaseEntry {
  label: string;
  hexcode: string;
  emoji: string;
  tags?: string[];
  group?: number;
  subgroup?: number;
  order?: number;
}

interface IconSet {
  icons: Record<string, unknown>;
  aliases?: Record<string, unknown>;
}

const KEEP_GROUPS = new Set(['animals-nature', 'food-drink', 'travel-places', 'activities', 'objects']);
const KEEP_PEOPLE = new Set(['person', 'person-role', 'body-parts']);
const KEEP_TIME = new Set(['hourglass done', 'hourglass not done', 'watch', 'alarm clock', 'stopwatch', 'timer clock', 'mantelpiece clock']);
/** Symbols and variants that are not objects of their own. */
const NON_OBJECTS = new Set([
  'spade suit', 'heart suit', 'diamond suit', 'club suit', 'musical note', 'musical notes',
  'speaker low volume', 'speaker medium volume', 'speaker high volume', 'bell with slash', 'muted speaker',
  'high voltage', 'sparkles', 'collision', 'dizzy', 'zzz', 'sweat droplets', 'dashing away', 'hole',
  'reminder ribbon', 'fleur-de-lis', 'trident emblem', 'name badge', 'japanese symbol for beginner',
  'shibuya', 'puzzle piece', 'smiling face with tear',
]);
/** Renames for names that clash with a COCO class meaning something else, or awkward labels. */
const RENAMES: Record<string, string> = {
  mouse: 'field mouse',
  'magnifying glass tilted left': 'magnifying glass',
  'magnifying glass tilted right': 'magnifying glass',
};
/** Emoji labels of COCO-65 icons that are not words for the COCO class (the bowl is drawn as cooked rice). */
const LABELS_NOT_SYNONYMS = new Set(['person standing', 'person', 'person surfing', 'snowboarder', 'cooked rice', 'couch and lamp', 'fork and knife', 'hot beverage', 'amphora', 'tangerine', 'ewe', 'bottle with popping cork', 'red apple']);
/** WordNet lemmas that are rare, archaic or another sense (checked by eye on the built table). */
const BAD_SYNONYMS = new Set([
  'banana tree', 'true cat', 'sinker', 'pearly', 'fire-eater', 'wishbone', 'beaver fur', 'notebook computer', 'boob tube',
  'goggle box', 'idiot box', 'john', 'privy', 'lav', 'charabanc', 'jitney', 'camelopard', 'pes', 'mathematician', 'physicist',
  'coder', 'fille', 'sir', 'miss', 'missy', 'glossa', 'lingua', 'rima oris', 'oral fissure', 'poulet', 'volaille', 'membranophone',
  'tympan', 'coffin nail', 'grampus', 'sea wolf', 'fondu', 'cigaret', 'mill-hand', 'educatee', 'graybeard', 'greybeard',
  'encephalon', 'oculus', 'optic', 'barrier', 'structure', 'wassailer', 'moo-cow', 'domestic dog', 'sodbuster', 'granger',
  'husbandman', 'nipper', 'tiddler', 'aguacate', 'alligator pear', 'motorcar', 'autobus', 'motorcoach', 'motortruck',
  'packsack', 'back pack', 'pizza pie', 'television receiver', 'travelling bag', 'tiddler',
]);
/** WordNet lexicographer files of physical things (noun.animal, artifact, body, food, object, person, phenomenon, plant, substance). */
const PHYSICAL_LEX = new Set([5, 6, 8, 13, 17, 18, 19, 20, 27]);

export function slugify(label: string): string {
  return label.toLowerCase().normalize('NFKD').replace(/[\u0300-\u036f]/g, '').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

/** sha1(name) read as a big-endian integer, mod 100: < 25 is novel. */
export function hashSplit(name: string): 'base' | 'novel' {
  const digest = createHash('sha1').update(name).digest('hex');
  return BigInt('0x' + digest) % 100n < 25n ? 'novel' : 'base';
}

class WordNet {
  private index = new Map<string, number[]>();
  private data: Buffer;
  constructor(dir: string) {
    for (const line of readFileSync(join(dir, 'index.noun'), 'latin1').split('\n')) {
      if (line.startsWith(' ') || line.length === 0) continue;
      const parts = line.trim().split(' ');
      const synsetCount = Number(parts[2]);
      this.index.set(parts[0], parts.slice(parts.length - synsetCount).map(Number));
    }
    this.data = readFileSync(join(dir, 'data.noun'));
  }
  private synset(offset: number): { lex: number; words: string[]; hypernyms: number[] } {
    const end = this.data.indexOf(0x0a, offset);
    const parts = this.data.toString('latin1', offset, end).split(' | ')[0].split(' ');
    const lex = Number(parts[1]);
    const wordCount = parseInt(parts[3], 16);
    const words = Array.from({ length: wordCount }, (_, i) => parts[4 + 2 * i].replace(/\(.*\)$/, ''));
    let at = 4 + 2 * wordCount;
    const pointerCount = Number(parts[at++]);
    const hypernyms: number[] = [];
    for (let i = 0; i < pointerCount; i++, at += 4) if (parts[at] === '@') hypernyms.push(Number(parts[at + 1]));
    return { lex, words, hypernyms };
  }
  private offsets(lemma: string): number[] {
    return this.index.get(lemma.toLowerCase().replace(/ /g, '_')) ?? [];
  }
  /**
   * The first synset of a physical kind for a lemma: its offset, the words whose most frequent sense it
   * is (so toilet gives lavatory, not "can"), and its first hypernym's words.
   */
  physical(lemma: string): { offset: number; words: string[]; hypernym: string[] } | undefined {
    for (const offset of this.offsets(lemma)) {
      const s = this.synset(offset);
      if (!PHYSICAL_LEX.has(s.lex)) continue;
      const hypernym = s.hypernyms.length > 0 ? this.synset(s.hypernyms[0]).words : [];
      const clean = (w: string[]) => w.filter((x) => x === x.toLowerCase()).map((x) => x.replace(/_/g, ' '));
      return { offset, words: clean(s.words).filter((w) => this.offsets(w)[0] === offset), hypernym: clean(hypernym) };
    }
    return undefined;
  }
  /** Whether the most frequent sense of `word` is `offset` or a kind of it (hyponym up to `depth` levels: puppy → dog). */
  isKindOf(word: string, offset: number, depth = 2): boolean {
    const first = this.offsets(word)[0];
    if (first === undefined) return false;
    let frontier = [first];
    for (let level = 0; level <= depth; level++) {
      if (frontier.includes(offset)) return true;
      frontier = frontier.flatMap((o) => this.synset(o).hypernyms);
    }
    return false;
  }
}

function loadSet(style: StyleName): { set: IconSet; chars: Record<string, string> } {
  const pkg = STYLES[style].package;
  const set = require(`${pkg}/icons.json`) as IconSet;
  let chars: Record<string, string> = {};
  try {
    chars = require(`${pkg}/chars.json`) as Record<string, string>;
  } catch {
    // noto-v1, fxemoji and fluent-emoji have no chars.json: joined by name.
  }
  return { set, chars };
}

/** The icon of `slug` in a set: by name, or (fxemoji) by the name without hyphens. */
function findIcon(style: StyleName, set: IconSet, slug: string): string | undefined {
  const has = (n: string) => n in set.icons || (set.aliases !== undefined && n in set.aliases);
  if (has(slug)) return slug;
  if (style === 'fxemoji' && has(slug.replace(/-/g, ''))) return slug.replace(/-/g, '');
  return undefined;
}

/** A concept in the making: the emoji merged under one name, before words and icons are chosen. */
interface Raw { name: string; labels: string[]; emoji: string[]; hexcodes: string[]; tags: string[]; keywords: string[]; group: string; subgroup: string; order: number }

type Sets = Record<StyleName, ReturnType<typeof loadSet>>;

/** The packages and WordNet the table is built from. */
interface Sources {
  data: EmojibaseEntry[];
  meta: { groups: Record<string, string>; subgroups: Record<string, string> };
  emojilib: Record<string, string[]>;
  sets: Sets;
  wordnet: WordNet;
}

/** Reads emojibase-data, emojilib, every style's icon set and WordNet. */
function loadSources(wordnetDir: string): Sources {
  const data = require('emojibase-data/en/data.json') as EmojibaseEntry[];
  const meta = require('emojibase-data/meta/groups.json') as Sources['meta'];
  const emojilib = require('emojilib/dist/emoji-en-US.json') as Record<string, string[]>;
  const sets = Object.fromEntries(STYLE_NAMES.map((s) => [s, loadSet(s)])) as Sets;
  return { data, meta, emojilib, sets, wordnet: new WordNet(wordnetDir) };
}

/** The emojibase entries kept as objects (in emojibase order), each with its concept name ("X face" → "X", renames). */
function selectEntries(src: Sources): { e: EmojibaseEntry; name: string; group: string; subgroup: string }[] {
  const entries = src.data.filter((e) => e.group !== undefined && e.subgroup !== undefined).sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
  const selected: { e: EmojibaseEntry; name: string; group: string; subgroup: string }[] = [];
  for (const e of entries) {
    const group = src.meta.groups[String(e.group)];
    const subgroup = src.meta.subgroups[String(e.subgroup)];
    const label = e.label.toLowerCase();
    const keep = KEEP_GROUPS.has(group) ? subgroup !== 'place-map' && (subgroup !== 'time' || KEEP_TIME.has(label)) : group === 'people-body' && KEEP_PEOPLE.has(subgroup);
    if (!keep || label.includes(':') || NON_OBJECTS.has(label)) continue;
    if (subgroup === 'sky-weather' && /moon/.test(label)) continue;
    if (/^(man|woman|men|women|old man|old woman|older man|older woman)\b./.test(label) && label !== 'man' && label !== 'woman') continue;
    if (/^(man|woman) (with|in|wearing)/.test(label)) continue;
    let name = label.replace(/\s+face$/, '');
    name = RENAMES[name] ?? name;
    selected.push({ e, name, group, subgroup });
  }
  return selected;
}

/** Step 1: the emoji pool, entries of one name merged (labels, emoji, hexcodes, tags, emojilib keywords). */
function emojiPool(src: Sources): Map<string, Raw> {
  const pool = new Map<string, Raw>();
  for (const { e, name, group, subgroup } of selectEntries(src)) {
    const raw = pool.get(name) ?? { name, labels: [], emoji: [], hexcodes: [], tags: [], keywords: [], group, subgroup, order: e.order ?? 0 };
    raw.labels.push(e.label.toLowerCase());
    raw.emoji.push(e.emoji);
    raw.hexcodes.push(e.hexcode.toLowerCase());
    raw.tags.push(...(e.tags ?? []));
    const lib = src.emojilib[e.emoji] ?? src.emojilib[e.emoji.replace(/\uFE0F/g, '')] ?? [];
    raw.keywords.push(...lib.slice(1).map((k) => k.replace(/_/g, ' ')));
    pool.set(name, raw);
  }
  return pool;
}

/** Step 2: icons per style (mdi aside), by code point (chars.json) and by the label's slug. */
function iconsOf(raw: { labels: string[]; hexcodes: string[] }, sets: Sets): Partial<Record<StyleName, string[]>> {
  const out: Partial<Record<StyleName, string[]>> = {};
  for (const style of STYLE_NAMES) {
    if (style === 'mdi') continue;
    const { set, chars } = sets[style];
    const found = new Set<string>();
    raw.labels.forEach((label, i) => {
      const hex = raw.hexcodes[i];
      const byChar = chars[hex] ?? chars[hex.replace(/-fe0f/g, '')];
      const name = (byChar !== undefined ? findIcon(style, set, byChar) : undefined) ?? findIcon(style, set, slugify(label));
      if (name !== undefined) found.add(name);
    });
    if (found.size > 0) out[style] = [...found];
  }
  return out;
}

/** Merges `other`'s emoji and words into `raw`, which takes its group and subgroup. */
function absorb(raw: Raw, other: Raw): void {
  raw.labels.push(...other.labels);
  raw.emoji.push(...other.emoji);
  raw.hexcodes.push(...other.hexcodes);
  raw.tags.push(...other.tags);
  raw.keywords.push(...other.keywords);
  raw.group = other.group;
  raw.subgroup = other.subgroup;
}

/** Step 3: COCO-65 classes take over (and remove from the pool) the emoji whose icon (slug) defines them, and pool concepts of the same name. */
function takeCocoEmoji(pool: Map<string, Raw>, src: Sources): Map<string, Raw> {
  const bySlug = new Map<string, string>();
  for (const raw of pool.values()) for (const label of raw.labels) bySlug.set(slugify(label), raw.name);
  const cocoRaw = new Map<string, Raw>();
  for (const c of COCO65) {
    const raw: Raw = { name: c.name, labels: [], emoji: [], hexcodes: [], tags: [], keywords: [], group: 'objects', subgroup: 'household', order: -1 };
    for (const icon of c.icons) {
      if (icon.startsWith('mdi:')) continue;
      const owner = bySlug.get(icon);
      if (owner !== undefined && pool.has(owner)) {
        absorb(raw, pool.get(owner)!);
        pool.delete(owner);
      } else {
        // Outside the pool's subgroups (person-standing, person-surfing, snowboarder): take the emojibase entry.
        const e = src.data.find((d) => slugify(d.label) === icon);
        if (e === undefined) throw new Error(`COCO-65 icon ${icon} of ${c.name} is not an emojibase label`);
        absorb(raw, { name: c.name, labels: [e.label.toLowerCase()], emoji: [e.emoji], hexcodes: [e.hexcode.toLowerCase()], tags: e.tags ?? [], keywords: (src.emojilib[e.emoji] ?? []).slice(1), group: src.meta.groups[String(e.group)], subgroup: src.meta.subgroups[String(e.subgroup)], order: -1 });
      }
    }
    const same = pool.get(c.name);
    if (same !== undefined) {
      absorb(raw, same);
      pool.delete(c.name);
    }
    cocoRaw.set(c.name, raw);
  }
  return cocoRaw;
}

/** Step 4: a concept's words: synonyms that are specific physical nouns found in no other concept's words, and hypernyms. */
function wordsOf(cocoRaw: Map<string, Raw>, pool: Map<string, Raw>, wordnet: WordNet): (r: Raw) => { synonyms: string[]; hypernyms: string[] } {
  const all = [...cocoRaw.values(), ...pool.values()];
  const names = new Set(all.map((r) => r.name));
  const wordCount = new Map<string, number>();
  for (const r of all) for (const w of new Set([...r.tags, ...r.keywords].map((w) => w.toLowerCase()))) wordCount.set(w, (wordCount.get(w) ?? 0) + 1);
  return (r: Raw) => {
    const synonyms = new Set<string>();
    const hypernyms = new Set<string>();
    const main = wordnet.physical(r.name);
    if (main !== undefined) {
      main.words.forEach((w) => synonyms.add(w));
      main.hypernym.slice(0, 2).forEach((w) => hypernyms.add(w));
    }
    // The COCO classes' emoji labels (automobile, television, doughnut), unless they name something else.
    if (cocoRaw.has(r.name)) for (const label of r.labels) if (!LABELS_NOT_SYNONYMS.has(label) && !label.endsWith(' face')) synonyms.add(label);
    for (const w of new Set([...r.tags, ...r.keywords].map((w) => w.toLowerCase()))) {
      if (main === undefined || wordCount.get(w) !== 1 || w.length < 3 || !/^[a-z][a-z -]*$/.test(w)) continue;
      if (wordnet.isKindOf(w, main.offset)) synonyms.add(w);
    }
    for (const w of [...synonyms]) if (BAD_SYNONYMS.has(w) || w === r.name || (names.has(w) && w !== r.name) || w.length < 3) synonyms.delete(w);
    for (const w of [...hypernyms]) if (names.has(w)) hypernyms.delete(w);
    return { synonyms: [...synonyms].sort(), hypernyms: [...hypernyms] };
  };
}

/** A COCO-65 class's icons: the benchmark's icons first in each style; mdi icons are the class's only drawing; a crop keeps only the defining icon. */
function cocoIcons(c: Coco65Class, raw: Raw, sets: Sets): Partial<Record<StyleName, string[]>> {
  const icons = iconsOf(raw, sets);
  for (const icon of c.icons) {
    if (icon.startsWith('mdi:')) {
      icons.mdi = [...(icons.mdi ?? []), icon.slice(4)];
      continue;
    }
    for (const style of STYLE_NAMES) {
      if (style === 'mdi') continue;
      const name = findIcon(style, sets[style].set, icon);
      if (name === undefined) continue;
      icons[style] = [name, ...(icons[style] ?? []).filter((n) => n !== name)];
    }
  }
  if (c.crop !== undefined) for (const style of STYLE_NAMES) if (icons[style] !== undefined) icons[style] = icons[style]!.filter((n) => findIcon(style, sets[style].set, c.icons[0]) === n);
  return icons;
}

/** Step 5: the COCO-65 concepts (COCO ids, in COCO65 order), then the pool's drawable ones (ids from 101, emojibase order). */
function toConcepts(cocoRaw: Map<string, Raw>, pool: Map<string, Raw>, sets: Sets, words: ReturnType<typeof wordsOf>): Concept[] {
  const concepts: Concept[] = [];
  for (const c of COCO65) {
    const raw = cocoRaw.get(c.name)!;
    const icons = cocoIcons(c, raw, sets);
    concepts.push({
      id: c.cocoId, name: c.name, split: c.split, coco65: true, group: raw.group, subgroup: raw.subgroup, emoji: raw.emoji,
      ...words(raw), tags: [...new Set(raw.tags)], keywords: [...new Set(raw.keywords)], icons, ...(c.crop ? { crop: c.crop } : {}),
    });
  }
  let nextId = 101;
  for (const raw of [...pool.values()].sort((a, b) => a.order - b.order)) {
    const icons = iconsOf(raw, sets);
    if (Object.keys(icons).filter((s) => !STYLES[s as StyleName].heldOut).length === 0) continue; // not drawable in any training style
    concepts.push({
      id: nextId++, name: raw.name, split: hashSplit(raw.name), coco65: false, group: raw.group, subgroup: raw.subgroup, emoji: raw.emoji,
      ...words(raw), tags: [...new Set(raw.tags)], keywords: [...new Set(raw.keywords)], icons,
    });
  }
  return concepts;
}

/** The versions of the packages the table was built from, and WordNet's. */
function sourceVersions(): Record<string, string> {
  const sources: Record<string, string> = {};
  for (const pkg of ['emojibase-data', 'emojilib', ...STYLE_NAMES.map((s) => STYLES[s].package)]) {
    sources[pkg] = (require(`${pkg}/package.json`) as { version: string }).version;
  }
  sources['wordnet-base (Debian)'] = '3.0';
  return sources;
}

/** The concept table from the installed packages and the WordNet database in `wordnetDir`. */
export function buildConcepts(wordnetDir: string): ConceptTable {
  const src = loadSources(wordnetDir);
  const pool = emojiPool(src);
  const cocoRaw = takeCocoEmoji(pool, src);
  const concepts = toConcepts(cocoRaw, pool, src.sets, wordsOf(cocoRaw, pool, src.wordnet));
  return { version: 1, sources: sourceVersions(), concepts };
}

export const DEFAULT_CONCEPTS_PATH = join(here, 'concepts.json');

export function readConcepts(path = DEFAULT_CONCEPTS_PATH): ConceptTable {
  return JSON.parse(readFileSync(path, 'utf8')) as ConceptTable;
}

/** The table as written: one concept per line, so diffs stay readable. */
export function formatConcepts(table: ConceptTable): string {
  return `{"version":${table.version},"sources":${JSON.stringify(table.sources)},"concepts":[\n${table.concepts.map((c) => JSON.stringify(c)).join(',\n')}\n]}\n`;
}

function main(argv: string[]): void {
  let out = DEFAULT_CONCEPTS_PATH;
  let wordnet = '/usr/share/wordnet';
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') out = argv[++i];
    else if (argv[i] === '--wordnet') wordnet = argv[++i];
    else throw new Error(`Unknown option ${argv[i]} (expected --out FILE, --wordnet DIR)`);
  }
  if (!existsSync(join(wordnet, 'index.noun'))) throw new Error(`Expected WordNet's index.noun in ${wordnet} (apt-get install wordnet-base) but it is missing.`);
  const table = buildConcepts(wordnet);
  writeFileSync(out, formatConcepts(table));
  const c = table.concepts;
  const perStyle = STYLE_NAMES.map((s) => `${s} ${c.filter((x) => x.icons[s] !== undefined).length}`).join(', ');
  console.log(`${c.length} concepts (${c.filter((x) => x.split === 'base').length} base / ${c.filter((x) => x.split === 'novel').length} novel) → ${out}`);
  console.log(`concepts per style: ${perStyle}`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) main(process.argv.slice(2));
