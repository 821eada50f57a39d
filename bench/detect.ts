/**
 * Detection benchmark: per-stage time for one image with exactly 1000 regions and a 100-phrase
 * vocabulary. Regions are the RPN's proposals, topped up with random boxes when fewer survive (random
 * weights); the same protocol as bench/detect_torch.py.
 * Run: npm run bench:detect -- [--image photo.png] [model folders…]   (default: the tiny fixture models)
 */
import { join } from 'node:path';
import { decodeImage } from '../src/image/read.js';
import { scoreRegions } from '../src/matching/scores.js';
import { selectDetections } from '../src/matching/detections.js';
import { DetectorModel } from '../src/models/detector.js';
import { ClipTextEncoder } from '../src/models/text-encoder.js';
import { lcg, randomBoxes } from './random.js';

const root = join(import.meta.dirname, '..');
const args = process.argv.slice(2);
const imageFlag = args.indexOf('--image');
const image = imageFlag >= 0 ? args.splice(imageFlag, 2)[1] : join(root, 'fixtures', 'images', 'shapes.png');
const models = args.length > 0 ? args : ['tiny-detector-features', 'tiny-detector-crop'].map((m) => join(root, 'fixtures', 'models', m));
const R = 1000;
const vocab = Array.from({ length: 100 }, (_, i) => `object number ${i}`);
console.log(`regionclip detect benchmark — node ${process.version}; ${R} regions, ${vocab.length} phrases, image ${image}`);

for (const dir of models) {
  const model = await DetectorModel.load(dir);
  const m = model.manifest;
  const times: Record<string, number> = {};
  const time = async <T>(stage: string, fn: () => Promise<T> | T): Promise<T> => {
    const t0 = performance.now();
    const out = await fn();
    times[stage] = performance.now() - t0;
    return out;
  };
  // warm-up run (first ONNX runs allocate)
  const warm = await decodeImage(image);
  await model.propose(warm, { preNmsTopK: 6000, postNmsTopK: R, nmsThreshold: 0.9 });
  const decoded = await time('decode', () => decodeImage(image));
  const { proposals, resized } = await time('rpn+proposals', () => model.propose(decoded, { preNmsTopK: 6000, postNmsTopK: R, nmsThreshold: 0.9 }));
  const K = proposals.scores.length;
  const boxes = new Float32Array(4 * R);
  boxes.set(DetectorModel.toOriginal(proposals.boxes, resized).data.subarray(0, 4 * Math.min(K, R)));
  if (K < R) boxes.set(randomBoxes(lcg(5), R - K, decoded.width, decoded.height, 4, Math.min(decoded.width, decoded.height) / 2), 4 * K);
  const regionEmbeds = await time(`regions (${m.regionEncoder.mode})`, () => model.embedRegions(decoded, boxes, { resized }));
  const phraseEmbeds = await time('text (100 phrases, 1 template)', () => new ClipTextEncoder(model.clip, { cacheDir: false }).embedPhrases(vocab));
  await time('scoring+nms', () => {
    const scores = scoreRegions(regionEmbeds, phraseEmbeds, m.embedDim, { temperature: m.scoring.temperature, backgroundEmbed: model.backgroundEmbed });
    return selectDetections(scores, vocab.length, boxes, { scoreThreshold: 0.001, iouThreshold: 0.5, maxDetections: 100 });
  });
  const total = Object.values(times).reduce((a, b) => a + b, 0);
  console.log(`\n${m.name} (${K} proposals from the RPN, topped up to ${R})`);
  for (const [stage, ms] of Object.entries(times)) console.log(`  ${stage.padEnd(34)} ${ms.toFixed(1).padStart(9)} ms`);
  console.log(`  ${'total'.padEnd(34)} ${total.toFixed(1).padStart(9)} ms`);
  await model.release();
}
