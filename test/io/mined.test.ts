/**
 * The mined records' exports, on hand-made records: merging per image, and each format's box
 * convention computed on paper (a 200×100 image, the box [20, 10, 120, 60]).
 */
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { minedImagesToCoco, minedImagesToLabelStudio, minedImagesToOdvg, readMinedImages, recordsPathFor, writeMinedYolo, type MinedRecord } from '../../src/io/mined.js';
import { parseCocoDataset } from '../../src/io/coco.js';
import { IoError } from '../../src/errors.js';

const scratch = mkdtempSync(join(tmpdir(), 'regionclip-mined-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const label = (box: [number, number, number, number], concept: string, score: number) => ({ box, phrase: concept, concept, score, direction: 'phrase→region' as const });
const records: MinedRecord[] = [
  { id: 20, line: 1, image: 'a/x.jpg', width: 200, height: 100, captions: ['a dog'], phrases: ['dog'], labels: [label([20, 10, 120, 60], 'dog', 0.9)] },
  { id: 'cc3m_1', line: 2, image: 'b.jpg', width: 200, height: 100, captions: ['a cat'], phrases: ['cat'], labels: [] },
  { id: 20, line: 3, image: 'a/x.jpg', width: 200, height: 100, captions: ['a dog and a cat'], phrases: ['dog', 'cat'], labels: [label([20, 10, 120, 60], 'dog', 0.95), label([0, 0, 50, 50], 'cat', 0.5)] },
  { line: 4, image: 'c.jpg', width: 200, height: 100, captions: [], phrases: [], labels: [] },
];
const path = join(scratch, 'labels.jsonl');
writeFileSync(path, `${records.map((r) => JSON.stringify(r)).join('\n')}\n`);

describe('mined exports', () => {
  it('merge the records of one image (same id, else same path): captions joined, an identical box and concept once at its best score', async () => {
    const images = await readMinedImages(path);
    expect(images.map((i) => [i.id, i.image, i.captions, i.labels.map((l) => [l.concept, l.score])])).toEqual([
      [20, 'a/x.jpg', ['a dog', 'a dog and a cat'], [['dog', 0.95], ['cat', 0.5]]],
      ['cc3m_1', 'b.jpg', ['a cat'], []],
      [undefined, 'c.jpg', [], []],
    ]);
  });

  it('COCO: [x, y, w, h], integer ids kept, others numbered after the largest with source_id; categories by sorted name', async () => {
    const coco = parseCocoDataset(minedImagesToCoco(await readMinedImages(path)), 'export');
    expect(coco.images).toEqual([
      { id: 20, file_name: 'a/x.jpg', width: 200, height: 100 },
      { id: 21, file_name: 'b.jpg', width: 200, height: 100, source_id: 'cc3m_1' },
      { id: 22, file_name: 'c.jpg', width: 200, height: 100 },
    ]);
    expect(coco.categories).toEqual([{ id: 1, name: 'cat' }, { id: 2, name: 'dog' }]);
    expect(coco.annotations).toEqual([
      { id: 1, image_id: 20, category_id: 2, bbox: [20, 10, 100, 50], area: 5000, iscrowd: 0, score: 0.95 },
      { id: 2, image_id: 20, category_id: 1, bbox: [0, 0, 50, 50], area: 2500, iscrowd: 0, score: 0.5 },
    ]);
  });

  it('ODVG: XYXY regions with phrases, images without labels left out', async () => {
    const lines = minedImagesToOdvg(await readMinedImages(path)).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([{ filename: 'a/x.jpg', height: 100, width: 200, grounding: { caption: 'a dog a dog and a cat', regions: [{ bbox: [20, 10, 120, 60], phrase: 'dog' }, { bbox: [0, 0, 50, 50], phrase: 'cat' }] } }]);
  });

  it('YOLO: class cx cy w h as fractions, images/ links, an empty label file for an image without labels, data.yaml', async () => {
    const dir = join(scratch, 'yolo');
    writeMinedYolo(dir, await readMinedImages(path), '/data/root');
    expect(readFileSync(join(dir, 'labels', 'a__x.txt'), 'utf8')).toBe('1 0.35 0.35 0.5 0.5\n0 0.125 0.25 0.25 0.5\n');
    expect(readFileSync(join(dir, 'labels', 'b.txt'), 'utf8')).toBe('');
    expect(resolve(join(dir, 'images'), readlinkSync(join(dir, 'images', 'a__x.jpg')))).toBe('/data/root/a/x.jpg');
    expect(readFileSync(join(dir, 'data.yaml'), 'utf8')).toContain(`path: ${JSON.stringify(dir)}\ntrain: images\nval: images\nnc: 2\nnames: ["cat","dog"]\n`);
    // Written again over its own links; a file of the user's in the way is never replaced.
    writeMinedYolo(dir, await readMinedImages(path), '/data/root');
    writeFileSync(join(dir, 'images', 'c.jpg.keep'), 'mine');
    rmSync(join(dir, 'images', 'c.jpg'));
    writeFileSync(join(dir, 'images', 'c.jpg'), 'a real image');
    expect(() => writeMinedYolo(dir, [{ image: 'c.jpg', width: 1, height: 1, captions: [], labels: [] }], '/data/root')).toThrow(IoError);
    expect(readFileSync(join(dir, 'images', 'c.jpg'), 'utf8')).toBe('a real image');
  });

  it('YOLO: ids sharing one image file share its label file; an export over an earlier one leaves no stale label file or link (user files stay)', () => {
    const dir = join(scratch, 'yolo-again');
    const img = (image: string, id: number, concept: string) => ({ id, image, width: 200, height: 100, captions: [], labels: [label([0, 0, 100, 50], concept, 0.5)] });
    writeMinedYolo(dir, [img('p.jpg', 1, 'dog'), img('q.jpg', 2, 'cat'), img('r.jpg', 3, 'emu')], '/data/root');
    writeFileSync(join(dir, 'labels', 'notes.md'), 'mine');
    writeFileSync(join(dir, 'images', 'user.jpg'), 'a real image');
    // Two ids on one file (p.jpg), and q.jpg / r.jpg no longer in the run.
    writeMinedYolo(dir, [img('p.jpg', 1, 'dog'), img('p.jpg', 9, 'cat')], '/data/root');
    expect(readFileSync(join(dir, 'labels', 'p.txt'), 'utf8')).toBe('1 0.25 0.25 0.5 0.5\n0 0.25 0.25 0.5 0.5\n');
    expect(readdirSync(join(dir, 'labels')).sort()).toEqual(['notes.md', 'p.txt']);
    expect(readdirSync(join(dir, 'images')).sort()).toEqual(['p.jpg', 'user.jpg']);
    expect(readFileSync(join(dir, 'data.yaml'), 'utf8')).toContain('nc: 2\nnames: ["cat","dog"]\n');
  });

  it('Label Studio: rectanglelabels in percent of the original size, with scores', async () => {
    const [task] = minedImagesToLabelStudio(await readMinedImages(path), 'm') as { data: unknown; predictions: { model_version: string; score: number; result: { value: unknown; score: number }[] }[] }[];
    expect(task.data).toEqual({ image: 'a/x.jpg', id: 20, caption: 'a dog a dog and a cat' });
    expect(task.predictions[0].model_version).toBe('m');
    expect(task.predictions[0].score).toBeCloseTo(0.725, 10);
    expect(task.predictions[0].result[0]).toEqual({
      id: 'r0_0', type: 'rectanglelabels', from_name: 'label', to_name: 'image', original_width: 200, original_height: 100, image_rotation: 0,
      value: { x: 10, y: 10, width: 50, height: 50, rotation: 0, rectanglelabels: ['dog'] }, score: 0.95,
    });
  });

  it('the records beside another format: its extension replaced', () => {
    expect(recordsPathFor('out/dataset.json')).toBe('out/dataset.records.jsonl');
    expect(recordsPathFor('out/yolo')).toBe('out/yolo.records.jsonl');
  });
});
