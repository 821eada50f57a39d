/**
 * Detection benchmark: per-stage time for one image with exactly --proposals regions (default 1000) and
 * a --phrases vocabulary (default 100). Regions are the RPN's proposals with the manifest's settings,
 * topped up with random boxes when fewer survive (random weights); the same protocol as
 * bench/detect_torch.py. One warm-up pass (8 regions, 4 phrases) first: the first run of each graph allocates.
 * Stages: preprocess (decode + the detector's resize), rpn+proposals (normalize, RPN graph, anchors,
 * decoding, NMS), regions (the region encoder, its own input normalization included), text (a fresh
 * encoder, no cache), scoring+nms (softmax with background, geometric fusion with objectness, threshold
 * 0.05, NMS 0.5 per phrase, 100 detections).
 * Run: npm run bench:detect -- [--image photo.png] [--threads N] [--dtype fp32|int8] [--proposals R] [--phrases P]
 *        [--phrases-file FILE] [--json] [--boxes-out FILE] [model folders…]   (default: the tiny fixture models)
 * --json prints one JSON line per model (bench/all.ts reads it); --boxes-out writes the R regions
 * (JSON, XYXY original-image pixels) for bench/detect_torch.py --boxes.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeImage } from '../src/image/read.js';
import { resizeForDetection } from '../src/image/preprocess.js';
import { scoreRegions } from '../src/matching/scores.js';
import { selectDetections } from '../src/matching/detections.js';
import { parseRuntimeOptions } from '../src/config/options.js';
import { DetectorModel } from '../src/models/detector.js';
import { ClipTextEncoder } from '../src/models/text-encoder.js';
import { readTextFile, writeTextFile } from '../src/io/files.js';
import { lcg, randomBoxes } from './random.js';
import { positiveInt } from './args.js';

const root = join(import.meta.dirname, '..');
const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    image: { type: 'string' },
    threads: { type: 'string' },
    dtype: { type: 'string' },
    proposals: { type: 'string', default: '1000' },
    phrases: { type: 'string', default: '100' },
    'phrases-file': { type: 'string' },
    json: { type: 'boolean', default: false },
    'boxes-out': { type: 'string' },
  },
});
const image = flags.image ?? join(root, 'fixtures', 'images', 'shapes.png');
const threads = flags.threads === undefined ? undefined : positiveInt('threads', flags.threads);
const R = positiveInt('proposals', flags.proposals);
const P = positiveInt('phrases', flags.phrases);
const vocab = flags['phrases-file'] === undefined
  ? Array.from({ length: P }, (_, i) => `object number ${i}`)
  : readTextFile(flags['phrases-file'], 'vocabulary').split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0).slice(0, P);
if (vocab.length < P) throw new Error(`${flags['phrases-file']}: ${vocab.length} phrases, --phrases asks for ${P}`);
const models = positionals.length > 0 ? positionals : ['tiny-detector-features', 'tiny-detector-crop'].map((m) => join(root, 'fixtures', 'models', m));
if (flags['boxes-out'] !== undefined && models.length !== 1) throw new Error('--boxes-out takes one model folder');
if (!flags.json) console.log(`regionclip detect benchmark — node ${process.version}; ${R} regions, ${vocab.length} phrases, image ${image}, threads ${threads ?? "onnxruntime's choice"}`);

for (const dir of models) {
  const dtype = flags.dtype === undefined ? undefined : parseRuntimeOptions({ dtype: flags.dtype }).dtype;
  const model = await DetectorModel.load(dir, { ...(threads === undefined ? {} : { intraOpThreads: threads }), ...(dtype === undefined ? {} : { dtype }) });
  const m = model.manifest;
  const pass = async (regionCount: number, phrases: readonly string[]) => {
    const times: Record<string, number> = {};
    const time = async <T>(stage: string, fn: () => Promise<T> | T): Promise<T> => {
      const t0 = performance.now();
      const out = await fn();
      times[stage] = performance.now() - t0;
      return out;
    };
    const { decoded, resized } = await time('preprocess', async () => {
      const decoded = await decodeImage(image);
      return { decoded, resized: resizeForDetection(decoded, { shortEdge: m.image.shortEdge, maxSize: m.image.maxSize }) };
    });
    const proposals = await time('rpn+proposals', () => model.rpn.propose(resized));
    const K = Math.min(proposals.scores.length, regionCount);
    const boxes = new Float32Array(4 * regionCount);
    boxes.set(DetectorModel.toOriginal(proposals.boxes, resized).data.subarray(0, 4 * K));
    if (K < regionCount) boxes.set(randomBoxes(lcg(5), regionCount - K, decoded.width, decoded.height, 4, Math.min(decoded.width, decoded.height) / 2), 4 * K);
    // Random top-up boxes have no objectness: 0.5 stands in (the fusion's cost does not depend on it).
    const objectness = new Float32Array(regionCount).fill(0.5);
    objectness.set(proposals.scores.subarray(0, K));
    const regionEmbeds = await time('regions', () => model.embedRegions(decoded, boxes, { resized }));
    const phraseEmbeds = await time('text', () => new ClipTextEncoder(model.clip, { cacheDir: false }).embedPhrases(phrases));
    const selected = await time('scoring+nms', () => {
      const scores = scoreRegions(regionEmbeds, phraseEmbeds, m.embedDim, { temperature: m.scoring.temperature, backgroundEmbed: model.backgroundEmbed, fusion: 'geometric', objectness });
      return selectDetections(scores, phrases.length, boxes, { scoreThreshold: 0.05, iouThreshold: 0.5, maxDetections: 100 });
    });
    return { times, afterRpn: proposals.scores.length, boxes, detections: selected.scores.length };
  };
  await pass(8, vocab.slice(0, 4)); // warm-up
  const { times, afterRpn, boxes, detections } = await pass(R, vocab);
  if (flags['boxes-out'] !== undefined) writeTextFile(flags['boxes-out'], JSON.stringify(Array.from(boxes)));
  const total = Object.values(times).reduce((a, b) => a + b, 0);
  if (flags.json) {
    console.log(JSON.stringify({ model: m.name, mode: m.regionEncoder.mode, threads: threads ?? null, stages: times, afterRpn, regions: R, phrases: vocab.length, detections }));
  } else {
    console.log(`\n${m.name} (${afterRpn} proposals from the RPN, ${afterRpn < R ? 'topped up' : 'cut'} to ${R}; ${detections} detections)`);
    for (const [stage, ms] of Object.entries(times)) console.log(`  ${(stage === 'regions' ? `regions (${m.regionEncoder.mode})` : stage).padEnd(34)} ${ms.toFixed(1).padStart(9)} ms`);
    console.log(`  ${'total'.padEnd(34)} ${total.toFixed(1).padStart(9)} ms`);
  }
  await model.release();
}
