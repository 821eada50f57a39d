import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BBOX_XFORM_CLIP, decodeBoxes, encodeBoxes, InvalidInputError, type BoxCoderWeights } from '../../src/index.js';
import { checkBoxCoderWeights, DECODE_CHUNK_BYTES, decodeBoxesUnchecked } from '../../src/geometry/box-coder.js';
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

/** A 32-bit LCG (the benchmarks' generator): reproducible random inputs. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 4294967296;
}

/** torchvision's decode_single as a plain float32 port (Math.exp rounded to float32). */
function referenceDecode(deltas: Float32Array, refs: Float32Array, [wx, wy, ww, wh]: BoxCoderWeights): Float32Array {
  const f = Math.fround;
  const n = refs.length / 4, stride = deltas.length / n, out = new Float32Array(deltas.length);
  for (let i = 0; i < n; i++) {
    const w = f(refs[4 * i + 2] - refs[4 * i]), h = f(refs[4 * i + 3] - refs[4 * i + 1]);
    const cx = f(refs[4 * i] + f(0.5 * w)), cy = f(refs[4 * i + 1] + f(0.5 * h));
    for (let o = i * stride; o < (i + 1) * stride; o += 4) {
      const pcx = f(f(f(deltas[o] / f(wx)) * w) + cx), pcy = f(f(f(deltas[o + 1] / f(wy)) * h) + cy);
      const halfW = f(0.5 * f(f(Math.exp(Math.min(f(deltas[o + 2] / f(ww)), BBOX_XFORM_CLIP))) * w));
      const halfH = f(0.5 * f(f(Math.exp(Math.min(f(deltas[o + 3] / f(wh)), BBOX_XFORM_CLIP))) * h));
      out.set([pcx - halfW, pcy - halfH, pcx + halfW, pcy + halfH], o);
    }
  }
  return out;
}

describe('box decoding kernel', () => {
  it('equals the plain float32 port bit for bit: NaN, ±Infinity, -0, clamped and underflowing deltas, inverted boxes, 1–81 boxes per row', () => {
    let compared = 0;
    for (let seed = 0; seed < 40; seed++) {
      const next = lcg(seed);
      const n = 1 + Math.floor(next() * 60), k = seed === 0 ? 81 : 1 + Math.floor(next() * 4);
      const refs = Float32Array.from({ length: 4 * n }, (_, i) => (i % 4 < 2 ? next() * 500 : 0));
      for (let i = 0; i < n; i++) {
        refs[4 * i + 2] = refs[4 * i] + (next() - 0.1) * 300; // some inverted, some empty after rounding
        refs[4 * i + 3] = refs[4 * i + 1] + (next() - 0.1) * 300;
      }
      const deltas = Float32Array.from({ length: 4 * n * k }, () => {
        const u = next();
        return u < 0.02 ? Number.NaN : u < 0.04 ? Infinity : u < 0.06 ? -Infinity : u < 0.08 ? -0 : u < 0.2 ? (next() - 0.5) * 300 : (next() - 0.5) * 6;
      });
      const weights: BoxCoderWeights = [[1, 1, 1, 1], [10, 10, 5, 5], [0.3, 7, 1e-3, 3]][seed % 3] as BoxCoderWeights;
      const got = decodeBoxes(deltas, refs, weights), want = referenceDecode(deltas, refs, weights);
      for (let i = 0; i < want.length; i++) {
        if (!Object.is(got[i], want[i]) && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) expect(got[i], `seed ${seed}, entry ${i}`).toBe(want[i]);
      }
      compared += want.length;
    }
    expect(compared).toBeGreaterThan(10000);
  });

  it('clamps dw and dh at -104 below exactly as exp underflows: boxes centred at 0 keep the tiny half-sizes visible', () => {
    // exp(x) for x < -104 is under half the smallest float32 and rounds to 0; between -104 and -87.3 it is subnormal.
    // Centred at 0 with dx = dy = 0, each coordinate is ±0.5·exp(dw)·w, so any error in the clamp or the subnormal
    // range shows (at a centre near 250 it would vanish in the addition).
    const xs = [-110, -105, -104.5, -104, -103.97, -100, -95, -90, -87.34, -87.33, -86, -85];
    for (let x = -110; x <= -85; x += 0.0625) xs.push(x);
    const refs = new Float32Array(4 * xs.length), deltas = new Float32Array(4 * xs.length);
    xs.forEach((x, i) => {
      refs.set([-1, -1, 1, 1], 4 * i);
      deltas.set([0, 0, x, x], 4 * i);
    });
    const got = decodeBoxes(deltas, refs);
    const want = referenceDecode(deltas, refs, [1, 1, 1, 1]);
    for (let i = 0; i < got.length; i++) expect(Object.is(got[i], want[i]), `x = ${xs[i >> 2]}, coordinate ${i % 4}: ${got[i]} vs ${want[i]}`).toBe(true);
    // Subnormal half-sizes are really there (not flushed to zero), and below the clamp they are 0.
    expect(got[4 * xs.indexOf(-100) + 2]).toBeGreaterThan(0);
    expect(got[4 * xs.indexOf(-100) + 2]).toBeLessThan(1e-38);
    expect(Math.abs(got[4 * xs.indexOf(-110) + 2])).toBe(0);
  });

  it('decodeBoxesUnchecked gives decodeBoxes\' result and the plain port\'s, in one chunk (1000 × 81 boxes) and across its chunks (2.5 chunks of 81-box rows)', () => {
    const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
    const rowsPerChunk = Math.floor(DECODE_CHUNK_BYTES / (4 * 4 * 81));
    expect(rowsPerChunk).toBeGreaterThan(1000); // the first case fits one chunk, the second takes two and a half
    for (const rows of [1000, Math.ceil(2.5 * rowsPerChunk)]) {
      const next = lcg(rows);
      const refs = Float32Array.from({ length: 4 * rows }, (_, i) => (i % 4 < 2 ? next() * 500 : 600 + next() * 300));
      const deltas = Float32Array.from({ length: 4 * rows * 81 }, () => (next() - 0.5) * 2);
      const checked = decodeBoxes(deltas, refs, [10, 10, 5, 5]);
      const unchecked = decodeBoxesUnchecked(deltas, refs, checkBoxCoderWeights([10, 10, 5, 5]));
      // decodeBoxes calls decodeBoxesUnchecked, so each is held to the plain port on its own.
      const want = referenceDecode(deltas, refs, [10, 10, 5, 5]);
      expect(same(unchecked, want), `${rows} rows, unchecked`).toBe(true);
      expect(same(checked, want), `${rows} rows, checked`).toBe(true);
    }
    expect(decodeBoxesUnchecked(new Float32Array(0), new Float32Array(0), [1, 1, 1, 1])).toEqual(new Float32Array(0));
  });
});
