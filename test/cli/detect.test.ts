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
/** The CLI with `input` piped to its stdin. */
const piped = (input: Buffer | string, ...args: string[]) => spawnSync(process.execPath, [bin, ...args], { input, encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: join(scratch, 'xdg') } });
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
    const r = cli('detect', image, '--vocab-file', join(scratch, 'vocab.txt'), '--model', model, '--conf', '0.3', '--json', json, '--coco', coco, '--save', save);
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

  it('reads the image from stdin when the input is "-", named "-" in every output', () => {
    const args = ['--vocab', 'red square,blue circle', '--model', model, '--conf', '0.3', '--json', '-'];
    const fromFile = JSON.parse(cli('detect', image, ...args).stdout);
    const r = piped(readFileSync(image), 'detect', '-', ...args);
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.image).toEqual({ path: '-', width: 160, height: 120 });
    expect(result.detections.length).toBeGreaterThan(0);
    expect(result.detections).toEqual(fromFile.detections);
    // With a file: a list in input order; the printed lines name it "-" too.
    const both = piped(readFileSync(image), 'detect', image, '-', ...args);
    expect(both.status).toBe(0);
    expect(JSON.parse(both.stdout).map((x: { image: { path: string } }) => x.image.path)).toEqual([image, '-']);
    const printed = piped(readFileSync(image), 'detect', '-', '--vocab', 'red square', '--model', model, '--conf', '0.3');
    expect(printed.stdout).toMatch(/^-: \d+ detection\(s\)/);
  });

  it('"-" with nothing piped, or twice, fails with a clear error; --json - still means stdout', () => {
    const empty = piped('', 'detect', '-', '--vocab', 'cat', '--model', model);
    expect(empty.status).toBe(EXIT_CODES.invalidInput);
    expect(empty.stderr.trim()).toBe('regionclip: Expected image bytes on stdin for the input - but received nothing (0 bytes).');
    const twice = piped(readFileSync(image), 'detect', '-', '-', '--vocab', 'cat', '--model', model);
    expect(twice.status).toBe(EXIT_CODES.usage);
    expect(twice.stderr).toContain('Expected - (stdin) once for the inputs but received it 2 times');
    // "--json -" is the option's value, not a stdin input: stdin is not read (nothing is piped).
    const json = piped('', 'detect', image, '--vocab', 'red square', '--model', model, '--json', '-');
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout).image.path).toBe(image);
  });

  it('saves the annotated stdin image as stdin.png in a --save folder', async () => {
    const folder = join(scratch, 'saved');
    const r = piped(readFileSync(image), 'detect', image, '-', '--vocab', 'red square', '--model', model, '--save', folder);
    expect(r.status).toBe(0);
    expect((await sharp(join(folder, 'stdin.png')).metadata()).width).toBe(160);
    expect((await sharp(join(folder, 'scene.png')).metadata()).width).toBe(160);
  });

  it('mine does not take "-" (it resumes from its input file)', () => {
    const r = piped('', 'mine', '-', '--out', join(scratch, 'mined.jsonl'));
    expect(r.status).toBe(EXIT_CODES.usage);
    expect(r.stderr).toContain('for mine <input> but received - (stdin)');
  });

  it('shows text-embedding progress on stderr (plain lines when stderr is not a terminal); --quiet shows no progress', () => {
    const vocab = join(scratch, 'many.txt');
    writeFileSync(vocab, Array.from({ length: 40 }, (_, i) => `label ${i}`).join('\n'));
    const args = ['detect', image, '--vocab-file', vocab, '--model', model, '--no-cache', '--json', join(scratch, 'many.json')];
    const r = cli(...args);
    expect(r.status).toBe(0);
    const text = r.stderr.split('\n').filter((l) => l.startsWith('text '));
    expect(text.length).toBeGreaterThanOrEqual(2);
    expect(text[0]).toMatch(/^text ░{24} 0\/40 /);
    expect(text.at(-1)).toMatch(/^text █{24} 40\/40 /);
    const quiet = cli(...args, '--quiet');
    expect(quiet.status).toBe(0);
    expect(quiet.stderr.split('\n').filter((l) => /^(text|detect) /.test(l))).toEqual([]);
    expect(quiet.stderr).toMatch(/^regionclip: \d+ detection\(s\) in 1 of 1 image\(s\)/m); // the summary line stays
  });
});
