import { describe, expect, it } from 'vitest';
import { Boxes } from '../../src/geometry/boxes.js';
import type { BoxCoderWeights } from '../../src/geometry/box-coder.js';
import { ModelRunError } from '../../src/errors.js';
import { regressProposals } from '../../src/pipelines/detect.js';
import { fixtureGolden } from '../helpers/golden.js';

interface Golden {
  image_size_hw: [number, number]; scale_xy: [number, number]; weights: BoxCoderWeights;
  proposals: number[]; deltas: number[]; clipped: number[]; original: number[];
}
const golden = fixtureGolden<Golden>('d2-rpn/box-deltas.json');

function resizedOf(g: Golden) {
  const [height, width] = g.image_size_hw;
  return { image: { data: new Uint8Array(width * height * 3), width, height, channels: 3 }, scaleX: g.scale_xy[0], scaleY: g.scale_xy[1] };
}

describe('regressProposals = RegionCLIP predict_boxes (weights 10, 10, 5, 5) + clip (fixtures/golden/d2-rpn/box-deltas.json, torch)', () => {
  it('decodes, clips to the resized image and maps back to the original within 1e-4', () => {
    const out = regressProposals(Boxes.of(Float32Array.from(golden.proposals)), Float32Array.from(golden.deltas), golden.weights, resizedOf(golden));
    expect(out.length).toBe(golden.proposals.length / 4);
    let maxDiff = 0;
    for (let i = 0; i < golden.original.length; i++) maxDiff = Math.max(maxDiff, Math.abs(out.data[i] - Math.fround(golden.original[i])));
    expect(maxDiff).toBeLessThanOrEqual(1e-4);
    // Row 0: dw, dh clamped at log(1000/16), then clipped to the whole 140 × 201 original; row 1 pushed off the left edge.
    expect(out.row(0)).toEqual([0, 0, 201, 140]);
    expect([out.row(1)[0], out.row(1)[2]]).toEqual([0, 0]);
  });
  it('zero deltas leave the proposals where they were', () => {
    const proposals = Boxes.of(Float32Array.from([10, 10, 30, 20]));
    const out = regressProposals(proposals, new Float32Array(4), [10, 10, 5, 5], { ...resizedOf(golden), scaleX: 1, scaleY: 1 });
    expect(out.row(0)).toEqual([10, 10, 30, 20]);
  });
  it('a non-finite delta is a ModelRunError naming the region', () => {
    const proposals = Boxes.of(Float32Array.from([10, 10, 30, 20, 0, 0, 5, 5]));
    const call = () => regressProposals(proposals, Float32Array.from([0, 0, 0, 0, Number.NaN, 0, 0, 0]), [10, 10, 5, 5], resizedOf(golden));
    expect(call).toThrow(ModelRunError);
    expect(call).toThrow(/finite box deltas for the region head but received a non-finite box for region 1/);
  });
});
