/**
 * bench/ensemble.ts on a hand-made case: two images, a novel "dog" and a base "car"; the combined scores computed by
 * hand (p_det^(1−λ) · p_other^λ, λ 2/3 for novel names and 1/3 for base ones, ViLD's).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectionBoxes, ensembleResults, readRecords, type DetectRecord } from '../../bench/ensemble.js';
import { parseCocoDataset, parseCocoSplit } from '../../src/io/coco.js';

const gt = parseCocoDataset({
  images: [{ id: 4, file_name: 'images/000003.jpg', width: 50, height: 50 }, { id: 9, file_name: 'images/000008.jpg', width: 50, height: 50 }],
  categories: [{ id: 1, name: 'dog' }, { id: 2, name: 'car' }],
  annotations: [],
});
const split = parseCocoSplit({ novel: ['dog'], base: ['car'] });
const detector: DetectRecord[] = [
  { image: { path: '/w/images/000003.jpg' }, detections: [{ label: 'dog', score: 0.8, box: [1, 2, 11, 22] }, { label: 'car', score: 0.5, box: [1, 2, 11, 22] }] },
  { image: { path: '/w/images/000008.jpg' }, detections: [{ label: 'Dog', score: 0.27, box: [0, 0, 5.5, 5] }] },
];
const rescored: DetectRecord[] = [
  { image: { path: 'images/000003.jpg' }, detections: [
    { label: 'dog', score: 0.125, box: [1, 2, 11, 22] }, { label: 'car', score: 0.008, box: [1, 2, 11, 22] },
    { label: 'dog', score: 0.9, box: [3, 3, 4, 4] },
  ] },
  { image: { path: 'other/000008.jpg' }, detections: [{ label: 'dog', score: 1, box: [0, 0, 5.5, 5] }, { label: 'car', score: 0, box: [0, 0, 5.5, 5] }] },
];

describe('bench/ensemble.ts', () => {
  it('writes the detector boxes by file name, and combines each detection with the other model\'s score on its box', () => {
    expect(detectionBoxes(detector)).toEqual({ '000003.jpg': [[1, 2, 11, 22], [1, 2, 11, 22]], '000008.jpg': [[0, 0, 5.5, 5]] });
    const out = ensembleResults(detector, rescored, gt, split, { novel: 2 / 3, base: 1 / 3 });
    expect(out.map((r) => [r.image_id, r.category_id, r.bbox])).toEqual([[4, 1, [1, 2, 10, 20]], [4, 2, [1, 2, 10, 20]], [9, 1, [0, 0, 5.5, 5]]]);
    // dog (novel): 0.8^(1/3) · 0.125^(2/3) = 0.9283 · 0.25; car (base): 0.5^(2/3) · 0.008^(1/3) = 0.63 · 0.2; the second dog: 0.27^(1/3) · 1
    expect(out[0].score).toBeCloseTo(0.8 ** (1 / 3) * 0.25, 12);
    expect(out[1].score).toBeCloseTo(0.5 ** (2 / 3) * 0.2, 12);
    expect(out[2].score).toBeCloseTo(0.27 ** (1 / 3), 12);
    // λ 0 is the detector alone
    expect(ensembleResults(detector, rescored, gt, split, { novel: 0, base: 0 }).map((r) => r.score)).toEqual([0.8, 0.5, 0.27]);
  });

  it('refuses a box or label the rescored run lacks, an image or category outside the ground truth, and a weight outside [0, 1]', () => {
    const shifted: DetectRecord[] = [{ ...detector[0], detections: [{ label: 'dog', score: 0.8, box: [1, 2, 11, 23] }] }];
    expect(() => ensembleResults(shifted, rescored, gt, split, { novel: 0.5, base: 0.5 })).toThrow('Expected a rescored "dog" on box [1, 2, 11, 23] of 000003.jpg but received none.');
    const stranger: DetectRecord[] = [{ image: { path: 'x/000099.jpg' }, detections: [] }];
    expect(() => ensembleResults(stranger, rescored, gt, split, { novel: 0.5, base: 0.5 })).toThrow('Expected an image of the ground truth but received 000099.jpg.');
    const cat: DetectRecord[] = [{ ...detector[0], detections: [{ label: 'cat', score: 0.8, box: [1, 2, 11, 22] }] }];
    expect(() => ensembleResults(cat, rescored, gt, split, { novel: 0.5, base: 0.5 })).toThrow('Expected a category of the ground truth but received "cat".');
    expect(() => ensembleResults(detector, rescored, gt, split, { novel: 1.5, base: 0.5 })).toThrow('Expected a weight in [0, 1] for --novel but received 1.5.');
    expect(() => detectionBoxes([detector[0], detector[0]])).toThrow('Expected one record per image file name but received 000003.jpg twice.');
  });

  it('reads detect --json (one object or an array) and refuses other files, such as COCO results', () => {
    const dir = mkdtempSync(join(tmpdir(), 'regionclip-ensemble-'));
    try {
      writeFileSync(join(dir, 'one.json'), JSON.stringify(detector[1]));
      expect(readRecords(join(dir, 'one.json'))).toEqual([detector[1]]);
      writeFileSync(join(dir, 'coco.json'), JSON.stringify([{ image_id: 4, category_id: 1, bbox: [1, 2, 3, 4], score: 0.5 }]));
      expect(() => readRecords(join(dir, 'coco.json'))).toThrow(/Expected the output of `regionclip detect --json` \(records with image\.path and detections\) in \S+coco\.json but received record 0: \{"image_id":4/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
