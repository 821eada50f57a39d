import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  COCO_IOU_THRESHOLDS, COCO_RECALL_THRESHOLDS, InvalidInputError, cocoEvalJson, evaluateCoco, parseCocoDataset, parseCocoResults,
  resolveSplit, splitLines, summaryLines, type CocoDataset, type CocoResult,
} from '../../src/index.js';
import { formatFixed3, linspace } from '../../src/eval/cocoeval.js';
import { repoRoot, sharedGoldenDir, SKIP_NO_SHARED } from '../helpers/golden.js';

const TOL = 1e-6;

interface GoldenCase {
  id: string;
  gt: unknown;
  detections: unknown;
  params: { iouThrs: number[]; recThrs: number[]; maxDets: number[]; areaRng: number[][] };
  stats: number[];
  summary_lines: string[];
  per_category: { category_id: number; ap: number; ap50: number; ap75: number; recall: number }[];
  cat_ids: number[];
  img_ids: number[];
  precision_area_all_maxdet100: number[];
  recall_full: number[];
}

const sources = [
  { name: 'fixtures/golden/cocoeval', dir: join(repoRoot, 'fixtures', 'golden', 'cocoeval') as string | null },
  { name: '../shared/golden/cocoeval', dir: sharedGoldenDir === null ? null : join(sharedGoldenDir, 'cocoeval') },
];

for (const source of sources) {
  describe.skipIf(source.dir === null)(`pycocotools parity (${source.name})`, () => {
    if (source.dir === null || !existsSync(source.dir)) { it.skip(SKIP_NO_SHARED, () => {}); return; }
    const files = readdirSync(source.dir).filter((f) => f.endsWith('.json')).sort();
    it('has cases', () => expect(files.length).toBeGreaterThanOrEqual(3));
    it.each(files)('%s: 12 stats, per-category AP/AP50/AP75/recall, precision and recall arrays within 1e-6; summary lines identical', (file) => {
      const c = JSON.parse(readFileSync(join(source.dir!, file), 'utf8')) as GoldenCase;
      expect(c.params.iouThrs).toEqual([...COCO_IOU_THRESHOLDS]);
      expect(c.params.recThrs).toEqual([...COCO_RECALL_THRESHOLDS]);
      const r = evaluateCoco(parseCocoDataset(c.gt, file), parseCocoResults(c.detections, file));
      expect(r.catIds).toEqual(c.cat_ids);
      expect(r.imgIds).toEqual(c.img_ids);
      expect(r.stats).toHaveLength(12);
      c.stats.forEach((v, i) => expect(Math.abs(r.stats[i] - v), `stat ${i}`).toBeLessThanOrEqual(TOL));
      expect(r.perCategory.map((p) => p.id)).toEqual(c.per_category.map((p) => p.category_id));
      c.per_category.forEach((p, k) => {
        for (const key of ['ap', 'ap50', 'ap75', 'recall'] as const) {
          expect(Math.abs(r.perCategory[k][key] - p[key]), `category ${p.category_id} ${key}`).toBeLessThanOrEqual(TOL);
        }
      });
      const { T, R, K, A, M } = r.dims;
      expect([T, R, A, M]).toEqual([10, 101, 4, 3]);
      let worst = 0;
      for (let t = 0; t < T; t++) for (let q = 0; q < R; q++) for (let k = 0; k < K; k++) {
        worst = Math.max(worst, Math.abs(r.precision[(((t * R + q) * K + k) * A + 0) * M + 2] - c.precision_area_all_maxdet100[(t * R + q) * K + k]));
      }
      c.recall_full.forEach((v, i) => { worst = Math.max(worst, Math.abs(r.recall[i] - v)); });
      expect(worst).toBeLessThanOrEqual(TOL);
      expect(summaryLines(r.stats)).toEqual(c.summary_lines);
      expect(r.warnings).toEqual([]);
    });
  });
}

// Tiny hand-computed datasets.
const images = (...ids: number[]) => ids.map((id) => ({ id, width: 640, height: 480 }));
function dataset(annotations: [number, number, number[], number?, number?, number?][], imgIds = [1, 2], catIds = [1, 2]): CocoDataset {
  return parseCocoDataset({
    images: images(...imgIds),
    categories: catIds.map((id) => ({ id, name: `cat${id}` })),
    annotations: annotations.map(([image_id, category_id, bbox, iscrowd = 0, area = bbox[2] * bbox[3], id], i) => ({ id: id ?? i + 1, image_id, category_id, bbox, area, iscrowd })),
  });
}
/** Rounded to 9 decimals: pycocotools' precision is tp / (tp + fp + 2.2e-16), so "1" is 0.9999999999999998. */
const r9 = (v: number) => Math.round(v * 1e9) / 1e9;
const r9s = (values: number[]) => values.map(r9);
const det = (image_id: number, category_id: number, bbox: number[], score: number): CocoResult => ({ image_id, category_id, bbox: bbox as CocoResult['bbox'], score });
/** precision[t, :, k, a=all, m=100] */
const precisionRow = (r: ReturnType<typeof evaluateCoco>, t: number, k: number) =>
  Array.from({ length: r.dims.R }, (_, q) => r.precision[(((t * r.dims.R + q) * r.dims.K + k) * r.dims.A) * r.dims.M + 2]);

describe('COCOeval semantics (hand-computed)', () => {
  it('uses the exact linspace doubles for the thresholds', () => {
    expect(COCO_IOU_THRESHOLDS[8]).toBe(0.8999999999999999);
    expect(COCO_IOU_THRESHOLDS[2]).toBe(2 * ((0.95 - 0.5) / 9) + 0.5);
    expect(COCO_RECALL_THRESHOLDS[35]).toBe(0.35000000000000003);
    expect(COCO_RECALL_THRESHOLDS[100]).toBe(1);
    expect(linspace(0, 1, 3)).toEqual([0, 0.5, 1]);
  });

  it('matches at IoU >= threshold: IoU exactly 0.5 matches at .50 and not at .55', () => {
    // gt [0,0,10,10]; det [0,0,10,5]: intersection 50, union 100.
    const r = evaluateCoco(dataset([[1, 1, [0, 0, 10, 10]]], [1], [1]), [det(1, 1, [0, 0, 10, 5], 0.9)]);
    expect(r9(r.stats[1])).toBe(1); // AP50
    expect(precisionRow(r, 1, 0).every((v) => v === 0)).toBe(true);
    expect(r.stats[0]).toBeCloseTo(0.1, 12); // 1 of 10 thresholds
    expect(r.perCategory[0]).toMatchObject({ id: 1, name: 'cat1', ap75: 0 });
    expect(r9(r.perCategory[0].ap50)).toBe(1);
    expect(r.perCategory[0].recall).toBeCloseTo(0.1, 12);
  });

  it('breaks score ties by image order, then by position in the file (stable sorts)', () => {
    // One gt on image 2. A false positive on image 1 and a true positive on image 2, both score .5:
    // the false positive comes first, so precision at recall 1 is 1/2.
    const gt = dataset([[2, 1, [0, 0, 10, 10]]], [1, 2], [1]);
    const fpFirst = evaluateCoco(gt, [det(2, 1, [0, 0, 10, 10], 0.5), det(1, 1, [0, 0, 10, 10], 0.5)]);
    expect(r9(fpFirst.stats[1])).toBe(0.5);
    // The same detections with the images swapped: the true positive leads, AP 1.
    const gt2 = dataset([[1, 1, [0, 0, 10, 10]]], [1, 2], [1]);
    const tpFirst = evaluateCoco(gt2, [det(2, 1, [0, 0, 10, 10], 0.5), det(1, 1, [0, 0, 10, 10], 0.5)]);
    expect(r9(tpFirst.stats[1])).toBe(1);
  });

  it('ignores detections on crowd regions (IoU over the detection area) and never counts crowd gt as misses', () => {
    // A crowd region covering [0,0,100,100] and one regular gt far away.
    const gt = dataset([[1, 1, [0, 0, 100, 100], 1], [1, 1, [200, 200, 20, 20]]], [1], [1]);
    // Small detections inside the crowd: IoU with the crowd = inter / det area = 1.
    const dets = [det(1, 1, [10, 10, 5, 5], 0.99), det(1, 1, [30, 30, 5, 5], 0.98), det(1, 1, [200, 200, 20, 20], 0.5)];
    const r = evaluateCoco(gt, dets);
    expect(r.stats[0]).toBeCloseTo(1, 12); // the crowd hits are neither TP nor FP
    expect(r.stats[8]).toBe(1); // recall: 1 non-ignored gt, found
    // Without the crowd flag the two hits are false positives ranked first: AP50 = 101-point precision 2/3… envelope.
    const plain = evaluateCoco(dataset([[1, 1, [0, 0, 100, 100]], [1, 1, [200, 200, 20, 20]]], [1], [1]), dets);
    expect(plain.stats[1]).toBeLessThan(1);
  });

  it('takes the gt area range from the area field and the detection area from w*h', () => {
    // A 100×100 box whose annotated area is 500 (small); the detection matches it.
    const r = evaluateCoco(dataset([[1, 1, [0, 0, 100, 100], 0, 500]], [1], [1]), [det(1, 1, [0, 0, 100, 100], 0.9)]);
    expect(r9s(r.stats.slice(3, 6))).toEqual([1, -1, -1]); // APs, APm, APl
    expect(r9s(r.stats.slice(9, 12))).toEqual([1, -1, -1]);
    // An unmatched detection outside a range is ignored there; in range it is a false positive.
    const g = dataset([[1, 1, [0, 0, 10, 10]]], [1], [1]); // small gt
    const withLargeFp = evaluateCoco(g, [det(1, 1, [300, 300, 200, 200], 0.99), det(1, 1, [0, 0, 10, 10], 0.5)]);
    expect(r9(withLargeFp.stats[3])).toBe(1); // APs: the large false positive is ignored
    expect(r9(withLargeFp.stats[0])).toBe(0.5); // AP all: it is a false positive ranked first
  });

  it('applies the area range boundaries as closed intervals (area 1024 is both small and medium)', () => {
    const r = evaluateCoco(dataset([[1, 1, [0, 0, 32, 32], 0, 1024]], [1], [1]), [det(1, 1, [0, 0, 32, 32], 0.9)]);
    expect(r9s(r.stats.slice(3, 6))).toEqual([1, 1, -1]);
  });

  it('keeps the top maxDets per image by score: AR@1, AR@10, AR@100', () => {
    const anns: [number, number, number[]][] = Array.from({ length: 20 }, (_, i) => [1, 1, [i * 20, 0, 10, 10]]);
    const dets = Array.from({ length: 20 }, (_, i) => det(1, 1, [i * 20, 0, 10, 10], 1 - i / 100));
    const r = evaluateCoco(dataset(anns, [1], [1]), dets);
    expect(r.stats[6]).toBeCloseTo(1 / 20, 12);
    expect(r.stats[7]).toBeCloseTo(10 / 20, 12);
    expect(r.stats[8]).toBe(1);
  });

  it('marks categories without ground truth -1 and categories without detections 0', () => {
    const r = evaluateCoco(dataset([[1, 1, [0, 0, 10, 10]]], [1], [1, 2, 3]), [det(1, 1, [0, 0, 10, 10], 0.9), det(1, 2, [0, 0, 10, 10], 0.9)]);
    expect(r9s(r.perCategory.map((c) => c.ap))).toEqual([1, -1, -1]);
    const r2 = evaluateCoco(dataset([[1, 1, [0, 0, 10, 10]], [1, 2, [0, 0, 10, 10]]], [1], [1, 2]), [det(1, 1, [0, 0, 10, 10], 0.9)]);
    expect(r2.perCategory.map((c) => [r9(c.ap), c.recall])).toEqual([[1, 1], [0, 0]]);
    expect(r9(r2.stats[0])).toBe(0.5);
  });

  it('reproduces the pycocotools quirk of a matched gt with id 0 counting as unmatched', () => {
    const r = evaluateCoco(dataset([[1, 1, [0, 0, 10, 10], 0, 100, 0]], [1], [1]), [det(1, 1, [0, 0, 10, 10], 0.9)]);
    expect(r.stats[0]).toBe(0);
    expect(r.stats[8]).toBe(0);
  });

  it('evaluates an empty results list to zeros (-1 without ground truth) with a warning', () => {
    const r = evaluateCoco(dataset([[1, 1, [0, 0, 10, 10]]], [1], [1, 2]), []);
    expect(r.stats).toEqual([0, 0, 0, 0, -1, -1, 0, 0, 0, 0, -1, -1]);
    expect(r.perCategory.map((c) => c.ap)).toEqual([0, -1]);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/empty/);
  });

  it('rejects results on images or categories absent from the ground truth, naming the entry', () => {
    const gt = dataset([[1, 1, [0, 0, 10, 10]]], [1], [1]);
    expect(() => evaluateCoco(gt, [det(1, 1, [0, 0, 1, 1], 0.5), det(7, 1, [0, 0, 1, 1], 0.5)])).toThrow(InvalidInputError);
    expect(() => evaluateCoco(gt, [det(1, 1, [0, 0, 1, 1], 0.5), det(7, 1, [0, 0, 1, 1], 0.5)])).toThrow('Expected the id of an image in the ground truth for results[1].image_id but received 7.');
    expect(() => evaluateCoco(gt, [det(1, 9, [0, 0, 1, 1], 0.5)])).toThrow('for results[0].category_id but received 9.');
    expect(() => evaluateCoco(gt, [det(1, 1, [0, 0, Number.NaN, 1], 0.5)])).toThrow('for results[0].bbox but received [0, 0, NaN, 1].');
    expect(() => evaluateCoco(gt, [det(1, 1, [0, 0, 1, 1], Number.POSITIVE_INFINITY)])).toThrow('for results[0].score');
  });
});

describe('summary text', () => {
  it('formats like Python {:0.3f}: exact halves round to even', () => {
    expect(formatFixed3(0.0625)).toBe('0.062');
    expect(formatFixed3(0.1875)).toBe('0.188');
    expect(formatFixed3(0.5625)).toBe('0.562');
    expect(formatFixed3(-1)).toBe('-1.000');
    expect(formatFixed3(0.2844999)).toBe('0.284');
    expect(formatFixed3(1)).toBe('1.000');
  });
  it('prints the pycocotools lines', () => {
    const lines = summaryLines([0.5, 1, 0, -1, 0.25, 0.0625, 0, 0, 0, 0, 0, 0]);
    expect(lines[0]).toBe(' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.500');
    expect(lines[3]).toBe(' Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = -1.000');
    expect(lines[5]).toBe(' Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.062');
    expect(lines[6]).toBe(' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.000');
  });
});

describe('open-vocabulary split', () => {
  // Category 1 perfect, 2 half right (AP50 .5), 3 missed, 4 without gt.
  const gt = dataset([
    [1, 1, [0, 0, 10, 10]], [1, 2, [0, 0, 10, 10]], [2, 2, [50, 50, 10, 10]], [1, 3, [0, 0, 10, 10]],
  ], [1, 2], [1, 2, 3, 4]);
  const dets = [det(1, 1, [0, 0, 10, 10], 0.9), det(2, 2, [300, 300, 10, 10], 0.9), det(1, 2, [0, 0, 10, 10], 0.8), det(1, 4, [0, 0, 5, 5], 0.3)];

  it('averages AP50 and AP over the novel, base and all groups, by id or name', () => {
    const r = evaluateCoco(gt, dets, { split: { novel: ['cat2', 3], base: [1, 'cat4'] } });
    const ap50 = r.perCategory.map((c) => c.ap50);
    expect(r9(ap50[0])).toBe(1);
    expect(ap50[2]).toBe(0);
    expect(ap50[3]).toBe(-1);
    expect(r.split!.novel.categoryIds).toEqual([2, 3]);
    expect(r.split!.novel.ap50).toBeCloseTo((ap50[1] + 0) / 2, 12);
    expect(r.split!.base.ap50).toBe(ap50[0]); // category 4 has no gt: left out of the mean
    expect(r.split!.all.ap50).toBeCloseTo((1 + ap50[1] + 0) / 3, 12);
    expect(r.split!.all.ap).toBeCloseTo((r.perCategory[0].ap + r.perCategory[1].ap + r.perCategory[2].ap) / 3, 12);
    const json = cocoEvalJson(r);
    expect(Object.keys(json)).toEqual(['stats', 'perCategory', 'split']);
    expect(Object.keys(json.perCategory[0])).toEqual(['id', 'name', 'ap', 'ap50', 'ap75', 'recall']);
    expect(json.split).toEqual({ novel: { ap: r.split!.novel.ap, ap50: r.split!.novel.ap50 }, base: { ap: r.split!.base.ap, ap50: ap50[0] }, all: { ap: r.split!.all.ap, ap50: r.split!.all.ap50 } });
    expect(splitLines(r.split!)[1]).toBe(' Open-vocabulary base  (   2 categories): AP50 = 1.000 | AP@[0.50:0.95] = 1.000');
    expect(cocoEvalJson(evaluateCoco(gt, dets)).split).toBeUndefined();
  });

  it('rejects unknown names with a suggestion, unknown ids and overlapping groups', () => {
    expect(() => resolveSplit({ novel: ['cat22'], base: [] }, gt)).toThrow('Expected the name of a category in the ground truth for split novel[0] but received "cat22" (did you mean "cat2"?).');
    expect(() => resolveSplit({ novel: [], base: [1, 99] }, gt)).toThrow('for split base[1] but received 99.');
    expect(() => resolveSplit({ novel: ['cat1'], base: [1] }, gt)).toThrow('Expected disjoint novel and base groups for split but received category 1 in both.');
  });

  it('matches names by the one category-name rule (case, spacing, Unicode form), and an ambiguous name names both ids', () => {
    expect(resolveSplit({ novel: ['CAT2', ' cat3 '], base: ['Cat1'] }, gt)).toEqual({ novel: [2, 3], base: [1] });
    const dup = { categories: [{ id: 1, name: 'cat' }, { id: 2, name: 'Cat' }, { id: 3, name: 'dog' }] };
    expect(() => resolveSplit({ novel: ['cat'], base: [] }, dup)).toThrow(
      'Expected a name that matches one category in the ground truth (names match ignoring case, spacing and Unicode form) for split novel[0] but received "cat", which matches ids 1 ("cat") and 2 ("Cat") (give the id instead).',
    );
    expect(resolveSplit({ novel: [1], base: ['DOG'] }, dup)).toEqual({ novel: [1], base: [3] });
  });
});
