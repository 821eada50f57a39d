import { describe, expect, it } from 'vitest';
import { cosineSimilarity, regionPhraseProbs, softmaxRows, REGIONCLIP_TEMPERATURE } from '../../src/matching/scores.js';
import { InvalidInputError } from '../../src/errors.js';

describe('scores', () => {
  const regions = Float32Array.from([3, 4, 0, 0, 0, 2]); // 2 regions, D = 3
  const phrases = Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 5]); // 3 phrases
  it('cosine of normalized rows', () => {
    expect(Array.from(cosineSimilarity(regions, phrases, 3)).map((v) => +v.toFixed(6))).toEqual([0.6, 0.8, 0, 0, 0, 1]);
  });
  it('softmax(cos / T) with RegionCLIP temperature 0.01 and a background column last', () => {
    const probs = regionPhraseProbs(regions, phrases, 3, { temperature: REGIONCLIP_TEMPERATURE, backgroundEmbed: Float32Array.from([0, 1, 1]) });
    // region 0: logits 60, 80, 0, bg 80/√2 = 56.57
    const l = [60, 80, 0, 80 / Math.SQRT2];
    const z = l.map((v) => Math.exp(v - 80)).reduce((a, b) => a + b, 0);
    l.forEach((v, i) => expect(probs[i]).toBeCloseTo(Math.exp(v - 80) / z, 6));
    expect(probs.length).toBe(8);
  });
  it('softmax rows sum to 1 and survive large logits', () => {
    const p = softmaxRows(Float32Array.from([1000, 1001, -5, 0]), 2);
    expect(p[0] + p[1]).toBeCloseTo(1, 6);
    expect(p[1]).toBeCloseTo(1 / (1 + Math.exp(-1)), 6);
  });
  it('rejects bad shapes and temperatures', () => {
    expect(() => regionPhraseProbs(regions, phrases, 4, { temperature: 1 })).toThrow(InvalidInputError);
    expect(() => regionPhraseProbs(regions, phrases, 3, { temperature: 0 })).toThrow(/finite number > 0 for temperature/);
  });
});
