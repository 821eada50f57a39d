/**
 * bench/ap_errors.py on a hand-made case: one image with two novel "dog"s and a base "car" in the evaluated ground
 * truth and one more object of the world that the evaluation does not name; the dogs' detections are one of each kind,
 * ranked so that each kind changes the result. AP50 values computed by hand (101-point interpolation).
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
      const evaluated = [
        { id: 1, image_id: 7, category_id: 1, bbox: [0, 0, 10, 10] }, { id: 2, image_id: 7, category_id: 1, bbox: [30, 60, 10, 10] },
        { id: 3, image_id: 7, category_id: 2, bbox: [50, 50, 10, 10] },
      ];
      writeFileSync(join(dir, 'gt.json'), JSON.stringify({ images, categories, annotations: evaluated }));
      // The world's own ids differ: its image is found by file name.
      const world = (fileName: string) => ({
        images: [{ ...images[0], id: 3, file_name: fileName }], categories: [...categories, { id: 9, name: 'monkey' }],
        annotations: [...evaluated.map((a) => ({ ...a, image_id: 3 })), { id: 4, image_id: 3, category_id: 9, bbox: [20, 20, 10, 10] }],
      });
      writeFileSync(join(dir, 'all.json'), JSON.stringify(world(images[0].file_name)));
      writeFileSync(join(dir, 'other.json'), JSON.stringify(world('images/000001.jpg')));
      const det = (category_id: number, bbox: number[], score: number, image_id = 7) => ({ image_id, category_id, bbox, score });
      writeFileSync(join(dir, 'results.json'), JSON.stringify([
        det(1, [0, 0, 10, 10], 0.95, 99), // on an image outside the GT: ignored, as COCOeval ignores it
        det(1, [20, 20, 10, 10], 0.9), // Bkg on the unnamed monkey
        det(1, [0, 0, 10, 10], 0.85), // TP, the first dog
        det(1, [0, 0, 10, 10], 0.8), // Dup
        det(1, [80, 0, 10, 10], 0.75), // Bkg on nothing
        det(1, [50, 50, 10, 10], 0.7), // Cls: the car's box
        det(1, [0, 0, 10, 30], 0.65), // Loc: IoU 100/300 with the first dog
        det(1, [30, 60, 10, 10], 0.6), // TP, the second dog
        det(2, [50, 50, 10, 10], 0.95), // TP
      ]));
      writeFileSync(join(dir, 'split.json'), JSON.stringify({ novel: ['dog'], base: ['car'] }));
      const run = (...extra: string[]) => spawnSync(python, [join(root, 'bench', 'ap_errors.py'), join(dir, 'gt.json'), join(dir, 'results.json'), join(dir, 'split.json'), ...extra], { encoding: 'utf8' });
      // Two dogs: recall 1/2 at rank 2, 2/2 at rank 7 → AP50 = (51 · 1/2 + 50 · 2/7) / 101 = 0.394. Without one error
      // ranked between the true positives: (51 · 1/2 + 50 · 2/6) / 101 = 0.417; without the monkey box, ranked first:
      // (51 · 1 + 50 · 2/6) / 101 = 0.670; without both background boxes: (51 + 50 · 2/5) / 101 = 0.703.
      const split = run('--all-objects', join(dir, 'all.json'));
      expect(split.status, split.stderr).toBe(0);
      expect(split.stdout.trim().split('\n')).toEqual([
        'novel (1 classes with GT): AP50 0.394; without Dup 0.417, Loc 0.417, Cls 0.417, Bkg-object 0.670, Bkg-nothing 0.417',
        '  false positives above each class\'s median true positive: Dup 0, Loc 0, Cls 0, Bkg-object 1, Bkg-nothing 0',
        'base (1 classes with GT): AP50 1.000; without Dup 1.000, Loc 1.000, Cls 1.000, Bkg-object 1.000, Bkg-nothing 1.000',
        '  false positives above each class\'s median true positive: Dup 0, Loc 0, Cls 0, Bkg-object 0, Bkg-nothing 0',
      ]);
      const plain = run();
      expect(plain.status, plain.stderr).toBe(0);
      expect(plain.stdout.trim().split('\n').slice(0, 2)).toEqual([
        'novel (1 classes with GT): AP50 0.394; without Dup 0.417, Loc 0.417, Cls 0.417, Bkg 0.703',
        '  false positives above each class\'s median true positive: Dup 0, Loc 0, Cls 0, Bkg 1',
      ]);
      // A world file whose images are not the evaluated ones is refused, not read as "every box on nothing".
      const other = run('--all-objects', join(dir, 'other.json'));
      expect(other.status).not.toBe(0);
      expect(other.stderr).toContain('expected every image of');
      expect(other.stderr).toContain('but 1 are not, e.g. images/000000.jpg');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
