import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { channelsLast, roiAlign, InvalidInputError, type RoiAlignOptions, type Tensor } from '../../src/index.js';
import { f32, goldenSources, SKIP_NO_SHARED } from '../helpers/golden.js';

interface RoiRun { aligned: boolean; sampling_ratio: number; spatial_scale: number; output_size: [number, number]; boxes_key: string; output_shape: number[]; output: number[] }
interface RoiGolden { input_shape: number[]; input: number[]; boxes_by_scale: Record<string, number[][]>; runs: RoiRun[] }

const runName = (r: RoiRun) => `aligned=${r.aligned} sampling=${r.sampling_ratio} scale=${r.spatial_scale} out=${r.output_size.join('x')}`;

for (const source of [
  ...goldenSources<RoiGolden>('roi-align/set1_subset.json', 'roi-align/set1_n2_c3_24x32.json'),
]) {
  describe.skipIf(source.data === null)(`torchvision roi_align parity (${source.name})`, () => {
    if (source.data === null) { it.skip(SKIP_NO_SHARED, () => {}); return; }
    const golden = source.data;
    const input: Tensor = { data: f32(golden.input), dims: golden.input_shape };
    let maxAbsInput = 0;
    for (const v of input.data) maxAbsInput = Math.max(maxAbsInput, Math.abs(v));
    const tolerance = 1e-5 * Math.max(1, maxAbsInput);

    it(`covers ${golden.runs.length} runs`, () => expect(golden.runs.length).toBeGreaterThan(0));
    it.each(golden.runs.map((r) => [runName(r), r] as const))('%s: bit-exact (acceptance 1e-5·max|input|)', (_name, run) => {
      const rois = f32(golden.boxes_by_scale[run.boxes_key]);
      const out = roiAlign(input, rois, {
        outputSize: run.output_size, spatialScale: run.spatial_scale, samplingRatio: run.sampling_ratio, aligned: run.aligned,
      });
      expect(out.dims).toEqual(run.output_shape);
      const ref = f32(run.output);
      let maxErr = 0, mismatches = 0;
      for (let i = 0; i < ref.length; i++) {
        const err = Math.abs(out.data[i] - ref[i]);
        maxErr = Math.max(maxErr, err);
        if (out.data[i] !== ref[i]) mismatches++;
      }
      expect(maxErr).toBeLessThanOrEqual(tolerance);
      expect(mismatches).toBe(0); // the float32 port in kernel order is bit-exact
    });
  });
}

describe('roiAlign hand-computed (detectron2 tests/layers/test_roi_align.py)', () => {
  // 5×5 arange, box [1, 1, 3, 3], 4×4 output, sampling 0 (adaptive), aligned.
  const input: Tensor = { data: Float32Array.from({ length: 25 }, (_, i) => i), dims: [1, 1, 5, 5] };
  const rois = Float32Array.from([0, 1, 1, 3, 3]);
  it('aligned=true samples pixel centres', () => {
    const out = roiAlign(input, rois, { outputSize: [4, 4], spatialScale: 1, samplingRatio: 0, aligned: true });
    expect(Array.from(out.data)).toEqual([
      4.5, 5.0, 5.5, 6.0,
      7.0, 7.5, 8.0, 8.5,
      9.5, 10.0, 10.5, 11.0,
      12.0, 12.5, 13.0, 13.5,
    ]);
  });
  it('aligned=false is shifted by half a pixel', () => {
    const out = roiAlign(input, rois, { outputSize: [4, 4], spatialScale: 1, samplingRatio: 0, aligned: false });
    expect(Array.from(out.data)).toEqual([
      7.5, 8, 8.5, 9,
      10, 10.5, 11, 11.5,
      12.5, 13, 13.5, 14,
      15, 15.5, 16, 16.5,
    ]);
  });
  it('an empty aligned box with adaptive sampling pools to 0', () => {
    const out = roiAlign(input, Float32Array.from([0, 2, 2, 2, 2]), { outputSize: [2, 2], spatialScale: 1, samplingRatio: -1, aligned: true });
    expect(Array.from(out.data)).toEqual([0, 0, 0, 0]);
  });
  it('zero RoIs give a 0×C×oh×ow tensor', () => {
    const out = roiAlign(input, new Float32Array(0), { outputSize: [7, 7], spatialScale: 1, samplingRatio: 2, aligned: true });
    expect(out.dims).toEqual([0, 1, 7, 7]);
    expect(out.data.length).toBe(0);
  });
});

describe('roiAlign scale invariance (detectron2)', () => {
  it('a 2× downscaled map with half-size boxes and spatialScale halved matches within 1e-4', () => {
    // A smooth map: bilinear downscaling by 2 of a linear function is exact, so RoIAlign must agree.
    fc.assert(fc.property(
      fc.record({
        a: fc.double({ min: -3, max: 3, noNaN: true }), b: fc.double({ min: -3, max: 3, noNaN: true }),
        x1: fc.integer({ min: 4, max: 40 }), y1: fc.integer({ min: 4, max: 40 }), w: fc.integer({ min: 8, max: 40 }), h: fc.integer({ min: 8, max: 40 }),
        out: fc.integer({ min: 1, max: 7 }),
      }),
      ({ a, b, x1, y1, w, h, out }) => {
        const H = 96, W = 96;
        // Value at pixel centre (x + 0.5, y + 0.5) of a linear field; the half-size map holds the
        // same field at its own pixel centres (2x + 1, 2y + 1) in full-size units.
        const full = Float32Array.from({ length: H * W }, (_, i) => a * ((i % W) + 0.5) + b * (Math.floor(i / W) + 0.5));
        const half = Float32Array.from({ length: (H / 2) * (W / 2) }, (_, i) => a * (2 * (i % (W / 2)) + 1) + b * (2 * Math.floor(i / (W / 2)) + 1));
        const options: RoiAlignOptions = { outputSize: [out, out], spatialScale: 1, samplingRatio: 0, aligned: true };
        const rois = Float32Array.from([0, x1, y1, x1 + w, y1 + h]);
        const ref = roiAlign({ data: full, dims: [1, 1, H, W] }, rois, options);
        const got = roiAlign({ data: half, dims: [1, 1, H / 2, W / 2] }, Float32Array.from([0, x1 / 2, y1 / 2, (x1 + w) / 2, (y1 + h) / 2]), { ...options, spatialScale: 1 });
        const viaScale = roiAlign({ data: half, dims: [1, 1, H / 2, W / 2] }, rois, { ...options, spatialScale: 0.5 });
        for (let i = 0; i < ref.data.length; i++) {
          expect(Math.abs(viaScale.data[i] - ref.data[i])).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(ref.data[i])));
          expect(Math.abs(got.data[i] - viaScale.data[i])).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(ref.data[i])));
        }
      },
    ), { numRuns: 100 });
  });
});

describe('roiAlign resize invariance on a random image (detectron2 test_resize)', () => {
  it('random 30×30 map: 2× block-average downscale, half boxes and half scale agree within 1e-4', () => {
    fc.assert(fc.property(fc.array(fc.float({ min: 0, max: 100, noNaN: true }), { minLength: 900, maxLength: 900 }), (values) => {
      const full = Float32Array.from(values);
      // cv2.resize(INTER_LINEAR) at exactly 1/2 averages each 2×2 block.
      const half = new Float32Array(15 * 15);
      for (let y = 0; y < 15; y++) for (let x = 0; x < 15; x++) {
        half[y * 15 + x] = (full[2 * y * 30 + 2 * x] + full[2 * y * 30 + 2 * x + 1] + full[(2 * y + 1) * 30 + 2 * x] + full[(2 * y + 1) * 30 + 2 * x + 1]) / 4;
      }
      const box = Float32Array.from([0, 10, 10, 20, 20]);
      const opts: RoiAlignOptions = { outputSize: [5, 5], spatialScale: 1, samplingRatio: 0, aligned: true };
      const ref = roiAlign({ data: full, dims: [1, 1, 30, 30] }, box, opts);
      const got = roiAlign({ data: half, dims: [1, 1, 15, 15] }, box, { ...opts, spatialScale: 0.5 });
      for (let i = 0; i < 25; i++) expect(Math.abs(got.data[i] - ref.data[i])).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref.data[i])));
    }), { numRuns: 50 });
  });
});

describe('roiAlign bad input', () => {
  const input: Tensor = { data: new Float32Array(2 * 3 * 4 * 4), dims: [2, 3, 4, 4] };
  const options: RoiAlignOptions = { outputSize: [2, 2], spatialScale: 1, samplingRatio: 2, aligned: true };
  it.each([
    ['a non-integer batch index', () => roiAlign(input, Float32Array.from([0.5, 0, 0, 2, 2]), options), /integer batch index in \[0, 1\] for rois\[0\]\[0\] but received 0.5/],
    ['a batch index out of range', () => roiAlign(input, Float32Array.from([2, 0, 0, 2, 2]), options), /for rois\[0\]\[0\] but received 2/],
    ['a NaN coordinate', () => roiAlign(input, Float32Array.from([0, 0, Number.NaN, 2, 2]), options), /finite coordinates for rois\[0\]/],
    ['rois not K×5', () => roiAlign(input, Float32Array.from([0, 0, 0, 2]), options), /multiple of 5 .* for rois but received length 4/],
    ['data of the wrong length', () => roiAlign({ data: new Float32Array(5), dims: [2, 3, 4, 4] }, Float32Array.from([0, 0, 0, 1, 1]), options), /length N·C·H·W = 96 for input.data but received length 5/],
    ['dims that are not 4-D', () => roiAlign({ data: new Float32Array(16), dims: [4, 4] }, new Float32Array(0), options), /dims \[N, C, H, W\].* for input.dims/],
    ['a zero output size', () => roiAlign(input, new Float32Array(0), { ...options, outputSize: [0, 2] }), /for outputSize but received \[0, 2\]/],
    ['a non-positive spatial scale', () => roiAlign(input, new Float32Array(0), { ...options, spatialScale: 0 }), /for spatialScale but received 0/],
    ['a fractional sampling ratio', () => roiAlign(input, new Float32Array(0), { ...options, samplingRatio: 1.5 }), /an integer for samplingRatio but received 1.5/],
    ['an adaptive sampling grid too large to hold', () => roiAlign(input, Float32Array.from([0, 0, 0, 1e9, 1e9]), { ...options, outputSize: [1, 1], samplingRatio: 0 }), /inputs whose working copy fits in WebAssembly memory .* for roiAlign but received input dims \[2, 3, 4, 4\], largest sample grid 1000000000×1000000000/],
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

/**
 * torchvision's roi_align_forward_kernel_impl transliterated plainly (channel by channel, sample by
 * sample, float32 after every operation), the reference for the pooled kernel.
 */
function referenceRoiAlign(input: Tensor, rois: Float32Array, o: RoiAlignOptions): Float32Array {
  const f = Math.fround;
  const [, C, H, W] = input.dims;
  const [oh, ow] = o.outputSize;
  const K = rois.length / 5;
  const out = new Float32Array(K * C * oh * ow);
  const offset = o.aligned ? 0.5 : 0;
  for (let r = 0; r < K; r++) {
    const b = rois[5 * r];
    const sw = f(f(rois[5 * r + 1] * f(o.spatialScale)) - offset), sh = f(f(rois[5 * r + 2] * f(o.spatialScale)) - offset);
    let rw = f(f(f(rois[5 * r + 3] * f(o.spatialScale)) - offset) - sw), rh = f(f(f(rois[5 * r + 4] * f(o.spatialScale)) - offset) - sh);
    if (!o.aligned) { rw = Math.max(rw, 1); rh = Math.max(rh, 1); }
    const bw = f(rw / ow), bh = f(rh / oh);
    const gh = o.samplingRatio > 0 ? o.samplingRatio : Math.ceil(f(rh / oh)), gw = o.samplingRatio > 0 ? o.samplingRatio : Math.ceil(f(rw / ow));
    const count = Math.max(gh * gw, 1);
    for (let c = 0; c < C; c++) {
      const plane = (b * C + c) * H * W;
      for (let ph = 0; ph < oh; ph++) for (let pw = 0; pw < ow; pw++) {
        let acc = 0;
        for (let iy = 0; iy < gh; iy++) for (let ix = 0; ix < gw; ix++) {
          let y = f(f(sh + f(ph * bh)) + f(f((iy + 0.5) * bh) / gh)), x = f(f(sw + f(pw * bw)) + f(f((ix + 0.5) * bw) / gw));
          let w1 = 0, w2 = 0, w3 = 0, w4 = 0, p1 = 0, p2 = 0, p3 = 0, p4 = 0;
          if (!(y < -1 || y > H || x < -1 || x > W)) {
            y = Math.max(y, 0); x = Math.max(x, 0);
            let yl = Math.trunc(y), xl = Math.trunc(x), yh = yl + 1, xh = xl + 1;
            if (yl >= H - 1) { yh = yl = H - 1; y = yl; }
            if (xl >= W - 1) { xh = xl = W - 1; x = xl; }
            const ly = f(y - yl), lx = f(x - xl), hy = f(1 - ly), hx = f(1 - lx);
            [w1, w2, w3, w4] = [f(hy * hx), f(hy * lx), f(ly * hx), f(ly * lx)];
            [p1, p2, p3, p4] = [yl * W + xl, yl * W + xh, yh * W + xl, yh * W + xh];
          }
          const d = input.data;
          acc = f(acc + f(f(f(f(w1 * d[plane + p1]) + f(w2 * d[plane + p2])) + f(w3 * d[plane + p3])) + f(w4 * d[plane + p4])));
        }
        out[((r * C + c) * oh + ph) * ow + pw] = acc / count;
      }
    }
  }
  return out;
}

/** Indices where two float arrays differ (NaN equals NaN, -0 differs from +0). */
function differences(a: Float32Array, b: Float32Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) n++;
  return n;
}

describe('roiAlign kernel against the plain transliteration', () => {
  it('is bit-exact on random maps: 1–37 channels, boxes inside, across and outside the map, inverted and empty, every sampling mode', () => {
    let runs = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const next = lcg(seed);
      const C = [1, 3, 4, 7, 16, 20, 37, 5][seed % 8], H = 3 + Math.floor(next() * 12), W = 3 + Math.floor(next() * 12);
      const data = Float32Array.from({ length: 2 * C * H * W }, () => (next() - 0.5) * 20);
      // A NaN on the first pixel of one plane: the kernel's out-of-map samples read it with weight 0.
      if (seed % 3 === 0) data[C * H * W] = Number.NaN;
      const input: Tensor = { data, dims: [2, C, H, W] };
      const K = 12;
      const rois = new Float32Array(5 * K);
      for (let r = 0; r < K; r++) {
        const x = (next() - 0.3) * W * 20, y = (next() - 0.3) * H * 20;
        const w = (next() - 0.1) * W * 12, h = (next() - 0.1) * H * 12; // about 1 in 10 inverted
        rois.set([r % 2, x, y, r === 0 ? x : x + w, y + h], 5 * r);
      }
      for (const samplingRatio of [-1, 0, 1, 2, 3]) {
        for (const aligned of [true, false]) {
          const options: RoiAlignOptions = { outputSize: [1 + (seed % 4), 2 + (seed % 5)], spatialScale: 1 / 16, samplingRatio, aligned };
          const got = roiAlign(input, rois, options);
          expect(got.dims).toEqual([K, C, options.outputSize[0], options.outputSize[1]]);
          expect(differences(got.data, referenceRoiAlign(input, rois, options)), `seed ${seed}, ${JSON.stringify(options)}`).toBe(0);
          runs++;
        }
      }
    }
    expect(runs).toBe(12 * 10);
  });
});

describe('roiAlign into a caller-provided buffer, and from a channels-last map', () => {
  const next = lcg(99);
  const input: Tensor = { data: Float32Array.from({ length: 2 * 5 * 9 * 11 }, () => next() * 4 - 2), dims: [2, 5, 9, 11] };
  const rois = Float32Array.from([0, 10, 20, 100, 120, 1, 0, 0, 170, 140, 1, 50, 60, 52, 61]);
  const options: RoiAlignOptions = { outputSize: [7, 7], spatialScale: 1 / 16, samplingRatio: 0, aligned: true };
  const fresh = roiAlign(input, rois, options);

  it('channelsLast puts the channels of each pixel together and keeps the dims', () => {
    const tiny = channelsLast({ data: Float32Array.from([1, 2, 3, 4, 10, 20, 30, 40]), dims: [1, 2, 2, 2] });
    expect(tiny).toEqual({ layout: 'nhwc', data: Float32Array.from([1, 10, 2, 20, 3, 30, 4, 40]), dims: [1, 2, 2, 2] });
    expect(() => channelsLast({ data: new Float32Array(3), dims: [1, 2, 2, 2] })).toThrow(/length N·C·H·W = 8 for input.data but received length 3/);
  });

  it('pools a channels-last map to the same bits, and writes into the given buffer', () => {
    const out = new Float32Array(3 * 5 * 49).fill(Number.NaN);
    const got = roiAlign(channelsLast(input), rois, options, out);
    expect(got.data).toBe(out);
    expect(got.dims).toEqual([3, 5, 7, 7]);
    expect(differences(out, fresh.data)).toBe(0);
    // A subarray of a larger buffer (the last, smaller batch of a run).
    const big = new Float32Array(10 * 5 * 49);
    roiAlign(input, rois.subarray(0, 10), options, big.subarray(0, 2 * 5 * 49));
    expect(differences(big.subarray(0, 2 * 5 * 49), fresh.data.subarray(0, 2 * 5 * 49))).toBe(0);
    expect(big[2 * 5 * 49]).toBe(0);
  });

  it('rejects a buffer of the wrong length or type', () => {
    expect(() => roiAlign(input, rois, options, new Float32Array(10))).toThrow(InvalidInputError);
    expect(() => roiAlign(input, rois, options, new Float32Array(10))).toThrow('Expected a Float32Array of K·C·oh·ow = 735 for output but received length 10.');
    expect(() => roiAlign(input, rois, options, [] as unknown as Float32Array)).toThrow(/K·C·oh·ow = 735 for output/);
  });

  it('gives the same result after a larger call reused the working memory', () => {
    const wide: Tensor = { data: Float32Array.from({ length: 64 * 30 * 30 }, () => next()), dims: [1, 64, 30, 30] };
    roiAlign(wide, Float32Array.from([0, 0, 0, 400, 400]), { ...options, outputSize: [20, 20] });
    expect(differences(roiAlign(input, rois, options).data, fresh.data)).toBe(0);
  });
});
