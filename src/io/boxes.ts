/**
 * Given boxes (`--boxes`, RegionCLIP's GT-box mode): a JSON list of [x1, y1, x2, y2] for every
 * image, or an object whose keys name images. Checked whole before any image is read: every box is
 * 4 finite numbers with x1 <= x2 and y1 <= y2 (else an error naming the key and the box), and every
 * image of the run has an entry.
 *
 * A key names an image by its path (io/inputs' identity rule), in one of two ways, the first that
 * applies:
 *   1. the same file: the key written from the current folder, or absolute;
 *   2. the end of its path, whole components: relative to a folder above it (an input folder,
 *      `a/1.jpg` for `photos/a/1.jpg`) or its file name; the longest such key wins, and a key
 *      that ends the paths of two images of the run is ambiguous (an error).
 * Boxes outside the image are the pipeline's business (pipelines/detect clips them and drops the
 * empty ones, with a warning).
 */
import { basename, resolve, sep } from 'node:path';
import { InvalidInputError, expectedMessage } from '../errors.js';
import { readJsonFile } from './files.js';
import { fewNames } from './inputs.js';

/** The boxes of a run's images. */
export interface GivenBoxes {
  /** An image's N×4 boxes (the image must be one the boxes were read for). */
  boxesFor(image: string): Float32Array;
  /** Keys that name no image of the run, in file order (for a warning). */
  unmatched: string[];
}

/** One entry's boxes, each checked, as an N×4 Float32Array. */
function toBoxes(list: unknown, path: string, where: string): Float32Array {
  if (!Array.isArray(list)) throw new InvalidInputError(expectedMessage('a list of [x1, y1, x2, y2] boxes', `${path} ${where}`, JSON.stringify(list).slice(0, 80)));
  const out = new Float32Array(4 * list.length);
  list.forEach((box: unknown, i) => {
    const bad = (what: string) => new InvalidInputError(expectedMessage(what, `${path} ${where} box ${i}`, (JSON.stringify(box) ?? String(box)).slice(0, 80)));
    if (!Array.isArray(box) || box.length !== 4 || !box.every((v) => typeof v === 'number' && Number.isFinite(v))) throw bad('[x1, y1, x2, y2] (4 finite numbers)');
    const [x1, y1, x2, y2] = box as number[];
    if (x2 < x1 || y2 < y1) throw bad('x1 <= x2 and y1 <= y2');
    out.set(box as number[], 4 * i);
  });
  return out;
}

/** A key's path components (either separator; empty and "." parts dropped). */
const partsOf = (path: string) => path.split(/[\\/]+/).filter((part) => part !== '' && part !== '.');

/** Whether `key`'s components are the last components of the absolute path `full`. */
function endsPath(full: string, key: string): boolean {
  const tail = partsOf(key).join(sep);
  return tail.length > 0 && (full === tail || full.endsWith(`${sep}${tail}`));
}

/**
 * Reads a boxes file for the run's `images` (paths from io/inputs) and matches its keys to them.
 * @throws InvalidInputError for a malformed entry (naming the key and box), an ambiguous key, or
 *   images without an entry (listing them); IoError when the file cannot be read.
 */
export function readBoxes(path: string, images: readonly string[]): GivenBoxes {
  const value = readJsonFile(path, 'boxes');
  if (Array.isArray(value)) {
    const boxes = toBoxes(value, path, '(every image)');
    return { boxesFor: () => boxes, unmatched: [] };
  }
  if (value === null || typeof value !== 'object') throw new InvalidInputError(expectedMessage('an array or an object of box lists', path, typeof value));
  const entries = Object.entries(value as Record<string, unknown>).map(([key, list]) => ({ key, boxes: toBoxes(list, path, JSON.stringify(key)) }));
  // Indexed so a run of many images against many keys stays linear: by resolved path, and by last component.
  const byPath = new Map(entries.map((e) => [resolve(e.key), e]));
  const byName = groupBy(entries, (e) => partsOf(e.key).at(-1) ?? '');
  const imagesByName = groupBy(images.map((image) => resolve(image)), basename);
  const chosen = new Map<string, (typeof entries)[number]>();
  const missing: string[] = [];
  for (const image of images) {
    const full = resolve(image);
    const same = byPath.get(full);
    const byEnd = (byName.get(basename(full)) ?? []).filter((e) => endsPath(full, e.key)).sort((a, b) => b.key.length - a.key.length)[0];
    const entry = same ?? byEnd;
    if (entry === undefined) {
      missing.push(image);
      continue;
    }
    chosen.set(image, entry);
    const named = same === undefined ? (imagesByName.get(basename(full)) ?? []).filter((other) => endsPath(other, entry.key)) : [];
    if (named.length > 1) {
      const shown = images.filter((other) => named.includes(resolve(other)));
      throw new InvalidInputError(expectedMessage('a key that names one image', `${path} ${JSON.stringify(entry.key)}`, `a key that names ${named.length} images: ${fewNames(shown)} (write more of the path)`));
    }
  }
  if (missing.length > 0) throw new InvalidInputError(expectedMessage('boxes for every image', path, `no entry for ${missing.length} image(s): ${fewNames(missing)}`));
  const used = new Set(chosen.values());
  return {
    boxesFor: (image) => {
      const entry = chosen.get(image);
      if (entry === undefined) throw new InvalidInputError(expectedMessage(`boxes for ${image}`, path, 'an image the boxes were not read for'));
      return entry.boxes;
    },
    unmatched: entries.filter((e) => !used.has(e)).map((e) => e.key),
  };
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [item]);
    else group.push(item);
  }
  return groups;
}
