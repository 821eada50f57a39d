import { describe, expect, it } from 'vitest';
import { groundPhrases, mineRegionPhrasePairs } from '../../src/mining/match.js';

describe('mineRegionPhrasePairs (RegionCLIP\'s rule)', () => {
  // D = 2. Phrases: x-axis, y-axis. Regions: on x, on y, diagonal, mostly x.
  const phrases = Float32Array.from([1, 0, 0, 1]);
  const regions = Float32Array.from([1, 0, 0, 1, 1, 1, 0.9, 0.1]);
  it('keeps each region\'s best phrase above the threshold and, with a floor, each phrase\'s best region, once', () => {
    const pairs = mineRegionPhrasePairs(regions, phrases, 2, { temperature: 0.1, threshold: 0.6, floor: 0.5 });
    // region 2 (diagonal) is 50/50 → below 0.6; region 0 is x's best, region 1 is y's best.
    expect(pairs.map((p) => [p.region, p.phrase, p.direction])).toEqual([[0, 0, 'both'], [1, 1, 'both'], [3, 0, 'region→phrase']]);
    const p = 1 / (1 + Math.exp(-10)); // softmax of cos 1 vs 0 at T = 0.1
    expect(pairs[0].score).toBeCloseTo(p, 6);
  });
  it('without a floor only region→phrase labels (RegionCLIP: no phrase→region direction)', () => {
    const pairs = mineRegionPhrasePairs(regions, phrases, 2, { temperature: 0.1, threshold: 0.6 });
    expect(pairs.map((p) => [p.region, p.phrase, p.direction])).toEqual([[0, 0, 'region→phrase'], [1, 1, 'region→phrase'], [3, 0, 'region→phrase']]);
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

describe('groundPhrases (the caption rule)', () => {
  // 3 regions × 3 candidates (2 phrases + 1 distractor). r1 overlaps r0 (IoU 81/119 = 0.68), r2 is apart.
  const input = {
    probs: Float32Array.from([0.8, 0.1, 0.1, 0.6, 0.2, 0.2, 0.1, 0.3, 0.6]),
    candidates: 3,
    phrases: 2,
    objectness: Float32Array.from([0.9, 0.5, 0.8]),
    boxes: Float32Array.from([0, 0, 10, 10, 1, 1, 11, 11, 20, 20, 30, 30]),
    quotas: [1, 1],
  };
  const options = { objectnessWeight: 0.5, nmsThreshold: 0.5, voteThreshold: 1, minScore: 0 };
  // score = sqrt(prob · objectness): r0p0 0.8485, r1p0 0.5477, r2p1 0.4899, r1p1 0.3162, r0p1 0.3, r2p0 0.2828.

  it('best score first, one label per phrase quota, scores prob^(1-w)·objectness^w', () => {
    const labels = groundPhrases(input, options);
    expect(labels.map((l) => [l.region, l.phrase])).toEqual([[0, 0], [2, 1]]);
    expect(labels[0].score).toBeCloseTo(Math.sqrt(0.72), 6);
    expect(labels[1].score).toBeCloseTo(Math.sqrt(0.24), 6);
    expect(labels[0].box).toEqual([0, 0, 10, 10]);
  });

  it('a larger quota takes more boxes, but never one overlapping a kept box by more than the NMS threshold', () => {
    expect(groundPhrases({ ...input, quotas: [2, 1] }, options).map((l) => [l.region, l.phrase])).toEqual([[0, 0], [2, 1]]);
    expect(groundPhrases({ ...input, quotas: [2, 1] }, { ...options, nmsThreshold: 0.7 }).map((l) => [l.region, l.phrase])).toEqual([[0, 0], [1, 0], [2, 1]]);
  });

  it('w = 0 ranks by probability alone; minScore drops low labels', () => {
    const byProb = groundPhrases(input, { ...options, objectnessWeight: 0 });
    expect(byProb.map((l) => [l.region, l.phrase, Math.round(l.score * 1e6) / 1e6])).toEqual([[0, 0, 0.8], [2, 1, 0.3]]);
    expect(groundPhrases(input, { ...options, minScore: 0.5 }).map((l) => [l.region, l.phrase])).toEqual([[0, 0]]);
  });

  it('box voting: the score-weighted mean of the phrase\'s proposals overlapping the kept box', () => {
    const [label] = groundPhrases(input, { ...options, voteThreshold: 0.5 });
    const a = Math.sqrt(0.72), b = Math.sqrt(0.3);
    const shift = b / (a + b); // r1 is r0 shifted by 1 px
    label.box.forEach((v, i) => expect(v).toBeCloseTo([0, 0, 10, 10][i] + shift, 5));
  });

  it('no phrases give nothing; mismatched sizes are invalid input', () => {
    expect(groundPhrases({ ...input, phrases: 0, quotas: [] }, options)).toEqual([]);
    expect(() => groundPhrases({ ...input, quotas: [1] }, options)).toThrow('Expected 9 probabilities, 12 box values and 2 quotas for 3 regions for groundPhrases but received 9, 12 and 1.');
  });
});
