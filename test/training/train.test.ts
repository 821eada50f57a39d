/**
 * Smoke test of the built-in model's recipe (training/train_world.py): a tiny synthetic world, a few
 * training steps of the tiny preset (CLIP image tower, text tower, RPN), export into a temporary folder, then the exported
 * model loads in the TS runtime (manifest, hashes, graph signatures) and detects and classifies. Then the
 * tiny recipe (training/configs/tiny.json) stopped five times (--stop-after) and resumed (--resume) equals
 * it run without a stop: every exported file byte for byte, every checkpoint and training state tensor
 * for tensor (test/training/compare_checkpoints.py).
 * Skips, saying so, when Debian's /usr/bin/python3 cannot import torch and torchvision
 * (`apt-get install -y python3-torch python3-torchvision`; .ci/run does) or when training/world's
 * node_modules is missing (`npm ci --prefix training/world`).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Detector } from '../../src/pipelines/detect.js';

const root = join(import.meta.dirname, '..', '..');
const worldDir = join(root, 'training', 'world');
const python = '/usr/bin/python3';
const torchCheck = existsSync(python) ? spawnSync(python, ['-c', 'import torch, torchvision'], { encoding: 'utf8' }) : undefined;
const hasTorch = torchCheck?.status === 0;
const hasWorld = existsSync(join(worldDir, 'node_modules', '@resvg', 'resvg-js'));
if (!hasTorch) console.warn(`Skipping the training smoke test: ${python} cannot import torch/torchvision (apt-get install -y python3-torch python3-torchvision).`);
else if (!hasWorld) console.warn('Skipping the training smoke test: training/world/node_modules is missing (npm ci --prefix training/world).');

describe.skipIf(!hasTorch || !hasWorld)('training/train_world.py (tiny world, a few steps)', () => {
  let tmp: string;
  let log = '';

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'train-world-'));
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const generate: any = await import(pathToFileURL(join(worldDir, 'generate.ts')).href);
    await generate.generateWorld({
      out: join(tmp, 'world'), split: 'train', images: 10, seed: 3, size: 128, singles: 12, singleSize: 80, heldOutStyle: false,
      boxes: 'base', cocoFraction: 0.5, cache: join(tmp, 'cache'), concurrency: 2, quiet: true,
    });
    const run = spawnSync(python, [
      join(root, 'training', 'train_world.py'), '--world', join(tmp, 'world'), '--work', join(tmp, 'work'), '--out', join(tmp, 'model'),
      '--preset', 'tiny', '--clip-steps', '3', '--rpn-steps', '3', '--clip-batch', '8', '--text-steps', '3', '--text-batch', '8', '--region-scenes', '2',
      '--rpn-batch', '2', '--log-every', '1', '--threads', '2',
    ], { encoding: 'utf8', timeout: 240_000 });
    log = `${run.stdout}\n${run.stderr}`;
    if (run.status !== 0) throw new Error(`train_world.py exited with ${run.status}:\n${log.slice(-4000)}`);
  }, 300_000);
  afterAll(() => { if (tmp) rmSync(tmp, { recursive: true, force: true }); });

  it('trains both parts and exports a features-mode detector manifest', () => {
    expect(log).toMatch(/clip step 3\/3/);
    expect(log).toMatch(/text step 3\/3/);
    expect(log).toMatch(/rpn step 3\/3/);
    const manifest = JSON.parse(readFileSync(join(tmp, 'model', 'manifest.json'), 'utf8'));
    expect(manifest.kind).toBe('detector');
    expect(manifest.regionEncoder.mode).toBe('features');
    expect(manifest.scoring.conceptPool).toBe('concepts.txt'); // regionclip mine's default pool: the world's concept names
    expect(manifest.description).toContain('phase 1 (image tower) 3 steps, phase 2 (text tower) 3, phase 3 (align) 0, RPN 3 steps');
    expect(Object.keys(manifest.graphs).sort()).toEqual(['backbone', 'head', 'rpn', 'text', 'vision']);
    // The text tower (causal, mean-pooled up to EOT) is exported with a free sequence axis: batches are fed cut after their last EOT.
    expect([manifest.tokenizer.padding, manifest.graphs.text.inputs[0].dims]).toEqual(['longest', ['batch', 'sequence']]);
    const vocab = JSON.parse(readFileSync(join(tmp, 'model', 'vocab.json'), 'utf8'));
    const ids = Object.values(vocab) as number[];
    // Hugging Face CLIP layout: <|startoftext|>, <|endoftext|> are the last two ids.
    expect(vocab['<|startoftext|>']).toBe(ids.length - 2);
    expect(vocab['<|endoftext|>']).toBe(ids.length - 1);
  });

  it('continues phase 1 from a checkpoint (--init) and counts its steps', () => {
    const run = spawnSync(python, [
      join(root, 'training', 'train_world.py'), '--world', join(tmp, 'world'), '--work', join(tmp, 'work2'), '--stage', 'clip-image',
      '--init', join(tmp, 'work', 'clip-image.pt'), '--preset', 'tiny', '--clip-steps', '2', '--clip-batch', '8', '--region-scenes', '2',
      '--log-every', '1', '--threads', '2',
    ], { encoding: 'utf8', timeout: 120_000 });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('continues');
    expect(run.stdout).toMatch(/after 3 steps/);
    expect(run.stdout).toMatch(/clip step 2\/2/);
    expect(run.stdout).toMatch(/\(5 phase-1 steps in all\)/);
  });

  it('resumes exactly: stopped and resumed runs equal an uninterrupted one, file for file', () => {
    const train = (dir: string, ...extra: string[]) => spawnSync(python, [
      join(root, 'training', 'train_world.py'), '--config', 'tiny', '--world', join(tmp, 'world'), '--work', join(tmp, dir, 'work'),
      '--out', join(tmp, dir, 'model'), ...extra,
    ], { encoding: 'utf8', timeout: 120_000 });
    const whole = train('whole');
    expect(whole.status, whole.stderr).toBe(0);
    // tiny.json: phase 1 = a run of 3 steps continued by one of 2, phase 2 = 3 steps, RPN = 3 steps.
    const stops: [string[], RegExp][] = [
      [['--stop-after', '2'], /clip: stopped after step 2 of 3 /],
      [['--resume', '--stop-after', '3'], /phase 1 resumes \S+ at step 2 of run 1[\s\S]*clip: stopped after step 3 of 3 /],
      [['--resume', '--stop-after', '4'], /phase 1 continues run 1 \(after 3 steps\)[\s\S]*clip: stopped after step 1 of 2 /],
      [['--resume', '--stop-after', '2'], /phase 1 resumes \S+ at step 1 of run 2[\s\S]*text: stopped after step 2 of 3 /],
      [['--resume', '--stop-after', '1'], /phase 2 resumes \S+ at step 2[\s\S]*rpn: stopped after step 1 of 3 /],
      [['--resume'], /rpn resumes \S+ at step 1[\s\S]*total [\d.]+ MiB/],
    ];
    for (const [i, [extra, expected]] of stops.entries()) {
      const run = train('parts', ...extra);
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toMatch(expected);
      if (i === 0) { // a resume with other recipe values is refused, naming them
        const other = train('parts', '--resume', '--clip-batch', '4');
        expect(other.status).not.toBe(0);
        expect(other.stderr).toMatch(/Expected the recipe that made \S+clip-image-state\.pt for --resume but received other values: clip_batch 8 -> 4;/);
      }
    }
    const files = readdirSync(join(tmp, 'whole', 'model')).sort();
    expect(files).toHaveLength(10); // the 5 graphs, vocab.json, merges.txt, concepts.txt, NOTICE, manifest.json
    expect(readdirSync(join(tmp, 'parts', 'model')).sort()).toEqual(files);
    const sha = (dir: string, f: string) => createHash('sha256').update(readFileSync(join(tmp, dir, 'model', f))).digest('hex');
    for (const f of files) expect(sha('parts', f), f).toBe(sha('whole', f));
    const checkpoints = ['clip-image.pt', 'clip.pt', 'rpn.pt', 'clip-image-state.pt', 'clip-text-state.pt', 'rpn-state.pt'];
    const compare = spawnSync(python, [join(root, 'test', 'training', 'compare_checkpoints.py'), join(tmp, 'whole', 'work'),
      join(tmp, 'parts', 'work'), ...checkpoints], { encoding: 'utf8', timeout: 60_000 });
    expect(compare.status, compare.stdout + compare.stderr).toBe(0);
    expect(compare.stdout.trim().split('\n').map((line) => line.replace(/ over \d+ tensors$/, ''))).toEqual(
      checkpoints.map((f) => `${f}: max abs diff 0`));
  }, 300_000);

  it('loads in the runtime and detects and classifies', async () => {
    const detector = await Detector.load(join(tmp, 'model'), { cacheDir: false });
    try {
      const result = (await detector.detect(join(tmp, 'world', 'images', '000000.jpg'), { vocab: 'dog,bicycle' })).toJSON();
      expect(result.phrases).toEqual(['dog', 'bicycle']);
      expect(result.image.width).toBe(128);
      for (const d of result.detections) {
        expect(['dog', 'bicycle']).toContain(d.label);
        expect(d.box[2]).toBeGreaterThanOrEqual(d.box[0]);
      }
    } finally {
      await detector.release();
    }
    const cli = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), 'classify', join(tmp, 'world', 'singles', '000000.jpg'),
      '--labels', 'dog,cat,bicycle', '--model', join(tmp, 'model'), '--no-cache', '--json', '-'], { encoding: 'utf8', cwd: root, timeout: 60_000 });
    expect(cli.status, cli.stderr).toBe(0);
    const out = JSON.parse(cli.stdout);
    expect(out[0].labels).toHaveLength(3);
  });
});
