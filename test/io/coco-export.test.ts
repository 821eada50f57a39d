import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/errors.js';
import { checkGroundTruth, cocoResultsFor, writeCocoExport, type ExportableResult } from '../../src/io/coco-export.js';

const scratch = mkdtempSync(join(tmpdir(), 'regionclip-coco-export-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const results: ExportableResult[] = [
  { image: { path: 'photos/a.jpg', width: 40, height: 30 }, detections: [{ label: 'Dog', score: 0.9, box: [1, 2, 11, 22] }] },
  { image: { path: 'photos/broken.jpg' }, error: new Error('x') },
  { image: { path: 'photos/c.jpg', width: 8, height: 8 }, detections: [{ label: 'cat', score: 0.5, box: [0, 0, 4, 2] }] },
];

describe('cocoResultsFor', () => {
  it('numbers categories by the vocabulary and images by input order (a failed image keeps its place)', () => {
    const exported = cocoResultsFor(results, { phrases: ['cat', 'dog'] });
    expect(exported.results).toEqual([
      { image_id: 1, category_id: 2, bbox: [1, 2, 10, 20], score: 0.9 },
      { image_id: 3, category_id: 1, bbox: [0, 0, 4, 2], score: 0.5 },
    ]);
    expect(exported.categoriesFile).toEqual({
      images: [{ id: 1, file_name: 'a.jpg', width: 40, height: 30 }, { id: 3, file_name: 'c.jpg', width: 8, height: 8 }],
      categories: [{ id: 1, name: 'cat' }, { id: 2, name: 'dog' }],
    });
    const path = join(scratch, 'results.json');
    writeCocoExport(path, exported);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toHaveLength(2);
    expect(JSON.parse(readFileSync(join(scratch, 'results.categories.json'), 'utf8'))).toEqual(exported.categoriesFile);
  });

  it('takes ids from a ground-truth file, matching file names and category names', () => {
    const gt = join(scratch, 'gt.json');
    writeFileSync(gt, JSON.stringify({
      images: [{ id: 7, file_name: 'c.jpg', width: 8, height: 8 }, { id: 9, file_name: 'a.jpg', width: 40, height: 30 }],
      categories: [{ id: 17, name: 'cat' }, { id: 18, name: 'dog' }],
      annotations: [],
    }));
    const exported = cocoResultsFor(results, { phrases: ['cat', 'dog'], gt });
    expect(exported.results.map((r) => [r.image_id, r.category_id])).toEqual([[9, 18], [7, 17]]);
    expect(() => cocoResultsFor(results, { phrases: ['cat'], gt: join(scratch, 'gt.json') })).not.toThrow();
    expect(() => cocoResultsFor(results, { phrases: ['cat'] })).toThrow('Expected the name of a category in the vocabulary for the detection label but received "Dog".');
  });

  it('matches labels to the ground truth\'s names by the one rule, and an ambiguous label is an error naming both ids', () => {
    const gt = join(scratch, 'gt-names.json');
    const images = [{ id: 1, file_name: 'a.jpg', width: 40, height: 30 }, { id: 2, file_name: 'c.jpg', width: 8, height: 8 }];
    // "Dog" (label) ↔ "  dog" and "Cat" ↔ "CAT" (NFD-free); café in NFD ↔ NFC
    writeFileSync(gt, JSON.stringify({ images, categories: [{ id: 21, name: '  dog' }, { id: 22, name: 'CAT' }], annotations: [] }));
    expect(cocoResultsFor(results, { phrases: ['cat', 'Dog'], gt }).results.map((r) => r.category_id)).toEqual([21, 22]);
    const cafe: ExportableResult[] = [{ image: { path: 'a.jpg', width: 40, height: 30 }, detections: [{ label: 'cafe\u0301 table', score: 0.4, box: [0, 0, 1, 1] }] }];
    writeFileSync(gt, JSON.stringify({ images, categories: [{ id: 30, name: 'caf\u00e9 table' }], annotations: [] }));
    expect(cocoResultsFor(cafe, { phrases: ['cafe\u0301 table'], gt }).results.map((r) => r.category_id)).toEqual([30]);

    writeFileSync(gt, JSON.stringify({ images, categories: [{ id: 17, name: 'cat' }, { id: 18, name: 'dog' }, { id: 40, name: 'Dog' }], annotations: [] }));
    expect(() => cocoResultsFor(results, { phrases: ['cat', 'Dog'], gt })).toThrow(InvalidInputError);
    expect(() => cocoResultsFor(results, { phrases: ['cat', 'Dog'], gt })).toThrow(
      `Expected a name that matches one category in ${gt} (names match ignoring case, spacing and Unicode form) for the detection label but received "Dog", which matches ids 18 ("dog") and 40 ("Dog") (rename one of them).`,
    );
  });

  it('an image the ground truth lacks is a failure of its own: the others are still exported', () => {
    const gt = join(scratch, 'gt.json');
    const withMissing: ExportableResult[] = [results[0], { image: { path: 'photos/z.jpg', width: 1, height: 1 }, detections: [{ label: 'cat', score: 0.7, box: [0, 0, 1, 1] }] }, results[2]];
    const exported = cocoResultsFor(withMissing, { phrases: ['cat', 'dog'], gt });
    expect(exported.results.map((r) => [r.image_id, r.category_id])).toEqual([[9, 18], [7, 17]]);
    expect(exported.failures).toHaveLength(1);
    expect(exported.failures[0].path).toBe('photos/z.jpg');
    expect(exported.failures[0].error).toBeInstanceOf(InvalidInputError);
    expect(exported.failures[0].error.message).toBe(`Expected an image with file_name z.jpg for ${gt} but received none.`);
  });
});

describe('checkGroundTruth: before any image', () => {
  it('lists every input image and every label the ground truth lacks', () => {
    const gt = join(scratch, 'gt-check.json');
    writeFileSync(gt, JSON.stringify({ images: [{ id: 1, file_name: 'a.jpg', width: 4, height: 4 }], categories: [{ id: 3, name: 'Cat' }], annotations: [] }));
    expect(() => checkGroundTruth(gt, ['photos/a.jpg'], ['cat'])).not.toThrow();
    expect(() => checkGroundTruth(gt, ['photos/a.jpg', 'b.jpg', 'c/d.jpg'], ['cat'])).toThrow(
      `Expected an image entry (file_name) for every input image for ${gt} but received none for 2 image(s): b.jpg, c/d.jpg.`,
    );
    expect(() => checkGroundTruth(gt, ['photos/a.jpg'], ['cat', 'dog', 'bird'])).toThrow(
      `Expected a category for every label for ${gt} but received none named "dog", "bird" (categories: Cat).`,
    );
  });
});
