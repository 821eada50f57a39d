/**
 * What a ViLD-style ensemble would add to a transfer (C) detector: each of its detections re-scored by a second
 * model's region classifier on the same box, the two probabilities combined by a weighted geometric mean, weights
 * per split (ViLD, Gu et al. 2022, "ViLD-ensemble": p = p_det^(1−λ) · p_clip^λ, λ = 2/3 for novel classes and 1/3
 * for base ones; F-VLM uses the same form). An offline measurement, not a runtime feature: detect runs each model
 * once and this joins their outputs.
 *
 *   npx tsx bench/ensemble.ts boxes <detector.json> <boxes.json>
 *       the detector's boxes, image by image, as detect's `--boxes` file ({"<image file name>": [[x1, y1, x2, y2], …]})
 *   npx tsx bench/ensemble.ts combine <detector.json> <rescored.json> <gt-coco65.json> <split.json> <out.json>
 *       [--novel 0.667] [--base 0.333]
 *       COCO results: each detection of detector.json with its score p_det^(1−λ) · p_other^λ, p_other the score
 *       rescored.json gives its label on its box (λ: --novel for the split's novel categories, --base for the others);
 *       then `regionclip eval --gt gt-coco65.json --results out.json --split split.json`
 *
 *   detector.json   `regionclip detect IMAGES --json detector.json …` with the detector (its settings: the evaluation's)
 *   rescored.json   `regionclip detect IMAGES --boxes boxes.json --model OTHER --conf 0 --iou 1 --max-det 100000
 *                   --json rescored.json …` (every label's probability on every box: the GT-box protocol)
 *
 * Images are matched by file name (the worlds' are unique); boxes by their four coordinates as the two JSON files
 * print them (detect writes a given box back as given). A detection whose box or label the rescored file lacks is an
 * error: the two runs did not see the same boxes or vocabulary. What it does not do: re-score the proposals the
 * detector's threshold and NMS dropped (a runtime ensemble would combine before NMS).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { categoryNameKey } from '../src/eval/category-names.js';
import type { CocoDataset, CocoResult, CocoSplit } from '../src/eval/coco-format.js';
import { resolveSplit } from '../src/eval/cocoeval.js';
import { readCocoDataset, readCocoSplit, writeCocoResults } from '../src/io/coco.js';
import type { DetectionResultData } from '../src/pipelines/detect.js';

/** One image of `regionclip detect --json` (the fields read here). */
export interface DetectRecord {
  image: Pick<DetectionResultData['image'], 'path'>;
  detections: DetectionResultData['detections'];
}

const boxKey = (box: readonly number[]) => box.join(',');

/** The detector's boxes by image file name (detect's `--boxes` file). */
export function detectionBoxes(records: DetectRecord[]): Record<string, number[][]> {
  const out: Record<string, number[][]> = {};
  for (const r of records) {
    const name = basename(r.image.path);
    if (name in out) throw new Error(`Expected one record per image file name but received ${name} twice.`);
    out[name] = r.detections.map((d) => [...d.box]);
  }
  return out;
}

/**
 * COCO results: each detector detection, score p_det^(1−λ) · p_other^λ with λ = weights.novel for the split's novel
 * categories (by name or id) and weights.base for every other label. Throws when an image, a category or a rescored score is missing.
 */
export function ensembleResults(detector: DetectRecord[], rescored: DetectRecord[], gt: CocoDataset, split: CocoSplit,
  weights: { novel: number; base: number }): CocoResult[] {
  for (const [name, w] of Object.entries(weights)) {
    if (!(w >= 0 && w <= 1)) throw new Error(`Expected a weight in [0, 1] for --${name} but received ${w}.`);
  }
  const imageIds = new Map(gt.images.flatMap((i) => (i.file_name === undefined ? [] : [[basename(i.file_name), i.id] as const])));
  const categoryIds = new Map(gt.categories.map((c) => [categoryNameKey(c.name), c.id]));
  const novelIds = new Set(resolveSplit(split, gt).novel);
  const other = new Map<string, number>();
  for (const r of rescored) {
    const name = basename(r.image.path);
    for (const d of r.detections) other.set(`${name}|${boxKey(d.box)}|${categoryNameKey(d.label)}`, d.score);
  }
  const out: CocoResult[] = [];
  for (const r of detector) {
    const name = basename(r.image.path);
    const imageId = imageIds.get(name);
    if (imageId === undefined) throw new Error(`Expected an image of the ground truth but received ${name}.`);
    for (const d of r.detections) {
      const label = categoryNameKey(d.label);
      const categoryId = categoryIds.get(label);
      if (categoryId === undefined) throw new Error(`Expected a category of the ground truth but received "${d.label}".`);
      const q = other.get(`${name}|${boxKey(d.box)}|${label}`);
      if (q === undefined) throw new Error(`Expected a rescored "${d.label}" on box [${d.box.join(', ')}] of ${name} but received none.`);
      const lambda = novelIds.has(categoryId) ? weights.novel : weights.base;
      const [x1, y1, x2, y2] = d.box;
      out.push({ image_id: imageId, category_id: categoryId, bbox: [x1, y1, x2 - x1, y2 - y1], score: d.score ** (1 - lambda) * q ** lambda });
    }
  }
  return out;
}

/** `regionclip detect --json`'s records (one object for one image, an array for several); anything else is an error. */
export function readRecords(path: string): DetectRecord[] {
  const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
  const records = Array.isArray(value) ? value : [value];
  for (const [i, r] of records.entries()) {
    const ok = typeof r === 'object' && r !== null && typeof (r as DetectRecord).image?.path === 'string' && Array.isArray((r as DetectRecord).detections);
    if (!ok) {
      throw new Error(`Expected the output of \`regionclip detect --json\` (records with image.path and detections) in ${path} but `
        + `received record ${i}: ${JSON.stringify(r).slice(0, 80)} (a failed image, or another file such as --coco results).`);
    }
  }
  return records as DetectRecord[];
}

function main(argv: string[]) {
  const usage = 'usage: npx tsx bench/ensemble.ts boxes <detector.json> <boxes.json>\n' +
    '       npx tsx bench/ensemble.ts combine <detector.json> <rescored.json> <gt-coco65.json> <split.json> <out.json> [--novel 0.667] [--base 0.333]';
  const flag = (name: string, fallback: number) => {
    const i = argv.indexOf(name);
    if (i < 0) return fallback;
    const v = Number(argv[i + 1]);
    argv.splice(i, 2);
    return v;
  };
  const novel = flag('--novel', 2 / 3), base = flag('--base', 1 / 3);
  const [command, ...rest] = argv;
  if (command === 'boxes' && rest.length === 2) {
    writeFileSync(rest[1], JSON.stringify(detectionBoxes(readRecords(rest[0]))));
  } else if (command === 'combine' && rest.length === 5) {
    const results = ensembleResults(readRecords(rest[0]), readRecords(rest[1]), readCocoDataset(rest[2]), readCocoSplit(rest[3]), { novel, base });
    writeCocoResults(rest[4], results);
    console.log(`${results.length} detections re-scored (λ novel ${novel.toFixed(3)}, base ${base.toFixed(3)}) → ${rest[4]}`);
  } else {
    console.error(usage);
    process.exit(2);
  }
}

if (process.argv[1]?.endsWith('ensemble.ts')) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    console.error(`ensemble: ${(error as Error).message}`);
    process.exit(1);
  }
}
