/**
 * ViLD's ensemble at run time, on the built-in model (its manifest's `regionEnsemble`: the (B) region encoder beside
 * the (C) detector): every score is p^(1−λ) · q^λ of the detector's probability p and the partner's q on the box
 * reported, λ by the label's split; the regions the partner skips change no detection; off, the detector alone.
 * The partner's own probabilities come from a "partner view" of the same folder: a manifest whose backbone and head
 * are the ensemble graphs, with the partner's temperature and no background.
 */
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Detector, ensembleWeights, type Detection } from '../../src/pipelines/detect.js';
import { repoRoot } from '../helpers/golden.js';

const modelDir = join(repoRoot, 'models', 'world-rn-small');
const image = join(repoRoot, 'fixtures', 'world', 'images', '000020.jpg');
const manifest = JSON.parse(readFileSync(join(modelDir, 'manifest.json'), 'utf8'));
// bicycle and giraffe are base classes of the built-in model; sled, cat and umbrella novel (the world's split).
const vocab = ['bicycle', 'sled', 'giraffe', 'cat', 'umbrella'];
const everyPair = { scoreThreshold: 0, iouThreshold: 1, maxDetections: 100_000 };

/** The partner alone, as a detector folder: the ensemble graphs as backbone and head, its temperature, no background. */
function partnerView(dir: string): string {
  const m = JSON.parse(JSON.stringify(manifest));
  m.graphs.backbone = m.graphs.ensembleBackbone;
  m.graphs.head = m.graphs.ensembleHead;
  delete m.graphs.ensembleBackbone;
  delete m.graphs.ensembleHead;
  m.regionEncoder.featureOutput = m.regionEnsemble.featureOutput;
  delete m.regionEncoder.boxDeltas;
  m.scoring = { temperature: m.regionEnsemble.temperature };
  delete m.regionEnsemble;
  for (const file of Object.keys(m.files)) symlinkSync(join(modelDir, file), join(dir, file));
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
  return dir;
}

const key = (d: Detection) => `${d.label}@${d.box.map((v) => v.toFixed(3)).join(',')}`;
const byKey = (ds: Detection[]) => new Map(ds.map((d) => [key(d), d.score]));
/** The built-in model's novel labels among this file's vocabularies (λ 2/3; the others are base, λ 1/3). */
const NOVEL = ['sled', 'cat', 'umbrella'];

/** Every joined score is p^(1−λ) · q^λ of the detector's p and the partner's q on the same box and label, within 1e-4. */
function expectJoined(joined: Detection[], p: Detection[], q: Detection[]): void {
  const P = byKey(p);
  const Q = byKey(q);
  for (const d of joined) {
    const lambda = NOVEL.includes(d.label) ? 2 / 3 : 1 / 3;
    const want = P.get(key(d))! ** (1 - lambda) * Q.get(key(d))! ** lambda;
    expect(Math.abs(d.score - want) / want, key(d)).toBeLessThan(1e-4);
  }
}

describe('ViLD ensemble at run time (the built-in model: (C) detector + (B) partner)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'regionclip-ensemble-'));
  const detectors: Detector[] = [];
  const load = async (model: string, settings: Record<string, unknown>) => {
    const d = await Detector.load(model, { cacheDir: false, intraOpThreads: 1, settings });
    detectors.push(d);
    return d;
  };
  beforeAll(() => partnerView(dir));
  afterAll(async () => {
    await Promise.all(detectors.map((d) => d.release()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('the manifest declares the partner, and its base classes set λ per label', async () => {
    const detector = await load(modelDir, {});
    const ensemble = detector.model.regionEnsemble!;
    expect(ensemble.weights.base).toBeCloseTo(1 / 3, 6);
    expect(ensemble.weights.novel).toBeCloseTo(2 / 3, 6);
    expect(ensemble.baseClasses).toHaveLength(650);
    expect(Array.from(ensembleWeights(['Bicycle', 'sled', 'giraffe', 'cat', 'umbrella', 'a thing never named'], ensemble)).map((w) => w.toFixed(3)))
      .toEqual(['0.333', '0.667', '0.333', '0.667', '0.667', '0.667']);
  }, 60_000);

  it('on given boxes every score is p^(1−λ) · q^λ (RegionCLIP\'s zero-shot settings: no distractors)', async () => {
    const boxes = Float32Array.from([150, 60, 250, 150, 20, 100, 120, 200, 60, 40, 200, 180]);
    const settings = { text: { templates: 'single' }, detect: everyPair };
    const on = await load('regionclip-zero-shot', settings);
    const off = await load('regionclip-zero-shot', { ...settings, detect: { ...everyPair, regionEnsemble: false } });
    const partner = await load(dir, { ...settings, detect: { ...everyPair, distractors: 'none' } });
    const [joined, p, q] = await Promise.all([on, off, partner].map((d) => d.detect(image, { phrases: vocab, boxes })));
    expect(joined.detections).toHaveLength(3 * vocab.length);
    expectJoined(joined.detections, p.detections, q.detections);
    // the two classifiers disagree: the ensemble is neither of them
    expect(joined.detections.some((d) => Math.abs(d.score - byKey(p.detections).get(key(d))!) > 0.01)).toBe(true);
  }, 120_000);

  it("with the default preset's built-in pool: the pool competes in the partner's softmax, the background in the detector's", async () => {
    const boxes = Float32Array.from([150, 60, 250, 150, 20, 100, 120, 200]);
    const on = await load('default', { detect: everyPair });
    const off = await load('default', { detect: { ...everyPair, regionEnsemble: false } });
    const partner = await load(dir, { detect: everyPair });
    const [joined, p, q] = await Promise.all([on, off, partner].map((d) => d.detect(image, { vocab: ['bicycle', 'sled'], boxes })));
    expect(joined.detections).toHaveLength(4);
    expectJoined(joined.detections, p.detections, q.detections);
  }, 120_000);

  it('with proposals the partner scores the boxes reported (after the detector\'s box regression)', async () => {
    const settings = { text: { templates: 'single' }, detect: everyPair };
    const on = await load('regionclip-zero-shot', settings);
    const off = await load('regionclip-zero-shot', { ...settings, detect: { ...everyPair, regionEnsemble: false } });
    const [joined, p] = await Promise.all([on, off].map((d) => d.detect(image, { vocab: 'bicycle,sled' })));
    const best = joined.detections.slice(0, 20);
    const partner = await load(dir, { ...settings, detect: { ...everyPair, distractors: 'none' } });
    const q = await partner.detect(image, { vocab: 'bicycle,sled', boxes: Float32Array.from(best.flatMap((d) => d.box)) });
    expectJoined(best, p.detections, q.detections);
  }, 120_000);

  it('one label and no distractor: the partner\'s softmax has one column (q = 1), so the detector scores alone', async () => {
    const settings = { text: { templates: 'single' }, detect: everyPair };
    const on = await load('regionclip-zero-shot', settings);
    const off = await load('regionclip-zero-shot', { ...settings, detect: { ...everyPair, regionEnsemble: false } });
    const [a, b] = await Promise.all([on, off].map((d) => d.detect(image, { vocab: 'giraffe' })));
    expect(a.detections.length).toBeGreaterThan(0);
    expect(a.detections).toEqual(b.detections);
    expect(a.timings.ensemble, 'the partner did not run').toBeUndefined();
  }, 120_000);

  it('with the default preset the partner scores only regions that could pass, and the detections are those of every region scored', async () => {
    const preset = await load('default', {});
    const all = await load('default', { detect: { scoreThreshold: 0, maxDetections: 100_000 } });
    const [kept, every] = await Promise.all([preset, all].map((d) => d.detect(image, { vocab: 'bicycle,sled' })));
    expect(kept.timings.ensemble).toBeGreaterThanOrEqual(0);
    // Greedy NMS keeps a box by the boxes that outscore it only, so above the threshold both runs keep the same ones.
    const above = every.detections.filter((d) => d.score > 0.8);
    expect(kept.detections.map(key)).toEqual(above.map(key));
    expect(kept.detections.map((d) => d.score)).toEqual(above.map((d) => d.score));
    expect(kept.detections.length).toBeGreaterThan(0);
  }, 120_000);

  it('--no-region-ensemble (detect.regionEnsemble false) is the detector alone', async () => {
    const off = await load('regionclip-zero-shot', { text: { templates: 'single' }, detect: { ...everyPair, regionEnsemble: false } });
    const on = await load('regionclip-zero-shot', { text: { templates: 'single' }, detect: everyPair });
    const [a, b] = await Promise.all([off, on].map((d) => d.detect(image, { vocab: 'bicycle,sled' })));
    expect(a.timings.ensemble).toBeUndefined();
    expect(b.timings.ensemble).toBeGreaterThanOrEqual(0);
    expect(a.detections.map((d) => d.score)).not.toEqual(b.detections.map((d) => d.score));
  }, 120_000);
});
