/**
 * COCO evaluation benchmark: 5,000 images × 80 categories, up to 100 detections per image (about
 * COCO val2017's size), evaluated with `evaluateCoco` (pycocotools' COCOeval bbox semantics).
 * Run: npm run bench:eval   [-- --images 5000 --write /tmp/bench-coco]  (--write saves gt.json and
 * results.json to time pycocotools on the same data: python3 bench/eval_pycocotools.py DIR).
 * Prints the wall time of the evaluation (and of JSON parsing + validation) and the peak RSS.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluateCoco, parseCocoDataset, parseCocoResults, type CocoAnnotation, type CocoResult } from '../src/index.js';
import { lcg } from './random.js';

const arg = (name: string) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : undefined; };
const I = Number(arg('images') ?? 5000), K = 80, MAX_DETS = 100;
const next = lcg(2024);
const ri = (n: number) => Math.floor(next() * n);

let peakRss = process.memoryUsage().rss;
const sample = () => { peakRss = Math.max(peakRss, process.memoryUsage().rss); };
const timer = setInterval(sample, 5);

const images = Array.from({ length: I }, (_, i) => ({ id: i + 1, width: 640, height: 480, file_name: `${i + 1}.jpg` }));
const categories = Array.from({ length: K }, (_, k) => ({ id: k + 1 + Math.floor(k / 10), name: `category${k + 1}`, supercategory: 'thing' }));
const annotations: CocoAnnotation[] = [];
const results: CocoResult[] = [];
for (const image of images) {
  // ~7 objects per image over a few categories (COCO: 7.3), log-uniform sizes, some crowds.
  const nGt = 1 + ri(13);
  const present = Array.from({ length: 1 + ri(4) }, () => categories[ri(K)].id);
  for (let g = 0; g < nGt; g++) {
    const w = Math.exp(Math.log(4) + next() * Math.log(600 / 4)), h = Math.min(470, w * (0.5 + next()));
    const x = next() * (640 - Math.min(w, 630)), y = next() * (480 - h);
    const bbox: [number, number, number, number] = [x, y, Math.min(w, 630), h];
    annotations.push({ id: annotations.length + 1, image_id: image.id, category_id: present[ri(present.length)], bbox, area: bbox[2] * bbox[3] * (0.6 + 0.3 * next()), iscrowd: ri(100) === 0 ? 1 : 0 });
  }
  // Up to 100 detections: jittered copies of the gt (true and near misses) plus background boxes.
  const own = annotations.slice(annotations.length - nGt);
  const nDet = MAX_DETS - ri(40);
  for (let d = 0; d < nDet; d++) {
    if (d < 3 * nGt) {
      const a = own[d % nGt];
      const [x, y, w, h] = a.bbox;
      const j = 0.25 * next();
      results.push({ image_id: image.id, category_id: ri(5) === 0 ? categories[ri(K)].id : a.category_id, bbox: [x + (next() - 0.5) * j * w, y + (next() - 0.5) * j * h, w * (1 + (next() - 0.5) * j), h * (1 + (next() - 0.5) * j)], score: 0.3 + 0.7 * next() });
    } else {
      const w = 8 + next() * 300, h = 8 + next() * 300;
      results.push({ image_id: image.id, category_id: categories[ri(K)].id, bbox: [next() * (640 - w), next() * (480 - h), w, h], score: 0.6 * next() });
    }
  }
}
const gt = { info: { description: 'regionclip bench' }, images, categories, annotations };

const out = arg('write');
if (out !== undefined) {
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'gt.json'), JSON.stringify(gt));
  writeFileSync(join(out, 'results.json'), JSON.stringify(results));
}

console.log(`regionclip eval benchmark — node ${process.version}, ${process.arch}`);
console.log(`${I} images × ${K} categories: ${annotations.length} gt, ${results.length} detections`);
sample();
const rssBefore = peakRss;
const t0 = process.hrtime.bigint();
const dataset = parseCocoDataset(gt, 'gt');
const dets = parseCocoResults(results, 'results');
const t1 = process.hrtime.bigint();
const result = evaluateCoco(dataset, dets);
const t2 = process.hrtime.bigint();
sample();
clearInterval(timer);
const ms = (a: bigint, b: bigint) => (Number(b - a) / 1e6).toFixed(0).padStart(6);
console.log(`validate     ${ms(t0, t1)} ms`);
console.log(`evaluateCoco ${ms(t1, t2)} ms   (evaluate + accumulate + summarize)`);
console.log(`peak RSS     ${(peakRss / 2 ** 20).toFixed(0).padStart(6)} MiB   (${(rssBefore / 2 ** 20).toFixed(0)} MiB with the generated data, before evaluating)`);
console.log(`AP ${result.stats[0].toFixed(3)}  AP50 ${result.stats[1].toFixed(3)}  AR100 ${result.stats[8].toFixed(3)}`);
