import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_DISTRACTORS, distractorsFor } from '../../src/text/distractors.js';
import { EXIT_CODES } from '../../src/errors.js';
import { repoRoot } from '../helpers/golden.js';

const bin = join(repoRoot, 'dist', 'cli', 'main.js');
const model = join(repoRoot, 'fixtures', 'models', 'tiny-detector-features');
const scratch = mkdtempSync(join(tmpdir(), 'regionclip-cli-detect-'));
const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: join(scratch, 'xdg') } });
/** The CLI run from the scratch folder (relative paths), with extra environment variables. */
const cliHere = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [bin, ...args], { cwd: scratch, encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: join(scratch, 'xdg'), ...env } });
/** The summary line a run prints once every image was processed. */
const SUMMARY = /detection\(s\) in \d+ of \d+ image\(s\)/;
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

  it('--coco-gt matches labels to category names ignoring case and spacing; a label two categories match exits 3 naming both ids', () => {
    const images = [{ id: 42, file_name: 'scene.png', width: 160, height: 120 }];
    const gt = join(scratch, 'gt-names.json'), coco = join(scratch, 'coco-gt.json');
    writeFileSync(gt, JSON.stringify({ images, categories: [{ id: 5, name: 'Red  Square' }, { id: 6, name: 'cat' }], annotations: [] }));
    const ok = cli('detect', image, '--vocab', 'red square', '--model', model, '--conf', '0', '--coco', coco, '--coco-gt', gt);
    expect(ok.status).toBe(0);
    const written = JSON.parse(readFileSync(coco, 'utf8'));
    expect(written.length).toBeGreaterThan(0);
    expect(new Set(written.map((r: { image_id: number; category_id: number }) => `${r.image_id}:${r.category_id}`))).toEqual(new Set(['42:5']));

    writeFileSync(gt, JSON.stringify({ images, categories: [{ id: 5, name: 'red square' }, { id: 9, name: 'Red Square' }], annotations: [] }));
    const dup = cli('detect', image, '--vocab', 'red square', '--model', model, '--conf', '0', '--coco', coco, '--coco-gt', gt);
    expect(dup.status).toBe(EXIT_CODES.invalidInput);
    expect(dup.stderr).toContain('for the detection label but received "red square", which matches ids 5 ("red square") and 9 ("Red Square")');
  });

  it('--caption with a single word or a headline caption looks for its nouns', () => {
    const single = cli('detect', image, '--caption', 'bikes', '--model', model, '--conf', '0.3', '--json', '-');
    expect(single.status).toBe(0);
    expect(JSON.parse(single.stdout).phrases).toEqual(['bike']);
    const headline = cli('detect', image, '--caption', 'Man flies kite on beach.', '--model', model, '--conf', '0.3', '--json', '-');
    expect(headline.status).toBe(0);
    expect(JSON.parse(headline.stdout).phrases).toEqual(['man', 'kite', 'beach']);
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
    const args = ['--vocab', 'red square,blue circle', '--model', model, '--conf', '0.3', '--distractors', 'none', '--json', '-'];
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
    // One count for the labels and the distractor pool that competes with them (the default preset's built-in pool).
    const total = 40 + distractorsFor(BUILTIN_DISTRACTORS, Array.from({ length: 40 }, (_, i) => `label ${i}`)).length;
    expect(text[0]).toMatch(new RegExp(`^text ░{24} 0/${total} `));
    expect(text.at(-1)).toMatch(new RegExp(`^text █{24} ${total}/${total} `));
    const quiet = cli(...args, '--quiet');
    expect(quiet.status).toBe(0);
    expect(quiet.stderr.split('\n').filter((l) => /^(text|detect) /.test(l))).toEqual([]);
    expect(quiet.stderr).toMatch(/^regionclip: \d+ detection\(s\) in 1 of 1 image\(s\)/m); // the summary line stays
  });
});

describe('regionclip detect: checked before the work', () => {
  const tiny = ['--vocab', 'red square', '--model', model];
  beforeAll(async () => {
    const png = (width: number, height: number, r: number) => sharp({ create: { width, height, channels: 3, background: { r, g: 60, b: 60 } } }).png();
    mkdirSync(join(scratch, 'set', 'a'), { recursive: true });
    mkdirSync(join(scratch, 'set', 'b'), { recursive: true });
    await png(40, 30, 200).toFile(join(scratch, 'set', 'a', '1.png'));
    await png(50, 20, 100).toFile(join(scratch, 'set', 'b', '1.png'));
    writeFileSync(join(scratch, 'set', 'x.bmp'), 'BM not really a bitmap');
    writeFileSync(join(scratch, 'set', 'notes.txt'), 'not an image');
    await png(30, 30, 150).toFile(join(scratch, 'photo[1].png'));
    await png(30, 30, 150).toFile(join(scratch, 'photo1.png'));
    mkdirSync(join(scratch, 'a-folder'));
    writeFileSync(join(scratch, 'a-file'), 'not a folder');
  });

  // Item 4: output paths and the ground truth are checked before any image is processed.
  it('a missing output folder or a folder where a file belongs stops the run before any image', () => {
    for (const [flag, target, reason] of [
      ['--json', 'nodir/out.json', 'the folder nodir does not exist'],
      ['--coco', 'nodir/coco.json', 'the folder nodir does not exist'],
      ['--save', 'nodir/annotated.png', 'the folder nodir does not exist'],
      ['--json', 'a-folder', 'a folder'],
      ['--coco', 'a-file/coco.json', 'a-file is a file, not a folder'],
    ]) {
      const r = cliHere(['detect', 'scene.png', ...tiny, flag, target]);
      expect(r.status, `${flag} ${target}`).toBe(EXIT_CODES.io);
      expect(r.stderr).toContain(`for ${flag} but received ${target} (${reason})`);
      expect(r.stderr).not.toMatch(SUMMARY);
      expect(r.stdout).toBe('');
    }
  });

  it('a ground truth that lacks an image or a label is reported before any image', () => {
    writeFileSync(join(scratch, 'gt-partial.json'), JSON.stringify({ images: [{ id: 4, file_name: 'scene.png', width: 160, height: 120 }], categories: [{ id: 2, name: 'red square' }], annotations: [] }));
    const noImage = cliHere(['detect', 'scene.png', 'set/a/1.png', ...tiny, '--coco', 'c.json', '--coco-gt', 'gt-partial.json']);
    expect(noImage.status).toBe(EXIT_CODES.invalidInput);
    expect(noImage.stderr).toContain('Expected an image entry (file_name) for every input image for gt-partial.json but received none for 1 image(s): set/a/1.png.');
    expect(noImage.stderr).not.toMatch(SUMMARY);
    const noLabel = cliHere(['detect', 'scene.png', '--vocab', 'red square, blue circle', '--model', model, '--coco', 'c.json', '--coco-gt', 'gt-partial.json']);
    expect(noLabel.status).toBe(EXIT_CODES.invalidInput);
    expect(noLabel.stderr).toContain('Expected a category for every label for gt-partial.json but received none named "blue circle" (categories: red square).');
    expect(noLabel.stderr).not.toMatch(SUMMARY);
    expect(existsSync(join(scratch, 'c.json'))).toBe(false);
  });

  it('an image that fails leaves the others exported, and the exit code says so', () => {
    writeFileSync(join(scratch, 'broken.png'), 'not an image');
    const r = cliHere(['detect', 'scene.png', 'broken.png', ...tiny, '--conf', '0', '--coco', 'two.json', '--json', 'two-results.json']);
    expect(r.status).toBe(EXIT_CODES.invalidInput);
    expect(r.stderr).toContain('in 1 of 2 image(s)');
    const maps = JSON.parse(readFileSync(join(scratch, 'two.categories.json'), 'utf8'));
    expect(maps.images).toEqual([{ id: 1, file_name: 'scene.png', width: 160, height: 120 }]);
    expect(JSON.parse(readFileSync(join(scratch, 'two.json'), 'utf8')).length).toBeGreaterThan(0);
  });

  // Item 5: --save names, targets and counting.
  it('--save gives images that share a file name distinct, deterministic names (their paths inside the common folder)', async () => {
    const r = cliHere(['detect', 'set', ...tiny, '--save', 'saved']);
    expect(r.status).toBe(0);
    expect((await sharp(join(scratch, 'saved', 'a', '1.png')).metadata()).width).toBe(40);
    expect((await sharp(join(scratch, 'saved', 'b', '1.png')).metadata()).width).toBe(50);
    expect(existsSync(join(scratch, 'saved', '1.png'))).toBe(false);
    // An existing folder takes one image too.
    const one = cliHere(['detect', 'scene.png', ...tiny, '--save', 'saved']);
    expect(one.status).toBe(0);
    expect((await sharp(join(scratch, 'saved', 'scene.png')).metadata()).width).toBe(160);
  });

  it('a --save target that is neither an image path nor a folder fails before any image', () => {
    const r = cliHere(['detect', 'scene.png', ...tiny, '--save', 'annotated']);
    expect(r.status).toBe(EXIT_CODES.invalidInput);
    expect(r.stderr).toContain('Expected a .png, .jpg or .jpeg path, or a folder (an existing one, or a path ending in /) for --save but received "annotated".');
    expect(r.stderr).not.toMatch(SUMMARY);
  });

  it('an annotated image that cannot be written makes its image fail once in the summary', () => {
    mkdirSync(join(scratch, 'saved-broken'));
    // A link into a folder that does not exist: the target looks free up front, the write fails.
    symlinkSync(join(scratch, 'saved-broken', 'gone', 'x.png'), join(scratch, 'saved-broken', 'scene.png'));
    const r = cliHere(['detect', 'scene.png', ...tiny, '--save', 'saved-broken']);
    expect(r.status).toBe(EXIT_CODES.io);
    expect(r.stderr).toContain('in 0 of 1 image(s)');
    expect(r.stderr).toContain(', 1 failed');
  });

  // Item 6: given boxes are clipped to the image, empty ones dropped with a warning, malformed ones refused.
  it('--boxes: clipped to the image; boxes outside it or empty are dropped with a warning naming them', () => {
    writeFileSync(join(scratch, 'wild-boxes.json'), JSON.stringify({ 'scene.png': [[-16000, -12000, 32000, 24000], [20, 30, 70, 70], [200, 10, 300, 60], [10, 10, 10, 50]] }));
    const r = cliHere(['detect', 'scene.png', ...tiny, '--conf', '0', '--boxes', 'wild-boxes.json', '--json', '-']);
    expect(r.status).toBe(0);
    const boxes = JSON.parse(r.stdout).detections.map((d: { box: number[] }) => d.box.join(','));
    expect(new Set(boxes)).toEqual(new Set(['0,0,160,120', '20,30,70,70']));
    expect(r.stderr).toContain('regionclip: warning: scene.png: dropped 2 of 4 given boxes (outside the 160×120 image, or empty once clipped to it): #2 [200, 10, 300, 60], #3 [10, 10, 10, 50]');
  });

  it('--boxes: a box far larger than the image neither crashes nor crawls with the built-in model', () => {
    writeFileSync(join(scratch, 'huge-box.json'), JSON.stringify([[-50000, -50000, 50000, 50000]]));
    const r = cliHere(['detect', 'scene.png', '--vocab', 'red square', '--conf', '0', '--boxes', 'huge-box.json', '--json', '-']);
    expect(r.stderr).not.toContain('internal error');
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.detections.map((d: { box: number[] }) => d.box)).toEqual([[0, 0, 160, 120]]);
    expect(result.timings.regions).toBeLessThan(5000);
  });

  it('--boxes: a malformed or inverted box fails with exit 3 naming it, before any image', () => {
    writeFileSync(join(scratch, 'inverted-boxes.json'), JSON.stringify({ 'scene.png': [[0, 0, 10, 10], [50, 50, 10, 60]] }));
    const inverted = cliHere(['detect', 'scene.png', ...tiny, '--boxes', 'inverted-boxes.json']);
    expect(inverted.status).toBe(EXIT_CODES.invalidInput);
    expect(inverted.stderr).toContain('Expected x1 <= x2 and y1 <= y2 for inverted-boxes.json "scene.png" box 1 but received [50,50,10,60].');
    expect(inverted.stderr).not.toMatch(SUMMARY);
    writeFileSync(join(scratch, 'short-boxes.json'), JSON.stringify([[0, 0, 10]]));
    const short = cliHere(['detect', 'scene.png', ...tiny, '--boxes', 'short-boxes.json']);
    expect(short.status).toBe(EXIT_CODES.invalidInput);
    expect(short.stderr).toContain('Expected [x1, y1, x2, y2] (4 finite numbers) for short-boxes.json (every image) box 0 but received [0,0,10].');
  });

  // Item 7: one identity per image.
  it('an existing file with glob characters is one named file, taken literally', () => {
    const r = cliHere(['detect', 'photo[1].png', ...tiny, '--json', '-']);
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(Array.isArray(result)).toBe(false);
    expect(result.image.path).toBe('photo[1].png');
  });

  it('a folder\'s images keep the folder as written, and --boxes keys relative to it match', () => {
    writeFileSync(join(scratch, 'set-boxes.json'), JSON.stringify({ 'a/1.png': [[0, 0, 20, 20]], 'b/1.png': [[5, 5, 25, 15]] }));
    const r = cliHere(['detect', 'set', ...tiny, '--conf', '0', '--boxes', 'set-boxes.json', '--json', '-']);
    expect(r.status).toBe(0);
    const results = JSON.parse(r.stdout);
    expect(results.map((x: { image: { path: string } }) => x.image.path)).toEqual(['set/a/1.png', 'set/b/1.png']);
    expect(results[1].detections.map((d: { box: number[] }) => d.box)).toEqual([[5, 5, 25, 15]]);
    const named = cliHere(['detect', './set/a/1.png', ...tiny, '--json', '-']);
    expect(JSON.parse(named.stdout).image.path).toBe('set/a/1.png');
  });

  // Item 8: the text-embedding cache is optional.
  it('an unwritable cache location warns once and the run carries on', () => {
    for (const [args, env] of [[['--cache-dir', 'a-file'], {}], [[], { XDG_CACHE_HOME: join(scratch, 'a-file') }]] as const) {
      const r = cliHere(['detect', 'scene.png', '--vocab', 'red square, blue circle, green', '--model', model, '--json', '-', ...args], env);
      expect(r.stderr).not.toContain('internal error');
      expect(r.status).toBe(0);
      const warnings = r.stderr.split('\n').filter((l) => l.includes('warning'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^regionclip: warning: Expected a writable cache folder for .*a-file.* but received ENOTDIR; text embeddings are not cached on disk in this run\.$/);
    }
  });

  // Item 16: a folder gives what sharp decodes; a named file is always tried.
  it('a folder skips the files sharp cannot decode and says so; a named one is an error', () => {
    const r = cliHere(['detect', 'set', ...tiny, '--json', '-']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toHaveLength(2);
    expect(r.stderr).toContain('regionclip: skipped 2 file(s) sharp does not decode (by extension): set/notes.txt, set/x.bmp');
    const named = cliHere(['detect', 'set/x.bmp', ...tiny]);
    expect(named.status).toBe(EXIT_CODES.invalidInput);
    expect(named.stderr).toContain('set/x.bmp');
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

/**
 * The built-in model less its trained background (manifest scoring.backgroundEmbed removed): a detector that, like a
 * CLIP one, has only the labels and the distractor pool to say "not here" (the built-in model itself uses its
 * background instead of the built-in pool).
 */
const noBackground = join(scratch, 'no-background');
{
  cpSync(join(repoRoot, 'models', 'world-rn-small'), noBackground, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(noBackground, 'manifest.json'), 'utf8'));
  const file = manifest.scoring.backgroundEmbed as string;
  delete manifest.scoring.backgroundEmbed;
  delete manifest.files[file];
  rmSync(join(noBackground, file));
  writeFileSync(join(noBackground, 'manifest.json'), JSON.stringify(manifest, null, 2));
}

describe('regionclip detect: open-set scoring (the built-in distractor pool)', () => {
  // The default preset's distractor pool is embedded (90 concepts × 81 templates) once, then read from the cache.
  beforeAll(() => {
    expect(cli('detect', mainImage, '--vocab', 'giraffe', '--model', noBackground, '--quiet').status).toBe(0);
  }, 300_000);
  it('a single absent label finds nothing, where a softmax over it alone scored 0.98', () => {
    // the built-in model: its trained background
    const open = detectJson('--vocab', 'giraffe');
    expect(open.phrases).toEqual(['giraffe']);
    expect(open.detections).toEqual([]);
    // without a background: the pool turns it away …
    expect(detectJson('--vocab', 'giraffe', '--model', noBackground).detections).toEqual([]);
    // … and --distractors none is the softmax over the labels alone: every region is a giraffe
    const closed = detectJson('--vocab', 'giraffe', '--distractors', 'none', '--model', noBackground);
    expect(closed.detections.length).toBeGreaterThan(5);
    expect(closed.detections[0].score).toBeGreaterThan(0.95);
  });

  it('never reports a distractor, and a pool entry that is a label (any case or number) does not compete with it', () => {
    // the built-in pool competes where there is no trained background
    const result = detectJson('--vocab', 'bicycle,sled', '--conf', '0.05', '--model', noBackground);
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
    // a softmax over the two labels alone (no background, no pool): every region is a bicycle or a sled
    const closed = ['--distractors', 'none', '--model', noBackground];
    const perClass = detectJson('--vocab', 'bicycle,sled', ...closed);
    /** Pairs (better first) whose boxes overlap by IoU > 0.5. */
    const overlapping = (ds: Listed[]) => ds.flatMap((a, i) => ds.slice(i + 1).filter((b) => iou(a.box, b.box) > 0.5).map((b) => [a, b]));
    expect(perClass.detections.length).toBeGreaterThan(2);
    const mixed = overlapping(perClass.detections);
    expect(mixed.length).toBeGreaterThan(0);
    for (const [a, b] of mixed) expect(a.label).not.toBe(b.label); // per-class NMS: overlaps only across labels
    const agnostic = detectJson('--vocab', 'bicycle,sled', ...closed, '--agnostic-nms');
    expect(agnostic.detections.length).toBeGreaterThan(0);
    expect(overlapping(agnostic.detections)).toEqual([]);
    // the best overlapping pair: its better box stays, the other label's box on it goes
    const [better, worse] = mixed[0];
    expect(agnostic.detections).toContainEqual(better);
    expect(agnostic.detections).not.toContainEqual(worse);
    // the same through the preset key
    const viaSet = detectJson('--vocab', 'bicycle,sled', ...closed, '--set', 'detect.agnosticNms=true');
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
