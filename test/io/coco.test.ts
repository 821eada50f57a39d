import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  InvalidInputError, IoError, cocoBboxesToXyxy, parseCocoDataset, parseCocoResults, parseCocoSplit, readCocoDataset, readCocoResults,
  readCocoSplit, toCocoAnnotations, toCocoResults, writeCocoDataset, writeCocoResults, xywhToXyxy,
} from '../../src/index.js';
import { shortestFloat32 } from '../../src/io/coco.js';

const dir = mkdtempSync(join(tmpdir(), 'regionclip-coco-'));
const file = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); return p; };

const valid = () => ({
  info: { description: 'tiny' },
  images: [{ id: 1, width: 64, height: 48, file_name: 'a.jpg' }, { id: 2 }],
  categories: [{ id: 1, name: 'cat' }, { id: 3, name: 'dog' }],
  annotations: [
    { id: 10, image_id: 1, category_id: 1, bbox: [1, 2, 3, 4], area: 12, iscrowd: 0, segmentation: [[1, 2, 3, 4]] },
    { id: 11, image_id: 2, category_id: 3, bbox: [0, 0, 5, 5], area: 20, iscrowd: true },
    { id: 12, image_id: 2, category_id: 3, bbox: [0, 0, 0, 5], area: 0 },
  ],
});

const expectInvalid = (fn: () => unknown, message: string) => {
  expect(fn).toThrow(InvalidInputError);
  expect(fn).toThrow(message);
};

describe('parseCocoDataset', () => {
  it('accepts a valid dataset, normalizes iscrowd and keeps other keys', () => {
    const d = parseCocoDataset(valid(), 'gt.json');
    expect(d.annotations.map((a) => a.iscrowd)).toEqual([0, 1, 0]);
    expect(d.annotations[0].segmentation).toEqual([[1, 2, 3, 4]]);
    expect(d.info).toEqual({ description: 'tiny' });
    expect(d.images).toHaveLength(2);
  });

  it('names the entry and the file for each kind of bad input', () => {
    const bad = (mutate: (d: any) => void) => { const d = valid(); mutate(d); return () => parseCocoDataset(d, 'gt.json'); };
    expectInvalid(bad((d) => { d.annotations[1].bbox = [0, 0, Number.NaN, 5]; }), 'Expected 4 finite numbers [x, y, w, h] for annotations[1].bbox in gt.json but received [0, 0, NaN, 5].');
    expectInvalid(bad((d) => { d.annotations[2].bbox = [0, 0, 5]; }), 'for annotations[2].bbox in gt.json but received [0, 0, 5].');
    expectInvalid(bad((d) => { d.annotations[0].bbox = [0, 0, -1, 5]; }), 'Expected a width and height >= 0 for annotations[0].bbox in gt.json but received [0, 0, -1, 5].');
    expectInvalid(bad((d) => { delete d.annotations[0].bbox; }), 'for annotations[0].bbox in gt.json but received no "bbox" key.');
    expectInvalid(bad((d) => { d.annotations[1].area = -3; }), 'Expected a finite number >= 0 for annotations[1].area in gt.json but received -3.');
    expectInvalid(bad((d) => { delete d.annotations[1].area; }), 'for annotations[1].area in gt.json but received no "area" key.');
    expectInvalid(bad((d) => { d.annotations[2].id = 10; }), 'Expected a unique id for annotations[2].id in gt.json but received 10, already the id of annotations[0].');
    expectInvalid(bad((d) => { d.images[1].id = 1; }), 'Expected a unique id for images[1].id in gt.json');
    expectInvalid(bad((d) => { d.categories.push({ id: 3, name: 'x' }); }), 'Expected a unique id for categories[2].id in gt.json');
    expectInvalid(bad((d) => { d.annotations[1].image_id = 9; }), 'Expected the id of an image in "images" for annotations[1].image_id in gt.json but received 9.');
    expectInvalid(bad((d) => { d.annotations[1].category_id = 2; }), 'Expected the id of a category in "categories" for annotations[1].category_id in gt.json but received 2.');
    expectInvalid(bad((d) => { d.annotations[1].iscrowd = 2; }), 'Expected 0 or 1 for annotations[1].iscrowd in gt.json but received 2.');
    expectInvalid(bad((d) => { d.annotations[0].id = '10'; }), 'Expected an integer id for annotations[0].id in gt.json but received "10".');
    expectInvalid(bad((d) => { delete d.categories[0].name; }), 'Expected a string for categories[0].name in gt.json but received no "name" key.');
    expectInvalid(bad((d) => { delete d.annotations; }), 'Expected an array "annotations" for gt.json but received no "annotations" key.');
    expectInvalid(bad((d) => { d.images[0] = 5; }), 'Expected an object for images[0] in gt.json but received 5.');
    expectInvalid(() => parseCocoDataset([], 'gt.json'), 'for gt.json but received an array of length 0.');
  });
});

describe('parseCocoResults', () => {
  it('keeps exactly image_id, category_id, bbox and score', () => {
    expect(parseCocoResults([{ image_id: 1, category_id: 3, bbox: [1, 2, 3, 4], score: 0.5, segmentation: [] }])).toEqual([{ image_id: 1, category_id: 3, bbox: [1, 2, 3, 4], score: 0.5 }]);
    expect(parseCocoResults([])).toEqual([]);
  });
  it('names the entry for bad results', () => {
    expectInvalid(() => parseCocoResults({ results: [] }, 'dets.json'), 'Expected a JSON array of detections (COCO results format) for dets.json but received an object (Object).');
    expectInvalid(() => parseCocoResults([{ image_id: 1, category_id: 1, bbox: [0, 0, 1, 1] }], 'dets.json'), 'Expected a finite number for [0].score in dets.json but received no "score" key.');
    expectInvalid(() => parseCocoResults([{ image_id: 1, category_id: 1, bbox: [0, 0, 1, 1], score: 1 }, { image_id: 1.5, category_id: 1, bbox: [0, 0, 1, 1], score: 1 }], 'dets.json'), 'Expected an integer id for [1].image_id in dets.json but received 1.5.');
    expectInvalid(() => parseCocoResults([{ image_id: 1, bbox: [0, 0, 1, 1], score: 1 }], 'dets.json'), 'for [0].category_id in dets.json but received no "category_id" key.');
    expectInvalid(() => parseCocoResults([{ image_id: 1, category_id: 1, bbox: [0, 0, 1, -1], score: 1 }], 'dets.json'), 'Expected a width and height >= 0 for [0].bbox in dets.json');
  });
});

describe('parseCocoSplit', () => {
  it('accepts ids and names and rejects anything else', () => {
    expect(parseCocoSplit({ novel: [1, 'dog'], base: [] })).toEqual({ novel: [1, 'dog'], base: [] });
    expectInvalid(() => parseCocoSplit({ novel: [1.5], base: [] }, 's.json'), 'Expected a category id (integer) or name (string) for novel[0] in s.json but received 1.5.');
    expectInvalid(() => parseCocoSplit({ novel: [] }, 's.json'), 'Expected an array "base" for s.json but received no "base" key.');
    expectInvalid(() => parseCocoSplit({ novel: [], base: [], target: [] }, 's.json'), 'Expected only the keys "novel" and "base" for s.json but received the key "target".');
  });
});

describe('reading files', () => {
  it('reads a dataset, results and a split', () => {
    expect(readCocoDataset(file('gt.json', JSON.stringify(valid()))).annotations).toHaveLength(3);
    expect(readCocoResults(file('r.json', '[{"image_id":1,"category_id":1,"bbox":[0,0,1,1],"score":0.1}]'))).toHaveLength(1);
    expect(readCocoSplit(file('s.json', '{"novel":["dog"],"base":[1]}'))).toEqual({ novel: ['dog'], base: [1] });
  });
  it('reports malformed JSON with the path and position, and a missing file as an IoError', () => {
    const broken = file('broken.json', '{"images": [\n  {"id": 1},\n]}');
    expect(() => readCocoDataset(broken)).toThrow(InvalidInputError);
    expect(() => readCocoDataset(broken)).toThrow(`Expected valid JSON (COCO dataset) for ${broken} but received a syntax error: `);
    expect(() => readCocoDataset(broken)).not.toThrow('\n');
    const truncated = file('truncated.json', '{"images": [\n  {"id": 1},');
    expect(() => readCocoDataset(truncated)).toThrow(`for ${truncated} but received a syntax error: `);
    const nan = file('nan.json', '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": NaN}]');
    expect(() => readCocoResults(nan)).toThrow('NaN and Infinity are not valid JSON numbers');
    const missing = join(dir, 'nope.json');
    expect(() => readCocoResults(missing)).toThrow(IoError);
    expect(() => readCocoResults(missing)).toThrow(`Expected a readable COCO results file for ${missing} but received ENOENT.`);
  });
  it('names the file in validation errors', () => {
    const p = file('badbox.json', JSON.stringify({ ...valid(), annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 1], area: 1 }] }));
    expect(() => readCocoDataset(p)).toThrow(`for annotations[0].bbox in ${p} but received [0, 0, 1].`);
  });
});

describe('writing COCO', () => {
  it('converts XYXY detections to COCO results with shortest float32 decimals, and reads them back', () => {
    const boxes = Float32Array.from([10.1, 20.2, 30.3, 60.4, 0, 0, 5, 5]);
    const results = toCocoResults(7, boxes, Float32Array.from([0.9, 0.25]), [3, 1]);
    expect(results).toEqual([
      { image_id: 7, category_id: 3, bbox: [10.1, 20.2, 20.199999, 40.2], score: 0.9 },
      { image_id: 7, category_id: 1, bbox: [0, 0, 5, 5], score: 0.25 },
    ]);
    const p = join(dir, 'out-results.json');
    writeCocoResults(p, results);
    expect(readCocoResults(p)).toEqual(results);
    // Round trip to XYXY within float32 precision.
    const back = cocoBboxesToXyxy(results.map((r) => r.bbox));
    back.forEach((v, i) => expect(Math.abs(v - boxes[i])).toBeLessThanOrEqual(1e-5));
    expect(Array.from(xywhToXyxy(Float32Array.from(results.flatMap((r) => r.bbox))))).toEqual(Array.from(back));
    expect(() => toCocoResults(1, Float32Array.from([5, 5, 1, 1]), [0.5], [1])).toThrow('for boxes[0] but received [5, 5, 1, 1].');
    expect(() => toCocoResults(1, boxes, [0.5], [1, 1])).toThrow('Expected 2 values (one per box) for scores but received length 1.');
  });

  it('writes a dataset with annotations from XYXY boxes (area w*h, iscrowd 0) and validates it first', () => {
    const annotations = toCocoAnnotations(1, Float32Array.from([0, 0, 10, 20, 5, 5, 6.5, 7]), [1, 3], 100);
    expect(annotations).toEqual([
      { id: 100, image_id: 1, category_id: 1, bbox: [0, 0, 10, 20], area: 200, iscrowd: 0 },
      { id: 101, image_id: 1, category_id: 3, bbox: [5, 5, 1.5, 2], area: 3, iscrowd: 0 },
    ]);
    const dataset = { images: [{ id: 1, file_name: 'a.jpg' }], categories: [{ id: 1, name: 'cat' }, { id: 3, name: 'dog' }], annotations };
    const p = join(dir, 'out-dataset.json');
    writeCocoDataset(p, dataset);
    expect(JSON.parse(readFileSync(p, 'utf8'))).toEqual(dataset);
    expect(readCocoDataset(p).annotations).toEqual(annotations);
    expect(() => writeCocoDataset(join(dir, 'x.json'), { ...dataset, annotations: [...annotations, annotations[0]] })).toThrow('Expected a unique id for annotations[2].id in dataset');
    expect(() => writeCocoResults(join(dir, 'no', 'such', 'dir.json'), [])).toThrow(IoError);
  });

  it('shortestFloat32 reads back as the same float32', () => {
    for (const x of [0.1, 1 / 3, 123.456, 1e-7, 65504.5, 0.9]) {
      const s = shortestFloat32(x);
      expect(Math.fround(s)).toBe(Math.fround(x));
      expect(String(s).length).toBeLessThanOrEqual(String(Math.fround(x)).length);
    }
    expect(shortestFloat32(Math.fround(0.1))).toBe(0.1);
  });
});
