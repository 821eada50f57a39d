import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/errors.js';
import { readBoxes } from '../../src/io/boxes.js';

const scratch = mkdtempSync(join(tmpdir(), 'regionclip-boxes-'));
const home = process.cwd();
afterEach(() => process.chdir(home));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let n = 0;
/** Writes `value` as a boxes file in the scratch folder and returns its name (relative to the scratch folder). */
function boxesFile(value: unknown): string {
  const name = `boxes-${n++}.json`;
  writeFileSync(join(scratch, name), JSON.stringify(value));
  return name;
}
const errorOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
};

describe('readBoxes: malformed entries fail up front, naming the box', () => {
  const cases: [string, unknown, string][] = [
    ['three numbers', { 'a.png': [[0, 0, 4, 4], [1, 2, 3]] }, 'Expected [x1, y1, x2, y2] (4 finite numbers) for BOXES "a.png" box 1 but received [1,2,3].'],
    ['a string coordinate', { 'a.png': [[0, 0, '4', 4]] }, 'Expected [x1, y1, x2, y2] (4 finite numbers) for BOXES "a.png" box 0 but received [0,0,"4",4].'],
    ['null (NaN written by a JSON serializer)', [[0, null, 4, 4]], 'Expected [x1, y1, x2, y2] (4 finite numbers) for BOXES (every image) box 0 but received [0,null,4,4].'],
    ['an inverted box', { 'a.png': [[5, 5, 1, 8]] }, 'Expected x1 <= x2 and y1 <= y2 for BOXES "a.png" box 0 but received [5,5,1,8].'],
    ['not a list', { 'a.png': { x: 1 } }, 'Expected a list of [x1, y1, x2, y2] boxes for BOXES "a.png" but received {"x":1}.'],
  ];
  for (const [name, value, message] of cases) {
    it(name, () => {
      process.chdir(scratch);
      const file = boxesFile(value);
      const error = errorOf(() => readBoxes(file, ['a.png']));
      expect(error).toBeInstanceOf(InvalidInputError);
      expect(error.message).toBe(message.replace('BOXES', file));
    });
  }
});

describe('readBoxes: keys follow the image identity (io/inputs)', () => {
  const images = ['photos/a/1.png', 'photos/b/1.png', 'photos/c.png'];

  it('matches a key written from the current folder, absolute, relative to an input folder, or a unique file name', () => {
    process.chdir(scratch);
    const file = boxesFile({
      'photos/a/1.png': [[1, 1, 2, 2]],
      [join(scratch, 'photos/b/1.png')]: [[3, 3, 4, 4]],
      'c.png': [[5, 5, 6, 6]],
    });
    const given = readBoxes(file, images);
    expect(Array.from(given.boxesFor('photos/a/1.png'))).toEqual([1, 1, 2, 2]);
    expect(Array.from(given.boxesFor('photos/b/1.png'))).toEqual([3, 3, 4, 4]);
    expect(Array.from(given.boxesFor('photos/c.png'))).toEqual([5, 5, 6, 6]);
    expect(given.unmatched).toEqual([]);
    // Keys relative to the folder given as input ("photos"): a/1.png, b/1.png.
    const relative = readBoxes(boxesFile({ 'a/1.png': [[1, 1, 2, 2]], 'b/1.png': [[3, 3, 4, 4]], 'photos/c.png': [[5, 5, 6, 6]], 'zzz.png': [] }), images);
    expect(Array.from(relative.boxesFor('photos/b/1.png'))).toEqual([3, 3, 4, 4]);
    expect(relative.unmatched).toEqual(['zzz.png']);
  });

  it('the most specific key wins; a file name shared by two images is ambiguous', () => {
    process.chdir(scratch);
    const specific = readBoxes(boxesFile({ '1.png': [[9, 9, 9, 9]], 'photos/a/1.png': [[1, 1, 2, 2]], 'b/1.png': [[3, 3, 4, 4]], 'c.png': [] }), images);
    expect(Array.from(specific.boxesFor('photos/a/1.png'))).toEqual([1, 1, 2, 2]);
    expect(Array.from(specific.boxesFor('photos/b/1.png'))).toEqual([3, 3, 4, 4]);
    expect(specific.unmatched).toEqual(['1.png']);
    const file = boxesFile({ '1.png': [[9, 9, 9, 9]], 'c.png': [] });
    const error = errorOf(() => readBoxes(file, images));
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.message).toBe(`Expected a key that names one image for ${file} "1.png" but received a key that names 2 images: photos/a/1.png, photos/b/1.png (write more of the path).`);
  });

  it('every image needs an entry, checked before any image is read', () => {
    process.chdir(scratch);
    const file = boxesFile({ 'c.png': [[0, 0, 1, 1]] });
    const error = errorOf(() => readBoxes(file, images));
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.message).toBe(`Expected boxes for every image for ${file} but received no entry for 2 image(s): photos/a/1.png, photos/b/1.png.`);
  });

  it('a list at the root gives every image the same boxes', () => {
    const given = readBoxes(join(scratch, boxesFile([[0, 0, 1, 1]])), images);
    expect(Array.from(given.boxesFor('photos/c.png'))).toEqual([0, 0, 1, 1]);
    expect(given.unmatched).toEqual([]);
  });
});
