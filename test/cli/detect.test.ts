import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { repoRoot } from '../helpers/golden.js';

const bin = join(repoRoot, 'dist', 'cli', 'main.js');
const model = join(repoRoot, 'fixtures', 'models', 'tiny-detector-features');
const scratch = mkdtempSync(join(tmpdir(), 'regionclip-cli-detect-'));
const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: join(scratch, 'xdg') } });
const image = join(scratch, 'scene.png');

beforeAll(async () => {
  const square = await sharp({ create: { width: 50, height: 40, channels: 3, background: { r: 220, g: 20, b: 20 } } }).png().toBuffer();
  await sharp({ create: { width: 160, height: 120, channels: 3, background: { r: 30, g: 120, b: 200 } } }).composite([{ input: square, left: 20, top: 30 }]).png().toFile(image);
  writeFileSync(join(scratch, 'vocab.txt'), 'red square\nhot dog, with mustard\n\nblue circle\n');
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('regionclip detect', () => {
  it('writes the documented JSON, COCO results with id maps, and an annotated image', async () => {
    const json = join(scratch, 'out.json'), coco = join(scratch, 'coco.json'), save = join(scratch, 'annotated.png');
    // --distractors none: against the built-in pool, nothing this random tiny model sees passes 0.3
    const r = cli('detect', image, '--vocab-file', join(scratch, 'vocab.txt'), '--model', model, '--conf', '0.3', '--distractors', 'none', '--json', json, '--coco', coco, '--save', save);
    expect(r.stderr).not.toContain('Error');
    expect(r.status).toBe(0);
    const result = JSON.parse(readFileSync(json, 'utf8'));
    expect(result.image).toEqual({ path: image, width: 160, height: 120 });
    expect(result.phrases).toEqual(['red square', 'hot dog, with mustard', 'blue circle']);
    expect(Object.keys(result.timings)).toEqual(expect.arrayContaining(['decode', 'proposals', 'regions', 'scoring', 'text']));
    expect(result.detections.length).toBeGreaterThan(0);
    for (const d of result.detections) {
      expect(result.phrases).toContain(d.label);
      expect(d.score).toBeGreaterThan(0.3);
      expect(d.box[0]).toBeGreaterThanOrEqual(0);
      expect(d.box[2]).toBeLessThanOrEqual(160);
      expect(d.box[3]).toBeLessThanOrEqual(120);
    }
    const results = JSON.parse(readFileSync(coco, 'utf8'));
    expect(results).toHaveLength(result.detections.length);
    const first = result.detections[0];
    expect(results[0].bbox[2]).toBeCloseTo(first.box[2] - first.box[0], 3);
    const maps = JSON.parse(readFileSync(join(scratch, 'coco.categories.json'), 'utf8'));
    expect(maps.categories.map((c: { name: string }) => c.name)).toEqual(result.phrases);
    expect(maps.images).toEqual([{ id: 1, file_name: 'scene.png', width: 160, height: 120 }]);
    const meta = await sharp(save).metadata();
    expect([meta.width, meta.height]).toEqual([160, 120]);
  });

  it('scores given boxes (GT-box mode) and a caption\'s phrases', () => {
    writeFileSync(join(scratch, 'boxes.json'), JSON.stringify({ 'scene.png': [[20, 30, 70, 70], [100, 10, 150, 60]] }));
    const r = cli('detect', image, '--caption', 'a red square next to a blue circle', '--boxes', join(scratch, 'boxes.json'), '--model', model, '--conf', '0', '--json', '-');
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.phrases).toEqual(['red square', 'blue circle']);
    expect(result.timings.proposals).toBeUndefined();
    const boxes = result.detections.map((d: { box: number[] }) => d.box.join(','));
    expect(new Set(boxes)).toEqual(new Set(['20,30,70,70', '100,10,150,60']));
  });

  it('rejects bad settings and missing vocabularies with clear errors', () => {
    const noVocab = cli('detect', image, '--model', model);
    expect(noVocab.status).toBe(EXIT_CODES.usage);
    expect(noVocab.stderr).toContain('Expected --vocab, --vocab-file or --caption for detect but received none of them');
    const emptyVocab = cli('detect', image, '--vocab', ' , ;', '--model', model);
    expect(emptyVocab.status).toBe(EXIT_CODES.invalidInput);
    const badSet = cli('detect', image, '--vocab', 'cat', '--model', model, '--set', 'detect.iouThreshhold=0.4');
    expect(badSet.status).toBe(EXIT_CODES.config);
    expect(badSet.stderr).toContain('did you mean "iouThreshold"');
    const badConf = cli('detect', image, '--vocab', 'cat', '--model', model, '--conf', '2');
    expect(badConf.status).toBe(EXIT_CODES.config);
    expect(badConf.stderr).toContain('Expected a number in [0, 1] for detect.scoreThreshold (--conf) but received 2');
    const clipModel = cli('detect', image, '--vocab', 'cat', '--model', join(repoRoot, 'fixtures', 'models', 'tiny-clip'));
    expect(clipModel.status).toBe(EXIT_CODES.modelLoad);
    expect(clipModel.stderr).toContain('Expected a detector model');
  });
});

/** README's main image and the built-in model, with the default preset. */
const mainImage = join(repoRoot, 'fixtures', 'world', 'images', '000020.jpg');
interface Listed { label: string; score: number; box: number[] }
const detectJson = (...args: string[]) => {
  const r = cli('detect', mainImage, '--json', '-', ...args);
  expect(r.stderr).not.toContain('Error');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as { phrases: string[]; detections: Listed[] };
};
const iou = (a: number[], b: number[]) => {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0])), h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  return (w * h) / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h);
};

describe('regionclip detect: open-set scoring (the built-in distractor pool)', () => {
  // The default preset's distractor pool is embedded (90 concepts × 81 templates) once, then read from the cache.
  beforeAll(() => {
    expect(cli('detect', mainImage, '--vocab', 'giraffe', '--quiet').status).toBe(0);
  }, 300_000);
  it('a single absent label finds nothing, where a softmax over it alone scored 0.98', () => {
    const open = detectJson('--vocab', 'giraffe');
    expect(open.phrases).toEqual(['giraffe']);
    expect(open.detections).toEqual([]);
    // --distractors none is the softmax over the labels alone: every region is a giraffe
    const closed = detectJson('--vocab', 'giraffe', '--distractors', 'none');
    expect(closed.detections.length).toBeGreaterThan(5);
    expect(closed.detections[0].score).toBeGreaterThan(0.95);
  });

  it('never reports a distractor, and a pool entry that is a label (any case or number) does not compete with it', () => {
    const result = detectJson('--vocab', 'bicycle,sled', '--conf', '0.05');
    expect(result.phrases).toEqual(['bicycle', 'sled']);
    expect(result.detections.length).toBeGreaterThan(0);
    for (const d of result.detections) expect(['bicycle', 'sled']).toContain(d.label);
    const pool = join(scratch, 'pool.txt');
    writeFileSync(pool, 'pizza\ncar\ntoy\n');
    writeFileSync(join(scratch, 'pool-with-label.txt'), 'pizza\nBicycles\ncar\nSLED\ntoy\n');
    const plain = detectJson('--vocab', 'bicycle,sled', '--conf', '0.05', '--distractors', pool);
    const withLabels = detectJson('--vocab', 'bicycle,sled', '--conf', '0.05', '--distractors', join(scratch, 'pool-with-label.txt'));
    expect(plain.detections.length).toBeGreaterThan(0);
    expect(withLabels.detections).toEqual(plain.detections);
  });

  it('rejects a missing or empty distractor file and a bad preset value, naming the option', () => {
    const missing = cli('detect', mainImage, '--vocab', 'giraffe', '--distractors', join(scratch, 'nope.txt'));
    expect(missing.status).toBe(EXIT_CODES.io);
    expect(missing.stderr).toContain('nope.txt');
    writeFileSync(join(scratch, 'empty.txt'), '\n\n');
    const empty = cli('detect', mainImage, '--vocab', 'giraffe', '--distractors', join(scratch, 'empty.txt'));
    expect(empty.status).toBe(EXIT_CODES.invalidInput);
    expect(empty.stderr).toContain('Expected at least one concept (one per line)');
    const bad = cli('detect', mainImage, '--vocab', 'giraffe', '--set', 'detect.distractors=3');
    expect(bad.status).toBe(EXIT_CODES.config);
    expect(bad.stderr).toContain('Expected "builtin", "none", a file of concepts (one per line) or a list of concepts for detect.distractors (--distractors) but received 3.');
  });
});

describe('regionclip detect: class-agnostic NMS and the printed list', () => {
  it('--agnostic-nms keeps one box per place whatever the label; per-class NMS keeps overlapping boxes of different labels', () => {
    const perClass = detectJson('--vocab', 'bicycle,sled', '--distractors', 'none');
    /** Pairs (better first) whose boxes overlap by IoU > 0.5. */
    const overlapping = (ds: Listed[]) => ds.flatMap((a, i) => ds.slice(i + 1).filter((b) => iou(a.box, b.box) > 0.5).map((b) => [a, b]));
    expect(perClass.detections.length).toBeGreaterThan(2);
    const mixed = overlapping(perClass.detections);
    expect(mixed.length).toBeGreaterThan(0);
    for (const [a, b] of mixed) expect(a.label).not.toBe(b.label); // per-class NMS: overlaps only across labels
    const agnostic = detectJson('--vocab', 'bicycle,sled', '--distractors', 'none', '--agnostic-nms');
    expect(agnostic.detections.length).toBeGreaterThan(0);
    expect(overlapping(agnostic.detections)).toEqual([]);
    // the best overlapping pair: its better box stays, the other label's box on it goes
    const [better, worse] = mixed[0];
    expect(agnostic.detections).toContainEqual(better);
    expect(agnostic.detections).not.toContainEqual(worse);
    // the same through the preset key
    const viaSet = detectJson('--vocab', 'bicycle,sled', '--distractors', 'none', '--set', 'detect.agnosticNms=true');
    expect(viaSet.detections).toEqual(agnostic.detections);
  });

  it('the printed count is the count listed, or says how many of them it shows', () => {
    const header = /^(\S+): (\d+) detection\(s\)(?:, showing the best (\d+))?/;
    for (const args of [[], ['--conf', '0.3'], ['--distractors', 'none'], ['--distractors', 'none', '--conf', '0.5']]) {
      const r = cli('detect', mainImage, '--vocab', 'bicycle,sled', ...args);
      expect(r.status).toBe(0);
      const lines = r.stdout.trimEnd().split('\n');
      const m = header.exec(lines[0]);
      expect(m, lines[0]).not.toBeNull();
      const total = Number(m![2]);
      const listed = lines.slice(1).filter((l) => /^ {2}(bicycle|sled) \d\.\d{3} \[/.test(l));
      expect(listed.length).toBe(lines.length - 1);
      if (m![3] === undefined) expect(listed.length).toBe(total);
      else {
        expect(total).toBeGreaterThan(listed.length);
        expect(listed.length).toBe(Number(m![3]));
        expect(lines[0]).toContain(`showing the best ${listed.length} of ${total}`);
      }
      expect(r.stderr).toContain(`regionclip: ${total} detection(s) in 1 of 1 image(s)`);
    }
  });
});
