import { describe, expect, it } from 'vitest';
import { extractPhrases, phraseRulesFired } from '../../src/text/phrases.js';
import { DROP_RULES, SENTENCE_RULES, TERM_RULES, type RuleDoc } from '../../src/text/phrase-rules.js';

// Every rule of the chunker's tables carries an example sentence and the phrases it gives: the
// example must give exactly those phrases, and the rule must be one that fired on it (so an
// example that no longer exercises its rule is caught, not only one whose output changed).
const tables: [string, readonly RuleDoc[]][] = [
  ['SENTENCE_RULES', SENTENCE_RULES],
  ['TERM_RULES', TERM_RULES],
  ['DROP_RULES', DROP_RULES],
];
const all = tables.flatMap(([table, rules]) => rules.map((rule) => ({ table, ...rule })));

describe('phrase rule tables', () => {
  it('hold 4 sentence, 19 term and 6 drop rules with unique names and one-line descriptions', () => {
    expect(tables.map(([, rules]) => rules.length)).toEqual([4, 19, 6]);
    expect(new Set(all.map((r) => r.name)).size).toBe(all.length);
    for (const rule of all) {
      expect(rule.name).toMatch(/^[a-z]+(?:-[a-z]+)*$/);
      expect(rule.description).not.toMatch(/\n/);
      expect(rule.example.length).toBeGreaterThan(0);
    }
  });

  it.each(all.map((r) => [`${r.table} ${r.name}`, r] as const))('%s: its example gives its phrases and fires it', (_, rule) => {
    expect(extractPhrases(rule.example).map((p) => p.phrase)).toEqual(rule.expected);
    expect(phraseRulesFired(rule.example)).toContain(rule.name);
  });
});

describe('phraseRulesFired', () => {
  it('names the rules in the order they fired, repeats kept', () => {
    expect(phraseRulesFired('knife, fork or spoon?')).toEqual(['list-item-not-verb']);
    expect(phraseRulesFired('a red car')).toEqual([]);
    expect(phraseRulesFired('two dogs playing tug of war')).toEqual(['gerund-after-noun', 'non-visual-head', 'non-visual-head']);
  });
});
