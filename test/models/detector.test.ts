import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/errors.js';
import { Boxes } from '../../src/geometry/boxes.js';
import { decodeImage, type DecodedImage } from '../../src/image/read.js';
import { CropRegionEncoder } from '../../src/models/crop-encoder.js';
import { DetectorModel } from '../../src/models/detector.js';
import { FeatureRegionEncoder } from '../../src/models/features-encoder.js';
import { repoRoot } from '../helpers/golden.js';

const image = join(repoRoot, 'fixtures', 'images', 'shapes.png');
const norms = (x: Float32Array, D: number) => Array.from({ length: x.length / D }, (_, r) => Math.hypot(...x.subarray(r * D, (r + 1) * D)));

for (const mode of ['features', 'crop'] as const) {
  describe(`DetectorModel stages, ${mode} mode`, () => {
    let model: DetectorModel;
    let decoded: DecodedImage;
    beforeAll(async () => {
      model = await DetectorModel.load(join(repoRoot, 'fixtures', 'models', `tiny-detector-${mode}`));
      decoded = await decodeImage(image);
    });
    afterAll(() => model.release());

    it('builds the region encoder the manifest names', () => {
      expect(model.regionEncoder.mode).toBe(mode);
      expect(model.regionEncoder).toBeInstanceOf(mode === 'features' ? FeatureRegionEncoder : CropRegionEncoder);
    });

    it('proposes Boxes inside the resized image, in decreasing objectness, and maps them back', async () => {
      const { proposals, resized } = await model.propose(decoded, { postNmsTopK: 20 });
      const K = proposals.boxes.length;
      expect(K).toBeGreaterThan(0);
      expect(K).toBeLessThanOrEqual(20);
      expect(proposals.scores.length).toBe(K);
      for (let k = 1; k < K; k++) expect(proposals.scores[k]).toBeLessThanOrEqual(proposals.scores[k - 1]);
      for (let k = 0; k < K; k++) {
        const [x1, y1, x2, y2] = proposals.boxes.row(k);
        expect(x1).toBeGreaterThanOrEqual(0);
        expect(y1).toBeGreaterThanOrEqual(0);
        expect(x2).toBeLessThanOrEqual(resized.image.width);
        expect(y2).toBeLessThanOrEqual(resized.image.height);
      }
      const original = DetectorModel.toOriginal(proposals.boxes, resized);
      expect(original.row(0)[2]).toBeCloseTo(proposals.boxes.row(0)[2] / resized.scaleX, 4);
    });

    it('embeds regions as unit rows, the same from Boxes or a Float32Array, batch size aside', async () => {
      const D = model.manifest.embedDim;
      const data = Float32Array.from([0, 0, 40, 30, 10, 5, 60, 50, 20, 20, 21, 21]);
      const a = await model.embedRegions(decoded, Boxes.from(data));
      const b = await model.embedRegions(decoded, data);
      expect(a.length).toBe(3 * D);
      expect(Array.from(b)).toEqual(Array.from(a));
      for (const n of norms(a, D)) expect(n).toBeCloseTo(1, 5);
      expect((await model.embedRegions(decoded, Boxes.empty())).length).toBe(0);
    });

    it('pools each batch into one buffer per call: batches of 4 (4, 4, 2) and concurrent calls give the same embeddings', async () => {
      const D = model.manifest.embedDim;
      const boxes = (seed: number) => Float32Array.from(Array.from({ length: 10 }, (_, k) => {
        const x = ((k * 37 + seed * 11) % 29) * 2, y = ((k * 17 + seed * 5) % 23) * 2;
        return [x, y, x + 8 + ((k + seed) % 7) * 3, y + 6 + ((k * seed) % 5) * 4];
      }).flat());
      const [a, b] = [boxes(1), boxes(2)];
      const small = await DetectorModel.load(join(repoRoot, 'fixtures', 'models', `tiny-detector-${mode}`), { regionBatchSize: 4 });
      try {
        const one = await model.embedRegions(decoded, a); // default batch: all 10 in one
        const batched = await small.embedRegions(decoded, a);
        for (let i = 0; i < one.length; i++) expect(batched[i]).toBeCloseTo(one[i], 5);
        // Two calls in flight on one model: each keeps its own pooled buffer, so each equals its call alone.
        const alone = [await small.embedRegions(decoded, a), await small.embedRegions(decoded, b)];
        const together = await Promise.all([small.embedRegions(decoded, a), small.embedRegions(decoded, b)]);
        expect(Array.from(together[0])).toEqual(Array.from(alone[0]));
        expect(Array.from(together[1])).toEqual(Array.from(alone[1]));
        expect(Array.from(alone[0])).not.toEqual(Array.from(alone[1]));
        expect(one.length).toBe(10 * D);
      } finally {
        await small.release();
      }
    });

    it('validates a Float32Array of boxes at the edge', async () => {
      await expect(model.embedRegions(decoded, Float32Array.from([0, 0, Infinity, 4]))).rejects.toThrow(InvalidInputError);
    });
  });
}

it('splits regions into batches without changing the embeddings', async () => {
  const dir = join(repoRoot, 'fixtures', 'models', 'tiny-detector-features');
  const [one, two, big] = await Promise.all([DetectorModel.load(dir, { regionBatchSize: 1 }), DetectorModel.load(dir, { regionBatchSize: 2 }), DetectorModel.load(dir)]);
  const decoded = await decodeImage(image);
  const boxes = Float32Array.from([0, 0, 40, 30, 10, 5, 60, 50, 20, 20, 30, 31]);
  // Batches of 1, of 2 then 1 (a shorter last batch), and one batch of 3, all pooled from one channels-last map.
  const a = await one.embedRegions(decoded, boxes), c = await two.embedRegions(decoded, boxes), b = await big.embedRegions(decoded, boxes);
  expect(a.length).toBe(b.length);
  expect(c.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    expect(a[i]).toBeCloseTo(b[i], 5);
    expect(c[i]).toBeCloseTo(b[i], 5);
  }
  await Promise.all([one.release(), two.release(), big.release()]);
});
