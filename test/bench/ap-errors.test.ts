/**
 * bench/ap_errors.py on a hand-made case: one image, a novel "dog" and a base "car" in the evaluated ground truth and
 * one more object of the world that the evaluation does not name; the dog's detections are one of each kind, the true
 * positive ranked fourth. AP50 values by hand: 101-point interpolation of a single true positive at rank k is 1/k.
 * Skipped when Debian's /usr/bin/python3 cannot import numpy (a dependency of python3-torch; .ci/run installs it).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { python } from '../helpers/python.js';

const root = join(import.meta.dirname, '..', '..');
const hasNumpy = spawnSync(python, ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
if (!hasNumpy) console.warn(`Skipping bench/ap_errors.py: ${python} cannot import numpy (apt-get install -y python3-numpy).`);

describe.skipIf(!hasNumpy)('bench/ap_errors.py', () => {
  it('sorts each false positive into Dup, Loc, Cls and Bkg (on an unnamed object or on nothing) and gives AP50 without each', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ap-errors-'));
    try {
      const images = [{ id: 7, file_name: 'images/000000.jpg', width: 100, height: 100 }];
      const categories = [{ id: 1, name: 'dog' }, { id: 2, name: 'car' }];
      const evaluated = [{ id: 1, image_id: 7, category_id: 1, bbox: [0, 0, 10, 10] }, { id: 2, image_id: 7, category_id: 2, bbox: [50, 50, 10, 10] }];
      writeFileSync(join(dir, 'gt.json'), JSON.stringify({ images, categories, annotations: evaluated }));
      // The world's own ids differ: its image is found by file name.
      writeFileSync(join(dir, 'all.json'), JSON.stringify({
        images: [{ ...images[0], id: 3 }], categories: [...categories, { id: 9, name: 'monkey' }],
        annotations: [...evaluated.map((a) => ({ ...a, image_id: 3 })), { id: 3, image_id: 3, category_id: 9, bbox: [20, 20, 10, 10] }],
      }));
      const det = (category_id: number, bbox: number[], score: number) => ({ image_id: 7, category_id, bbox, score });
      writeFileSync(join(dir, 'results.json'), JSON.stringify([
        det(1, [20, 20, 10, 10], 0.9), // Bkg on the unnamed monkey
        det(1, [50, 50, 10, 10], 0.8), // Cls: the car's box
        det(1, [0, 0, 10, 30], 0.7), // Loc: IoU 100/300 with the dog
        det(1, [0, 0, 10, 10], 0.6), // TP
        det(1, [0, 0, 10, 10], 0.5), // Dup
        det(1, [80, 0, 10, 10], 0.4), // Bkg on nothing
        det(2, [50, 50, 10, 10], 0.95), // TP
      ]));
      writeFileSync(join(dir, 'split.json'), JSON.stringify({ novel: ['dog'], base: ['car'] }));
      const run = (...extra: string[]) => spawnSync(python, [join(root, 'bench', 'ap_errors.py'), join(dir, 'gt.json'), join(dir, 'results.json'), join(dir, 'split.json'), ...extra], { encoding: 'utf8' });
      const split = run('--all-objects', join(dir, 'all.json'));
      expect(split.status, split.stderr).toBe(0);
      expect(split.stdout.trim().split('\n')).toEqual([
        'novel (1 classes with GT): AP50 0.250; without Dup 0.250, Loc 0.333, Cls 0.333, Bkg-object 0.333, Bkg-nothing 0.250',
        '  false positives above each class\'s median true positive: Dup 0, Loc 1, Cls 1, Bkg-object 1, Bkg-nothing 0',
        'base (1 classes with GT): AP50 1.000; without Dup 1.000, Loc 1.000, Cls 1.000, Bkg-object 1.000, Bkg-nothing 1.000',
        '  false positives above each class\'s median true positive: Dup 0, Loc 0, Cls 0, Bkg-object 0, Bkg-nothing 0',
      ]);
      const plain = run();
      expect(plain.status, plain.stderr).toBe(0);
      expect(plain.stdout.split('\n')[0]).toBe('novel (1 classes with GT): AP50 0.250; without Dup 0.250, Loc 0.333, Cls 0.333, Bkg 0.333'); // both background kinds in one
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
