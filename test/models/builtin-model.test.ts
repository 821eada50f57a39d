/**
 * The built-in model (models/world-rn-small) measured on committed held-out data of the synthetic world
 * (fixtures/world: a test world, seed 1001, never trained on): zero-shot classification among all 856
 * concepts (the CLIP image tower), labelling ground-truth boxes (RegionCLIP's GT-box protocol), and README's
 * main command on the RPN (the (C) detector graphs: a trained background and box regression). The floors sit below what the committed model
 * measured (README "Built-in model"), so a retrained model that got worse, or a runtime change that breaks the
 * features-mode region path, fails here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { xywhToXyxy } from '../../src/geometry/boxes.js';
import { boxIou } from '../../src/geometry/iou.js';
import { ClipModel } from '../../src/models/clip.js';
import { classifyImages } from '../../src/pipelines/classify.js';
import { Detector } from '../../src/pipelines/detect.js';
import { repoRoot } from '../helpers/golden.js';

const modelDir = join(repoRoot, 'models', 'world-rn-small');
const world = join(repoRoot, 'fixtures', 'world');
const labels = readFileSync(join(world, 'labels.txt'), 'utf8').split('\n').filter((l) => l.length > 0);
const singles = readFileSync(join(world, 'singles.jsonl'), 'utf8').split('\n').filter((l) => l.trim())
  .map((l) => JSON.parse(l) as { image: string; label: string; split: 'base' | 'novel' });

interface Gt {
  images: { id: number; file_name: string }[];
  annotations: { image_id: number; category_id: number; bbox: [number, number, number, number] }[];
  categories: { id: number; name: string }[];
}
const gt = JSON.parse(readFileSync(join(world, 'gt.json'), 'utf8')) as Gt;
/** The benchmark's vocabulary: the COCO-65 analogue's names. */
const coco65 = (JSON.parse(readFileSync(join(world, 'gt-coco65.json'), 'utf8')) as Gt).categories.map((c) => c.name);
const names = new Map(gt.categories.map((c) => [c.id, c.name]));
/** The annotations' boxes as XYXY, N×4. */
const xyxyOf = (anns: Gt['annotations']) => xywhToXyxy(Float32Array.from(anns.flatMap((a) => a.bbox)));

/** Floors below what the committed model measured here (base 36/47, novel 7/13, GT boxes 5/6; README
 * "Built-in model" has the full test world's numbers: 76.5% / 74.6% on 700 singles). */
const MIN_TOP1_BASE = 0.6;
const MIN_TOP1_NOVEL = 0.38;
const MIN_GT_BOX_ACCURACY = 0.5;

describe('built-in model (models/world-rn-small) on held-out world data', () => {
  it(`classifies the ${singles.length} committed test singles among all ${labels.length} concepts`, async () => {
    expect(labels).toHaveLength(856);
    const model = await ClipModel.load(modelDir, { intraOpThreads: 1 });
    try {
      const results = await classifyImages(model, singles.map((s) => join(world, s.image)), { labels, topK: 1, cacheDir: false });
      const hits = { base: [0, 0], novel: [0, 0] };
      results.forEach((r, i) => {
        expect(r.error).toBeUndefined();
        const h = hits[singles[i].split];
        h[0] += r.labels[0].label === singles[i].label ? 1 : 0;
        h[1]++;
      });
      const top1 = { base: hits.base[0] / hits.base[1], novel: hits.novel[0] / hits.novel[1] };
      console.log(`built-in model top-1 on fixtures/world/singles: base ${hits.base.join('/')}, novel ${hits.novel.join('/')}`);
      expect(top1.base).toBeGreaterThanOrEqual(MIN_TOP1_BASE);
      expect(top1.novel).toBeGreaterThanOrEqual(MIN_TOP1_NOVEL);
    } finally {
      await model.release();
    }
  }, 120_000);

  describe('detection', () => {
    // GT-box protocol: every label's score on every given box (one template keeps 856 labels quick)
    let gtBoxDetector: Detector;
    // README's main command: the default preset
    let defaultDetector: Detector;
    beforeAll(async () => {
      gtBoxDetector = await Detector.load('regionclip-zero-shot', {
        cacheDir: false, intraOpThreads: 1,
        settings: { text: { templates: 'single' }, detect: { scoreThreshold: 0, iouThreshold: 1, maxDetections: 100_000 } },
      });
      defaultDetector = await Detector.load('default', { cacheDir: false, intraOpThreads: 1 });
    });
    afterAll(async () => {
      await gtBoxDetector?.release();
      await defaultDetector?.release();
    });

    it('labels ground-truth boxes of the fixture scenes among the COCO-65 names (GT-box protocol)', async () => {
      let right = 0;
      let total = 0;
      for (const image of gt.images) {
        const anns = gt.annotations.filter((a) => a.image_id === image.id && coco65.includes(names.get(a.category_id)!));
        const boxes = xyxyOf(anns);
        const result = await gtBoxDetector.detect(join(world, image.file_name), { phrases: coco65, boxes });
        for (const [i, a] of anns.entries()) {
          // the best-scoring label of this box (GT-box mode returns boxes exactly as given)
          const mine = result.detections.filter((d) => d.box.every((v, k) => Math.abs(v - boxes[4 * i + k]) < 1e-3));
          expect(mine.length).toBeGreaterThan(0);
          const best = mine.reduce((x, y) => (y.score > x.score ? y : x));
          right += best.label === names.get(a.category_id) ? 1 : 0;
          total++;
        }
      }
      console.log(`built-in model GT-box labelling on fixtures/world: ${right}/${total}`);
      expect(total).toBe(6); // the monkey and the fuel pump are not COCO-65 classes
      expect(right / total).toBeGreaterThanOrEqual(MIN_GT_BOX_ACCURACY);
    }, 120_000);

    /** The detections of `result` that sit on each annotated object of 000020.jpg at least 1000 px² large, best first. */
    const onObjects = (detections: { label: string; score: number; box: number[] }[]) => {
      // (the third object is a 34x21 px bicycle)
      const anns = gt.annotations.filter((a) => a.image_id === 21 && a.bbox[2] * a.bbox[3] >= 1000);
      expect(anns).toHaveLength(2);
      const ious = boxIou(Float32Array.from(detections.flatMap((d) => d.box)), xyxyOf(anns)); // detections × objects
      return anns.map((a, i) => ({ name: names.get(a.category_id)!, on: detections.filter((_, r) => ious[r * anns.length + i] >= 0.5).sort((x, y) => y.score - x.score) }));
    };

    it("README's main command with the default preset: each detection a whole object of its label, once; nothing for an absent label", async () => {
      // The detector graphs are RegionCLIP's transfer (C): a trained background scores "not here" and the head
      // regresses each proposal's box; the (B) region encoder joins each label's probability (ViLD's ensemble). The CLIP built-in model before them returned 11 boxes for these 3 objects,
      // partial and overlapping ones among them, and needed the distractor pool to turn "giraffe" away.
      const result = await defaultDetector.detect(join(world, 'images', '000020.jpg'), { vocab: 'bicycle,sled' });
      const anns = gt.annotations.filter((a) => a.image_id === 21);
      expect(anns).toHaveLength(3);
      const ious = boxIou(Float32Array.from(result.detections.flatMap((d) => d.box)), xyxyOf(anns)); // detections × objects
      const matched = result.detections.map((d, r) => anns.findIndex((a, g) => ious[r * anns.length + g] >= 0.5 && names.get(a.category_id) === d.label));
      expect(matched, 'every detection on an object of its label').not.toContain(-1);
      expect(new Set(matched).size, 'no object twice').toBe(matched.length);
      const [bicycle] = onObjects(result.detections);
      expect(bicycle.name).toBe('bicycle');
      expect(bicycle.on.length, 'a detection on the large bicycle').toBe(1);
      // measured 0.819 with the (B) partner's ensemble (0.870 by the detector alone); the threshold is 0.8
      expect(bicycle.on[0].score).toBeCloseTo(0.819, 2);
      // (the small bicycle scores 0.46 and the sled's best box 0.08: README "Built-in model")
      const giraffe = await defaultDetector.detect(join(world, 'images', '000020.jpg'), { vocab: 'giraffe' });
      expect(giraffe.detections).toEqual([]);
    }, 120_000);

    it('the trained background says "not here" without a distractor pool: an absent label alone scores low on every region', async () => {
      // The detector alone: the ensemble partner has no background (its softmax over "giraffe" alone would be 1).
      const closed = await Detector.load('default', { cacheDir: false, intraOpThreads: 1, settings: { detect: { distractors: 'none', scoreThreshold: 0, regionEnsemble: false } } });
      try {
        expect(closed.model.backgroundEmbed?.some((v) => v !== 0)).toBe(true);
        const result = await closed.detect(join(world, 'images', '000020.jpg'), { vocab: 'giraffe' });
        expect(result.detections.length).toBeGreaterThan(0);
        // measured: 0.48 at best (a softmax over "giraffe" alone, as the CLIP built-in model had, gives 0.98)
        expect(Math.max(...result.detections.map((d) => d.score))).toBeLessThan(0.6);
        const present = await closed.detect(join(world, 'images', '000020.jpg'), { vocab: 'bicycle' });
        expect(Math.max(...present.detections.map((d) => d.score))).toBeGreaterThanOrEqual(0.8);
      } finally {
        await closed.release();
      }
    }, 60_000);
  });
});
