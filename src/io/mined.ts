/**
 * The mined pseudo-label format (`regionclip mine`'s JSONL records, one per input line) and its
 * exports, built from the records once the run ends: COCO (a dataset: categories = concepts, ids by
 * sorted name, annotations with `score`), ODVG (Open-GroundingDino's grounding JSONL), YOLO (a txt per
 * image + data.yaml) and Label Studio (tasks with predictions).
 *
 * Every export lists an image once: the records of one image (several caption lines with the same
 * id, or, without an id, the same image path) are merged, their labels together (an identical box and
 * concept kept once, at its best score). Records carry boxes as XYXY in original-image pixels, the one
 * box format inside; each export's own box convention (COCO [x, y, w, h]; YOLO normalized centre and
 * size; Label Studio percent of the image) is made here and nowhere else.
 */
import { createReadStream, lstatSync, mkdirSync, readdirSync, symlinkSync, unlinkSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { InvalidInputError, IoError, expectedMessage } from '../errors.js';
import type { LabelDirection } from '../mining/match.js';
import { readTextFile, writeTextFile } from './files.js';
import { toCocoAnnotations, writeCocoDataset, type CocoDataset } from './coco.js';

export interface MinedLabel {
  /** XYXY in original-image pixels. */
  box: [number, number, number, number];
  phrase: string;
  concept: string;
  score: number;
  direction: LabelDirection;
}

export interface MinedRecord {
  /** The input's `id` (or `image_id`), number or string, when it has one. */
  id?: string | number;
  /** 1-based input line (for a COCO-captions document: the image's position in `images`). */
  line: number;
  image: string;
  width: number;
  height: number;
  captions: string[];
  phrases: string[];
  labels: MinedLabel[];
}

/** The export formats besides the records themselves (`jsonl`). */
export const MINE_FORMATS = ['jsonl', 'coco', 'odvg', 'yolo', 'labelstudio'] as const;
export type MineFormat = (typeof MINE_FORMATS)[number];

/** One image of the merged records. */
export interface MinedImage {
  id?: string | number;
  image: string;
  width: number;
  height: number;
  captions: string[];
  labels: MinedLabel[];
}

/** The records of a mined JSONL merged per image (key: id, else the image path), in order of first appearance. */
export async function readMinedImages(path: string): Promise<MinedImage[]> {
  const byKey = new Map<string, MinedImage>();
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  for await (const text of lines) {
    n++;
    if (text.trim().length === 0) continue;
    let record: MinedRecord;
    try {
      record = JSON.parse(text) as MinedRecord;
    } catch (error) {
      throw new InvalidInputError(expectedMessage('a mined record (JSON)', `line ${n} of ${path}`, 'invalid JSON'), { cause: error });
    }
    const key = record.id !== undefined ? `id:${typeof record.id}:${record.id}` : `image:${record.image}`;
    const image = byKey.get(key);
    if (image === undefined) {
      byKey.set(key, { ...(record.id !== undefined ? { id: record.id } : {}), image: record.image, width: record.width, height: record.height, captions: [...record.captions], labels: [...record.labels] });
      continue;
    }
    for (const c of record.captions) if (!image.captions.includes(c)) image.captions.push(c);
    for (const label of record.labels) {
      const same = image.labels.find((l) => l.concept === label.concept && l.box.every((v, i) => v === label.box[i]));
      if (same === undefined) image.labels.push(label);
      else if (label.score > same.score) Object.assign(same, label);
    }
  }
  return [...byKey.values()];
}

/** Categories of the merged images: every concept, sorted by name, ids from 1 (YOLO classes from 0 in the same order). */
function conceptNames(images: MinedImage[]): string[] {
  return [...new Set(images.flatMap((i) => i.labels.map((l) => l.concept)))].sort();
}

/**
 * The COCO dataset of merged images. Integer ids are kept; an image whose id is a string (or that has
 * none) is numbered after the largest integer id, its string id kept as `source_id`.
 */
export function minedImagesToCoco(images: MinedImage[]): CocoDataset {
  const names = conceptNames(images);
  const categoryIds = new Map(names.map((n, i) => [n, i + 1]));
  const integer = (id: unknown): id is number => typeof id === 'number' && Number.isSafeInteger(id);
  let next = images.reduce((max, i) => (integer(i.id) && i.id > max ? i.id : max), 0) + 1;
  const cocoImages: CocoDataset['images'] = [];
  const annotations: CocoDataset['annotations'] = [];
  for (const image of images) {
    const id = integer(image.id) ? image.id : next++;
    cocoImages.push({ id, file_name: image.image, width: image.width, height: image.height, ...(image.id !== undefined && !integer(image.id) ? { source_id: image.id } : {}) });
    const boxes = Float32Array.from(image.labels.flatMap((l) => l.box));
    const rows = toCocoAnnotations(id, boxes, image.labels.map((l) => categoryIds.get(l.concept)!), annotations.length + 1);
    rows.forEach((row, k) => annotations.push({ ...row, score: image.labels[k].score }));
  }
  return { images: cocoImages, categories: names.map((name) => ({ id: categoryIds.get(name)!, name })), annotations };
}

/** A COCO dataset from a mined JSONL (`--format coco`, `--coco`). */
export async function minedToCoco(path: string): Promise<CocoDataset> {
  return minedImagesToCoco(await readMinedImages(path));
}

/**
 * ODVG lines (Open-GroundingDino's grounding data, `datasets/odvg.py` "VG" mode): per image with labels,
 * `{"filename", "height", "width", "grounding": {"caption", "regions": [{"bbox": [x1, y1, x2, y2], "phrase"}]}}`.
 * Images without labels are left out (the loader cannot take an empty region list); the caption is the
 * image's captions joined by spaces.
 */
export function minedImagesToOdvg(images: MinedImage[]): string {
  return images.filter((i) => i.labels.length > 0).map((i) => `${JSON.stringify({
    filename: i.image, height: i.height, width: i.width,
    grounding: { caption: i.captions.join(' '), regions: i.labels.map((l) => ({ bbox: l.box, phrase: l.phrase })) },
  })}\n`).join('');
}

/** A YOLO row: class and the box's centre and size as fractions of the image, 6 decimals. */
function yoloRow(classId: number, [x1, y1, x2, y2]: MinedLabel['box'], width: number, height: number): string {
  const f = (v: number) => String(Math.round(Math.min(1, Math.max(0, v)) * 1e6) / 1e6);
  return `${classId} ${f((x1 + x2) / 2 / width)} ${f((y1 + y2) / 2 / height)} ${f((x2 - x1) / width)} ${f((y2 - y1) / height)}`;
}

/**
 * A YOLO dataset in folder `dir` (ultralytics' layout): `images/<name>` links to each mined image,
 * `labels/<name>.txt` its rows (`class cx cy w h`, normalized; an image without labels has an empty
 * file, a background image to YOLO), and `data.yaml` (`path`, `train`/`val`: images, `nc`, `names`).
 * `<name>` is the image path relative to `root` with `/` written `__`, so ultralytics' images/ →
 * labels/ rule finds each label file; records of several ids on one image file share its label file.
 * Label files and links are replaced, and those an earlier export left that this one did not write are
 * removed (label `.txt` files and links only); nothing else in `dir` is touched (a file in the way of a
 * link, not a link itself, is an IoError).
 */
export function writeMinedYolo(dir: string, images: MinedImage[], root: string): void {
  const names = conceptNames(images);
  const classIds = new Map(names.map((n, i) => [n, i]));
  const out = resolve(dir);
  for (const sub of ['images', 'labels']) mkdirSync(join(out, sub), { recursive: true });
  // One link and one label file per image path: images of several ids that share a file pool their rows.
  const byName = new Map<string, { image: string; rows: string[] }>();
  for (const image of images) {
    const name = image.image.split(/[\\/]+/).filter((p) => p.length > 0 && p !== '.').join('__');
    const entry = byName.get(name) ?? { image: image.image, rows: [] };
    entry.rows.push(...image.labels.map((l) => `${yoloRow(classIds.get(l.concept)!, l.box, image.width, image.height)}\n`));
    byName.set(name, entry);
  }
  const labelFiles = new Set<string>();
  for (const [name, { image, rows }] of byName) {
    const link = join(out, 'images', name);
    try {
      if (lstatSync(link, { throwIfNoEntry: false })?.isSymbolicLink()) unlinkSync(link);
      symlinkSync(relative(dirname(link), resolve(root, image)), link);
    } catch (error) {
      throw new IoError(expectedMessage('a new link (or a link regionclip made) to the image', link, (error as NodeJS.ErrnoException).code ?? String(error)), { cause: error });
    }
    const labelFile = `${basename(name, extname(name))}.txt`;
    labelFiles.add(labelFile);
    writeTextFile(join(out, 'labels', labelFile), rows.join(''));
  }
  // An earlier export into this folder (--overwrite) leaves no stale entry: its label files and image links
  // (links only: a file the user put there is never removed) that this run did not write go.
  for (const entry of readdirSync(join(out, 'labels'), { withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.txt') && !labelFiles.has(entry.name)) unlinkSync(join(out, 'labels', entry.name));
  }
  for (const entry of readdirSync(join(out, 'images'), { withFileTypes: true })) {
    if (entry.isSymbolicLink() && !byName.has(entry.name)) unlinkSync(join(out, 'images', entry.name));
  }
  writeTextFile(join(out, 'data.yaml'), [
    '# regionclip mine: YOLO labels (class cx cy w h, normalized); images/ links to the mined images',
    `path: ${JSON.stringify(out)}`, 'train: images', 'val: images', `nc: ${names.length}`, `names: ${JSON.stringify(names)}`, '',
  ].join('\n'));
}

/**
 * Label Studio tasks with one prediction each (`from_name` "label", `to_name` "image": a labelling
 * config `<Image name="image" value="$image"/><RectangleLabels name="label" toName="image">` with the
 * concepts as labels). `data.image` is the image path as mined (relative to the input's root): serve it
 * as Label Studio expects (local storage, a URL prefix). Boxes are percent of the original size.
 */
export function minedImagesToLabelStudio(images: MinedImage[], modelVersion: string): unknown[] {
  return images.map((image, i) => {
    const result = image.labels.map((l, k) => {
      const [x1, y1, x2, y2] = l.box;
      return {
        id: `r${i}_${k}`, type: 'rectanglelabels', from_name: 'label', to_name: 'image', original_width: image.width, original_height: image.height, image_rotation: 0,
        value: { x: (100 * x1) / image.width, y: (100 * y1) / image.height, width: (100 * (x2 - x1)) / image.width, height: (100 * (y2 - y1)) / image.height, rotation: 0, rectanglelabels: [l.concept] },
        score: l.score,
      };
    });
    const score = result.length === 0 ? 0 : result.reduce((s, r) => s + r.score, 0) / result.length;
    return { data: { image: image.image, ...(image.id !== undefined ? { id: image.id } : {}), caption: image.captions.join(' ') }, predictions: [{ model_version: modelVersion, score, result }] };
  });
}

/** Writes one export of a mined JSONL. `root` resolves image paths (YOLO's links); `modelVersion` names the model (Label Studio). */
export async function writeMinedExport(format: Exclude<MineFormat, 'jsonl'>, path: string, minedJsonl: string, context: { root: string; modelVersion: string }): Promise<void> {
  const images = await readMinedImages(minedJsonl);
  if (format === 'coco') writeCocoDataset(path, minedImagesToCoco(images));
  else if (format === 'odvg') writeTextFile(path, minedImagesToOdvg(images));
  else if (format === 'yolo') writeMinedYolo(path, images, context.root);
  else writeTextFile(path, `${JSON.stringify(minedImagesToLabelStudio(images, context.modelVersion), null, 1)}\n`);
}

/** A concept pool (`--concepts`): one per line, trimmed, blank lines and repeats dropped. */
export function readConcepts(path: string, what = 'concepts'): string[] {
  const text = readTextFile(path, what);
  const concepts = [...new Set(text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0))];
  if (concepts.length === 0) throw new InvalidInputError(expectedMessage('at least one concept (one per line)', path, 'an empty file'));
  return concepts;
}

/** Where the records go when `--out` holds another format: beside it, its extension replaced ("dataset.json" → "dataset.records.jsonl"). */
export function recordsPathFor(out: string): string {
  const ext = extname(out);
  return `${ext.length > 0 ? out.slice(0, -ext.length) : out}.records.jsonl`;
}
