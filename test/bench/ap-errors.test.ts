/**
 * bench/ap-errors.ts on a hand-made case: one image with two novel "dog"s and a base "car" in the evaluated ground
 * truth and one more object of the world that the evaluation does not name; the dogs' detections are one of each kind,
 * ranked so that each kind changes the result. AP50 values computed by hand (101-point interpolation).
 */
import { describe, expect, it } from 'vitest';
import { apErrors, formatApErrors, objectsByImage } from '../../bench/ap-errors.js';
import type { CocoDataset } from '../../src/eval/coco-format.js';
import { parseCocoDataset, parseCocoResults, parseCocoSplit } from '../../src/io/coco.js';

describe('bench/ap-errors.ts', () => {
  it('sorts each false positive into Dup, Loc, Cls and Bkg (on an unnamed object or on nothing) and gives AP50 without each', () => {
    const images = [{ id: 7, file_name: 'images/000000.jpg', width: 100, height: 100 }];
    const categories = [{ id: 1, name: 'dog' }, { id: 2, name: 'car' }];
    const box = (id: number, category_id: number, bbox: number[], image_id = 7) => ({ id, image_id, category_id, bbox, area: bbox[2] * bbox[3], iscrowd: 0 });
    const evaluated = [box(1, 1, [0, 0, 10, 10]), box(2, 1, [30, 60, 10, 10]), box(3, 2, [50, 50, 10, 10])];
    const gt = parseCocoDataset({ images, categories, annotations: evaluated });
    // The world's own ids differ: its image is found by file name.
    const world = (fileName: string): CocoDataset => parseCocoDataset({
      images: [{ ...images[0], id: 3, file_name: fileName }], categories: [...categories, { id: 9, name: 'monkey' }],
      annotations: [...evaluated.map((a) => ({ ...a, image_id: 3 })), box(4, 9, [20, 20, 10, 10], 3)],
    });
    const det = (category_id: number, bbox: number[], score: number, image_id = 7) => ({ image_id, category_id, bbox, score });
    const results = parseCocoResults([
      det(1, [0, 0, 10, 10], 0.95, 99), // on an image outside the GT: left out
      det(1, [20, 20, 10, 10], 0.9), // Bkg on the unnamed monkey
      det(1, [0, 0, 10, 10], 0.85), // TP, the first dog
      det(1, [0, 0, 10, 10], 0.8), // Dup
      det(1, [80, 0, 10, 10], 0.75), // Bkg on nothing
      det(1, [50, 50, 10, 10], 0.7), // Cls: the car's box
      det(1, [0, 0, 10, 30], 0.65), // Loc: IoU 100/300 with the first dog
      det(1, [30, 60, 10, 10], 0.6), // TP, the second dog
      det(2, [50, 50, 10, 10], 0.95), // TP
    ]);
    const split = parseCocoSplit({ novel: ['dog'], base: ['car'] });
    // Two dogs: recall 1/2 at rank 2, 2/2 at rank 7 → AP50 = (51 · 1/2 + 50 · 2/7) / 101 = 0.394. Without one error
    // ranked between the true positives: (51 · 1/2 + 50 · 2/6) / 101 = 0.417; without the monkey box, ranked first:
    // (51 · 1 + 50 · 2/6) / 101 = 0.670; without both background boxes: (51 + 50 · 2/5) / 101 = 0.703.
    const withWorld = apErrors(gt, results, split, objectsByImage(gt, world(images[0].file_name), 'gt.json', 'all.json'));
    expect(withWorld.novel.ap50).toBeCloseTo((51 / 2 + 50 * 2 / 7) / 101, 12);
    expect(formatApErrors(withWorld)).toEqual([
      'novel (1 classes with GT): AP50 0.394; without Dup 0.417, Loc 0.417, Cls 0.417, Bkg-object 0.670, Bkg-nothing 0.417',
      '  false positives above each class\'s median true positive: Dup 0, Loc 0, Cls 0, Bkg-object 1, Bkg-nothing 0',
      'base (1 classes with GT): AP50 1.000; without Dup 1.000, Loc 1.000, Cls 1.000, Bkg-object 1.000, Bkg-nothing 1.000',
      '  false positives above each class\'s median true positive: Dup 0, Loc 0, Cls 0, Bkg-object 0, Bkg-nothing 0',
    ]);
    expect(formatApErrors(apErrors(gt, results, split)).slice(0, 2)).toEqual([
      'novel (1 classes with GT): AP50 0.394; without Dup 0.417, Loc 0.417, Cls 0.417, Bkg 0.703',
      '  false positives above each class\'s median true positive: Dup 0, Loc 0, Cls 0, Bkg 1',
    ]);
    // A world file whose images are not the evaluated ones is refused, not read as "every box on nothing".
    expect(() => objectsByImage(gt, world('images/000001.jpg'), 'gt.json', 'other.json')).toThrow(
      'Expected every image of gt.json in other.json (matched by file_name) but received 1 that are not, e.g. images/000000.jpg.');
  });
});
