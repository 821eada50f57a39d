import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { extractPhrases, parseVocab, singularize, InvalidInputError } from '../../src/index.js';
import { readGold, scorePhrases } from '../../bench/phrase-score.js';
import { repoRoot, sharedGoldenDir, SKIP_NO_SHARED } from '../helpers/golden.js';

const phrases = (text: string) => extractPhrases(text).map((p) => p.phrase);
const concepts = (text: string) => extractPhrases(text).map((p) => p.concept);

describe('extractPhrases', () => {
  it('keeps modifiers in phrases and reduces concepts to the head or a fixed compound', () => {
    expect(extractPhrases('A woman in a red jacket waits at a traffic light.')).toEqual([
      { phrase: 'woman', concept: 'woman' },
      { phrase: 'red jacket', concept: 'jacket' },
      { phrase: 'traffic light', concept: 'traffic light' },
    ]);
    expect(concepts('a teddy bear next to a fire hydrant')).toEqual(['teddy bear', 'fire hydrant']);
  });

  it('splits at "of" for portions and drops collective nouns', () => {
    expect(phrases('a slice of pizza on a plate')).toEqual(['slice', 'pizza', 'plate']);
    expect(phrases('a group of people near a row of parked cars')).toEqual(['person', 'parked car']);
  });

  it('singularizes the head, irregular plurals included, and keeps plural-only nouns', () => {
    expect(concepts('three mice and two geese')).toEqual(['mouse', 'goose']);
    expect(singularize('people')).toBe('person');
    expect(singularize('knives')).toBe('knife');
    expect(singularize('scissors')).toBe('scissors');
    expect(singularize('sheep')).toBe('sheep');
  });

  it('drops pronouns, image words, time and relational nouns', () => {
    expect(phrases('It was a great day, and the view of the harbor was amazing.')).toEqual(['harbor']);
    expect(phrases('a photo of a cat on top of a car at sunset')).toEqual(['cat', 'car']);
    expect(phrases('something to sit on')).toEqual([]);
  });

  it('splits possessives and coordination, keeps coordinated adjectives', () => {
    expect(phrases("the woman's handbag")).toEqual(['woman', 'handbag']);
    expect(phrases('knife, fork or spoon?')).toEqual(['knife', 'fork', 'spoon']);
    expect(phrases('a brown and white cow')).toEqual(['brown and white cow']);
  });

  it('de-duplicates phrases but keeps one entry per distinct phrase', () => {
    expect(extractPhrases('a black dog chases a white dog and a black dog')).toEqual([
      { phrase: 'black dog', concept: 'dog' },
      { phrase: 'white dog', concept: 'dog' },
    ]);
  });

  it('counts a phrase when a number comes right before it (mine\'s per-phrase quota), keeping the larger of repeats', () => {
    expect(extractPhrases('there are five donuts and 3 cats next to a dog')).toEqual([
      { phrase: 'donut', concept: 'donut', count: 5 },
      { phrase: 'cat', concept: 'cat', count: 3 },
      { phrase: 'dog', concept: 'dog' },
    ]);
    expect(extractPhrases('a dog and two dogs')).toEqual([{ phrase: 'dog', concept: 'dog', count: 2 }]);
    expect(extractPhrases('the first dog, 1.5 apples')).toEqual([{ phrase: 'dog', concept: 'dog' }, { phrase: 'apple', concept: 'apple' }]);
  });

  it('never crashes on odd text', () => {
    for (const t of ['', '   ', '🐶🐱', '猫がソファの上にいる', '\u0000\u0007\ufeff', '!!!???', 'ÇA VA?', 'x'.repeat(2000)]) {
      expect(Array.isArray(extractPhrases(t))).toBe(true);
    }
    expect(phrases('cute puppy 🐶 playing with a ball ⚽')).toEqual(['cute puppy', 'ball']);
    expect(() => extractPhrases(null as unknown as string)).toThrow(InvalidInputError);
  });

  it('reads words named like Object.prototype members as plain words (the irregular-singular table is a Map)', () => {
    expect(phrases('a constructor sits on the valueOf')).toEqual(['constructor', 'valueof']);
    expect(singularize('constructor')).toBe('constructor');
    expect(singularize('toString')).toBe('tostring');
  });
});

// Headline-style captions (no determiners, present-tense verbs) and single words, as alt-text and
// CC3M-like captions give them: the nouns survive and the verbs do not. Heads are singularized as
// everywhere ("bikes" → bike); time words ("sunset") and collective nouns are dropped as everywhere.
const HEADLINES: [string, string[]][] = [
  ['chair', ['chair']],
  ['bikes', ['bike']],
  ['Bike', ['bike']],
  ['Cat', ['cat']],
  ['Apples', ['apple']],
  ['traffic light', ['traffic light']],
  ['Man flies kite on beach.', ['man', 'kite', 'beach']],
  ['Man flies kites on beach', ['man', 'kite', 'beach']],
  ['Train crosses bridge over river.', ['train', 'bridge', 'river']],
  ['Dog catches frisbee in park', ['dog', 'frisbee', 'park']],
  ['Woman riding bicycle', ['woman', 'bicycle']],
  ['Red car parked near house', ['red car', 'house']],
  ['Sunset over mountains', ['mountain']],
  ['Two dogs playing', ['dog']],
  ['Boy kicks ball', ['boy', 'ball']],
  ['Girl eats ice cream', ['girl', 'ice cream']],
  ['Chef slices tomatoes in kitchen', ['chef', 'tomato', 'kitchen']],
  ['Cyclist rides past old church', ['cyclist', 'old church']],
  ['Plane lands at airport', ['plane', 'airport']],
  ['Kids fly kites in park', ['kid', 'kite', 'park']],
  ['Waves crash against rocks', ['wave', 'rock']],
  ['Snow covers trees', ['snow', 'tree']],
  ['Old man reading newspaper on bench', ['old man', 'newspaper', 'bench']],
  ['Man and woman walk on beach', ['man', 'woman', 'beach']],
  ['Boat sails on lake', ['boat', 'lake']],
  ['Bear catches fish in river', ['bear', 'fish', 'river']],
  ['Cat sleeping on sofa', ['cat', 'sofa']],
  ['Yellow taxi waits at crosswalk', ['yellow taxi', 'crosswalk']],
  ['Boy feeds ducks at pond', ['boy', 'duck', 'pond']],
  ['Firefighters spray water on burning house', ['firefighter', 'water', 'burning house']],
  ['Child hugs teddy bear', ['child', 'teddy bear']],
  ['Students sit at desks', ['student', 'desk']],
  ['Farmer drives tractor through field', ['farmer', 'tractor', 'field']],
  ['Lighthouse on rocky coast', ['lighthouse', 'rocky coast']],
  ['Girl with balloon', ['girl', 'balloon']],
  ['Cat chases mouse', ['cat', 'mouse']],
  ['Mother hugs child', ['mother', 'child']],
  ['Woman waters plants', ['woman', 'plant']],
  ['Waves hit shore', ['wave', 'shore']],
  ['Smoke rises from chimney', ['smoke', 'chimney']],
  ['Bridge over river', ['bridge', 'river']],
  // without an object, a bare noun before a plural is its modifier, not a subject
  ['work boots', ['work boot']],
  ['Flower pots on windowsill', ['flower pot', 'windowsill']],
  // an instruction is not a subject: "find" stays a verb
  ['find chairs in room', ['chair', 'room']],
  ['show cats on sofa', ['cat', 'sofa']],
];

describe('headline captions and single words', () => {
  it(`holds ${HEADLINES.length} captions`, () => expect(HEADLINES.length).toBeGreaterThanOrEqual(20));
  it.each(HEADLINES)('%j → %j', (text, expected) => expect(phrases(text)).toEqual(expected));
});

describe('parseVocab', () => {
  it('takes entries verbatim: trimmed, de-duplicated, case kept', () => {
    expect(parseVocab(' person, Traffic Light;dog\nperson\r\n traffic light ')).toEqual(['person', 'Traffic Light', 'dog']);
    expect(parseVocab(['red car, blue car', 'the dogs'])).toEqual(['red car', 'blue car', 'the dogs']);
  });

  it('rejects an empty or separator-only list with a typed error', () => {
    for (const bad of ['', '  ', ',;,\n', []]) expect(() => parseVocab(bad as string)).toThrow(InvalidInputError);
    expect(() => parseVocab(', ,')).toThrow(/Expected at least one non-empty entry .* for the vocabulary but received/);
  });
});

// A twin set written to the same rules (fixtures/phrases/twin.jsonl, labelled before tuning against
// it); it is committed, so this always runs.
describe('phrase twin set (fixtures/phrases/twin.jsonl)', () => {
  // Reached 1.000 / 1.000 (was 0.967 / 0.967 before the fixes); asserted with a small margin.
  it('concept F1 ≥ 0.98 and phrase F1 ≥ 0.97 (micro-averaged)', () => {
    const score = scorePhrases(readGold(join(repoRoot, 'fixtures', 'phrases', 'twin.jsonl')));
    expect(score.items).toBe(80);
    expect(score.concept.f1).toBeGreaterThanOrEqual(0.98);
    expect(score.phrase.f1).toBeGreaterThanOrEqual(0.97);
  });

  it('handles the error classes the twin set exposed', () => {
    expect(phrases('Knives, forks and spoons are laid out on a dining table.')).toEqual(['knife', 'fork', 'spoon', 'dining table']);
    expect(phrases('A mother and her child feed ducks at the edge of a lake.')).toEqual(['mother', 'child', 'duck', 'lake']);
    expect(phrases('A batter swings at the ball as the catcher and the umpire watch.')).toEqual(['batter', 'ball', 'catcher', 'umpire']);
    expect(phrases('A fire hydrant painted yellow sits on the sidewalk.')).toEqual(['fire hydrant', 'sidewalk']);
    expect(phrases("The man's left hand rests on a leather armrest.")).toEqual(['man', 'left hand', 'leather armrest']);
    expect(phrases('find the ride-on mower')).toEqual(['ride-on mower']);
    expect(phrases('Dozens of colorful umbrellas line the sandy beach.')).toEqual(['colorful umbrella', 'sandy beach']);
    expect(phrases('A woman reads a book about the history of Paris.')).toEqual(['woman', 'book']);
    expect(phrases('A yellow New York taxi waits at a crosswalk.')).toEqual(['yellow new york taxi', 'crosswalk']);
    expect(phrases('birds fly overhead')).toEqual(['bird']);
    expect(phrases('Boats float in the harbor at sunrise.')).toEqual(['boat', 'harbor']);
    expect(phrases('A sandwich cut in half on a plate.')).toEqual(['sandwich', 'plate']);
    expect(concepts('a picnic table at a busy train station')).toEqual(['table', 'station']);
    expect(phrases('a football and a water bottle – lying on the pavement')).toEqual(['football', 'water bottle', 'pavement']);
  });
});

// The gold set lives in ../shared; scored micro-averaged by exact string (bench/phrase-score.ts).
const goldPath = sharedGoldenDir === null ? null : join(sharedGoldenDir, 'phrases', 'phrases.jsonl');
describe.skipIf(goldPath === null)('phrase gold set (../shared/golden/phrases)', () => {
  if (goldPath === null) { it.skip(SKIP_NO_SHARED, () => {}); return; }
  it('concept F1 ≥ 0.97 and phrase F1 ≥ 0.95 (micro-averaged)', () => {
    const score = scorePhrases(readGold(goldPath));
    console.log(
      `phrases gold: concept P ${score.concept.precision.toFixed(3)} R ${score.concept.recall.toFixed(3)} F1 ${score.concept.f1.toFixed(3)}; ` +
        `phrase P ${score.phrase.precision.toFixed(3)} R ${score.phrase.recall.toFixed(3)} F1 ${score.phrase.f1.toFixed(3)}`,
    );
    expect(score.concept.f1).toBeGreaterThanOrEqual(0.97);
    expect(score.phrase.f1).toBeGreaterThanOrEqual(0.95);
  });
});
