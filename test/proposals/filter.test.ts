import { describe, expect, it } from 'vitest';
import { generateAnchors } from '../../src/geometry/anchors.js';
import { filterProposals, topKIndices, type RpnLevelOutput } from '../../src/proposals/filter.js';
import { InvalidInputError } from '../../src/errors.js';
import { fixtureGolden } from '../helpers/golden.js';

interface Case {
  id: string; padded_size_hw: [number, number]; image_size_hw: [number, number]; feature_sizes_hw: [number, number][];
  anchor_sizes: number[][]; aspect_ratios: number[][]; anchors_per_location: number;
  pre_nms_top_n: number; post_nms_top_n: number; nms_thresh: number; min_size: number; score_thresh: number;
  objectness: number[][]; deltas: number[][]; boxes: number[]; scores: number[];
}
const golden = fixtureGolden<{ cases: Case[] }>('rpn-filter.json');

describe('filterProposals = torchvision RegionProposalNetwork.filter_proposals (fixtures/golden/rpn-filter.json)', () => {
  it.each(golden.cases.map((c) => [c.id, c] as const))('%s: same proposals, order and scores', (_id, c) => {
    const { anchors } = generateAnchors({ sizes: c.anchor_sizes, aspectRatios: c.aspect_ratios, imageSize: c.padded_size_hw, featureMapSizes: c.feature_sizes_hw });
    const levels: RpnLevelOutput[] = c.feature_sizes_hw.map(([h, w], l) => ({
      objectnessLogits: Float32Array.from(c.objectness[l]), deltas: Float32Array.from(c.deltas[l]), anchorsPerLocation: c.anchors_per_location, height: h, width: w,
    }));
    const out = filterProposals(levels, {
      anchors, imageSize: c.image_size_hw, boxCoderWeights: [1, 1, 1, 1], preNmsTopK: c.pre_nms_top_n, postNmsTopK: c.post_nms_top_n,
      nmsThreshold: c.nms_thresh, minSize: c.min_size, scoreThreshold: c.score_thresh,
    });
    expect(out.scores.length).toBe(c.scores.length);
    let maxBox = 0, maxScore = 0;
    for (let i = 0; i < c.boxes.length; i++) maxBox = Math.max(maxBox, Math.abs(out.boxes.data[i] - c.boxes[i]));
    for (let i = 0; i < c.scores.length; i++) maxScore = Math.max(maxScore, Math.abs(out.scores[i] - c.scores[i]));
    expect(maxBox).toBeLessThanOrEqual(1e-4);
    expect(maxScore).toBeLessThanOrEqual(1e-6);
  });
});

describe('filterProposals semantics', () => {
  it('top-k ties go to the lower index', () => {
    expect(Array.from(topKIndices(Float32Array.from([1, 3, 3, 2]), 3))).toEqual([1, 2, 3]);
  });
  it('gives no proposals when every box is too small, and checks its inputs', () => {
    const level: RpnLevelOutput = { objectnessLogits: Float32Array.from([5]), deltas: Float32Array.from([0, 0, -10, -10]), anchorsPerLocation: 1, height: 1, width: 1 };
    const options = { anchors: Float32Array.from([0, 0, 8, 8]), imageSize: [8, 8] as [number, number], boxCoderWeights: [1, 1, 1, 1] as [number, number, number, number], preNmsTopK: 10, postNmsTopK: 10, nmsThreshold: 0.7, minSize: 1, scoreThreshold: 0 };
    expect(filterProposals([level], options).boxes.length).toBe(0);
    expect(() => filterProposals([level], { ...options, anchors: new Float32Array(8) })).toThrow(InvalidInputError);
    expect(() => filterProposals([level], { ...options, nmsThreshold: 2 })).toThrow(/nmsThreshold/);
  });
  it('checks the box coder weights and the anchors it decodes at its edge, naming the anchor', () => {
    const level: RpnLevelOutput = { objectnessLogits: Float32Array.from([1, 5, 2]), deltas: new Float32Array(12), anchorsPerLocation: 1, height: 1, width: 3 };
    const options = { anchors: Float32Array.from([0, 0, 8, 8, 1, Number.NaN, 9, 9, 2, 2, 10, 10]), imageSize: [16, 16] as [number, number], boxCoderWeights: [1, 1, 1, 1] as [number, number, number, number], preNmsTopK: 3, postNmsTopK: 10, nmsThreshold: 0.7, minSize: 0, scoreThreshold: 0 };
    expect(() => filterProposals([level], options)).toThrow(InvalidInputError);
    expect(() => filterProposals([level], options)).toThrow('Expected finite coordinates for anchors[1] but received [1, NaN, 9, 9].');
    // An anchor below the top k is never decoded.
    expect(filterProposals([level], { ...options, anchors: Float32Array.from([Number.NaN, 0, 8, 8, 1, 1, 9, 9, 2, 2, 10, 10]), preNmsTopK: 2 }).boxes.length).toBe(2);
    const good = { ...options, anchors: Float32Array.from([0, 0, 8, 8, 1, 1, 9, 9, 2, 2, 10, 10]) };
    expect(() => filterProposals([level], { ...good, boxCoderWeights: [1, 0, 1, 1] })).toThrow('Expected a finite number > 0 for weights[1] but received 0.');
    expect(() => filterProposals([], { ...good, anchors: new Float32Array(0), boxCoderWeights: [1, 1, 1] as unknown as [number, number, number, number] })).toThrow(/weights \[wx, wy, ww, wh\] for weights/);
  });
});
