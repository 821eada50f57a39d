import { describe, expect, it } from 'vitest';
import { selectDetections } from '../../src/matching/detections.js';
import { fuseScores } from '../../src/matching/scores.js';

// 3 regions × 2 phrases; regions 0 and 1 overlap heavily (IoU 0.81), region 2 is apart.
const boxes = Float32Array.from([0, 0, 10, 10, 1, 1, 10, 10, 20, 20, 30, 30]);
const probs = Float32Array.from([0.9, 0.1, 0.8, 0.2, 0.3, 0.7]);

describe('selectDetections', () => {
  it('keeps pairs above the threshold, NMS within each phrase, best first', () => {
    const out = selectDetections(probs, 2, boxes, { scoreThreshold: 0.15, iouThreshold: 0.5, maxDetections: 100 });
    // candidates: r0p0 .9, r1p0 .8 (suppressed by r0p0), r1p1 .2, r2p0 .3, r2p1 .7
    expect(Array.from(out.regionIds)).toEqual([0, 2, 2, 1]);
    expect(Array.from(out.classIds)).toEqual([0, 1, 0, 1]);
    expect(Array.from(out.scores)).toEqual([0.9, 0.7, 0.3, 0.2].map(Math.fround));
    expect(Array.from(out.boxes.data.subarray(0, 4))).toEqual([0, 0, 10, 10]);
  });
  it('score threshold is strict, maxDetections caps, empty input gives empty output', () => {
    expect(selectDetections(probs, 2, boxes, { scoreThreshold: 0.69, iouThreshold: 0.5, maxDetections: 100 }).scores.length).toBe(2);
    // a score equal to the threshold is dropped
    expect(selectDetections(probs, 2, boxes, { scoreThreshold: Math.fround(0.7), iouThreshold: 0.5, maxDetections: 100 }).scores.length).toBe(1);
    expect(selectDetections(probs, 2, boxes, { scoreThreshold: 0, iouThreshold: 0.5, maxDetections: 1 }).scores.length).toBe(1);
    expect(selectDetections(new Float32Array(0), 2, new Float32Array(0), { scoreThreshold: 0, iouThreshold: 0.5, maxDetections: 5 }).scores.length).toBe(0);
  });
  it('class-agnostic NMS lets overlapping boxes of different labels suppress each other', () => {
    // candidates: r0p0 .9, r1p0 .8, r2p1 .7, r2p0 .3, r1p1 .2 — agnostic: r1 (IoU 0.81 with r0) and r2p0 (r2's own box) go
    const out = selectDetections(probs, 2, boxes, { scoreThreshold: 0.15, iouThreshold: 0.5, maxDetections: 100, agnostic: true });
    expect(out.scores.length).toBe(2);
    expect(Array.from(out.regionIds)).toEqual([0, 2]);
    expect(Array.from(out.classIds)).toEqual([0, 1]);
    expect(Array.from(out.scores)).toEqual([0.9, 0.7].map(Math.fround));
    // per-class (the default, and agnostic: false) keeps r2 under both labels
    expect(Array.from(selectDetections(probs, 2, boxes, { scoreThreshold: 0.15, iouThreshold: 0.5, maxDetections: 100, agnostic: false }).regionIds)).toEqual([0, 2, 2, 1]);
  });
  it('geometric fusion is sqrt(prob × sigmoid objectness) and needs the objectness', () => {
    const fused = fuseScores(probs, 2, 'geometric', Float32Array.from([1, 0.25, 0]));
    expect(Array.from(fused).map((v) => +v.toFixed(6))).toEqual([0.948683, 0.316228, 0.447214, 0.223607, 0, 0]);
    expect(() => fuseScores(probs, 2, 'geometric')).toThrow(/objectness/);
  });
});

describe('selectDetections after the stage split', () => {
  it('refuses the fusion options that moved to scoreRegions instead of ignoring them', () => {
    const options = { scoreThreshold: 0.1, iouThreshold: 0.5, maxDetections: 10, fusion: 'geometric', objectness: Float32Array.from([1, 1, 1]) };
    expect(() => selectDetections(probs, 2, boxes, options)).toThrow('Expected scoreThreshold, iouThreshold and maxDetections (objectness fusion moved to scoreRegions) for selectDetections options but received "fusion".');
  });
});
