/**
 * Given boxes (`--boxes`, RegionCLIP's GT-box mode): a JSON list of [x1, y1, x2, y2] for every
 * image, or an object keyed by image path (as given or absolute) or file name.
 */
import { basename, resolve } from 'node:path';
import { InvalidInputError, expectedMessage } from '../errors.js';
import { readJsonFile } from './files.js';

/** Reads a boxes file; the returned lookup gives an image's N×4 boxes, or throws when the file has no entry for it. */
export function readBoxes(path: string): (image: string) => Float32Array {
  const value = readJsonFile(path, 'boxes');
  const toBoxes = (list: unknown, where: string): Float32Array => {
    if (!Array.isArray(list) || !list.every((b) => Array.isArray(b) && b.length === 4 && b.every((v) => typeof v === 'number' && Number.isFinite(v)))) {
      throw new InvalidInputError(expectedMessage('a list of [x1, y1, x2, y2] boxes', `${path}: ${where}`, JSON.stringify(list).slice(0, 80)));
    }
    return Float32Array.from((list as number[][]).flat());
  };
  if (Array.isArray(value)) {
    const boxes = toBoxes(value, '(root)');
    return () => boxes;
  }
  if (value === null || typeof value !== 'object') throw new InvalidInputError(expectedMessage('an array or an object of box lists', path, typeof value));
  const map = new Map(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, toBoxes(v, k)]));
  return (image) => {
    const boxes = map.get(image) ?? map.get(resolve(image)) ?? map.get(basename(image));
    if (boxes === undefined) throw new InvalidInputError(expectedMessage(`boxes for ${image}`, path, 'no entry for this image'));
    return boxes;
  };
}
