import { describe, expect, it } from 'vitest';
import { BUILTIN_DISTRACTORS, distractorsFor } from '../../src/text/distractors.js';

describe('distractorsFor: a label never competes with itself', () => {
  const pool = ['bicycle', 'car', 'sports car', 'teddy bear', 'dog', 'pizza', 'Mouse'];
  it('removes the same concept whatever its case, number or article', () => {
    expect(distractorsFor(pool, ['Bicycles'])).toEqual(['car', 'sports car', 'teddy bear', 'dog', 'pizza', 'Mouse']);
    expect(distractorsFor(pool, ['a bicycle', 'DOGS'])).toEqual(['car', 'sports car', 'teddy bear', 'pizza', 'Mouse']);
    expect(distractorsFor(pool, ['mice'])).toEqual(['bicycle', 'car', 'sports car', 'teddy bear', 'dog', 'pizza']);
  });
  it('removes entries with the label\'s head noun, both ways ("red car" / "sports car"; "bear" / "teddy bear")', () => {
    expect(distractorsFor(pool, ['red car'])).toEqual(['bicycle', 'teddy bear', 'dog', 'pizza', 'Mouse']);
    expect(distractorsFor(pool, ['bear'])).toEqual(['bicycle', 'car', 'sports car', 'dog', 'pizza', 'Mouse']);
  });
  it('keeps the rest in pool order, without repeats', () => {
    expect(distractorsFor(['cat', 'Cat', 'cats', 'hat'], ['giraffe'])).toEqual(['cat', 'hat']);
    expect(distractorsFor([], ['giraffe'])).toEqual([]);
  });
  it('the built-in pool has no repeats, and asking for one of its concepts takes it out', () => {
    expect(BUILTIN_DISTRACTORS.length).toBeGreaterThan(50);
    expect(distractorsFor(BUILTIN_DISTRACTORS, ['giraffe']).length).toBe(BUILTIN_DISTRACTORS.filter((c) => c !== 'giraffe').length);
    for (const concept of BUILTIN_DISTRACTORS.slice(0, 20)) expect(distractorsFor(BUILTIN_DISTRACTORS, [concept.toUpperCase()])).not.toContain(concept);
  });
});
