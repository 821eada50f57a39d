/**
 * Quality of mined pseudo-labels against the synthetic world's ground truth (precision and recall).
 *
 *   npx tsx bench/mine-eval.ts run <world> [--model DIR] [-- <regionclip mine flags>]
 *       mines <world>/captions.jsonl with the built CLI (dist/cli/main.js; `npx tsc -p tsconfig.build.json`
 *       first) and the given flags (none: the defaults), then scores the labels
 *   npx tsx bench/mine-eval.ts score <labels.jsonl> <world> [--min-scores 0,0.1,0.3]
 *       scores an existing run, keeping only labels with score >= each value
 *
 * A label is correct when it is matched one to one (labels in decreasing score, each to the unmatched
 * object of the same concept with the highest IoU >= 0.5, as COCO's evaluation matches) to a scene
 * object whose concept it names: its phrase or concept equals the object's caption word or name once
 * both are singular, or the name's head before its first preposition ("umbrella" names an "umbrella
 * on ground", "statue" a "statue of liberty"). A second box on an already matched object is wrong.
 * Precision = correct / labels; recall = matched objects / all objects in the scenes (every object is
 * named by its caption in the world).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boxIou } from '../src/geometry/iou.js';
import { singularize } from '../src/text/phrases.js';

export interface SceneObject { name: string; word: string; bbox: [number, number, number, number] }
export interface ScoredLabel { box: number[]; phrase: string; concept: string; score: number }
export interface LabelQuality { images: number; labels: number; correct: number; objects: number; found: number; precision: number; recall: number }

const PREPOSITION = / (?:with|of|on|in|at|and|without|for|under|over) /;
const singular = (text: string) => text.toLowerCase().trim().split(/\s+/).map((w, i, all) => (i === all.length - 1 ? singularize(w) : w)).join(' ');

/** The ways a label may name a scene object: its word and name, singular, and each one's head before a preposition. */
export function objectNames(object: Pick<SceneObject, 'name' | 'word'>): Set<string> {
  const names = [object.word, object.name].map((n) => n.toLowerCase());
  return new Set(names.flatMap((n) => [singular(n), singular(n.split(PREPOSITION)[0])]));
}

/** Precision and recall of mined records against the world's scenes (see the module comment). */
export function labelQuality(records: { image: string; labels: ScoredLabel[] }[], scenes: Map<string, SceneObject[]>, minScore = -Infinity): LabelQuality {
  let labels = 0, correct = 0, objects = 0, found = 0;
  const seenImages = new Set<string>();
  for (const record of records) {
    const objs = scenes.get(record.image) ?? [];
    if (!seenImages.has(record.image)) objects += objs.length;
    seenImages.add(record.image);
    const kept = record.labels.filter((l) => l.score >= minScore).sort((a, b) => b.score - a.score);
    labels += kept.length;
    if (kept.length === 0 || objs.length === 0) continue;
    const iou = boxIou(Float32Array.from(kept.flatMap((l) => l.box)), Float32Array.from(objs.flatMap((o) => [o.bbox[0], o.bbox[1], o.bbox[0] + o.bbox[2], o.bbox[1] + o.bbox[3]])));
    const names = objs.map(objectNames);
    const matched = new Set<number>();
    kept.forEach((label, i) => {
      const keys = [singular(label.phrase), singular(label.concept)];
      let best = -1;
      for (let j = 0; j < objs.length; j++) {
        const v = iou[i * objs.length + j];
        if (matched.has(j) || v < 0.5 || !keys.some((k) => names[j].has(k))) continue;
        if (best < 0 || v > iou[i * objs.length + best]) best = j;
      }
      if (best >= 0) {
        matched.add(best);
        correct++;
      }
    });
    found += matched.size;
  }
  return { images: seenImages.size, labels, correct, objects, found, precision: labels === 0 ? 0 : correct / labels, recall: objects === 0 ? 0 : found / objects };
}

export function readJsonl<T>(path: string): T[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as T);
}

export function readScenes(world: string): Map<string, SceneObject[]> {
  return new Map(readJsonl<{ image: string; objects: SceneObject[] }>(join(world, 'scenes.jsonl')).map((s) => [s.image, s.objects]));
}

export function formatQuality(q: LabelQuality): string {
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  return `${(q.labels / Math.max(q.images, 1)).toFixed(2)} labels/image, precision ${pct(q.precision)} (${q.correct}/${q.labels}), recall ${pct(q.recall)} (${q.found}/${q.objects})`;
}

function main(args: string[]): void {
  const [command, ...rest] = args;
  if (command === 'score' && rest.length >= 2) {
    const flag = rest.indexOf('--min-scores');
    const minScores = flag >= 0 ? rest[flag + 1].split(',').map(Number) : [-Infinity];
    const records = readJsonl<{ image: string; labels: ScoredLabel[] }>(rest[0]);
    for (const m of minScores) console.log(`${m === -Infinity ? 'all labels' : `score >= ${m}`}: ${formatQuality(labelQuality(records, readScenes(rest[1]), m))}`);
    return;
  }
  if (command === 'run' && rest.length >= 1) {
    const [world, ...more] = rest;
    const dash = more.indexOf('--');
    const flags = dash >= 0 ? more.slice(dash + 1) : [];
    const own = dash >= 0 ? more.slice(0, dash) : more;
    const modelAt = own.indexOf('--model');
    const model = modelAt >= 0 ? own[modelAt + 1] : 'models/world-rn-small';
    const scratch = mkdtempSync(join(tmpdir(), 'mine-eval-'));
    const out = join(scratch, 'labels.jsonl');
    const started = performance.now();
    const r = spawnSync(process.execPath, ['dist/cli/main.js', 'mine', join(world, 'captions.jsonl'), '--out', out, '--model', model, ...flags], { encoding: 'utf8' });
    const seconds = (performance.now() - started) / 1000;
    if (r.status !== 0) throw new Error(`regionclip mine exited ${r.status}: ${r.stderr}`);
    const records = readJsonl<{ image: string; labels: ScoredLabel[] }>(out);
    console.log(`${world} (${records.length} images), ${model}, flags: ${flags.join(' ') || '(defaults)'}; ${seconds.toFixed(0)} s`);
    console.log(`  ${formatQuality(labelQuality(records, readScenes(world)))}`);
    rmSync(scratch, { recursive: true, force: true });
    return;
  }
  console.error('usage: npx tsx bench/mine-eval.ts run <world> [--model DIR] [-- <mine flags>] | score <labels.jsonl> <world> [--min-scores a,b]');
  process.exitCode = 2;
}

if (process.argv[1]?.endsWith('mine-eval.ts')) main(process.argv.slice(2));
