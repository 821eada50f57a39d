/**
 * COCO results from detection results (`regionclip detect --coco`): `[{ image_id, category_id,
 * bbox: [x, y, w, h], score }]` plus a `<name>.categories.json` with the `images` and `categories`
 * id maps used. Ids are the vocabulary's order (categories) and the input order (images), or, with
 * a ground-truth dataset, the ids of its categories (matched by name: eval/category-names.ts) and
 * images (matched by file name), so the results go straight into `regionclip eval`.
 */
import { basename, dirname, relative, resolve } from 'node:path';
import { InvalidInputError, expectedMessage } from '../errors.js';
import { categoryMatcher } from '../eval/category-names.js';
import { readCocoDataset, toCocoResults, writeCocoResults, type CocoCategory, type CocoDataset, type CocoResult } from './coco.js';
import { writeTextFile } from './files.js';

/** A detection result as exported (a failed image, with `error`, is skipped but keeps its place in the ids). */
export type ExportableResult =
  | { image: { path: string; width: number; height: number }; detections: readonly { label: string; score: number; box: readonly number[] }[] }
  | { image: { path: string }; error: unknown };

export interface CocoExport {
  results: CocoResult[];
  categoriesFile: { images: { id: number; file_name: string; width: number; height: number }[]; categories: CocoCategory[] };
}

/**
 * The category id of each label: the vocabulary's order, or the ground truth's category of that
 * name, matched by the one category-name rule (eval/category-names.ts); each label resolved once.
 */
function categoryIds(phrases: readonly string[], gt: CocoDataset | undefined, gtPath: string | undefined) {
  const categories = gt?.categories ?? phrases.map((name, i) => ({ id: i + 1, name }));
  const match = categoryMatcher(categories, gtPath ?? 'the vocabulary');
  const known = new Map<string, number>();
  const idOf = (label: string): number => {
    let id = known.get(label);
    if (id === undefined) known.set(label, (id = match(label, 'the detection label')));
    return id;
  };
  return { categories, idOf };
}

/** The ground truth's id for an image: its file_name may be the bare name, the path as given, or a path relative to the GT file's folder. */
function gtImageId(gt: CocoDataset, gtPath: string, path: string): number {
  const names = new Set([basename(path), path, relative(dirname(resolve(gtPath)), resolve(path))]);
  const found = gt.images.find((im) => im.file_name !== undefined && names.has(im.file_name));
  if (found === undefined) throw new InvalidInputError(expectedMessage(`an image with file_name ${basename(path)}`, gtPath, 'none'));
  return found.id;
}

/** COCO results and id maps for `results`, with ids from the ground-truth file `gt` when given. */
export function cocoResultsFor(results: readonly ExportableResult[], options: { phrases: readonly string[]; gt?: string }): CocoExport {
  const gt = options.gt === undefined ? undefined : readCocoDataset(options.gt);
  const { categories, idOf } = categoryIds(options.phrases, gt, options.gt);
  const images: CocoExport['categoriesFile']['images'] = [];
  const coco: CocoResult[] = [];
  results.forEach((r, index) => {
    if ('error' in r) return;
    const id = gt === undefined ? index + 1 : gtImageId(gt, options.gt!, r.image.path);
    images.push({ id, file_name: basename(r.image.path), width: r.image.width, height: r.image.height });
    const boxes = Float32Array.from(r.detections.flatMap((d) => d.box));
    coco.push(...toCocoResults(id, boxes, r.detections.map((d) => d.score), r.detections.map((d) => idOf(d.label))));
  });
  return { results: coco, categoriesFile: { images, categories } };
}

/** Writes the results to `path` and the id maps to `<path without .json>.categories.json`. */
export function writeCocoExport(path: string, exported: CocoExport): void {
  writeCocoResults(path, exported.results);
  writeTextFile(path.replace(/(\.json)?$/, '.categories.json'), `${JSON.stringify(exported.categoriesFile, null, 2)}\n`);
}
