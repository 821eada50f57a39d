/**
 * Open-set scoring measured (README "Open-set scoring"): what a distractor pool does to the built-in model.
 *
 *   npx tsx bench/distractors.ts <world> <pool>... [--model DIR] [--cache-dir DIR]
 *
 * <world> is a test world (`training/world/generate.ts --split test …`, every box); each <pool> is `none`,
 * `builtin` or a file with one concept per line. For each pool it prints
 *   - README's main image (fixtures/world/images/000020.jpg) with the default preset: the best score of the
 *     absent "giraffe" alone and how many boxes pass the threshold; the best bicycle and sled of "bicycle,sled";
 *   - classify on the world's singles (single template, as `regionclip classify`): each image's own label alone
 *     (present) and another image's label alone (absent): mean probability and the share above 0.5;
 *   - AP50 novel / base / all on the COCO-65 analogue with regionclip-zero-shot's settings (the README protocol),
 *     on ground-truth boxes and on 100 RPN proposals per image, with the pool competing.
 * Region and image embeddings are computed once and shared by every pool.
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { resolveDetectSettings } from '../src/config/options.js';
import type { DetectSettings } from '../src/config/preset.js';
import { evaluateCoco } from '../src/eval/cocoeval.js';
import type { CocoDataset, CocoResult, CocoSplit } from '../src/eval/coco-format.js';
import { Boxes, xywhToXyxy } from '../src/geometry/boxes.js';
import { decodeImage } from '../src/image/read.js';
import { toCocoResults } from '../src/io/coco.js';
import { selectDetections } from '../src/matching/detections.js';
import { scoreRegions } from '../src/matching/scores.js';
import { DetectorModel } from '../src/models/detector.js';
import { ClipTextEncoder } from '../src/models/text-encoder.js';
import { BUILTIN_DISTRACTORS, distractorsFor } from '../src/text/distractors.js';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : undefined;
};
const modelDir = option('--model') ?? 'models/world-rn-small';
const cacheDir = option('--cache-dir');
const [world, ...pools] = args as [string, ...string[]];
if (world === undefined || pools.length === 0) {
  console.error('usage: npx tsx bench/distractors.ts <world> <none|builtin|pool.txt>... [--model DIR] [--cache-dir DIR]');
  process.exit(2);
}
const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;
const readJsonl = <T>(path: string): T[] => readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as T);
const poolOf = (name: string): string[] => (name === 'none' ? [] : name === 'builtin' ? [...BUILTIN_DISTRACTORS] : readFileSync(name, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')));

const model = await DetectorModel.load(modelDir);
const D = model.manifest.embedDim;
const temperature = model.manifest.scoring.temperature;
const encoder = new ClipTextEncoder(model.clip, { cacheDir: cacheDir ?? false });
const embed = (phrases: string[], s: DetectSettings) => encoder.embedPhrases(phrases, { templates: s.text.templates, ensemble: s.text.ensemble, fill: { articles: s.text.articles } });
const defaults = resolveDetectSettings('default', { settings: { model: modelDir } });
const zeroShot = resolveDetectSettings('regionclip-zero-shot', { settings: { model: modelDir, proposals: { postNmsTopK: 100 } } });

/** Scores of the labels with the distractors competing (the pipelines' scoring stage). */
function score(regionEmbeds: Float32Array, labelEmbeds: Float32Array, distractorEmbeds: Float32Array, fusion: 'none' | 'geometric', objectness?: Float32Array): Float32Array {
  return scoreRegions(regionEmbeds, labelEmbeds, D, { temperature, fusion, objectness, backgroundEmbed: model.backgroundEmbed, distractorEmbeds });
}

// ── shared embeddings ────────────────────────────────────────────────────────────────────────────
interface Regions { boxes: Boxes; embeds: Float32Array; objectness?: Float32Array }
const t0 = performance.now();
const mainImage = await decodeImage('fixtures/world/images/000020.jpg');
const mainProposed = await model.propose(mainImage, defaults.proposals);
const mainBoxes = DetectorModel.toOriginal(mainProposed.proposals.boxes, mainProposed.resized);
const main: Regions = { boxes: mainBoxes, embeds: await model.embedRegions(mainImage, mainBoxes, { resized: mainProposed.resized }), objectness: mainProposed.proposals.scores };

const gt = readJson<CocoDataset>(join(world, 'gt-coco65.json'));
const split = readJson<CocoSplit>(join(world, 'split.json'));
const cocoNames = gt.categories.map((c) => c.name);
const perImage: { id: number; rpn: Regions; gtBoxes?: Regions }[] = [];
for (const img of gt.images) {
  const decoded = await decodeImage(join(world, img.file_name ?? String(img.id)));
  const proposed = await model.propose(decoded, zeroShot.proposals);
  const boxes = DetectorModel.toOriginal(proposed.proposals.boxes, proposed.resized);
  const rpn = { boxes, embeds: await model.embedRegions(decoded, boxes, { resized: proposed.resized }), objectness: proposed.proposals.scores };
  const anns = gt.annotations.filter((a) => a.image_id === img.id);
  const gtb = anns.length === 0 ? undefined : Boxes.from(xywhToXyxy(Float32Array.from(anns.flatMap((a) => a.bbox))));
  perImage.push({ id: img.id, rpn, gtBoxes: gtb && { boxes: gtb, embeds: await model.embedRegions(decoded, gtb) } });
}
const singles = readJsonl<{ image: string; label: string }>(join(world, 'singles.jsonl'));
const singleEmbeds = new Float32Array(singles.length * D);
for (const [i, s] of singles.entries()) singleEmbeds.set(await model.clip.embedPixels(model.clip.preprocess(await decodeImage(join(world, s.image)))), i * D);
console.log(`${basename(modelDir)} on ${world}: ${perImage.length} scenes, ${singles.length} singles; embeddings in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

// ── per pool ─────────────────────────────────────────────────────────────────────────────────────
const f3 = (x: number) => x.toFixed(3);
for (const name of pools) {
  const pool = poolOf(name);
  const t1 = performance.now();
  const line: string[] = [`${name} (${pool.length})`];

  // README's main image, default preset.
  for (const vocab of [['giraffe'], ['bicycle', 'sled']]) {
    const s = score(main.embeds, await embed(vocab, defaults), await embed(distractorsFor(pool, vocab), defaults), defaults.detect.fusion, main.objectness);
    const sel = selectDetections(s, vocab.length, main.boxes, { scoreThreshold: defaults.detect.scoreThreshold, iouThreshold: defaults.detect.iouThreshold, maxDetections: defaults.detect.maxDetections });
    for (const [p, label] of vocab.entries()) {
      let best = 0;
      for (let r = 0; r < main.boxes.length; r++) best = Math.max(best, s[r * vocab.length + p]);
      line.push(`${label} best ${f3(best)} kept ${sel.classIds.filter((c) => c === p).length}`);
    }
  }

  // classify: a single present / absent label per single (single template, CLIP's logit scale).
  const single = { text: { templates: 'single', ensemble: 'normalize-average-normalize', articles: true } } as DetectSettings;
  let present = 0, presentHigh = 0, absent = 0, absentHigh = 0;
  for (const [i, s] of singles.entries()) {
    let j = (i + 1) % singles.length;
    while (singles[j].label === s.label) j = (j + 1) % singles.length;
    for (const [label, isPresent] of [[s.label, true], [singles[j].label, false]] as const) {
      const probs = scoreRegions(singleEmbeds.subarray(i * D, (i + 1) * D), await embed([label], single), D, { temperature: 1 / model.clip.logitScale, distractorEmbeds: await embed(distractorsFor(pool, [label]), single) });
      if (isPresent) { present += probs[0]; presentHigh += probs[0] > 0.5 ? 1 : 0; } else { absent += probs[0]; absentHigh += probs[0] > 0.5 ? 1 : 0; }
    }
  }
  const n = singles.length;
  line.push(`classify present ${f3(present / n)} (>0.5 ${(100 * presentHigh / n).toFixed(1)}%) absent ${f3(absent / n)} (>0.5 ${(100 * absentHigh / n).toFixed(1)}%)`);

  // AP50 on the COCO-65 analogue, zero-shot settings.
  const labelEmbeds = await embed(cocoNames, zeroShot);
  const distractorEmbeds = await embed(distractorsFor(pool, cocoNames), zeroShot);
  for (const kind of ['gtBoxes', 'rpn'] as const) {
    const results: CocoResult[] = [];
    for (const img of perImage) {
      const regions = img[kind];
      if (regions === undefined) continue;
      const fusion = kind === 'rpn' ? zeroShot.detect.fusion : 'none';
      const s = score(regions.embeds, labelEmbeds, distractorEmbeds, fusion, regions.objectness);
      const sel = selectDetections(s, cocoNames.length, regions.boxes, { scoreThreshold: zeroShot.detect.scoreThreshold, iouThreshold: zeroShot.detect.iouThreshold, maxDetections: zeroShot.detect.maxDetections });
      results.push(...toCocoResults(img.id, sel.boxes.data, sel.scores, Array.from(sel.classIds, (c) => gt.categories[c].id)));
    }
    const ev = evaluateCoco(gt, results, { split });
    line.push(`AP50 ${kind === 'rpn' ? 'RPN' : 'GT'} ${f3(ev.split!.novel.ap50)}/${f3(ev.split!.base.ap50)}/${f3(ev.split!.all.ap50)}`);
  }
  console.log(`${line.join(' | ')} | ${((performance.now() - t1) / 1000).toFixed(0)} s`);
}
await model.release();
