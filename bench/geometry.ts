/**
 * Geometry benchmark: NMS on random boxes and RoIAlign at RegionCLIP's region-feature size.
 * Run: npm run bench:geometry   (compare: python3 bench/geometry_torch.py, Debian's python3-torchvision)
 * Prints median wall times; single-threaded by construction (JS).
 */
import { nms, roiAlign } from '../src/index.js';
import { lcg, randomBoxes, timeMs } from './random.js';

const WIDTH = 1088, HEIGHT = 800; // a 50×68 stride-16 map
console.log(`regionclip geometry benchmark — node ${process.version}, ${process.arch}`);

for (const n of [1000, 6000, 20000]) {
  const next = lcg(n);
  const boxes = randomBoxes(next, n, WIDTH, HEIGHT, 8, 300);
  const scores = Float32Array.from({ length: n }, () => next());
  for (const threshold of [0.7, 0.5]) {
    let kept = 0;
    const ms = timeMs(() => (kept = nms(boxes, scores, threshold).length), n >= 20000 ? 5 : 11);
    console.log(`nms        ${String(n).padStart(6)} boxes  iou>${threshold}  ${ms.toFixed(2).padStart(9)} ms  (kept ${kept})`);
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
    console.log(`roiAlign   ${k} RoIs × ${C} ch × 14×14 from ${N}×${C}×${H}×${W}, sampling ${samplingRatio === 0 ? 'adaptive' : samplingRatio}, aligned  ${ms.toFixed(1).padStart(8)} ms`);
  }
}
