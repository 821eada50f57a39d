import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { decodeImage } from '../../src/image/read.js';
import { DetectorModel } from '../../src/models/detector.js';
import { Detector, regressProposals } from '../../src/pipelines/detect.js';
import { encoderSizeDivisibility, parseManifest, rpnSizeDivisibility, type DetectorManifest } from '../../src/models/manifest.js';
import { repoRoot } from '../helpers/golden.js';

const folder = join(repoRoot, 'fixtures', 'models', 'tiny-detector-features');
const base = () => JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8'));

/** The tiny features detector described as a detectron2-style RegionCLIP model. */
function detectron2Style(): any {
  const m = base();
  Object.assign(m.rpn, { anchorStyle: 'detectron2', sizeDivisibility: 1, minSizeRule: 'gt', minSize: 0, scoreThreshold: 0 });
  m.rpn.levels[0].stride = 8;
  m.rpn.levels[1].stride = 16;
  m.regionEncoder.sizeDivisibility = 1;
  return m;
}
const parse = (m: unknown) => parseManifest(m, 'test manifest') as DetectorManifest;

describe('manifest: detectron2 RPN fields and box deltas', () => {
  it('existing manifests keep torchvision behaviour and one padding', () => {
    const m = parse(base());
    expect(m.rpn.anchorStyle).toBe('torchvision');
    expect(m.rpn.minSizeRule).toBe('gte');
    expect(m.rpn.levels.map((l) => l.stride)).toEqual([undefined, undefined]);
    expect([rpnSizeDivisibility(m), encoderSizeDivisibility(m)]).toEqual([32, 32]);
    expect(m.regionEncoder.mode === 'features' && m.regionEncoder.boxDeltas).toBeUndefined();
  });
  it('reads anchorStyle, strides, per-branch padding, minSizeRule and boxDeltas', () => {
    const raw = detectron2Style();
    raw.graphs.head.outputs.push({ name: 'box_deltas', dtype: 'float32', dims: ['regions', 4] });
    raw.regionEncoder.boxDeltas = { output: 'box_deltas', weights: [10, 10, 5, 5] };
    const m = parse(raw);
    expect(m.rpn.anchorStyle).toBe('detectron2');
    expect(m.rpn.levels.map((l) => l.stride)).toEqual([8, 16]);
    expect([rpnSizeDivisibility(m), encoderSizeDivisibility(m)]).toEqual([1, 1]);
    expect(m.rpn.minSizeRule).toBe('gt');
    expect(m.regionEncoder.mode === 'features' && m.regionEncoder.boxDeltas).toEqual({ output: 'box_deltas', weights: [10, 10, 5, 5] });
  });
  it.each([
    ['a score threshold with detectron2', (m: any) => { m.rpn.scoreThreshold = 0.05; }, /rpn\.scoreThreshold: must be 0 with anchorStyle "detectron2"/],
    ['a detectron2 level without a stride', (m: any) => { delete m.rpn.levels[0].stride; }, /rpn\.levels: every level needs a "stride" with anchorStyle "detectron2"/],
    ['box deltas the head does not output', (m: any) => { m.regionEncoder.boxDeltas = { output: 'box_deltas', weights: [10, 10, 5, 5] }; }, /regionEncoder\.boxDeltas\.output: "box_deltas" must be one of graphs\.head's outputs after the first/],
    ['box deltas named as the embeddings', (m: any) => { m.regionEncoder.boxDeltas = { output: 'region_embeds', weights: [10, 10, 5, 5] }; }, /after the first \(the embeddings\)/],
    ['an unknown style', (m: any) => { m.rpn.anchorStyle = 'caffe2'; }, /rpn\.anchorStyle/],
    ['a misspelt stride key', (m: any) => { m.rpn.levels[0].strides = 8; }, /rpn\.levels\[0\]\.strides: unknown key \(did you mean "stride"\?\)/],
    ['a fractional stride', (m: any) => { m.rpn.levels[0].stride = 7.5; }, /rpn\.levels\[0\]\.stride/],
    ['a zero padding', (m: any) => { m.rpn.sizeDivisibility = 0; }, /rpn\.sizeDivisibility/],
  ])('rejects %s', (_name, edit, message) => {
    const m = detectron2Style();
    edit(m);
    expect(() => parse(m)).toThrow(ConfigError);
    expect(() => parse(m)).toThrow(message);
  });
});

describe('a detectron2-style detector runs end to end (tiny features model, unpadded inputs)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'regionclip-d2-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('proposes in decreasing logit with probabilities as scores, and embeds them', async () => {
    cpSync(folder, dir, { recursive: true });
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(detectron2Style()));
    const model = await DetectorModel.load(dir);
    try {
      const decoded = await decodeImage(join(repoRoot, 'fixtures', 'images', 'shapes.png'));
      const { proposals, resized } = await model.propose(decoded, { postNmsTopK: 20 });
      expect(proposals.boxes.length).toBeGreaterThan(0);
      expect(proposals.boxes.length).toBeLessThanOrEqual(20);
      const logits = Array.from(proposals.logits);
      expect(logits).toEqual([...logits].sort((a, b) => b - a));
      expect(Array.from(proposals.scores)).toEqual(logits.map((x) => Math.fround(1 / (1 + Math.exp(-x)))));
      for (let k = 0; k < proposals.boxes.length; k++) {
        const [x1, y1, x2, y2] = proposals.boxes.row(k);
        expect(x2 - x1).toBeGreaterThan(0);
        expect(y2 - y1).toBeGreaterThan(0);
        expect(x2).toBeLessThanOrEqual(resized.image.width);
        expect(y2).toBeLessThanOrEqual(resized.image.height);
      }
      const outputs = await model.encodeRegions(decoded, DetectorModel.toOriginal(proposals.boxes, resized), { resized });
      expect(outputs.embeds.length).toBe(proposals.boxes.length * model.manifest.embedDim);
      expect(outputs.boxDeltas).toBeUndefined();
    } finally {
      await model.release();
    }
  });
});

describe('a finetuned head with box deltas (fixtures/models/head-with-deltas.onnx)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'regionclip-deltas-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('encode returns R×4 deltas; detect regresses RPN proposals, not given boxes', async () => {
    cpSync(folder, dir, { recursive: true });
    cpSync(join(repoRoot, 'fixtures', 'models', 'head-with-deltas.onnx'), join(dir, 'head.onnx'));
    const m = detectron2Style();
    m.graphs.head.outputs.push({ name: 'box_deltas', dtype: 'float32', dims: ['regions', 4] });
    m.regionEncoder.boxDeltas = { output: 'box_deltas', weights: [10, 10, 5, 5] };
    m.files['head.onnx'].sha256 = createHash('sha256').update(readFileSync(join(dir, 'head.onnx'))).digest('hex');
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    const detector = await Detector.load(dir, { cacheDir: false, settings: { detect: { scoreThreshold: 0, maxDetections: 1000, iouThreshold: 1 } } });
    try {
      const decoded = await decodeImage(join(repoRoot, 'fixtures', 'images', 'shapes.png'));
      const { proposals, resized } = await detector.model.propose(decoded, detector.settings.proposals);
      const boxes = DetectorModel.toOriginal(proposals.boxes, resized);
      const outputs = await detector.model.encodeRegions(decoded, boxes, { resized });
      expect(outputs.boxDeltas?.length).toBe(4 * boxes.length);
      expect(detector.model.regionEncoder.boxDeltaWeights).toEqual([10, 10, 5, 5]);
      const regressed = regressProposals(proposals.boxes, outputs.boxDeltas!, [10, 10, 5, 5], resized);
      const result = await detector.detect(decoded, { vocab: 'red square' });
      // One phrase, no threshold, no suppression: one detection per proposal, each box a regressed proposal.
      expect(result.detections.length).toBe(boxes.length);
      const rows = new Set(Array.from({ length: regressed.length }, (_, k) => regressed.row(k).join(',')));
      for (const d of result.detections) expect(rows.has(d.box.join(','))).toBe(true);
      expect(regressed.data).not.toEqual(boxes.data);
      const given = await detector.detect(decoded, { vocab: 'red square', boxes: boxes.data });
      const plain = new Set(Array.from({ length: boxes.length }, (_, k) => boxes.row(k).join(',')));
      for (const d of given.detections) expect(plain.has(d.box.join(','))).toBe(true);
    } finally {
      await detector.release();
    }
  });
});
