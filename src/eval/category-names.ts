/**
 * The one rule that matches a label to a COCO category name, used wherever a name stands for a
 * category id: `detect --coco-gt` (a detection label → the ground truth's category, io/coco-export.ts)
 * and `eval --split` (a split entry → the ground truth's category, `resolveSplit` in ./cocoeval.ts).
 *
 * Two names match when their keys are equal (`categoryNameKey`): Unicode NFC, every run of
 * whitespace one space, the ends trimmed, letters lowercased. Nothing else is folded: hyphens,
 * punctuation and plurals tell names apart ("t-shirt" ≠ "t shirt", "dogs" ≠ "dog").
 * A name that matches no category, or two or more (the ground truth has "dog" and "Dog"), is an
 * `InvalidInputError` (exit code 3); the ambiguous case names every id it matched, never picks one.
 */
import { invalidInput } from '../errors.js';
import { closestMatch } from '../util/suggest.js';
import type { CocoCategory } from './coco-format.js';

/** What the rule compares: NFC, whitespace runs → one space, trimmed, lowercase. */
export function categoryNameKey(name: string): string {
  return name.normalize('NFC').replace(/\s+/gu, ' ').trim().toLowerCase().normalize('NFC');
}

/** How the rule is worded in an ambiguity error. */
const RULE = 'names match ignoring case, spacing and Unicode form';

/**
 * A lookup of category ids by name over `categories` (from `source`: "the ground truth", a file
 * path). The returned function takes a name and the field it came from (for messages, e.g.
 * "split novel[0]") and returns the id of the one category whose name matches, or throws.
 * `ambiguityHint` ends the ambiguity message with what the user can do ("give the id instead").
 */
export function categoryMatcher(
  categories: readonly Pick<CocoCategory, 'id' | 'name'>[],
  source: string,
  ambiguityHint = 'rename one of them',
): (name: string, field: string) => number {
  const byKey = new Map<string, Pick<CocoCategory, 'id' | 'name'>[]>();
  for (const c of categories) {
    const key = categoryNameKey(c.name);
    byKey.set(key, [...(byKey.get(key) ?? []), c]);
  }
  return (name, field) => {
    const found = byKey.get(categoryNameKey(name));
    if (found === undefined) {
      const suggestion = closestMatch(categoryNameKey(name), byKey.keys());
      const suggested = suggestion === undefined ? '' : ` (did you mean ${JSON.stringify(byKey.get(suggestion)![0].name)}?)`;
      throw invalidInput(`the name of a category in ${source}`, field, `${JSON.stringify(name)}${suggested}`);
    }
    if (found.length > 1) {
      const ids = found.map((c) => `${c.id} (${JSON.stringify(c.name)})`);
      const listed = ids.length === 2 ? ids.join(' and ') : `${ids.slice(0, -1).join(', ')} and ${ids[ids.length - 1]}`;
      throw invalidInput(`a name that matches one category in ${source} (${RULE})`, field, `${JSON.stringify(name)}, which matches ids ${listed} (${ambiguityHint})`);
    }
    return found[0].id;
  };
}
