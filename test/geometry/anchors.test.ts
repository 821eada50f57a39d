import { describe, expect, it } from 'vitest';
import { cellAnchors, generateAnchors, roundHalfToEven, InvalidInputError } from '../../src/index.js';
import { goldenSources, SKIP_NO_SHARED } from '../helpers/golden.js';

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
