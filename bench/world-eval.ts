/**
 * Synthetic-world measurements for a detector model (see README "Built-in model").
 *
 *   npx tsx bench/world-eval.ts recall <model> <world> [--nms 0.7] [--limit N]
 *       RPN recall@100 and @1000 at IoU 0.5 on a test world's boxes (gt.json: every box on a --split test
 *       world), split by novel / base concepts and for the COCO-65 analogue, with the model's RPN
 *       post-processing (proposals.nmsThreshold override with --nms; RegionCLIP's zero-shot preset uses 0.9).
 *   npx tsx bench/world-eval.ts top1 <classify.json> <world>
 *       zero-shot top-1 from `regionclip classify <world>/singles --labels-of-the-world --json classify.json`,
 *       by the concept's split (the world's singles.jsonl has the true label of each image).
 *   npx tsx bench/world-eval.ts base-names <world>
 *       prints the world's base concept names in id order, one a line: the classes a transfer (C) is box-trained on
 *       (training/compose_ensemble.py's --base-classes)
 *   npx tsx bench/world-eval.ts labels <world> [gt-coco65.json]
 *       prints every concept name of the world (or of the given GT file), one a line (classify's `--labels`,
 *       detect's `--vocab-file`).
 *   npx tsx bench/world-eval.ts gt-boxes <world> <boxes.json>
 *       writes gt-coco65.json's boxes as detect's `--boxes` file ({"file name": [[x1, y1, x2, y2], …]}) and
 *       prints the paths of the images that have any (detect's image arguments).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { decodeImage } from '../src/image/read.js';
import { DetectorModel } from '../src/models/detector.js';
import { xywhToXyxy } from '../src/geometry/boxes.js';
import { boxIou } from '../src/geometry/iou.js';

interface CocoGt {
  images: { id: number; file_name: string }[];
  annotations: { image_id: number; category_id: number; bbox: [number, number, number, number] }[];
  categories: { id: number; name: string; split: 'base' | 'novel'; coco65?: boolean }[];
}

const args = process.argv.slice(2);
const flag = (name: string, fallback?: number): number | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;
const readJsonl = <T>(path: string): T[] => readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as T);
const pct = (n: number, d: number) => (d === 0 ? 'n/a' : `${((100 * n) / d).toFixed(1)}% (${n}/${d})`);

async function recall(modelDir: string, world: string) {
  const gt = readJson<CocoGt>(join(world, 'gt.json'));
  const cats = new Map(gt.categories.map((c) => [c.id, c]));
  const model = await DetectorModel.load(modelDir);
  const nms = flag('--nms');
  const limit = flag('--limit', gt.images.length)!;
  const ks = [100, 300, 1000];
  // group -> [found@k..., total]
  const stats = new Map<string, { found: number[]; total: number }>();
  const add = (group: string, hits: boolean[]) => {
    const s = stats.get(group) ?? { found: ks.map(() => 0), total: 0 };
    hits.forEach((h, i) => (s.found[i] += h ? 1 : 0));
    s.total++;
    stats.set(group, s);
  };
  const byImage = new Map<number, CocoGt['annotations']>();
  for (const a of gt.annotations) byImage.set(a.image_id, [...(byImage.get(a.image_id) ?? []), a]);
  let proposalsSeen = 0;
  const t0 = performance.now();
  for (const img of gt.images.slice(0, limit)) {
    const decoded = await decodeImage(join(world, img.file_name));
    const { proposals, resized } = await model.propose(decoded, { postNmsTopK: 1000, ...(nms !== undefined ? { nmsThreshold: nms } : {}) });
    const boxes = DetectorModel.toOriginal(proposals.boxes, resized);
    proposalsSeen += boxes.length;
    const anns = byImage.get(img.id) ?? [];
    const ious = boxIou(boxes.data, xywhToXyxy(Float32Array.from(anns.flatMap((a) => a.bbox))));
    for (const [g, a] of anns.entries()) {
      const hits = ks.map(() => false);
      for (let r = 0; r < boxes.length; r++) {
        if (ious[r * anns.length + g] >= 0.5) {
          ks.forEach((k, i) => (hits[i] ||= r < k));
          break; // proposals are sorted by score: the first hit decides every k
        }
      }
      const c = cats.get(a.category_id)!;
      add(c.split, hits);
      add('all', hits);
      if (c.coco65) add(`coco65-${c.split}`, hits);
    }
  }
  const n = Math.min(limit, gt.images.length);
  console.log(`RPN recall at IoU 0.5 — ${basename(modelDir)} on ${world} (${n} images, ${(proposalsSeen / n).toFixed(0)} proposals/image, ` +
    `nms ${nms ?? model.manifest.rpn.nmsThreshold}, ${((performance.now() - t0) / n).toFixed(0)} ms/image)`);
  for (const [group, s] of [...stats.entries()].sort()) {
    console.log(`  ${group.padEnd(14)} ${ks.map((k, i) => `@${k} ${(s.found[i] / s.total).toFixed(3)}`).join('  ')}  (${s.total} boxes)`);
  }
  await model.release();
}

function top1(resultsPath: string, world: string) {
  const singles = readJsonl<{ image: string; label: string; split: string; style: string }>(join(world, 'singles.jsonl'));
  const truth = new Map(singles.map((s) => [basename(s.image), s]));
  const results = readJson<{ image: { path: string }; labels: { label: string }[] }[]>(resultsPath);
  const stats = new Map<string, [number, number, number]>();
  for (const r of results) {
    const s = truth.get(basename(r.image.path));
    if (s === undefined) continue;
    const top = r.labels.map((l) => l.label);
    for (const group of [s.split, 'all', `style:${s.style}`]) {
      const st = stats.get(group) ?? [0, 0, 0];
      st[0] += top[0] === s.label ? 1 : 0;
      st[1] += top.slice(0, 5).includes(s.label) ? 1 : 0;
      st[2]++;
      stats.set(group, st);
    }
  }
  console.log(`zero-shot classification — ${resultsPath} (${results.length} images, truth ${world}/singles.jsonl)`);
  for (const [group, [t1, t5, n]] of [...stats.entries()].sort()) console.log(`  ${group.padEnd(34)} top-1 ${pct(t1, n)}  top-5 ${pct(t5, n)}`);
}

function labels(world: string, file = 'gt.json') {
  const gt = readJson<CocoGt>(resolve(world, file)); // relative to the world, or absolute
  console.log(gt.categories.map((c) => c.name).join('\n'));
}

/** The world's base concept names in id order: the classes a transfer (C) is box-trained on (train_world.py `classes`). */
function baseNames(world: string) {
  const file = join(world, 'concepts.json');
  if (!existsSync(file)) {
    console.error(`error: ${file} does not exist: base-names reads a generated world's concepts.json (training/world/generate.ts writes it; the committed fixtures/world has none)`);
    process.exit(2);
  }
  const { concepts } = readJson<{ concepts: { id: number; name: string; split: string }[] }>(file);
  console.log(concepts.filter((c) => c.split === 'base').sort((x, y) => x.id - y.id).map((c) => c.name).join('\n'));
}

function gtBoxes(world: string, out: string) {
  const gt = readJson<CocoGt>(join(world, 'gt-coco65.json'));
  const files = new Map(gt.images.map((i) => [i.id, i.file_name]));
  const boxes: Record<string, number[][]> = {};
  for (const a of gt.annotations) {
    const [x, y, w, h] = a.bbox;
    (boxes[basename(files.get(a.image_id)!)] ??= []).push([x, y, x + w, y + h]);
  }
  writeFileSync(out, JSON.stringify(boxes));
  console.log(gt.images.filter((i) => boxes[basename(i.file_name)]).map((i) => join(world, i.file_name)).join('\n'));
}

const [cmd, a, b] = args;
if (cmd === 'recall' && a && b) await recall(a, b);
else if (cmd === 'top1' && a && b) top1(a, b);
else if (cmd === 'labels' && a) labels(a, b);
else if (cmd === 'base-names' && a) baseNames(a);
else if (cmd === 'gt-boxes' && a && b) gtBoxes(a, b);
else {
  console.error('usage: npx tsx bench/world-eval.ts recall <model> <world> [--nms 0.7] [--limit N] | top1 <classify.json> <world> | labels <world> [gt file] | base-names <world> | gt-boxes <world> <boxes.json>');
  process.exit(2);
}
