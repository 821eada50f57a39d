import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { competingPool, Detector, detectImage, resolvePhrases } from '../../src/pipelines/detect.js';
import { DetectorModel } from '../../src/models/detector.js';
import { BUILTIN_DISTRACTORS, distractorsFor } from '../../src/text/distractors.js';
import { ClipTextEncoder } from '../../src/models/text-encoder.js';
import { decodeImage } from '../../src/image/read.js';
import { InvalidInputError } from '../../src/errors.js';
import { repoRoot } from '../helpers/golden.js';

const features = join(repoRoot, 'fixtures', 'models', 'tiny-detector-features');
let detector: Detector;
let scene: Buffer;
beforeAll(async () => {
  detector = await Detector.load(features, { cacheDir: false, settings: { detect: { scoreThreshold: 0.3 } } });
  const square = await sharp({ create: { width: 50, height: 40, channels: 3, background: { r: 220, g: 20, b: 20 } } }).png().toBuffer();
  scene = await sharp({ create: { width: 160, height: 120, channels: 3, background: { r: 30, g: 120, b: 200 } } }).composite([{ input: square, left: 20, top: 30 }]).png().toBuffer();
});
afterAll(async () => { await detector.release(); });

describe('resolvePhrases', () => {
  it('keeps one label per category name key (case, spacing and Unicode form, as detect --coco-gt matches them)', () => {
    expect(resolvePhrases({ vocab: 'caf\u00e9 table, cafe\u0301 table, CAF\u00c9  TABLE', phrases: ['Dog', 'dog\u00a0'] })).toEqual(['Dog', 'caf\u00e9 table']);
  });
});

describe('detect edge cases', () => {
  it('an empty vocabulary is a typed error', async () => {
    await expect(detector.detect(scene, { vocab: ' ; , ' })).rejects.toThrow(InvalidInputError);
    await expect(detector.detect(scene, { caption: 'it is what it is' })).rejects.toThrow(/no noun phrase/);
  });

  it('an image smaller than the smallest anchor still works', async () => {
    const tiny = await sharp({ create: { width: 7, height: 5, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png().toBuffer();
    const result = await detector.detect(tiny, { vocab: 'red square' });
    expect(result.image).toMatchObject({ width: 7, height: 5 });
    for (const d of result.detections) expect(d.box[2]).toBeLessThanOrEqual(7);
  });

  it('given boxes are clipped to the image; boxes outside it or empty once clipped are dropped, with a warning', async () => {
    const warnings: string[] = [];
    const d = await Detector.load(features, { cacheDir: false, settings: { detect: { scoreThreshold: 0 } }, onWarning: (m) => warnings.push(m) });
    const boxes = Float32Array.from([-10, -10, 500, 60, 20, 30, 70, 70, 160, 0, 200, 50, 30, 30, 40, 30]);
    const result = await d.detect(scene, { vocab: 'red square', boxes });
    expect(new Set(result.detections.map((x) => x.box.join(',')))).toEqual(new Set(['0,0,160,60', '20,30,70,70']));
    expect(warnings).toEqual(['<buffer>: dropped 2 of 4 given boxes (outside the 160×120 image, or empty once clipped to it): #2 [160, 0, 200, 50], #3 [30, 30, 40, 30]']);
    // Every box dropped: no detections, not a crash.
    const none = await d.detect(scene, { vocab: 'red square', boxes: Float32Array.from([170, 0, 180, 10]) });
    expect(none.detections).toEqual([]);
    expect(warnings).toHaveLength(2);
    // Malformed boxes are still errors naming the box.
    await expect(d.detect(scene, { vocab: 'red square', boxes: Float32Array.from([0, 0, 10, NaN]) })).rejects.toThrow('Expected finite coordinates for boxes[0] but received [0, 0, 10, NaN].');
    await d.release();
  });

  it('zero proposals give an empty result, not a crash', async () => {
    const strict = await Detector.load(features, { cacheDir: false, settings: { proposals: { minSize: 1e6 } } });
    const result = await strict.detect(scene, { vocab: 'red square' });
    expect(result.detections).toEqual([]);
    await strict.release();
  });

  it('text.articles reaches the phrase embeddings: false fills "a photo of a apple." verbatim, as RegionCLIP does', async () => {
    const encoder = new ClipTextEncoder(detector.model.clip, { cacheDir: false });
    const single = { templates: 'single', ensemble: 'average-normalize' } as const;
    const [fixed, verbatim] = await Promise.all([true, false].map(async (articles) => {
      const d = await Detector.load(features, { cacheDir: false, settings: { text: { ...single, articles } } });
      const embeds = await d.embedPhrases(['apple']);
      await d.release();
      return embeds;
    }));
    expect(verbatim).toEqual(await encoder.embedPhrases(['apple'], { ...single, fill: { articles: false } }));
    expect(fixed).toEqual(await encoder.embedPhrases(['apple'], single));
    expect(verbatim).not.toEqual(fixed);
  });

  it('a 5,000-phrase vocabulary works (batched)', async () => {
    const big = await Detector.load(features, { cacheDir: false, settings: { text: { templates: 'single' }, detect: { scoreThreshold: 0.001 } }, phraseBatchSize: 256 });
    const vocab = Array.from({ length: 5000 }, (_, i) => `thing ${i}`);
    const result = await big.detect(scene, { phrases: vocab });
    expect(result.phrases).toHaveLength(5000);
    expect(result.detections.length).toBeLessThanOrEqual(100);
    for (const d of result.detections) expect(vocab).toContain(d.label);
    await big.release();
  }, 120_000);
});

describe('open-set scoring: which distractors compete', () => {
  const crop = join(repoRoot, 'fixtures', 'models', 'tiny-detector-crop');
  const scratch = mkdtempSync(join(tmpdir(), 'regionclip-pool-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('the built-in pool for a model without a background; a trained background instead of it; a named pool beside it', async () => {
    const plain = await DetectorModel.load(features), trained = await DetectorModel.load(crop);
    try {
      expect(plain.backgroundEmbed).toBeUndefined();
      expect(competingPool(plain, 'builtin')).toEqual(BUILTIN_DISTRACTORS);
      expect(competingPool(plain, 'none')).toEqual([]);
      expect(trained.backgroundEmbed!.some((v) => v !== 0)).toBe(true);
      expect(competingPool(trained, 'builtin')).toEqual([]);
      expect(competingPool(trained, ['sky', 'road'])).toEqual(['sky', 'road']);
      writeFileSync(join(scratch, 'pool.txt'), 'sky\n\nroad\nsky\n');
      expect(competingPool(trained, join(scratch, 'pool.txt'))).toEqual(['sky', 'road']);
    } finally {
      await plain.release();
      await trained.release();
    }
  });

  it('an all-zero background (converted RegionCLIP checkpoints) is no trained background: the built-in pool competes beside it', async () => {
    const zero = join(scratch, 'zero-background');
    cpSync(crop, zero, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(zero, 'manifest.json'), 'utf8'));
    const zeros = Buffer.alloc(4 * manifest.embedDim);
    writeFileSync(join(zero, manifest.scoring.backgroundEmbed), zeros);
    manifest.files[manifest.scoring.backgroundEmbed].sha256 = createHash('sha256').update(zeros).digest('hex');
    writeFileSync(join(zero, 'manifest.json'), JSON.stringify(manifest));
    const model = await DetectorModel.load(zero);
    try {
      expect(Array.from(model.backgroundEmbed!)).toEqual(new Array(manifest.embedDim).fill(0));
      expect(competingPool(model, 'builtin')).toEqual(BUILTIN_DISTRACTORS);
    } finally {
      await model.release();
    }
  });

  it('detectImage embeds the settings\' pool itself: the same detections as Detector', async () => {
    const loaded = await Detector.load(features, { cacheDir: false, settings: { detect: { scoreThreshold: 0.01, distractors: ['blue circle', 'sky'] } } });
    try {
      const phrases = ['red square', 'green triangle'];
      const viaDetector = await loaded.detect(scene, { phrases });
      const viaFunction = await detectImage(loaded.model, scene, phrases, await loaded.embedPhrases(phrases), { cacheDir: false, settings: loaded.settings });
      expect(viaFunction.detections).toEqual(viaDetector.detections);
      const noPool = { ...loaded.settings, detect: { ...loaded.settings.detect, distractors: 'none' } };
      const closed = await detectImage(loaded.model, scene, phrases, await loaded.embedPhrases(phrases), { cacheDir: false, settings: noPool });
      expect(closed.detections.length).toBeGreaterThan(0);
      expect(closed.detections[0].score).toBeGreaterThan(viaDetector.detections[0]?.score ?? 0);
    } finally {
      await loaded.release();
    }
  });
});

// Parity with the PyTorch reference implementation (training/reference_detect.py) on the same models.
const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

for (const mode of ['features', 'crop'] as const) {
  const dir = join(repoRoot, 'fixtures', 'models', `tiny-detector-${mode}`);
  const references = existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith('reference-') && f.endsWith('.json')) : [];
  describe(`torch reference parity, ${mode} mode`, () => {
    it('has reference fixtures', () => expect(references.length).toBeGreaterThan(0));
    it.each(references)('%s: proposals, region embeddings, phrase embeddings and detections within 1e-4', async (file) => {
      const ref = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      const s = ref.settings;
      const settings = {
        proposals: { preNmsTopK: s.rpn.preNmsTopK, postNmsTopK: s.rpn.postNmsTopK, nmsThreshold: s.rpn.nmsThreshold, minSize: s.rpn.minSize },
        text: { templates: 'single' as const, ensemble: s.ensemble },
        // training/reference_detect.py scores against the labels (and background) alone: no distractors
        detect: { iouThreshold: s.detIou, maxDetections: s.maxDet, distractors: 'none' },
      };
      const det = await Detector.load(dir, { cacheDir: false, settings });
      const imagePath = join(repoRoot, ref.image.path);
      const decoded = await decodeImage(imagePath);
      // 1. proposals (resized coordinates) and objectness
      const { proposals, resized } = await det.model.propose(decoded, settings.proposals);
      expect([resized.image.height, resized.image.width]).toEqual([ref.resize.height, ref.resize.width]);
      expect(proposals.scores.length).toBe(ref.proposals.count);
      expect(maxAbs(proposals.boxes.data, ref.proposals.boxes.flat())).toBeLessThanOrEqual(1e-4);
      expect(maxAbs(proposals.scores, ref.proposals.scores)).toBeLessThanOrEqual(1e-4);
      // 2. region embeddings from the reference's original-coordinate boxes
      const boxes = Float32Array.from(ref.proposals.boxesOriginal.flat());
      if (boxes.length > 0) {
        const regionEmbeds = await det.model.embedRegions(decoded, boxes, { resized });
        expect(maxAbs(regionEmbeds, ref.regionEmbeds.flat())).toBeLessThanOrEqual(1e-4);
      }
      // 3. token ids and phrase embeddings
      const ids = ref.text.prompts.map((p: string) => det.model.clip.tokenizer.encode(p));
      expect(ids).toEqual(ref.text.inputIds);
      const phraseEmbeds = await det.embedPhrases(s.vocab);
      expect(maxAbs(phraseEmbeds, ref.text.phraseEmbeds.flat())).toBeLessThanOrEqual(1e-4);
      await det.release();
      // 4. final detections, for each score fusion
      for (const fusion of s.fusions as ('none' | 'geometric')[]) {
        const expected = ref.detections[fusion];
        const run = await Detector.load(dir, { cacheDir: false, settings: { ...settings, detect: { ...settings.detect, scoreThreshold: expected.conf, fusion } } });
        const result = await run.detect(imagePath, { phrases: s.vocab });
        await run.release();
        expect(result.detections.map((d) => d.label)).toEqual(expected.detections.map((d: { label: string }) => d.label));
        expect(maxAbs(result.detections.flatMap((d) => d.box), expected.detections.flatMap((d: { box: number[] }) => d.box))).toBeLessThanOrEqual(1e-4);
        expect(maxAbs(result.detections.map((d) => d.score), expected.detections.map((d: { score: number }) => d.score))).toBeLessThanOrEqual(1e-4);
      }
    });
  });
}

describe('text-embedding progress (onTextProgress)', () => {
  const labels = Array.from({ length: 40 }, (_, i) => `label ${i}`);
  it('reports (done, total) per batch of phrases through the text tower, then nothing new once they are cached', async () => {
    const fresh = await Detector.load(features, { cacheDir: false });
    try {
      const calls: [number, number][] = [];
      await fresh.detect(scene, { phrases: labels, onTextProgress: (done, total) => calls.push([done, total]) });
      // 40 phrases and the built-in distractor pool, one count, in batches of 32 (phraseBatchSize): none cached, 32, 64, … then all.
      const total = 40 + distractorsFor(BUILTIN_DISTRACTORS, labels).length;
      const batches = Array.from({ length: Math.ceil(total / 32) }, (_, i) => Math.min(total, 32 * (i + 1)));
      expect(calls).toEqual([[0, total], ...batches.map((done) => [done, total])]);
      const again: [number, number][] = [];
      await fresh.detect(scene, { phrases: labels, onTextProgress: (done, total) => again.push([done, total]) });
      expect(again).toEqual([[total, total]]);
    } finally {
      await fresh.release();
    }
  });
});
