/**
 * Geometry benchmark: NMS on random boxes, RoIAlign at RegionCLIP's region-feature size, box
 * decoding (the RPN's two levels, a box head's class-specific deltas) and region–phrase scoring.
 * Run: npm run bench:geometry [-- --json]   (compare: /usr/bin/python3 bench/geometry_torch.py, Debian's
 * python3-torchvision, on the same inputs; both interleaved: npx tsx bench/geometry-compare.ts)
 * Prints median wall times; single-threaded by construction (JS). `--json` prints one JSON object
 * { case: ms } last, with the same case names as geometry_torch.py.
 */
import { decodeBoxes, nms, roiAlign, scoreRegions } from '../src/index.js';
import { lcg, randomBoxes, randomDeltas, timeMs } from './random.js';

const WIDTH = 1088, HEIGHT = 800; // a 50×68 stride-16 map
const json = process.argv.includes('--json');
const results: Record<string, number> = {};
const report = (name: string, ms: number, note = '') => {
  results[name] = ms;
  if (!json) console.log(`${name.padEnd(34)} ${ms.toFixed(2).padStart(9)} ms${note}`);
};
if (!json) console.log(`regionclip geometry benchmark — node ${process.version}, ${process.arch}`);

for (const n of [1000, 6000, 20000]) {
  const next = lcg(n);
  const boxes = randomBoxes(next, n, WIDTH, HEIGHT, 8, 300);
  const scores = Float32Array.from({ length: n }, () => next());
  for (const threshold of [0.7, 0.5]) {
    let kept = 0;
    const ms = timeMs(() => (kept = nms(boxes, scores, threshold).length), n >= 20000 ? 5 : 11);
    report(`nms ${n} iou>${threshold}`, ms, `  (kept ${kept})`);
  }
}

{
  const next = lcg(7);
  const [N, C, H, W] = [1, 256, 50, 68];
  const input = { data: Float32Array.from({ length: N * C * H * W }, () => next() * 2 - 1), dims: [N, C, H, W] };
  const k = 1000;
  const boxes = randomBoxes(next, k, WIDTH, HEIGHT, 16, 400);
  const rois = new Float32Array(5 * k);
  for (let i = 0; i < k; i++) rois.set([0, ...boxes.subarray(4 * i, 4 * i + 4)], 5 * i);
  for (const samplingRatio of [0, 2]) {
    const ms = timeMs(() => roiAlign(input, rois, { outputSize: [14, 14], spatialScale: 1 / 16, samplingRatio, aligned: true }), 5, 1);
    report(`roiAlign ${samplingRatio === 0 ? 'adaptive' : `sampling ${samplingRatio}`}`, ms, `  (${k} RoIs × ${C} ch × 14×14 from ${N}×${C}×${H}×${W}, aligned)`);
  }
}

{
  // The RPN: 1000 top anchors on each of 2 levels, weights (1, 1, 1, 1); torchvision decodes the
  // levels in one call (BoxCoder.decode concatenates them), the port level by level as filterProposals does.
  const next = lcg(11);
  const levels = [0, 1].map(() => ({ anchors: randomBoxes(next, 1000, WIDTH, HEIGHT, 8, 300), deltas: randomDeltas(next, 1000) }));
  report('decode rpn 2x1000', timeMs(() => levels.map((l) => decodeBoxes(l.deltas, l.anchors)), 51, 5));
  // A box head's class-specific deltas: 1000 proposals × 81 classes, weights (10, 10, 5, 5).
  const proposals = randomBoxes(next, 1000, WIDTH, HEIGHT, 8, 300);
  const deltas = randomDeltas(next, 1000 * 81);
  report('decode head 1000x81', timeMs(() => decodeBoxes(deltas, proposals, [10, 10, 5, 5]), 21, 3));
}

{
  // RegionCLIP's zero-shot scoring: 1000 regions against LVIS's 1203 phrases and a background.
  for (const dim of [128, 1024]) {
    const next = lcg(dim);
    const regions = Float32Array.from({ length: 1000 * dim }, () => next() * 2 - 1);
    const phrases = Float32Array.from({ length: 1203 * dim }, () => next() * 2 - 1);
    const background = Float32Array.from({ length: dim }, () => next() * 2 - 1);
    const ms = timeMs(() => scoreRegions(regions, phrases, dim, { temperature: 0.01, backgroundEmbed: background }), dim >= 1024 ? 3 : 7, 1);
    report(`score 1000x1203 D=${dim}`, ms, '  (normalize, cosine, background, softmax)');
  }
}

if (json) console.log(JSON.stringify(results));
