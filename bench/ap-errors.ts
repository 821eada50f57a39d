/**
 * Where a detector's AP50 goes: its false positives by kind, and AP50 with each kind left out (the error analysis of
 * Hoiem et al. and COCO's analyze(), at IoU 0.5 only, every area).
 *
 *   npx tsx bench/ap-errors.ts <gt-coco65.json> <results.json> <split.json> [--all-objects <gt.json>]
 *
 *   gt-coco65.json  the evaluated ground truth (a world's gt-coco65.json)
 *   results.json    COCO results (`regionclip detect --coco`, ids from --coco-gt gt-coco65.json)
 *   split.json      {"novel": [names], "base": [names]} (a world's split.json)
 *   --all-objects   the world's gt.json (every object, every concept): splits the background false positives into
 *                   those on objects the evaluation does not name and those on nothing
 *
 * Each class's detections, best first, are matched greedily to its unmatched GT boxes (IoU >= 0.5), as COCOeval
 * matches them. A detection that matches none is:
 *   Dup  IoU >= 0.5 with a GT box of its class already matched (a duplicate)
 *   Loc  0.1 <= IoU < 0.5 with a GT box of its class (a poor box)
 *   Cls  IoU >= 0.1 with a GT box of another evaluated class (confused with it)
 *   Bkg  the rest (with --all-objects: Bkg-object if it overlaps an object of the world with IoU >= 0.1, else
 *        Bkg-nothing)
 * AP50 is `regionclip eval`'s (src/eval/cocoeval.ts, pycocotools' COCOeval: 101-point interpolated, every area, 100
 * detections per image and class), averaged over the classes of a split with GT; detections on images that are not in
 * the ground truth are left out (`regionclip eval` refuses them). "Without X" evaluates the results less the detections of kind
 * X, so its rise is what X costs. (COCO's analyze() instead re-scores Loc at IoU 0.1, turning poor boxes into true
 * positives; here they are only removed, so "without Loc" rises less.) The kinds use the project's IoU
 * (src/geometry/iou.ts, float32, torchvision's; 0 where both boxes have no area), COCOeval its own in float64: a box
 * within float32 rounding of IoU 0.5 could be sorted as one and matched as the other. The counts are of the false
 * positives ranked above each class's median true positive (the lower of two), what the ranking gets wrong first;
 * detections of equal score rank as COCOeval ranks them (by image id, then in input order).
 * Where it differs from the Python script it replaced (bench/ap_errors.py): the inputs are checked as `regionclip eval`
 * checks them (a result's category missing from the ground truth, or a split name that is none of its categories, is
 * an error; names match ignoring case and spacing); crowd GT boxes count as plain boxes in the kinds, as there (the
 * worlds have none), while COCOeval ignores them; past 100 detections of a class on one image, the rest count in the
 * kinds but not in the AP (`regionclip detect` keeps at most 100 an image).
 */
import { xywhToXyxy } from '../src/geometry/boxes.js';
import { boxIou } from '../src/geometry/iou.js';
import { evaluateCoco } from '../src/eval/cocoeval.js';
import type { CocoAnnotation, CocoDataset, CocoResult, CocoSplit } from '../src/eval/coco-format.js';
import { readCocoDataset, readCocoResults, readCocoSplit } from '../src/io/coco.js';

export type ErrorKind = 'Dup' | 'Loc' | 'Cls' | 'Bkg' | 'Bkg-object' | 'Bkg-nothing';
export interface SplitErrors {
  /** Classes of the split with GT. */
  classes: number;
  ap50: number;
  /** AP50 with each kind's detections left out. */
  without: Map<ErrorKind, number>;
  /** False positives of each kind ranked above their class's median true positive. */
  aboveMedian: Map<ErrorKind, number>;
}

const MATCH = 0.5;
const TOUCH = 0.1;

/** Each image's annotations, by image id (one pass). */
function annotationsByImage(annotations: CocoAnnotation[]): Map<number, CocoAnnotation[]> {
  const out = new Map<number, CocoAnnotation[]>();
  for (const a of annotations) {
    const list = out.get(a.image_id) ?? [];
    list.push(a);
    out.set(a.image_id, list);
  }
  return out;
}

/** The IoU [N] of box (one XYXY box) with each of boxes (N×4). */
function iousWith(box: Float32Array, boxes: Float32Array): Float32Array {
  return boxes.length === 0 ? new Float32Array(0) : boxIou(box, boxes);
}

/**
 * Each detection's kind ('TP' or an error kind), per result index, and the classes' labels best first.
 * allObjects: the world's every box per evaluated image id (XYXY), or undefined.
 */
export function sortDetections(gt: CocoDataset, results: CocoResult[], allObjects?: Map<number, Float32Array>):
  { kinds: (ErrorKind | 'TP' | undefined)[]; byClass: Map<number, number[]> } {
  const evaluated = new Set(gt.images.map((im) => im.id));
  const gtOf = new Map<number, { cats: number[]; boxes: Float32Array }>();
  const byImage = annotationsByImage(gt.annotations);
  for (const im of gt.images) {
    const anns = byImage.get(im.id) ?? [];
    gtOf.set(im.id, { cats: anns.map((a) => a.category_id), boxes: xywhToXyxy(Float32Array.from(anns.flatMap((a) => a.bbox))) });
  }
  const byClass = new Map<number, number[]>();
  results.forEach((d, i) => {
    if (!evaluated.has(d.image_id)) return;
    const list = byClass.get(d.category_id) ?? [];
    list.push(i);
    byClass.set(d.category_id, list);
  });
  const kinds: (ErrorKind | 'TP' | undefined)[] = new Array(results.length);
  const imagePos = new Map([...evaluated].sort((a, b) => a - b).map((id, k) => [id, k]));
  for (const [cid, list] of byClass) {
    // best first; ties by image id, then input order (COCOeval's accumulate: per image, then a stable sort by score)
    list.sort((a, b) => results[b].score - results[a].score || imagePos.get(results[a].image_id)! - imagePos.get(results[b].image_id)! || a - b);
    const matched = new Set<string>();
    for (const i of list) {
      const d = results[i];
      const box = xywhToXyxy(Float32Array.from(d.bbox));
      const { cats, boxes } = gtOf.get(d.image_id)!;
      const overlaps = iousWith(box, boxes); // each GT box once
      let best = 0, bestJ = -1, same = 0, other = 0;
      cats.forEach((c, j) => {
        const v = overlaps[j] || 0; // NaN (two boxes without area) overlaps nothing
        if (c === cid) {
          same = Math.max(same, v);
          if (!matched.has(`${d.image_id}:${j}`) && v >= best) { best = v; bestJ = j; } // ties: the later box, as COCOeval
        } else {
          other = Math.max(other, v);
        }
      });
      if (best >= MATCH) {
        matched.add(`${d.image_id}:${bestJ}`);
        kinds[i] = 'TP';
      } else if (same >= MATCH) kinds[i] = 'Dup';
      else if (same >= TOUCH) kinds[i] = 'Loc';
      else if (other >= TOUCH) kinds[i] = 'Cls';
      else if (allObjects === undefined) kinds[i] = 'Bkg';
      else {
        const world = iousWith(box, allObjects.get(d.image_id)!);
        kinds[i] = world.some((v) => v >= TOUCH) ? 'Bkg-object' : 'Bkg-nothing'; // NaN >= 0.1 is false
      }
    }
  }
  return { kinds, byClass };
}

/** AP50 of the novel and base classes with each kind left out, and the kinds above each class's median TP. */
export function apErrors(gt: CocoDataset, results: CocoResult[], split: CocoSplit, allObjects?: Map<number, Float32Array>):
  { novel: SplitErrors; base: SplitErrors } {
  const { kinds, byClass } = sortDetections(gt, results, allObjects);
  const errors: ErrorKind[] = ['Dup', 'Loc', 'Cls', ...(allObjects ? ['Bkg-object', 'Bkg-nothing'] as const : ['Bkg'] as const)];
  const evaluated = new Set(gt.images.map((im) => im.id));
  const kept = results.flatMap((d, i) => (evaluated.has(d.image_id) ? [i] : []));
  const evaluate = (keep: (i: number) => boolean) => evaluateCoco(gt, kept.filter(keep).map((i) => results[i]), { split }).split!;
  const full = evaluate(() => true);
  const without = new Map(errors.map((e) => [e, evaluate((i) => kinds[i] !== e)]));
  const npos = new Map<number, number>();
  for (const a of gt.annotations) npos.set(a.category_id, (npos.get(a.category_id) ?? 0) + 1);
  const part = (name: 'novel' | 'base'): SplitErrors => {
    const ids = full[name].categoryIds.filter((id) => (npos.get(id) ?? 0) > 0);
    const aboveMedian = new Map(errors.map((e) => [e, 0]));
    for (const id of ids) {
      const labels = (byClass.get(id) ?? []).map((i) => kinds[i]!);
      const tps = labels.flatMap((l, i) => (l === 'TP' ? [i] : []));
      if (tps.length === 0) continue;
      for (const l of labels.slice(0, tps[Math.floor((tps.length - 1) / 2)])) {
        if (l !== 'TP') aboveMedian.set(l, aboveMedian.get(l)! + 1);
      }
    }
    return { classes: ids.length, ap50: full[name].ap50, without: new Map(errors.map((e) => [e, without.get(e)![name].ap50])), aboveMedian };
  };
  return { novel: part('novel'), base: part('base') };
}

/** The world's every box (XYXY) per evaluated image, matched by file name; an evaluated image missing there is an error. */
export function objectsByImage(gt: CocoDataset, world: CocoDataset, gtPath: string, worldPath: string): Map<number, Float32Array> {
  const idInWorld = new Map(world.images.map((im) => [im.file_name, im.id]));
  const missing = gt.images.map((im) => im.file_name).filter((f) => !idInWorld.has(f)).sort();
  if (missing.length > 0) {
    throw new Error(`Expected every image of ${gtPath} in ${worldPath} (matched by file_name) but received ${missing.length} `
      + `that are not, e.g. ${missing[0]}.`);
  }
  const byImage = annotationsByImage(world.annotations);
  return new Map(gt.images.map((im) => {
    const anns = byImage.get(idInWorld.get(im.file_name)!) ?? [];
    return [im.id, xywhToXyxy(Float32Array.from(anns.flatMap((a) => a.bbox)))];
  }));
}

/** The report's lines: per split, AP50 and AP50 without each kind, then the counts above the median TP. */
export function formatApErrors(r: { novel: SplitErrors; base: SplitErrors }): string[] {
  const f = (x: number) => x.toFixed(3);
  return (['novel', 'base'] as const).flatMap((name) => {
    const s = r[name];
    return [
      `${name} (${s.classes} classes with GT): AP50 ${f(s.ap50)}; without ${[...s.without].map(([e, v]) => `${e} ${f(v)}`).join(', ')}`,
      `  false positives above each class's median true positive: ${[...s.aboveMedian].map(([e, n]) => `${e} ${n}`).join(', ')}`,
    ];
  });
}

function main(argv: string[]): void {
  const usage = 'usage: npx tsx bench/ap-errors.ts <gt-coco65.json> <results.json> <split.json> [--all-objects <gt.json>]';
  const at = argv.indexOf('--all-objects');
  const worldPath = at >= 0 ? argv[at + 1] : undefined;
  const positional = at >= 0 ? [...argv.slice(0, at), ...argv.slice(at + 2)] : argv;
  if (positional.length !== 3 || (at >= 0 && worldPath === undefined)) throw new Error(usage);
  const [gtPath, resultsPath, splitPath] = positional;
  const gt = readCocoDataset(gtPath);
  const world = worldPath === undefined ? undefined : objectsByImage(gt, readCocoDataset(worldPath), gtPath, worldPath);
  const [results, split] = [readCocoResults(resultsPath), readCocoSplit(splitPath)];
  for (const line of formatApErrors(apErrors(gt, results, split, world))) console.log(line);
}

if (process.argv[1]?.endsWith('ap-errors.ts')) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    console.error(`ap-errors: ${(error as Error).message}`);
    process.exit(1);
  }
}
