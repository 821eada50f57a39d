import { describe, expect, it } from 'vitest';
import { generateAnchors } from '../../src/geometry/anchors.js';
import { filterProposals, type ProposalOptions, type RpnLevelOutput } from '../../src/proposals/filter.js';
import { f32, fixtureGolden } from '../helpers/golden.js';

interface Run { pre_nms_topk: number; post_nms_topk: number; nms_thresh: number; min_size: number; kept: [number, number][]; boxes: number[]; logits: number[] }
interface Case {
  id: string; image_size_hw: [number, number]; padded_size_hw: [number, number]; feature_sizes_hw: [number, number][]; strides: number[];
  anchor_sizes: number[][]; aspect_ratios: number[][]; anchors_per_location: number;
  objectness: (number | null)[][]; deltas: (number | null)[][]; runs: Run[];
}
const golden = fixtureGolden<{ cases: Case[] }>('d2-rpn/proposals.json');

function inputs(c: Case): { levels: RpnLevelOutput[]; anchors: Float32Array } {
  const { anchors } = generateAnchors({ sizes: c.anchor_sizes, aspectRatios: c.aspect_ratios, imageSize: c.padded_size_hw, featureMapSizes: c.feature_sizes_hw, style: 'detectron2', strides: c.strides });
  const levels = c.feature_sizes_hw.map(([h, w], l) => ({ objectnessLogits: f32(c.objectness[l]), deltas: f32(c.deltas[l]), anchorsPerLocation: c.anchors_per_location, height: h, width: w }));
  return { levels, anchors };
}

function options(c: Case, run: Run, anchors: Float32Array): ProposalOptions {
  return {
    anchors, imageSize: c.image_size_hw, boxCoderWeights: [1, 1, 1, 1], preNmsTopK: run.pre_nms_topk, postNmsTopK: run.post_nms_topk,
    nmsThreshold: run.nms_thresh, minSize: run.min_size, minSizeRule: 'gt', scoreThreshold: 0, style: 'detectron2',
  };
}

const runs = golden.cases.flatMap((c) => c.runs.map((run, r) => [`${c.id} run ${r} (pre ${run.pre_nms_topk}, post ${run.post_nms_topk}, nms ${run.nms_thresh}, min ${run.min_size})`, c, run] as const));

describe('filterProposals style "detectron2" = find_top_rpn_proposals (fixtures/golden/d2-rpn/proposals.json, training/d2_rpn_reference.py)', () => {
  it.each(runs)('%s: same proposals in the same order, boxes within 1e-4', (_id, c, run) => {
    const { levels, anchors } = inputs(c);
    const out = filterProposals(levels, options(c, run, anchors));
    expect(out.logits.length).toBe(run.logits.length);
    // Random 3-decimal logits are distinct, so equal logits in order = the same anchors in the same order.
    expect(Array.from(out.logits)).toEqual(Array.from(Float32Array.from(run.logits)));
    expect(Array.from(out.levels)).toEqual(run.kept.map(([level]) => level));
    expect(Array.from(out.scores)).toEqual(Array.from(out.logits, (x) => Math.fround(1 / (1 + Math.exp(-x)))));
    let maxDiff = 0;
    for (let i = 0; i < run.boxes.length; i++) maxDiff = Math.max(maxDiff, Math.abs(out.boxes.data[i] - Math.fround(run.boxes[i])));
    expect(out.boxes.length).toBe(run.kept.length);
    expect(maxDiff).toBeLessThanOrEqual(1e-4); // measured: 6.1e-5 (1 ulp at ~1000, exp rounding)
  });

  const [fpn] = golden.cases;
  const [first] = fpn.runs;
  it('of two saturated neighbours (IoU 0.78) keeps the higher logit', () => {
    const { levels, anchors } = inputs(fpn);
    const d2 = filterProposals(levels, options(fpn, first, anchors));
    expect(d2.logits[0]).toBe(20);
    expect(d2.scores[0]).toBe(1); // float32 sigmoid(20)
    expect(d2.logits.includes(18)).toBe(false);
  });
  it('orders by logit where float32 sigmoids tie (torchvision style orders such ties by position)', () => {
    // Two levels of one 1×1 cell each, far apart: logit 18 on level 0, 20 on level 1; both sigmoids are 1.
    const level = (logit: number): RpnLevelOutput => ({ objectnessLogits: Float32Array.from([logit]), deltas: new Float32Array(4), anchorsPerLocation: 1, height: 1, width: 1 });
    const hand: ProposalOptions = {
      anchors: Float32Array.from([0, 0, 10, 10, 50, 50, 60, 60]), imageSize: [64, 64], boxCoderWeights: [1, 1, 1, 1], preNmsTopK: 5, postNmsTopK: 5,
      nmsThreshold: 0.7, minSize: 0, minSizeRule: 'gt', scoreThreshold: 0, style: 'detectron2',
    };
    const d2 = filterProposals([level(18), level(20)], hand);
    expect(Array.from(d2.logits)).toEqual([20, 18]);
    expect(Array.from(d2.levels)).toEqual([1, 0]);
    expect(Array.from(d2.scores)).toEqual([1, 1]);
    expect(Array.from(filterProposals([level(18), level(20)], { ...hand, style: 'torchvision' }).logits)).toEqual([18, 20]);
  });
  it('drops a box clipped to zero width with minSize 0 under "gt", keeps it under "gte"', () => {
    const { levels, anchors } = inputs(fpn);
    const gt = filterProposals(levels, options(fpn, first, anchors));
    const gte = filterProposals(levels, { ...options(fpn, first, anchors), minSizeRule: 'gte' });
    expect(gt.logits.includes(16)).toBe(false); // the planted box at x < 0
    expect(gte.logits.includes(16)).toBe(true);
    const k = gte.logits.indexOf(16);
    expect(gte.boxes.row(k)[0]).toBe(0);
    expect(gte.boxes.row(k)[2]).toBe(0);
    expect(gt.logits.includes(15)).toBe(false); // the NaN delta: dropped as non-finite in both
    expect(gte.logits.includes(15)).toBe(false);
  });
  it('refuses a score threshold in detectron2 style and an unknown rule', () => {
    const { levels, anchors } = inputs(fpn);
    expect(() => filterProposals(levels, { ...options(fpn, first, anchors), scoreThreshold: 0.1 })).toThrow(/0 \(detectron2 proposals have no score threshold\) for scoreThreshold/);
    expect(() => filterProposals(levels, { ...options(fpn, first, anchors), minSizeRule: 'ge' as 'gt' })).toThrow(/"gte" or "gt" for minSizeRule/);
  });
});
