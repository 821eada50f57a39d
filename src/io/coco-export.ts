/**
 * COCO results from detection results (`regionclip detect --coco`): `[{ image_id, category_id,
 * bbox: [x, y, w, h], score }]` plus a `<name>.categories.json` with the `images` and `categories`
 * id maps used. Ids are the vocabulary's order (categories) and the input order (images), or, with
 * a ground-truth dataset, the ids of its categories (matched by name: eval/category-names.ts) and
 * images (matched by file name), so the results go straight into `regionclip eval`. The CLI checks
 * the ground truth against the run's images and labels before any image (`checkGroundTruth`).
 */
import { basename, dirname, relative, resolve } from 'node:path';
import { InvalidInputError, expectedMessage } from '../errors.js';
import { categoryMatcher, categoryNameKey } from '../eval/category-names.js';
import { readCocoDataset, toCocoResults, writeCocoResults, type CocoCategory, type CocoDataset, type CocoResult } from './coco.js';
import { writeTextFile } from './files.js';
import { fewNames } from './inputs.js';

/** A detection result as exported (a failed image, with `error`, is skipped but keeps its place in the ids). */
export type ExportableResult =
  | { image: { path: string; width: number; height: number }; detections: readonly { label: string; score: number; box: readonly number[] }[] }
  | { image: { path: string }; error: unknown };

export interface CocoExport {
  results: CocoResult[];
  categoriesFile: { images: { id: number; file_name: string; width: number; height: number }[]; categories: CocoCategory[] };
  /** Images that could not be exported (not in the ground truth), each with its error; the others are in `results`. */
  failures: { path: string; error: InvalidInputError }[];
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

/** The ground truth's id for an image, or undefined: its file_name may be the bare name, the path as given, or a path relative to the GT file's folder. */
function gtImageId(gt: CocoDataset, gtPath: string, path: string): number | undefined {
  const names = new Set([basename(path), path, relative(dirname(resolve(gtPath)), resolve(path))]);
  return gt.images.find((im) => im.file_name !== undefined && names.has(im.file_name))?.id;
}

/**
 * Checks a ground-truth file for a run before any image is read (`--coco-gt`): every image must have
 * an entry (matched as the export matches it) and every label exactly one category (the one name
 * rule of eval/category-names.ts).
 * @throws InvalidInputError listing the images, then the labels, it lacks.
 */
export function checkGroundTruth(gtPath: string, images: readonly string[], phrases: readonly string[]): void {
  const gt = readCocoDataset(gtPath);
  const noEntry = images.filter((path) => gtImageId(gt, gtPath, path) === undefined);
  if (noEntry.length > 0) {
    throw new InvalidInputError(expectedMessage('an image entry (file_name) for every input image', gtPath, `none for ${noEntry.length} image(s): ${fewNames(noEntry)}`));
  }
  const names = new Set(gt.categories.map((c) => categoryNameKey(c.name)));
  const noCategory = phrases.filter((phrase) => !names.has(categoryNameKey(phrase)));
  if (noCategory.length > 0) {
    throw new InvalidInputError(expectedMessage('a category for every label', gtPath, `none named ${noCategory.map((p) => JSON.stringify(p)).join(', ')} (categories: ${gt.categories.map((c) => c.name).join(', ')})`));
  }
  // An ambiguous label (two categories under the one name rule) is refused up front too.
  const match = categoryMatcher(gt.categories, gtPath);
  for (const phrase of phrases) match(phrase, 'the detection label');
}

/**
 * COCO results and id maps for `results`, with ids from the ground-truth file `gt` when given. An
 * image the ground truth lacks is left out and listed in `failures` (the others are exported); a
 * label without a category is an error for the whole export.
 */
export function cocoResultsFor(results: readonly ExportableResult[], options: { phrases: readonly string[]; gt?: string }): CocoExport {
  const gt = options.gt === undefined ? undefined : readCocoDataset(options.gt);
  const { categories, idOf } = categoryIds(options.phrases, gt, options.gt);
  const images: CocoExport['categoriesFile']['images'] = [];
  const coco: CocoResult[] = [];
  const failures: CocoExport['failures'] = [];
  results.forEach((r, index) => {
    if ('error' in r) return;
    const id = gt === undefined ? index + 1 : gtImageId(gt, options.gt!, r.image.path);
    if (id === undefined) {
      failures.push({ path: r.image.path, error: new InvalidInputError(expectedMessage(`an image with file_name ${basename(r.image.path)}`, options.gt!, 'none')) });
      return;
    }
    images.push({ id, file_name: basename(r.image.path), width: r.image.width, height: r.image.height });
    const boxes = Float32Array.from(r.detections.flatMap((d) => d.box));
    coco.push(...toCocoResults(id, boxes, r.detections.map((d) => d.score), r.detections.map((d) => idOf(d.label))));
  });
  return { results: coco, categoriesFile: { images, categories }, failures };
}

/** Where the id maps of COCO results written to `path` go: `<path without .json>.categories.json`. */
export function cocoCategoriesPath(path: string): string {
  return path.replace(/(\.json)?$/, '.categories.json');
}

/** Writes the results to `path` and the id maps to `cocoCategoriesPath(path)`. */
export function writeCocoExport(path: string, exported: Pick<CocoExport, 'results' | 'categoriesFile'>): void {
  writeCocoResults(path, exported.results);
  writeTextFile(cocoCategoriesPath(path), `${JSON.stringify(exported.categoriesFile, null, 2)}\n`);
}
