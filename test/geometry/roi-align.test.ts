import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { roiAlign, InvalidInputError, type RoiAlignOptions, type Tensor } from '../../src/index.js';
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
  ])('rejects %s with an InvalidInputError', (_name, call, message) => {
    expect(call).toThrow(InvalidInputError);
    expect(call).toThrow(message);
  });
});
