import { describe, expect, it } from 'vitest';
import { dotRows } from '../../src/matching/dot-rows.js';
import { cosineSimilarity, normalizeRows } from '../../src/matching/scores.js';

/** A 32-bit LCG (the benchmarks' generator). */
const lcg = (seed: number) => {
  let state = seed >>> 0;
  return () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 4294967296;
};

/** The plain loop dotRows must equal: Σ a[r][i]·b[p][i] in float64 in order of i, rounded to float32 once. */
function reference(a: Float32Array, R: number, b: Float32Array, P: number, D: number): Float32Array {
  const out = new Float32Array(R * P);
  for (let r = 0; r < R; r++) {
    for (let p = 0; p < P; p++) {
      let sum = 0;
      for (let i = 0; i < D; i++) sum += a[r * D + i] * b[p * D + i];
      out[r * P + p] = sum;
    }
  }
  return out;
}

/** The first entry where two R×P results differ bit for bit (every NaN alike: JavaScript keeps no NaN payload), or 'same'. */
function firstDifference(got: Float32Array, want: Float32Array, P: number): string {
  if (got.length !== want.length) return `length ${got.length} vs ${want.length}`;
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length), w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < g.length; i++) {
    if (g[i] !== w[i] && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) return `(${Math.floor(i / P)}, ${i % P}): ${got[i]} vs ${want[i]}`;
  }
  return 'same';
}

const randomRows = (next: () => number, n: number) => Float32Array.from({ length: n }, () => next() * 2 - 1);

describe('dotRows, the WebAssembly SIMD product under cosine scores', () => {
  it('multiplies a small case a reader can check', () => {
    const a = Float32Array.from([1, 2, 3, 4]); // 2 rows, D = 2
    const b = Float32Array.from([1, 0, 0, 1, 1, 1, 2, -1, 0.5, 0.25]); // 5 phrases
    expect(Array.from(dotRows(a, 2, b, 5, 2))).toEqual([1, 2, 3, 0, 1, 3, 4, 7, 2, 2.5]);
  });

  it('equals the plain float64 loop bit for bit for every R, P in 0..13 and D in 1..9 (tails of the 4×4 blocks)', () => {
    let cases = 0;
    for (let D = 1; D <= 9; D++) {
      for (let R = 0; R <= 13; R++) {
        for (let P = 0; P <= 13; P++) {
          const next = lcg(1e4 * D + 100 * R + P);
          const a = randomRows(next, R * D), b = randomRows(next, P * D);
          const got = dotRows(a, R, b, P, D);
          expect(got.length).toBe(R * P);
          expect(firstDifference(got, reference(a, R, b, P, D), P), `R=${R} P=${P} D=${D}`).toBe('same');
          cases++;
        }
      }
    }
    expect(cases).toBe(9 * 14 * 14);
  });

  it('equals the plain loop at D 128 and 1024 (phrases across cache blocks), with rounding that float64 sums make visible', () => {
    const sizes = [[1, 1], [3, 5], [4, 4], [5, 13], [13, 70], [9, 33]];
    for (const D of [128, 1024]) {
      for (const [R, P] of sizes) {
        const next = lcg(R * 1000 + P * 10 + D);
        // Wide ranges of magnitude, so float32 sums would differ from float64 ones in many entries.
        const a = Float32Array.from({ length: R * D }, () => (next() * 2 - 1) * 10 ** Math.floor(next() * 8 - 4));
        const b = Float32Array.from({ length: P * D }, () => (next() * 2 - 1) * 10 ** Math.floor(next() * 8 - 4));
        expect(firstDifference(dotRows(a, R, b, P, D), reference(a, R, b, P, D), P), `R=${R} P=${P} D=${D}`).toBe('same');
      }
    }
  });

  it('equals the plain loop across chunks of rows (D 1, 100 000 phrases) and blocks of packed phrases (D 2048, 2053 phrases)', () => {
    for (const [R, P, D] of [[23, 100_000, 1], [5, 2053, 2048]]) {
      const next = lcg(R + P + D);
      const a = randomRows(next, R * D), b = randomRows(next, P * D);
      expect(firstDifference(dotRows(a, R, b, P, D), reference(a, R, b, P, D), P), `R=${R} P=${P} D=${D}`).toBe('same');
    }
  });

  it('keeps NaN, ±Infinity, signed zeros, overflow past float32 and subnormals as the plain loop does', () => {
    const D = 3, tiny = 2 ** -149, huge = 3e38;
    const a = Float32Array.from([
      NaN, 1, 1, // NaN row
      Infinity, 1, 0, // +Infinity
      -0, -0, -0, // negative zeros: products -0 or +0, the sum starts at +0
      0, 0, 0,
      huge, huge, huge, // a sum far past float32 (exact products in float64), Infinity once stored
      tiny, tiny, 1, // subnormal float32: exact in float64
      -Infinity, -Infinity, 1,
    ]);
    const b = Float32Array.from([
      1, 2, 3,
      -1, -2, -3,
      0, 0, 0, // against the Infinity row: Infinity × 0 = NaN
      -0, 1, -0,
      huge, tiny, huge,
      Infinity, 0, 1,
    ]);
    const got = dotRows(a, 7, b, 6, D);
    expect(firstDifference(got, reference(a, 7, b, 6, D), 6)).toBe('same');
    expect(Object.is(got[2 * 6 + 0], 0)).toBe(true); // (-0)·1 + (-0)·2 + (-0)·3 from +0: +0, not -0
    expect(got[4 * 6 + 0]).toBe(Infinity); // 1.8e39 > float32 max
    expect(got[4 * 6 + 1]).toBe(-Infinity);
    expect(Number.isNaN(got[1 * 6 + 2])).toBe(true);
    expect(got[1 * 6 + 5]).toBe(Infinity);
  });

  it('starts every sum at +0, in every lane of the blocks and their tails: -0 rows against positive rows give +0', () => {
    for (let R = 1; R <= 9; R++) {
      for (let P = 1; P <= 9; P++) {
        const got = dotRows(new Float32Array(R * 2).fill(-0), R, new Float32Array(P * 2).fill(1), P, 2);
        expect(got.length).toBe(R * P);
        expect(Array.from(got).filter((v) => !Object.is(v, 0)), `R=${R} P=${P}`).toEqual([]);
      }
    }
  });

  it('gives cosineSimilarity the plain loop over normalized rows, with zero, NaN and Infinity rows', () => {
    const D = 5, R = 6, P = 7;
    const next = lcg(77);
    const regions = randomRows(next, R * D), phrases = randomRows(next, P * D);
    regions.fill(0, 0, D); // zero row: cosine 0 with everything
    regions[D + 2] = NaN;
    regions[2 * D + 1] = Infinity; // normalized to 1/∞ = 0 scale: ∞·0 = NaN, the rest 0
    phrases.fill(0, 3 * D, 4 * D);
    phrases[4 * D] = -Infinity;
    const got = cosineSimilarity(regions, phrases, D);
    expect(firstDifference(got, reference(normalizeRows(regions, D), R, normalizeRows(phrases, D), P, D), P)).toBe('same');
    expect(Array.from(got.subarray(0, P))).toEqual([0, 0, 0, 0, NaN, 0, 0]);
  });
});
