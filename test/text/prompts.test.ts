import { describe, expect, it } from 'vitest';
import {
  ENSEMBLE_TEMPLATES, SINGLE_TEMPLATES, TEMPLATE_SETS, buildPrompts, ensembleBatch, ensembleEmbeddings, fillTemplate,
  indefiniteArticle, l2NormalizeRows, InvalidInputError,
} from '../../src/index.js';

describe('templates', () => {
  it('single is one template, ensemble is OpenAI’s 80 plus "{}."', () => {
    expect(SINGLE_TEMPLATES).toEqual(['a photo of a {}.']);
    expect(ENSEMBLE_TEMPLATES).toHaveLength(81);
    expect(new Set(ENSEMBLE_TEMPLATES).size).toBe(81);
    expect(ENSEMBLE_TEMPLATES[0]).toBe('a bad photo of a {}.');
    expect(ENSEMBLE_TEMPLATES[80]).toBe('{}.');
    expect(ENSEMBLE_TEMPLATES.every((t) => t.includes('{}'))).toBe(true);
    expect(Object.keys(TEMPLATE_SETS)).toEqual(['single', 'ensemble']);
  });

  it('fixes the article directly before the phrase', () => {
    expect(fillTemplate('a photo of a {}.', 'apple')).toBe('a photo of an apple.');
    expect(fillTemplate('a photo of a {}.', 'umbrella')).toBe('a photo of an umbrella.');
    expect(fillTemplate('a photo of a {}.', 'unicorn')).toBe('a photo of a unicorn.');
    expect(fillTemplate('a photo of a {}.', 'hour glass')).toBe('a photo of an hour glass.');
    expect(fillTemplate('a photo of a large {}.', 'apple')).toBe('a photo of a large apple.');
    expect(fillTemplate('a photo of a {}.', 'apple', { articles: false })).toBe('a photo of a apple.');
    expect(indefiniteArticle('car')).toBe('a');
    expect(buildPrompts('egg', 'ensemble')).toHaveLength(81);
    expect(() => fillTemplate('no slot', 'x')).toThrow(InvalidInputError);
  });
});

describe('ensembling rules', () => {
  // Two templates, D = 2: [3, 4] (norm 5) and [0, 1] (norm 1).
  const embeds = Float32Array.from([3, 4, 0, 1]);

  it('normalize-average-normalize (default): mean of unit rows, renormalized', () => {
    // unit rows [0.6, 0.8] and [0, 1] → mean [0.3, 0.9] → / sqrt(0.9)
    const out = ensembleEmbeddings(embeds, 2);
    const n = Math.sqrt(0.9);
    expect(out[0]).toBeCloseTo(0.3 / n, 6);
    expect(out[1]).toBeCloseTo(0.9 / n, 6);
  });

  it('average-normalize (RegionCLIP): mean of raw rows, normalized', () => {
    // mean [1.5, 2.5] → / sqrt(8.5)
    const out = ensembleEmbeddings(embeds, 2, 'average-normalize');
    expect(out[0]).toBeCloseTo(1.5 / Math.sqrt(8.5), 6);
    expect(out[1]).toBeCloseTo(2.5 / Math.sqrt(8.5), 6);
  });

  it('both agree when all rows already have unit norm, and the output has unit norm', () => {
    const unit = l2NormalizeRows(Float32Array.from([1, 2, 3, -1, 0, 2, 5, 5, 1]), 3);
    const a = ensembleEmbeddings(unit, 3);
    const b = ensembleEmbeddings(unit, 3, 'average-normalize');
    for (let d = 0; d < 3; d++) expect(a[d]).toBeCloseTo(b[d], 6);
    expect(Math.hypot(...a)).toBeCloseTo(1, 6);
  });

  it('batches [P, T, D] and checks shapes', () => {
    const out = ensembleBatch(Float32Array.from([3, 4, 0, 1, 1, 0, 1, 0]), 2, 2);
    expect(out).toHaveLength(4);
    expect(out[2]).toBeCloseTo(1, 6);
    expect(() => ensembleEmbeddings(new Float32Array(3), 2)).toThrow(InvalidInputError);
    expect(() => ensembleBatch(new Float32Array(6), 2, 2)).toThrow(InvalidInputError);
    expect(() => ensembleEmbeddings(embeds, 2, 'mean' as never)).toThrow(InvalidInputError);
  });
});
