import { describe, expect, it } from 'vitest';
import { cosineSimilarity, ensembleCandidates, ensembleProbs, normalizeRows, regionPhraseProbs, scoreRegions, softmaxRows, REGIONCLIP_TEMPERATURE } from '../../src/matching/scores.js';
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

describe('scoreRegions (the one scoring stage)', () => {
  const regions = Float32Array.from([3, 4, 0, 0, 0, 2]); // 2 regions, D = 3
  const phrases = Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 5]); // 3 phrases
  const bg = Float32Array.from([0, 1, 1]);
  it('defaults to RegionCLIP: softmax(cos / 0.01) over the phrases', () => {
    const s = scoreRegions(regions, phrases, 3);
    // region 0: cosines 0.6, 0.8, 0 → logits 60, 80, 0
    const z = Math.exp(-20) + 1 + Math.exp(-80);
    expect(s[1]).toBeCloseTo(1 / z, 6);
    expect(s[0]).toBeCloseTo(Math.exp(-20) / z, 12);
    expect(Array.from(s)).toEqual(Array.from(regionPhraseProbs(regions, phrases, 3, { temperature: REGIONCLIP_TEMPERATURE })));
    expect(s[0] + s[1] + s[2]).toBeCloseTo(1, 6);
  });
  it('lets the background compete in the softmax, then drops its column', () => {
    const withBg = regionPhraseProbs(regions, phrases, 3, { temperature: 0.01, backgroundEmbed: bg });
    const s = scoreRegions(regions, phrases, 3, { temperature: 0.01, backgroundEmbed: bg });
    expect(s.length).toBe(6);
    expect(Array.from(s)).toEqual([...withBg.subarray(0, 3), ...withBg.subarray(4, 7)]);
    // at temperature 1, region 0's background (cos 0.566 against logits 0.6, 0.8, 0) takes a visible share
    const warm = scoreRegions(regions, phrases, 3, { temperature: 1, backgroundEmbed: bg });
    const z = Math.exp(0.6) + Math.exp(0.8) + Math.exp(0) + Math.exp(0.8 / Math.SQRT2);
    expect(warm[0] + warm[1] + warm[2]).toBeCloseTo(1 - Math.exp(0.8 / Math.SQRT2) / z, 6);
  });
  it('lets distractors compete like the background, then drops their columns', () => {
    // one region (0.6, 0.8, 0), one phrase (1, 0, 0), one distractor (0, 1, 0): at temperature 1, logits 0.6 and 0.8
    const region = Float32Array.from([3, 4, 0]), phrase = Float32Array.from([1, 0, 0]), distractor = Float32Array.from([0, 1, 0]);
    expect(Array.from(scoreRegions(region, phrase, 3, { temperature: 1 }))).toEqual([1]);
    const open = scoreRegions(region, phrase, 3, { temperature: 1, distractorEmbeds: distractor });
    expect(open.length).toBe(1);
    expect(open[0]).toBeCloseTo(Math.exp(0.6) / (Math.exp(0.6) + Math.exp(0.8)), 6);
    // with the background (0, 0, 1, cosine 0) as well: three competitors, one reported column per phrase
    const both = scoreRegions(regions, phrases, 3, { temperature: 1, distractorEmbeds: distractor, backgroundEmbed: Float32Array.from([0, 0, 1]) });
    expect(both.length).toBe(6);
    // region 0: phrases 0.6, 0.8, 0; distractor 0.8; background 0
    const z = Math.exp(0.6) + Math.exp(0.8) + Math.exp(0) + Math.exp(0.8) + Math.exp(0);
    expect(both[0]).toBeCloseTo(Math.exp(0.6) / z, 6);
    expect(both[1]).toBeCloseTo(Math.exp(0.8) / z, 6);
    expect(() => scoreRegions(region, phrase, 3, { distractorEmbeds: Float32Array.from([1, 0]) })).toThrow('Expected a Float32Array of N×3 for distractorEmbeds but received length 2.');
  });
  it('fuses objectness geometrically: sqrt(prob × sigmoid objectness)', () => {
    const plain = scoreRegions(regions, phrases, 3, { temperature: 0.1 });
    const fused = scoreRegions(regions, phrases, 3, { temperature: 0.1, fusion: 'geometric', objectness: Float32Array.from([0.25, 1]) });
    expect(fused[1]).toBeCloseTo(Math.sqrt(plain[1] * 0.25), 6);
    expect(fused[5]).toBeCloseTo(Math.sqrt(plain[5]), 6);
    expect(() => scoreRegions(regions, phrases, 3, { fusion: 'geometric' })).toThrow('Expected 2 objectness probabilities for geometric fusion for objectness but received none.');
  });
  it('scores unnormalized embeddings as their directions', () => {
    const scaled = Float32Array.from(regions, (v) => v * 7);
    const a = scoreRegions(regions, phrases, 3), b = scoreRegions(scaled, phrases, 3);
    for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i], 6);
  });
});

describe('cosineSimilarity as a blocked matrix product', () => {
  /** A 32-bit LCG (the benchmarks' generator). */
  const lcg = (seed: number) => {
    let state = seed >>> 0;
    return () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 4294967296;
  };
  it('gives exactly the plain loop over normalized rows, for sizes off the 4×2 blocks and phrases across cache blocks', () => {
    let entries = 0;
    for (const [R, P, D] of [[1, 1, 3], [3, 5, 7], [4, 2, 128], [9, 70, 1024], [13, 33, 16], [5, 0, 8], [0, 4, 8]]) {
      const next = lcg(R * 1000 + P * 10 + D);
      const regions = Float32Array.from({ length: R * D }, () => next() * 2 - 1);
      const phrases = Float32Array.from({ length: P * D }, () => (next() < 0.05 ? 0 : next() * 2 - 1));
      if (P > 1) phrases.fill(0, D, 2 * D); // a zero row: cosine 0
      const a = normalizeRows(regions, D), b = normalizeRows(phrases, D);
      const got = cosineSimilarity(regions, phrases, D);
      expect(got.length).toBe(R * P);
      for (let r = 0; r < R; r++) {
        for (let p = 0; p < P; p++) {
          let dot = 0;
          for (let i = 0; i < D; i++) dot += a[r * D + i] * b[p * D + i];
          expect(got[r * P + p], `R=${R} P=${P} D=${D} (${r}, ${p})`).toBe(Math.fround(dot));
          entries++;
        }
      }
    }
    expect(entries).toBe(1 + 15 + 8 + 630 + 429);
  });
});

describe('ensembleProbs (ViLD-ensemble: p^(1−λ) · q^λ per label)', () => {
  // 2 regions × 2 labels; λ 1/3 for label 0 (base), 2/3 for label 1 (novel).
  const p = Float32Array.from([0.8, 0.1, 0.2, 0.5]);
  const q = Float32Array.from([0.5, 0.9, 0.04, 0.25]);
  const w = Float32Array.from([1 / 3, 2 / 3]);
  it('is the weighted geometric mean, label by label', () => {
    const out = ensembleProbs(p, q, w);
    const want = [0.8 ** (2 / 3) * 0.5 ** (1 / 3), 0.1 ** (1 / 3) * 0.9 ** (2 / 3), 0.2 ** (2 / 3) * 0.04 ** (1 / 3), 0.5 ** (1 / 3) * 0.25 ** (2 / 3)];
    want.forEach((v, i) => expect(out[i]).toBeCloseTo(v, 6));
    // 0.2^(2/3) · 0.04^(1/3) = 0.2^(2/3) · 0.2^(2/3) = 0.2^(4/3)
    expect(out[2]).toBeCloseTo(0.2 ** (4 / 3), 6);
  });
  it('λ 0 is the detector alone, λ 1 the partner alone', () => {
    expect(Array.from(ensembleProbs(p, q, Float32Array.from([0, 1])))).toEqual([p[0], q[1], p[2], q[3]].map(Math.fround));
  });
  it('without the partner (q = 1) it bounds every ensemble score from above', () => {
    const bound = ensembleProbs(p, undefined, w);
    expect(bound[1]).toBeCloseTo(0.1 ** (1 / 3), 6);
    const out = ensembleProbs(p, q, w);
    out.forEach((v, i) => expect(v).toBeLessThanOrEqual(bound[i]));
  });
  it('rejects mismatched shapes and weights outside [0, 1]', () => {
    expect(() => ensembleProbs(p, q.subarray(0, 2), w)).toThrow(/2×2 probabilities for other/);
    expect(() => ensembleProbs(p.subarray(0, 3), undefined, w)).toThrow(InvalidInputError);
    expect(() => ensembleProbs(p, q, Float32Array.from([0.5, 1.5]))).toThrow(/weights in \[0, 1\] for weights\[1\]/);
  });
});

describe('ensembleCandidates (the regions the partner must score)', () => {
  const w = Float32Array.from([0.5, 0.5]); // bound = sqrt(p)
  it('keeps a region when a bound passes the threshold though its p does not, and drops one whose bound only equals it', () => {
    // t = 0.5: region 0 p 0.3 (bound 0.548 > 0.5: kept), region 1 p 0.25 (bound exactly 0.5, strict >: dropped),
    // region 2 p 0.1 / 0.9 (the second label's bound 0.949 passes), region 3 nothing near.
    const probs = Float32Array.from([0.3, 0, 0.25, 0, 0.1, 0.9, 0.01, 0.02]);
    expect(Array.from(ensembleCandidates(probs, w, 0.5, 'none'))).toEqual([0, 2]);
  });
  it('bounds after objectness fusion, as the scores are fused', () => {
    // geometric: sqrt(bound · objectness); region 0 sqrt(sqrt(0.81) · 0.5) = 0.671, region 1 sqrt(0.9 · 0.1) = 0.3
    const probs = Float32Array.from([0.81, 0, 0.81, 0]);
    expect(Array.from(ensembleCandidates(probs, w, 0.6, 'geometric', Float32Array.from([0.5, 0.1])))).toEqual([0]);
    expect(Array.from(ensembleCandidates(probs, w, 0.6, 'none'))).toEqual([0, 1]);
  });
});
