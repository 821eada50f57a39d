import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/errors.js';
import { categoryMatcher, categoryNameKey } from '../../src/eval/category-names.js';

// The one rule that matches a label to a COCO category name (detect --coco-gt, eval --split):
// Unicode NFC, whitespace runs collapsed to one space, ends trimmed, lowercase.
describe('categoryNameKey', () => {
  it.each([
    ['traffic light', 'traffic light'],
    ['Traffic Light', 'traffic light'],
    ['  traffic   light ', 'traffic light'],
    ['traffic\tlight\n', 'traffic light'],
    ['traffic\u00a0light', 'traffic light'], // no-break space
    ['TRAFFIC LIGHT', 'traffic light'],
    ['cafe\u0301', 'caf\u00e9'], // NFD → NFC
    ['CAF\u00c9', 'caf\u00e9'],
    ['\u212bngstr\u00f6m', '\u00e5ngstr\u00f6m'], // the Angstrom sign is NFC Å
  ])('%j → %j', (name, key) => expect(categoryNameKey(name)).toBe(key));

  it('keeps what tells two names apart: hyphens, plurals, punctuation', () => {
    expect(categoryNameKey('t-shirt')).not.toBe(categoryNameKey('t shirt'));
    expect(categoryNameKey('dogs')).not.toBe(categoryNameKey('dog'));
    expect(categoryNameKey('hair drier')).not.toBe(categoryNameKey('hair dryer'));
  });
});

describe('categoryMatcher', () => {
  const categories = [{ id: 3, name: 'dog' }, { id: 5, name: 'Traffic Light' }, { id: 8, name: 'caf\u00e9' }, { id: 11, name: 'cat' }];
  const idOf = categoryMatcher(categories, 'gt.json');

  it('finds the one category a label names under the rule', () => {
    expect(idOf('dog', 'the label "dog"')).toBe(3);
    expect(idOf('DOG', 'x')).toBe(3);
    expect(idOf(' traffic  light', 'x')).toBe(5);
    expect(idOf('cafe\u0301', 'x')).toBe(8);
  });

  it('an unknown name is an InvalidInputError (exit 3) with a suggestion', () => {
    expect(() => idOf('dogs', 'the detection label')).toThrow(InvalidInputError);
    expect(() => idOf('dogs', 'the detection label')).toThrow('Expected the name of a category in gt.json for the detection label but received "dogs" (did you mean "dog"?).');
    expect(() => idOf('zebra', 'split novel[2]')).toThrow('Expected the name of a category in gt.json for split novel[2] but received "zebra".');
  });

  it('a label that matches two categories is ambiguous: an error naming both ids, never the first silently', () => {
    const dup = categoryMatcher([{ id: 4, name: 'person' }, { id: 7, name: 'dog' }, { id: 9, name: 'Dog ' }, { id: 12, name: 'D\u200bog' }], 'gt.json');
    expect(() => dup('dog', 'the detection label')).toThrow(InvalidInputError);
    expect(() => dup('dog', 'the detection label')).toThrow(
      'Expected a name that matches one category in gt.json (names match ignoring case, spacing and Unicode form) for the detection label but received "dog", which matches ids 7 ("dog") and 9 ("Dog ") (rename one of them).',
    );
    // ambiguity is per label: another label of the same file resolves
    expect(dup('PERSON', 'x')).toBe(4);
    const three = categoryMatcher([{ id: 1, name: 'cup' }, { id: 2, name: 'Cup' }, { id: 3, name: 'CUP' }], 'the ground truth', 'give the id instead');
    expect(() => three('cup', 'split base[0]')).toThrow('for split base[0] but received "cup", which matches ids 1 ("cup"), 2 ("Cup") and 3 ("CUP") (give the id instead).');
  });
});
