import { describe, expect, it } from 'vitest';
import { mineRegionPhrasePairs } from '../../src/mining/match.js';

describe('mineRegionPhrasePairs', () => {
  // D = 2. Phrases: x-axis, y-axis. Regions: on x, on y, diagonal, mostly x.
  const phrases = Float32Array.from([1, 0, 0, 1]);
  const regions = Float32Array.from([1, 0, 0, 1, 1, 1, 0.9, 0.1]);
  it('keeps each region\'s best phrase above the threshold and each phrase\'s best region, once', () => {
    const pairs = mineRegionPhrasePairs(regions, phrases, 2, { temperature: 0.1, threshold: 0.6, floor: 0.5 });
    // region 2 (diagonal) is 50/50 → below 0.6; region 0 is x's best, region 1 is y's best.
    expect(pairs.map((p) => [p.region, p.phrase, p.direction])).toEqual([[0, 0, 'both'], [1, 1, 'both'], [3, 0, 'region→phrase']]);
    const p = 1 / (1 + Math.exp(-10)); // softmax of cos 1 vs 0 at T = 0.1
    expect(pairs[0].score).toBeCloseTo(p, 6);
  });
  it('a phrase→region label appears when no region picks that phrase', () => {
    const pairs = mineRegionPhrasePairs(Float32Array.from([1, 0, 0.9, 0.5]), phrases, 2, { temperature: 1, threshold: 0.99, floor: 0.3 });
    expect(pairs.map((q) => [q.region, q.phrase, q.direction])).toEqual([[0, 0, 'phrase→region'], [1, 1, 'phrase→region']]);
  });
  it('distractors take probability from the phrases and are never mined', () => {
    // phrase x alone: every region is 100% x; with a y distractor, only regions nearer x than y keep x above 0.6
    const x = Float32Array.from([1, 0]), y = Float32Array.from([0, 1]);
    expect(mineRegionPhrasePairs(regions, x, 2, { temperature: 0.1, threshold: 0.6, floor: 1 }).map((q) => q.region)).toEqual([0, 1, 2, 3]);
    const open = mineRegionPhrasePairs(regions, x, 2, { temperature: 0.1, threshold: 0.6, floor: 1, distractorEmbeds: y });
    expect(open.map((q) => [q.region, q.phrase])).toEqual([[0, 0], [3, 0]]);
    expect(open[0].score).toBeCloseTo(1 / (1 + Math.exp(-10)), 6);
  });
  it('no regions or no phrases give nothing', () => {
    expect(mineRegionPhrasePairs(new Float32Array(0), phrases, 2, { temperature: 0.01, threshold: 0.1, floor: 0.1 })).toEqual([]);
    expect(mineRegionPhrasePairs(regions, new Float32Array(0), 2, { temperature: 0.01, threshold: 0.1, floor: 0.1 })).toEqual([]);
  });
});
