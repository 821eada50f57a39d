import { describe, expect, it } from 'vitest';
import { cellAnchors, generateAnchors, roundHalfToEven, InvalidInputError } from '../../src/index.js';
import { fixtureGolden, goldenSources, SKIP_NO_SHARED } from '../helpers/golden.js';

interface AnchorCase {
  id: string; sizes: number[][]; aspect_ratios: number[][]; image_size_hw: [number, number];
  feature_map_sizes_hw: [number, number][]; strides_hw: [number, number][]; anchors_per_level: number[];
  cell_anchors: number[][]; num_anchors: number; anchors: number[];
}

for (const source of goldenSources<{ cases: AnchorCase[] }>('box-coder/anchors.json', 'box-coder/anchors.json')) {
  describe.skipIf(source.data === null)(`torchvision AnchorGenerator parity (${source.name})`, () => {
    if (source.data === null) { it.skip(SKIP_NO_SHARED, () => {}); return; }
    it.each(source.data.cases.map((c) => [c.id, c] as const))('%s: anchors identical', (_id, c) => {
      const result = generateAnchors({ sizes: c.sizes, aspectRatios: c.aspect_ratios, imageSize: c.image_size_hw, featureMapSizes: c.feature_map_sizes_hw });
      expect(result.strides).toEqual(c.strides_hw);
      expect(result.anchorsPerLevel).toEqual(c.anchors_per_level);
      c.sizes.forEach((sizes, l) => expect(Array.from(cellAnchors(sizes, c.aspect_ratios[l]))).toEqual(c.cell_anchors[l]));
      expect(result.anchors.length).toBe(4 * c.num_anchors);
      expect(Array.from(result.anchors)).toEqual(c.anchors);
    });
  });
}

describe('anchors', () => {
  it('rounds halves to even like torch.round', () => {
    expect([12.5, -12.5, 13.5, -11.5, 0.5, -0.5, 2.4, 2.6].map(roundHalfToEven)).toEqual([12, -12, 14, -12, 0, -0, 2, 3]);
  });
  it('uses integer strides for sizes that do not divide', () => {
    const { strides, anchors } = generateAnchors({ sizes: [[16]], aspectRatios: [[1]], imageSize: [50, 70], featureMapSizes: [[4, 6]] });
    expect(strides).toEqual([[12, 11]]);
    expect(Array.from(anchors.subarray(4, 8))).toEqual([11 - 8, -8, 11 + 8, 8]);
  });
  it('rejects mismatched level lists', () => {
    const call = () => generateAnchors({ sizes: [[32], [64]], aspectRatios: [[1]], imageSize: [64, 64], featureMapSizes: [[8, 8]] });
    expect(call).toThrow(InvalidInputError);
    expect(call).toThrow(/one feature map size per level \(2\) for featureMapSizes/);
    expect(() => cellAnchors([0], [1])).toThrow(/positive numbers for sizes/);
  });
});

interface D2AnchorCase {
  id: string; padded_size_hw: [number, number]; feature_sizes_hw: [number, number][]; strides: number[];
  anchor_sizes: number[][]; aspect_ratios: number[][]; cell_anchors: number[][]; anchors_per_level: number[];
  samples: { indices: number[]; rows: number[] }[];
}

describe('detectron2 DefaultAnchorGenerator (anchorStyle "detectron2")', () => {
  it('cell anchors are unrounded and size-major: size 32 at ratios 0.5, 1, 2 by hand', () => {
    const half = [Math.sqrt(2048) / 2, Math.sqrt(512) / 2]; // 22.627417, 11.313708
    expect(Array.from(cellAnchors([32], [0.5, 1, 2], 'detectron2'))).toEqual(Array.from(Float32Array.from([
      -half[0], -half[1], half[0], half[1], -16, -16, 16, 16, -half[1], -half[0], half[1], half[0],
    ])));
    expect(Array.from(cellAnchors([32], [0.5], 'torchvision'))).toEqual([-23, -11, 23, 11]);
    const c4 = cellAnchors([32, 64, 128, 256, 512], [0.5, 1, 2], 'detectron2');
    expect(c4.length).toBe(15 * 4);
    expect(Array.from(c4.subarray(4, 8))).toEqual([-16, -16, 16, 16]); // anchor 1 = (32, ratio 1)
    expect(Array.from(cellAnchors([32, 64, 128, 256, 512], [0.5, 1, 2]).subarray(4, 8))).toEqual([-45, -23, 45, 23]); // torchvision: (64, 0.5)
  });
  it('uses the given stride: P6 of an 800×1216 input is 13×19 at stride 64, not 61', () => {
    const options = { sizes: [[512]], aspectRatios: [[1]], imageSize: [800, 1216] as [number, number], featureMapSizes: [[13, 19]] as [number, number][] };
    const given = generateAnchors({ ...options, style: 'detectron2', strides: [64] });
    expect(given.strides).toEqual([[64, 64]]);
    expect(Array.from(given.anchors.subarray(-4))).toEqual([18 * 64 - 256, 12 * 64 - 256, 18 * 64 + 256, 12 * 64 + 256]);
    const inferred = generateAnchors({ ...options, style: 'detectron2' });
    expect(inferred.strides).toEqual([[61, 64]]);
    expect(inferred.anchors[inferred.anchors.length - 1]).toBe(12 * 61 + 256); // centre row 732 instead of 768
  });
  it('rejects bad strides and styles', () => {
    const base = { sizes: [[32]], aspectRatios: [[1]], imageSize: [64, 64] as [number, number], featureMapSizes: [[4, 4]] as [number, number][] };
    expect(() => generateAnchors({ ...base, strides: [16, 32] })).toThrow(/one stride \(or undefined\) per level \(1\) for strides/);
    expect(() => generateAnchors({ ...base, strides: [2.5] })).toThrow(/an integer >= 1 for strides\[0\]/);
    expect(() => cellAnchors([32], [1], 'caffe' as 'detectron2')).toThrow(/"torchvision" or "detectron2" for anchor style/);
  });

  const golden = fixtureGolden<{ cases: D2AnchorCase[] }>('d2-rpn/anchors.json');
  it.each(golden.cases.map((c) => [c.id, c] as const))('%s: matches training/d2_rpn_reference.py bit for bit (sampled rows)', (_id, c) => {
    const result = generateAnchors({ sizes: c.anchor_sizes, aspectRatios: c.aspect_ratios, imageSize: c.padded_size_hw, featureMapSizes: c.feature_sizes_hw, style: 'detectron2', strides: c.strides });
    expect(result.anchorsPerLevel).toEqual(c.anchors_per_level);
    c.anchor_sizes.forEach((sizes, l) => expect(Array.from(cellAnchors(sizes, c.aspect_ratios[l], 'detectron2'))).toEqual(Array.from(Float32Array.from(c.cell_anchors[l]))));
    let offset = 0, maxDiff = 0, compared = 0;
    c.samples.forEach((sample, l) => {
      expect(sample.rows.length).toBe(4 * sample.indices.length);
      sample.indices.forEach((index, k) => {
        for (let j = 0; j < 4; j++, compared++) maxDiff = Math.max(maxDiff, Math.abs(result.anchors[4 * (offset + index) + j] - Math.fround(sample.rows[4 * k + j])));
      });
      offset += c.anchors_per_level[l];
    });
    expect(compared).toBeGreaterThan(100);
    expect(maxDiff).toBe(0); // float64 cell anchors rounded once, float32 shifts: no room for drift (contract: 1e-4)
  });
});
