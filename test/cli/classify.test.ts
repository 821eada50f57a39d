import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_DISTRACTORS, distractorsFor } from '../../src/text/distractors.js';
import { EXIT_CODES } from '../../src/errors.js';
import { repoRoot } from '../helpers/golden.js';

const bin = join(repoRoot, 'dist', 'cli', 'main.js');
const tiny = join(repoRoot, 'fixtures', 'models', 'tiny-clip');
const scratch = mkdtempSync(join(tmpdir(), 'regionclip-cli-classify-'));
const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: join(scratch, 'xdg') } });

beforeAll(async () => {
  for (const [name, colour] of [['red.png', { r: 220, g: 20, b: 20 }], ['blue.jpg', { r: 20, g: 20, b: 220 }]] as const) {
    const image = sharp({ create: { width: 48, height: 32, channels: 3, background: colour } });
    await (name.endsWith('.png') ? image.png() : image.jpeg()).toFile(join(scratch, name));
  }
  writeFileSync(join(scratch, 'broken.png'), 'not an image');
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('regionclip classify', () => {
  it('classifies a folder, keeps going past a broken image, and exits with its error code', () => {
    const r = cli('classify', scratch, '--labels', 'cat, dog;red car', '--model', tiny, '--json', '-', '--top-k', '2');
    expect(r.status).toBe(EXIT_CODES.invalidInput);
    const results = JSON.parse(r.stdout);
    expect(results.map((x: { image: { path: string } }) => x.image.path.split('/').pop())).toEqual(['blue.jpg', 'broken.png', 'red.png']);
    expect(results[0].labels).toHaveLength(2);
    expect(results[1].error.name).toBe('InvalidInputError');
    expect(r.stderr).toContain('classified 2 of 3 image(s)');
    expect(r.stderr).toMatch(/Expected every image to be classified for classify but received 1 failure\(s\): .*broken.png/);
  });

  it('writes a JSON file and succeeds when every image works (glob input)', () => {
    copyFileSync(join(scratch, 'red.png'), join(scratch, 'red2.png'));
    const out = join(scratch, 'out.json');
    const r = cli('classify', join(scratch, 'red*.png'), '--labels', 'cat,dog', '--model', tiny, '--json', out, '--templates', 'ensemble');
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('classified 2 of 2 image(s)');
  });

  it('uses the built-in model by default, and validates numbers', () => {
    const builtIn = cli('classify', join(scratch, 'red.png'), '--labels', 'cat,dog', '--json', '-');
    expect(builtIn.status).toBe(0);
    expect(JSON.parse(builtIn.stdout)[0].labels.map((l: { label: string }) => l.label).sort()).toEqual(['cat', 'dog']);
    const badK = cli('classify', join(scratch, 'red.png'), '--labels', 'cat', '--model', tiny, '--top-k', '0');
    expect(badK.status).toBe(EXIT_CODES.config);
    expect(badK.stderr).toContain('Expected a positive integer for classify.topK (--top-k) but received 0');
    const missing = cli('classify', join(scratch, 'nope.png'), '--labels', 'cat', '--model', tiny);
    expect(missing.status).toBe(EXIT_CODES.io);
    expect(missing.stderr).toContain('nope.png (no such file or folder)');
  });

  it('checks --json before any image, and says which files of a folder it skipped', () => {
    const r = cli('classify', scratch, '--labels', 'cat', '--model', tiny, '--json', join(scratch, 'nodir', 'out.json'));
    expect(r.status).toBe(EXIT_CODES.io);
    expect(r.stderr).toContain(`for --json but received ${join(scratch, 'nodir', 'out.json')} (the folder ${join(scratch, 'nodir')} does not exist)`);
    expect(r.stderr).not.toContain('classified');
    expect(r.stdout).toBe('');
    const mixed = join(scratch, 'mixed');
    mkdirSync(mixed);
    copyFileSync(join(scratch, 'red.png'), join(mixed, 'red.png'));
    writeFileSync(join(mixed, 'notes.txt'), 'no image');
    writeFileSync(join(mixed, 'scan.bmp'), 'BM');
    const skipped = cli('classify', mixed, '--labels', 'cat', '--model', tiny, '--json', '-');
    expect(skipped.status).toBe(0);
    expect(JSON.parse(skipped.stdout)).toHaveLength(1);
    expect(skipped.stderr).toContain(`regionclip: skipped 2 file(s) sharp does not decode (by extension): ${join(mixed, 'notes.txt')}, ${join(mixed, 'scan.bmp')}`);
    rmSync(mixed, { recursive: true });
  });

  it('fails to load a broken model folder with the model-load exit code', () => {
    const r = cli('classify', join(scratch, 'red.png'), '--labels', 'cat', '--model', scratch);
    expect(r.status).toBe(EXIT_CODES.modelLoad);
  });

  it('classifies the image piped to stdin when the input is "-" (named "-")', () => {
    const args = ['--labels', 'cat,dog', '--model', tiny, '--json', '-'];
    const r = spawnSync(process.execPath, [bin, 'classify', '-', ...args], { input: readFileSync(join(scratch, 'red.png')), encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: join(scratch, 'xdg') } });
    expect(r.status).toBe(0);
    const [result] = JSON.parse(r.stdout);
    expect(result.image).toEqual({ path: '-', width: 48, height: 32 });
    const fromFile = JSON.parse(cli('classify', join(scratch, 'red.png'), ...args).stdout)[0];
    expect(result.labels).toEqual(fromFile.labels);
    expect(result.labels).toHaveLength(2);
    // --json names the model that ran, as detect's does
    expect(Object.keys(result)).toEqual(['image', 'model', 'labels']);
    expect(result.model).toEqual(fromFile.model);
    expect(result.model).toMatchObject({ dtype: 'fp32' });
    expect(result.model.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('shows text-embedding progress for many labels, and --quiet hides every progress line', () => {
    const labels = Array.from({ length: 40 }, (_, i) => `thing ${i}`).join(',');
    const args = ['classify', join(scratch, 'red.png'), join(scratch, 'blue.jpg'), '--labels', labels, '--model', tiny, '--no-cache'];
    const r = cli(...args);
    expect(r.status).toBe(0);
    const total = 40 + distractorsFor(BUILTIN_DISTRACTORS, labels.split(',')).length; // the labels and the built-in pool, one count
    expect(r.stderr.split('\n').filter((l) => l.startsWith('text ')).at(-1)).toMatch(new RegExp(`^text █{24} ${total}/${total} `));
    const quiet = cli(...args, '--quiet');
    expect(quiet.status).toBe(0);
    expect(quiet.stderr.split('\n').filter((l) => /^(text|classify) /.test(l))).toEqual([]);
    expect(quiet.stderr).toContain('classified 2 of 2 image(s)');
  });
});

describe('regionclip classify: open-set scoring', () => {
  const world = join(repoRoot, 'fixtures', 'world');
  const prob = (r: ReturnType<typeof cli>) => {
    expect(r.stderr).not.toContain('Error');
    expect(r.status).toBe(0);
    const [result] = JSON.parse(r.stdout) as { labels: { label: string; score: number }[] }[];
    expect(result.labels).toHaveLength(1);
    return result.labels[0].score;
  };
  it('a single absent label gets a low probability, a present one a high one; --distractors none is the old softmax', () => {
    // README's main scene (two bicycles and a sled) asked about a cat; singles/000000.jpg is a sloth
    expect(prob(cli('classify', join(world, 'images', '000020.jpg'), '--labels', 'cat', '--json', '-'))).toBeLessThan(0.1);
    expect(prob(cli('classify', join(world, 'singles', '000000.jpg'), '--labels', 'giraffe', '--json', '-'))).toBeLessThan(0.1);
    expect(prob(cli('classify', join(world, 'singles', '000000.jpg'), '--labels', 'sloth', '--json', '-'))).toBeGreaterThan(0.5);
    expect(prob(cli('classify', join(world, 'images', '000020.jpg'), '--labels', 'cat', '--json', '-', '--distractors', 'none'))).toBe(1);
  });
  it('never returns a distractor, and the probabilities of several labels leave the rest to the pool', () => {
    const r = cli('classify', join(world, 'singles', '000000.jpg'), '--labels', 'sloth,giraffe,bicycle', '--top-k', '10', '--json', '-');
    expect(r.status).toBe(0);
    const [result] = JSON.parse(r.stdout) as { labels: { label: string; score: number }[] }[];
    expect(result.labels).toHaveLength(3);
    expect(result.labels[0].label).toBe('sloth');
    expect(result.labels.map((l) => l.label).sort()).toEqual(['bicycle', 'giraffe', 'sloth']);
    const sum = result.labels.reduce((a, l) => a + l.score, 0);
    expect(sum).toBeLessThan(1);
    expect(sum).toBeGreaterThan(0.5);
  });
});
