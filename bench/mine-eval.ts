/**
 * Quality of mined pseudo-labels against the synthetic world's ground truth.
 *
 *   npx tsx bench/mine-eval.ts labels.jsonl scenes.jsonl [--thresholds 0.1,0.3,0.5]
 *
 * `labels.jsonl` comes from `regionclip mine` run with `--thresh t0` (floor = thresh); keeping only
 * labels with score > t gives exactly what a run at `--thresh t` would keep, so one run serves every
 * threshold ≥ t0. A label is correct when a scene object has IoU ≥ 0.5 with its box and the label's
 * concept is the object's caption word or category name. Prints, per threshold: labels per image,
 * precision (all, and per direction), recall of the objects named in captions, and of all objects.
 */
import { readFileSync } from 'node:fs';
import { boxIou } from '../src/geometry/iou.js';

const args = process.argv.slice(2);
const thresholdFlag = args.indexOf('--thresholds');
const thresholds = thresholdFlag >= 0 ? args.splice(thresholdFlag, 2)[1].split(',').map(Number) : [0.1, 0.3, 0.5];
const [labelsPath, scenesPath] = args;
if (!labelsPath || !scenesPath) throw new Error('usage: tsx bench/mine-eval.ts labels.jsonl scenes.jsonl [--thresholds a,b,c]');

interface SceneObject { name: string; word: string; bbox: [number, number, number, number] }
const readJsonl = <T>(path: string): T[] => readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as T);
const scenes = new Map(readJsonl<{ image: string; objects: SceneObject[] }>(scenesPath).map((s) => [s.image, s.objects]));
const records = readJsonl<{ image: string; labels: { box: number[]; concept: string; phrase: string; score: number; direction: string }[] }>(labelsPath);

const norm = (s: string) => s.toLowerCase().trim();
for (const t of thresholds) {
  let labels = 0, correct = 0, objects = 0, found = 0;
  const byDirection: Record<string, [number, number]> = {};
  for (const record of records) {
    const objs = scenes.get(record.image) ?? [];
    objects += objs.length;
    const kept = record.labels.filter((l) => l.score > t);
    labels += kept.length;
    const matched = new Set<number>();
    if (kept.length > 0 && objs.length > 0) {
      const iou = boxIou(Float32Array.from(kept.flatMap((l) => l.box)), Float32Array.from(objs.flatMap((o) => [o.bbox[0], o.bbox[1], o.bbox[0] + o.bbox[2], o.bbox[1] + o.bbox[3]])));
      kept.forEach((label, i) => {
        const hit = objs.findIndex((o, j) => iou[i * objs.length + j] >= 0.5 && [norm(o.word), norm(o.name)].includes(norm(label.concept)));
        const entry = (byDirection[label.direction] ??= [0, 0]);
        entry[1]++;
        if (hit >= 0) {
          correct++;
          entry[0]++;
          matched.add(hit);
        }
      });
    }
    found += matched.size;
  }
  const pct = (a: number, b: number) => (b === 0 ? '-' : `${((100 * a) / b).toFixed(1)}%`);
  const directions = Object.entries(byDirection).map(([d, [c, n]]) => `${d} ${pct(c, n)} of ${n}`).join(', ');
  console.log(`thresh ${t}: ${(labels / records.length).toFixed(2)} labels/image, precision ${pct(correct, labels)} (${directions}), object recall ${pct(found, objects)} (${found}/${objects})`);
}
