import { describe, expect, it } from 'vitest';
import { captionPhrases, ConceptIndex } from '../../src/text/caption-concepts.js';
import { extractPhrases } from '../../src/text/phrases.js';

const pool = new ConceptIndex(['statue of liberty', 'statue', 'hammer and wrench', 'umbrella on ground', 'umbrella', 'person', 'hatching chick', 'orange']);

describe('ConceptIndex.find', () => {
  it('finds pool names as whole words, singular-insensitive, longest first, with a count before them', () => {
    expect(pool.find('two hammer and wrenches and a statue of liberty, one umbrella')).toEqual([
      { name: 'hammer and wrench', start: 1, end: 4, count: 2 },
      { name: 'statue of liberty', start: 6, end: 9 },
      { name: 'umbrella', start: 10, end: 11, count: 1 },
    ]);
    expect(pool.find('a personal statuette')).toEqual([]);
  });
});

describe('captionPhrases', () => {
  it('replaces the noun phrases inside a multi-word pool name by the name, and adds names the chunker missed', () => {
    const caption = 'a person, a statue of liberty and an umbrella on ground next to an orange';
    expect(extractPhrases(caption).map((p) => p.phrase)).toEqual(['person', 'statue', 'liberty', 'umbrella', 'ground', 'orange']);
    expect(captionPhrases(caption, pool)).toEqual([
      { phrase: 'person', concept: 'person' },
      { phrase: 'statue of liberty', concept: 'statue of liberty' },
      { phrase: 'umbrella on ground', concept: 'umbrella on ground' },
      { phrase: 'orange', concept: 'orange' },
    ]);
  });
  it('keeps counts; without a pool it is extractPhrases', () => {
    expect(captionPhrases('three hatching chicks', pool)).toEqual([{ phrase: 'hatching chick', concept: 'hatching chick', count: 3 }]);
    expect(captionPhrases('a statue of liberty')).toEqual(extractPhrases('a statue of liberty'));
  });
});
