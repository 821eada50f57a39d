import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BBOX_XFORM_CLIP, decodeBoxes, encodeBoxes, InvalidInputError, type BoxCoderWeights } from '../../src/index.js';
import { f32, goldenSources, SKIP_NO_SHARED } from '../helpers/golden.js';

interface CoderCase {
  id: string; op: 'decode_single' | 'encode_single'; weights: BoxCoderWeights;
  rel_codes?: (number | null)[]; boxes?: (number | null)[]; reference_boxes?: (number | null)[]; proposals?: (number | null)[];
  output: (number | null)[];
}

function expectClose(got: Float32Array, refValues: (number | null)[]): void {
  const ref = f32(refValues);
  expect(got.length).toBe(ref.length);
  for (let i = 0; i < ref.length; i++) {
    if (!Number.isFinite(ref[i])) expect(Number.isFinite(got[i]), `entry ${i} should be non-finite`).toBe(false);
    else expect(Math.abs(got[i] - ref[i]), `entry ${i}: ${got[i]} vs ${ref[i]}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(ref[i])));
  }
}

for (const source of goldenSources<{ cases: CoderCase[] }>('box-coder/box_coder.json', 'box-coder/box_coder.json')) {
  describe.skipIf(source.data === null)(`torchvision BoxCoder parity (${source.name})`, () => {
    if (source.data === null) { it.skip(SKIP_NO_SHARED, () => {}); return; }
    it.each(source.data.cases.map((c) => [c.id, c] as const))('%s within 1e-5·max(1, |ref|)', (_id, c) => {
      const got = c.op === 'decode_single'
        ? decodeBoxes(f32(c.rel_codes!), f32(c.boxes!), c.weights)
        : encodeBoxes(f32(c.reference_boxes!), f32(c.proposals!), c.weights);
      expectClose(got, c.output);
    });
  });
}

describe('box coder semantics', () => {
  it('clamps dw/dh at float32 log(1000/16) and not below', () => {
    expect(BBOX_XFORM_CLIP).toBe(Math.fround(4.135166556742356));
    const ref = Float32Array.from([0, 0, 10, 10]);
    const big = decodeBoxes(Float32Array.from([0, 0, 50, -50]), ref);
    expect(big[2] - big[0]).toBeCloseTo(10 * 1000 / 16, 2);
    expect(big[3] - big[1]).toBeLessThan(1e-6);
  });
  it('encodes zero-size targets to non-finite deltas, like torchvision', () => {
    const d = encodeBoxes(Float32Array.from([5, 5, 5, 8]), Float32Array.from([0, 0, 10, 10]));
    expect(d[2]).toBe(-Infinity);
    expect(Number.isFinite(d[3])).toBe(true);
  });
  it('decodes k class-specific blocks against the same reference box', () => {
    const ref = Float32Array.from([0, 0, 10, 20]);
    const out = decodeBoxes(Float32Array.from([0, 0, 0, 0, 1, 0, 0, 0]), ref);
    expect(Array.from(out)).toEqual([0, 0, 10, 20, 10, 0, 20, 20]);
  });
});

describe('box coder properties', () => {
  const box = fc.tuple(fc.double({ min: -500, max: 500, noNaN: true }), fc.double({ min: -500, max: 500, noNaN: true }), fc.double({ min: 1, max: 400, noNaN: true }), fc.double({ min: 1, max: 400, noNaN: true }))
    .map(([x, y, w, h]) => [x, y, x + w, y + h]);
  const weights = fc.constantFrom<BoxCoderWeights>([1, 1, 1, 1], [10, 10, 5, 5], [2, 3, 1.5, 0.5]);
  it('decode(encode(b, a), a) ≈ b', () => {
    fc.assert(fc.property(fc.array(fc.tuple(box, box), { minLength: 1, maxLength: 20 }), weights, (pairs, w) => {
      // Keep the scale change inside the clamp so the round trip is defined.
      const ok = pairs.filter(([b, a]) => Math.abs(Math.log((b[2] - b[0]) / (a[2] - a[0]))) < 4 && Math.abs(Math.log((b[3] - b[1]) / (a[3] - a[1]))) < 4);
      if (ok.length === 0) return;
      const targets = Float32Array.from(ok.flatMap(([b]) => b));
      const refs = Float32Array.from(ok.flatMap(([, a]) => a));
      const back = decodeBoxes(encodeBoxes(targets, refs, w), refs, w);
      for (let i = 0; i < targets.length; i++) {
        const scale = Math.max(1, Math.abs(targets[i]), Math.abs(refs[i - (i % 4)]), Math.abs(refs[i - (i % 4) + 2]));
        expect(Math.abs(back[i] - targets[i])).toBeLessThanOrEqual(1e-4 * scale);
      }
    }), { numRuns: 300 });
  });
});

describe('box coder bad input', () => {
  const ref = Float32Array.from([0, 0, 10, 10]);
  it.each([
    ['deltas not N×4k', () => decodeBoxes(new Float32Array(6), ref), /multiple of 4.* for deltas but received length 6/],
    ['deltas with no reference boxes', () => decodeBoxes(new Float32Array(4), new Float32Array(0)), /for deltas but received length 4/],
    ['a NaN reference coordinate', () => decodeBoxes(new Float32Array(4), Float32Array.from([0, Number.NaN, 1, 1])), /finite coordinates for refBoxes\[0\]/],
    ['a zero weight', () => decodeBoxes(new Float32Array(4), ref, [1, 0, 1, 1]), /finite number > 0 for weights\[1\] but received 0/],
    ['three weights', () => encodeBoxes(ref, ref, [1, 1, 1] as unknown as BoxCoderWeights), /weights \[wx, wy, ww, wh\] for weights but received an array of length 3/],
    ['mismatched counts', () => encodeBoxes(ref, new Float32Array(8)), /as many reference boxes as targets \(1\) for refBoxes but received 2 boxes/],
  ])('rejects %s with an InvalidInputError', (_name, call, message) => {
    expect(call).toThrow(InvalidInputError);
    expect(call).toThrow(message);
  });
});
