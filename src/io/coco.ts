/**
 * COCO files: ground-truth datasets (images, categories, annotations) and detection results.
 *
 * This is the one place where COCO's `[x, y, w, h]` boxes meet the rest of regionclip, which works in
 * XYXY (`Float32Array` N×4 `[x1, y1, x2, y2]`): `toCocoResults` / `toCocoAnnotations` convert on the
 * way out; `cocoBboxesToXyxy` on the way in.
 *
 * Reading validates every entry and names the offending one and the file:
 *   "Expected 4 finite numbers [x, y, w, h] for annotations[17].bbox in gt.json but received [1, 2, 3]."
 * The validators (`parseCocoDataset`, `parseCocoResults`, `parseCocoSplit`) are pure and also take
 * objects built in code; `read*` / `write*` add the file system.
 */
import { writeFileSync } from 'node:fs';
import { IoError, describe, invalidInput } from '../errors.js';
import { readJsonFile } from './files.js';
import type { CocoAnnotation, CocoBbox, CocoCategory, CocoDataset, CocoImage, CocoResult, CocoSplit } from '../eval/coco-format.js';

export type { CocoAnnotation, CocoBbox, CocoCategory, CocoDataset, CocoImage, CocoResult, CocoSplit } from '../eval/coco-format.js';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A received value for messages: small arrays of primitives are shown in full (bboxes). */
function shown(value: unknown): string {
  if (Array.isArray(value) && value.length <= 8 && value.every((v) => v === null || typeof v !== 'object')) {
    return `[${value.map((v) => (typeof v === 'string' ? JSON.stringify(v) : describe(v))).join(', ')}]`;
  }
  return describe(value);
}

function where(field: string, source: string): string {
  return `${field} in ${source}`;
}

function checkArray(value: Json, key: string, source: string): unknown[] {
  const list = value[key];
  if (!Array.isArray(list)) throw invalidInput(`an array "${key}"`, source, list === undefined ? `no "${key}" key` : `"${key}": ${describe(list)}`);
  return list;
}

function checkEntry(list: unknown[], i: number, field: string, source: string): Json {
  const entry = list[i];
  if (!isObject(entry)) throw invalidInput('an object', where(`${field}[${i}]`, source), describe(entry));
  return entry;
}

function checkId(entry: Json, key: string, field: string, source: string): number {
  const id = entry[key];
  if (typeof id !== 'number' || !Number.isSafeInteger(id)) {
    throw invalidInput('an integer id', where(`${field}.${key}`, source), id === undefined ? `no "${key}" key` : shown(id));
  }
  return id;
}

function checkBbox(entry: Json, field: string, source: string): CocoBbox {
  const bbox = entry.bbox;
  if (!Array.isArray(bbox) || bbox.length !== 4 || !bbox.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw invalidInput('4 finite numbers [x, y, w, h]', where(`${field}.bbox`, source), bbox === undefined ? 'no "bbox" key' : shown(bbox));
  }
  if (bbox[2] < 0 || bbox[3] < 0) {
    throw invalidInput('a width and height >= 0', where(`${field}.bbox`, source), shown(bbox));
  }
  return [bbox[0], bbox[1], bbox[2], bbox[3]];
}

function checkNonNegative(entry: Json, key: string, field: string, source: string): number {
  const value = entry[key];
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalidInput('a finite number >= 0', where(`${field}.${key}`, source), value === undefined ? `no "${key}" key` : shown(value));
  }
  return value;
}

function checkUnique(seen: Map<number, number>, id: number, i: number, field: string, source: string): void {
  const first = seen.get(id);
  if (first !== undefined) {
    throw invalidInput('a unique id', where(`${field}[${i}].id`, source), `${id}, already the id of ${field}[${first}]`);
  }
  seen.set(id, i);
}

/**
 * Validates a COCO ground-truth dataset: `images`, `categories` and `annotations` arrays; unique integer
 * ids; every annotation on a listed image and category, with a finite `bbox` of w, h >= 0, a finite
 * `area` >= 0 and `iscrowd` 0/1 (or a boolean; absent means 0). Returns a copy with `iscrowd` as 0/1;
 * other keys are kept. `source` names the file (or object) in error messages.
 */
export function parseCocoDataset(value: unknown, source = 'the dataset'): CocoDataset {
  if (!isObject(value)) throw invalidInput('a COCO dataset object with images, categories and annotations', source, describe(value));
  const rawImages = checkArray(value, 'images', source);
  const rawCategories = checkArray(value, 'categories', source);
  const rawAnnotations = checkArray(value, 'annotations', source);

  const imageIds = new Map<number, number>();
  const images: CocoImage[] = rawImages.map((_, i) => {
    const entry = checkEntry(rawImages, i, 'images', source);
    checkUnique(imageIds, checkId(entry, 'id', `images[${i}]`, source), i, 'images', source);
    return entry as CocoImage;
  });

  const categoryIds = new Map<number, number>();
  const categories: CocoCategory[] = rawCategories.map((_, i) => {
    const entry = checkEntry(rawCategories, i, 'categories', source);
    checkUnique(categoryIds, checkId(entry, 'id', `categories[${i}]`, source), i, 'categories', source);
    if (typeof entry.name !== 'string') {
      throw invalidInput('a string', where(`categories[${i}].name`, source), entry.name === undefined ? 'no "name" key' : describe(entry.name));
    }
    return entry as CocoCategory;
  });

  const annotationIds = new Map<number, number>();
  const annotations: CocoAnnotation[] = rawAnnotations.map((_, i) => {
    const field = `annotations[${i}]`;
    const entry = checkEntry(rawAnnotations, i, 'annotations', source);
    checkUnique(annotationIds, checkId(entry, 'id', field, source), i, 'annotations', source);
    const imageId = checkId(entry, 'image_id', field, source);
    if (!imageIds.has(imageId)) throw invalidInput('the id of an image in "images"', where(`${field}.image_id`, source), String(imageId));
    const categoryId = checkId(entry, 'category_id', field, source);
    if (!categoryIds.has(categoryId)) throw invalidInput('the id of a category in "categories"', where(`${field}.category_id`, source), String(categoryId));
    const bbox = checkBbox(entry, field, source);
    const area = checkNonNegative(entry, 'area', field, source);
    const crowd = entry.iscrowd;
    if (!(crowd === undefined || crowd === 0 || crowd === 1 || typeof crowd === 'boolean')) {
      throw invalidInput('0 or 1', where(`${field}.iscrowd`, source), shown(crowd));
    }
    return { ...entry, id: entry.id as number, image_id: imageId, category_id: categoryId, bbox, area, iscrowd: crowd === 1 || crowd === true ? 1 : 0 };
  });

  return { ...value, images, categories, annotations };
}

/**
 * Validates a COCO results list: each entry an object with integer `image_id` and `category_id`, a
 * finite `bbox` [x, y, w, h] with w, h >= 0 and a finite `score`. Returns new objects with exactly
 * those four keys. Whether the ids exist in the ground truth is checked by `evaluateCoco`.
 */
export function parseCocoResults(value: unknown, source = 'the results'): CocoResult[] {
  if (!Array.isArray(value)) throw invalidInput('a JSON array of detections (COCO results format)', source, describe(value));
  const results: CocoResult[] = new Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const field = `[${i}]`;
    const entry = checkEntry(value, i, '', source);
    const imageId = checkId(entry, 'image_id', field, source);
    const categoryId = checkId(entry, 'category_id', field, source);
    const bbox = checkBbox(entry, field, source);
    const score = entry.score;
    if (typeof score !== 'number' || !Number.isFinite(score)) {
      throw invalidInput('a finite number', where(`${field}.score`, source), score === undefined ? 'no "score" key' : shown(score));
    }
    results[i] = { image_id: imageId, category_id: categoryId, bbox, score };
  }
  return results;
}

/**
 * Validates a split: `{ "novel": [...], "base": [...] }`, each a list of category ids (numbers) or
 * names (strings). Names and ids are resolved against a dataset by `resolveSplit` in eval/cocoeval.
 */
export function parseCocoSplit(value: unknown, source = 'the split'): CocoSplit {
  if (!isObject(value)) throw invalidInput('an object { "novel": [...], "base": [...] } of category ids or names', source, describe(value));
  const unknownKeys = Object.keys(value).filter((k) => k !== 'novel' && k !== 'base');
  if (unknownKeys.length > 0) throw invalidInput('only the keys "novel" and "base"', source, `the key ${JSON.stringify(unknownKeys[0])}`);
  const group = (key: 'novel' | 'base'): (number | string)[] => {
    const list = checkArray(value, key, source);
    list.forEach((item, i) => {
      if (!(typeof item === 'string' || (typeof item === 'number' && Number.isSafeInteger(item)))) {
        throw invalidInput('a category id (integer) or name (string)', where(`${key}[${i}]`, source), shown(item));
      }
    });
    return list as (number | string)[];
  };
  return { novel: group('novel'), base: group('base') };
}


export function readCocoDataset(path: string): CocoDataset {
  return parseCocoDataset(readJsonFile(path, 'COCO dataset'), path);
}

export function readCocoResults(path: string): CocoResult[] {
  return parseCocoResults(readJsonFile(path, 'COCO results'), path);
}

export function readCocoSplit(path: string): CocoSplit {
  return parseCocoSplit(readJsonFile(path, 'split'), path);
}

function writeJson(path: string, value: unknown, what: string): void {
  try {
    writeFileSync(path, JSON.stringify(value) + '\n');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new IoError(`Expected a writable path for the ${what} ${path} but received ${code}.`, { cause: error });
  }
}

/** Writes detections as a COCO results file (validated first, so an invalid file is never written). */
export function writeCocoResults(path: string, results: CocoResult[]): void {
  writeJson(path, parseCocoResults(results, 'results'), 'COCO results');
}

/** Writes a COCO dataset (validated first: unique ids, annotations on listed images and categories). */
export function writeCocoDataset(path: string, dataset: CocoDataset): void {
  writeJson(path, parseCocoDataset(dataset, 'dataset'), 'COCO dataset');
}

/**
 * The shortest decimal that reads back as the same float32, so that written files show 12.3 rather
 * than 12.300000190734863 for a Float32Array value.
 */
export function shortestFloat32(x: number): number {
  const f = Math.fround(x);
  if (!Number.isFinite(f) || Number.isInteger(f)) return f;
  for (let digits = 6; digits < 9; digits++) {
    const candidate = Number(f.toPrecision(digits));
    if (Math.fround(candidate) === f) return candidate;
  }
  return Number(f.toPrecision(9));
}

function xyxyRowToBbox(boxes: Float32Array, i: number, name: string): CocoBbox {
  const x1 = boxes[4 * i], y1 = boxes[4 * i + 1], x2 = boxes[4 * i + 2], y2 = boxes[4 * i + 3];
  if (![x1, y1, x2, y2].every(Number.isFinite) || x2 < x1 || y2 < y1) {
    throw invalidInput('finite [x1, y1, x2, y2] with x1 <= x2 and y1 <= y2', `${name}[${i}]`, `[${x1}, ${y1}, ${x2}, ${y2}]`);
  }
  // w and h in float32, as `xyxyToXywh` computes them.
  return [shortestFloat32(x1), shortestFloat32(y1), shortestFloat32(Math.fround(x2 - x1)), shortestFloat32(Math.fround(y2 - y1))];
}

function checkCount(name: string, values: ArrayLike<number>, count: number): void {
  if (values.length !== count) throw invalidInput(`${count} values (one per box)`, name, `length ${values.length}`);
}

/**
 * Detections of one image (XYXY boxes N×4, N scores, N category ids) as COCO results entries.
 */
export function toCocoResults(imageId: number, boxes: Float32Array, scores: ArrayLike<number>, categoryIds: ArrayLike<number>): CocoResult[] {
  if (!(boxes instanceof Float32Array) || boxes.length % 4 !== 0) throw invalidInput('a Float32Array of N×4 [x1, y1, x2, y2] boxes', 'boxes', describe(boxes));
  const n = boxes.length / 4;
  checkCount('scores', scores, n);
  checkCount('categoryIds', categoryIds, n);
  const out: CocoResult[] = [];
  for (let i = 0; i < n; i++) {
    out.push({ image_id: imageId, category_id: categoryIds[i], bbox: xyxyRowToBbox(boxes, i, 'boxes'), score: shortestFloat32(scores[i]) });
  }
  return parseCocoResults(out, 'detections');
}

/**
 * Boxes of one image (XYXY N×4, N category ids) as COCO annotations with ids `firstId`, `firstId + 1`…,
 * `area` = w*h and `iscrowd` 0: what `mine` writes as pseudo-labels.
 */
export function toCocoAnnotations(imageId: number, boxes: Float32Array, categoryIds: ArrayLike<number>, firstId: number): CocoAnnotation[] {
  if (!(boxes instanceof Float32Array) || boxes.length % 4 !== 0) throw invalidInput('a Float32Array of N×4 [x1, y1, x2, y2] boxes', 'boxes', describe(boxes));
  const n = boxes.length / 4;
  checkCount('categoryIds', categoryIds, n);
  const out: CocoAnnotation[] = [];
  for (let i = 0; i < n; i++) {
    const bbox = xyxyRowToBbox(boxes, i, 'boxes');
    out.push({ id: firstId + i, image_id: imageId, category_id: categoryIds[i], bbox, area: shortestFloat32(bbox[2] * bbox[3]), iscrowd: 0 });
  }
  return out;
}

/** COCO `[x, y, w, h]` boxes as the internal XYXY `Float32Array` N×4. */
export function cocoBboxesToXyxy(bboxes: CocoBbox[]): Float32Array {
  const out = new Float32Array(4 * bboxes.length);
  bboxes.forEach(([x, y, w, h], i) => out.set([x, y, x + w, y + h], 4 * i));
  return out;
}
