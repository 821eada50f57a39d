/**
 * Captions for a scene: varied templates over the scene's objects grouped by concept, with counts
 * ("two bicycles"), synonyms, one spatial relation computed from the boxes, and the background
 * phrase ("two bicycles next to a guitar on the grass"). Every concept drawn is named once, so a
 * caption names exactly the scene's concepts (the smoke test checks this through `phrases`).
 */
import type { Rng } from './backgrounds.js';

export interface CaptionGroup {
  /** The word used for the concept in this caption (name or synonym), singular. */
  word: string;
  count: number;
  /** Mean box centre, for relations. */
  cx: number;
  cy: number;
}

const NUMBERS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six'];
const IRREGULAR: Record<string, string> = {
  person: 'people', mouse: 'mice', man: 'men', woman: 'women', child: 'children', foot: 'feet', tooth: 'teeth', goose: 'geese',
  sheep: 'sheep', fish: 'fish', deer: 'deer', bison: 'bison', knife: 'knives', leaf: 'leaves', shelf: 'shelves', wolf: 'wolves',
  loaf: 'loaves', scarf: 'scarves', moose: 'moose', sushi: 'sushi', rice: 'rice', tofu: 'tofu', broccoli: 'broccoli', ox: 'oxen',
};
/** Nouns that are plural already: "a pair of skis", "two pairs of skis". */
const PAIRS = new Set(['skis', 'scissors', 'glasses', 'sunglasses', 'goggles', 'jeans', 'shorts', 'chopsticks', 'gloves', 'socks', 'ballet shoes', 'pair of scissors']);
const PREPOSITIONS = [' with ', ' of ', ' in ', ' on ', ' and ', ' for '];

function pluralWord(word: string): string {
  if (IRREGULAR[word] !== undefined) return IRREGULAR[word];
  if (/(s|x|z|ch|sh)$/.test(word)) return word + 'es';
  if (/[^aeiou]y$/.test(word)) return word.slice(0, -1) + 'ies';
  return word + 's';
}

/** Plural of a (multi-word) noun phrase: the head is the last word before a preposition. */
export function plural(phrase: string): string {
  for (const p of PREPOSITIONS) {
    const at = phrase.indexOf(p);
    if (at > 0) return plural(phrase.slice(0, at)) + phrase.slice(at);
  }
  const words = phrase.split(' ');
  words[words.length - 1] = pluralWord(words[words.length - 1]);
  return words.join(' ');
}

function article(phrase: string): string {
  return /^[aeiou]/.test(phrase) && !/^(uni|eu|one)/.test(phrase) ? `an ${phrase}` : `a ${phrase}`;
}

/** "a dog", "two dogs", "a pair of skis", "three pairs of skis". */
export function countPhrase(word: string, count: number): string {
  if (PAIRS.has(word)) return count === 1 ? `a pair of ${word.replace(/^pair of /, '')}` : `${NUMBERS[count]} pairs of ${word.replace(/^pair of /, '')}`;
  return count === 1 ? article(word) : `${NUMBERS[Math.min(count, 6)]} ${plural(word)}`;
}

function list(items: string[]): string {
  if (items.length === 1) return items[0];
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function relation(a: CaptionGroup, b: CaptionGroup): string {
  const dx = b.cx - a.cx, dy = b.cy - a.cy;
  if (Math.abs(dy) > 1.5 * Math.abs(dx)) return dy > 0 ? 'above' : 'below';
  if (Math.abs(dx) > 1.5 * Math.abs(dy)) return dx > 0 ? 'to the left of' : 'to the right of';
  return 'next to';
}

/** One caption for the groups (1..6) and the background phrase. */
export function makeCaption(rng: Rng, groups: CaptionGroup[], backgroundPhrase: string): string {
  const phrases = groups.map((g) => countPhrase(g.word, g.count));
  const all = list(phrases);
  const t = rng.int(0, groups.length >= 2 ? 9 : 6);
  switch (t) {
    case 0: return all;
    case 1: return `${all} ${backgroundPhrase}`;
    case 2: return `a picture of ${all}`;
    case 3: return `a photo of ${all} ${backgroundPhrase}`;
    case 4: return `there ${groups.length === 1 && groups[0].count === 1 ? 'is' : 'are'} ${all} ${backgroundPhrase}`;
    case 5: return `${backgroundPhrase}: ${all}`;
    case 6: return `an illustration of ${all}`;
    default: {
      // A relation between the first two groups; the rest listed after "with".
      const [a, b] = [groups[0], groups[1]];
      const rel = `${phrases[0]} ${relation(a, b)} ${phrases[1]}`;
      const rest = phrases.slice(2);
      const tail = rest.length > 0 ? ` with ${list(rest)}` : '';
      return t === 7 ? `${rel}${tail}` : `${rel}${tail} ${backgroundPhrase}`;
    }
  }
}
