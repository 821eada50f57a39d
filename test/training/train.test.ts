/**
 * Smoke test of the built-in model's recipe (training/train_world.py): a tiny synthetic world, a few
 * training steps of the tiny preset (CLIP image tower, text tower, RPN), export into a temporary folder, then the exported
 * model loads in the TS runtime (manifest, hashes, graph signatures) and detects and classifies. Then the
 * tiny recipe (training/configs/tiny.json) stopped five times (--stop-after) and resumed (--resume) equals
 * it run without a stop: every exported file byte for byte, every checkpoint and training state tensor
 * for tensor (test/training/compare_checkpoints.py).
 * Then RegionCLIP's learning half (issue 14) on the same world and work folder: `regionclip mine --rule
 * regionclip` with the exported model writes the pseudo-labels the (B) stage reads, (B) pretrain and (C)
 * transfer each train a few steps and resume exactly, and the (C) export (background embedding, head box
 * deltas) loads in the runtime, whose detect applies both.
 * Skips, saying so, when Debian's /usr/bin/python3 cannot import torch and torchvision
 * (`apt-get install -y python3-torch python3-torchvision`; .ci/run does) or when training/world's
 * node_modules is missing (`npm ci --prefix training/world`).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/image/read.js';
import { DetectorModel } from '../../src/models/detector.js';
import { Detector, competingPool, regressProposals } from '../../src/pipelines/detect.js';

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

  it('recovers a work folder from an exported model (training/recover_weights.py): its export computes the same, graph for graph', async () => {
    const recover = spawnSync(python, [join(root, 'training', 'recover_weights.py'), join(tmp, 'model'), '--work', join(tmp, 'recovered'), '--preset', 'tiny'],
      { encoding: 'utf8', timeout: 60_000 });
    expect(recover.status, recover.stderr).toBe(0);
    const exported = spawnSync(python, [join(root, 'training', 'train_world.py'), '--config', 'tiny', '--world', join(tmp, 'world'),
      '--work', join(tmp, 'recovered'), '--stage', 'export', '--out', join(tmp, 'recovered-model')], { encoding: 'utf8', timeout: 120_000 });
    expect(exported.status, exported.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(tmp, 'model', 'manifest.json'), 'utf8'));
    // the step counts come back from the description
    expect(JSON.parse(readFileSync(join(tmp, 'recovered-model', 'manifest.json'), 'utf8')).description).toContain(
      'phase 1 (image tower) 3 steps, phase 2 (text tower) 3, phase 3 (align) 0, RPN 3 steps');
    const wave = (n: number, f: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * f) * 2);
    const C4 = manifest.graphs.head.inputs[0].dims[1];
    const vocabSize = Object.keys(JSON.parse(readFileSync(join(tmp, 'model', 'vocab.json'), 'utf8'))).length;
    const ids = new BigInt64Array(2 * 77);
    [vocabSize - 2, 5, 9, vocabSize - 1].forEach((v, i) => { ids[i] = BigInt(v); ids[77 + i] = BigInt(i === 1 ? 7 : v); });
    const feeds: Record<string, Record<string, ort.Tensor>> = {
      'backbone.onnx': { images: new ort.Tensor('float32', wave(3 * 96 * 128, 0.37), [1, 3, 96, 128]) },
      'rpn.onnx': { images: new ort.Tensor('float32', wave(3 * 96 * 128, 0.37), [1, 3, 96, 128]) },
      'head.onnx': { roi_features: new ort.Tensor('float32', wave(2 * C4 * 196, 0.11).map(Math.abs), [2, C4, 14, 14]) },
      'vision_model.onnx': { pixel_values: new ort.Tensor('float32', wave(2 * 3 * 80 * 80, 0.05), [2, 3, 80, 80]) },
      'text_model.onnx': { input_ids: new ort.Tensor('int64', ids, [2, 77]) },
    };
    for (const [file, feed] of Object.entries(feeds)) {
      const [a, b] = await Promise.all([join(tmp, 'model', file), join(tmp, 'recovered-model', file)].map((f) => ort.InferenceSession.create(f)));
      const [ra, rb] = [await a.run(feed), await b.run(feed)];
      for (const name of Object.keys(ra)) {
        const x = ra[name].data as Float32Array;
        const y = rb[name].data as Float32Array;
        expect(y.length, `${file} ${name}`).toBe(x.length);
        const diff = x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);
        const scale = x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        expect(diff, `${file} ${name}`).toBeLessThanOrEqual(1e-5 * Math.max(1, scale));
      }
    }
  });

  // ---- RegionCLIP's learning half (issue 14): (A) is the model above; (B) and (C) continue it.
  const trainStage = (work: string, ...extra: string[]) => spawnSync(python, [
    join(root, 'training', 'train_world.py'), '--config', 'tiny', '--world', join(tmp, 'world'), '--work', work, ...extra,
  ], { encoding: 'utf8', timeout: 120_000 });
  const cliRun = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), ...args],
    { encoding: 'utf8', cwd: root, timeout: 120_000 });
  let labelCount = 0;

  it('(B) reads the pseudo-labels of a real `regionclip mine --rule regionclip` run', () => {
    // the pool: the scenes' concepts and the singles' (the image-text loss needs the singles' concepts in it)
    const names = new Set<string>();
    for (const line of readFileSync(join(tmp, 'world', 'scenes.jsonl'), 'utf8').trim().split('\n')) {
      for (const o of JSON.parse(line).objects) names.add(o.name);
    }
    for (const line of readFileSync(join(tmp, 'world', 'singles.jsonl'), 'utf8').trim().split('\n')) names.add(JSON.parse(line).label);
    writeFileSync(join(tmp, 'pool.txt'), [...names].join('\n') + '\n');
    const mine = cliRun('mine', join(tmp, 'world', 'captions.jsonl'), '--rule', 'regionclip', '--concepts', join(tmp, 'pool.txt'),
      '--model', join(tmp, 'model'), '--out', join(tmp, 'labels.jsonl'), '--proposals', '20', '--no-cache', '--quiet');
    expect(mine.status, mine.stderr).toBe(0);
    const records = readFileSync(join(tmp, 'labels.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(records).toHaveLength(10);
    const perImage: Record<string, number> = {};
    for (const r of records) if (r.labels.length > 0) perImage[r.image] = r.labels.length;
    labelCount = records.reduce((n, r) => n + r.labels.length, 0);
    expect(labelCount).toBeGreaterThan(0);
    const read = spawnSync(python, ['-c', [
      'import json, sys',
      `sys.path.insert(0, ${JSON.stringify(join(root, 'training'))})`,
      'from regionclip_train.data import World',
      'from regionclip_train.pseudo_labels import read_pool, read_pseudo_labels',
      'w = World(sys.argv[1]); pool = read_pool(sys.argv[2]); labels, skipped, outside = read_pseudo_labels(sys.argv[3], w, pool)',
      's = labels.scenes[0]',
      'print(json.dumps({"count": labels.count, "skipped": skipped, "outside": outside, "perImage": {w.captions[i]["image"]: len(labels.boxes[i]) for i in labels.scenes},',
      '  "first": {"image": w.captions[s]["image"], "box": labels.boxes[s][0].tolist(), "concept": pool[int(labels.concepts[s][0])], "score": float(labels.scores[s][0])}}))',
    ].join('\n'), join(tmp, 'world'), join(tmp, 'pool.txt'), join(tmp, 'labels.jsonl')], { encoding: 'utf8', timeout: 60_000 });
    expect(read.status, read.stderr).toBe(0);
    const got = JSON.parse(read.stdout);
    expect(got.count).toBe(labelCount);
    expect(got.skipped).toBe(0);
    expect(got.outside).toBe(0);
    expect(got.perImage).toEqual(perImage);
    const first = records.find((r) => r.image === got.first.image).labels[0]; // the world's scenes are 128 px, as mined: no scaling
    got.first.box.forEach((v: number, i: number) => expect(v).toBeCloseTo(first.box[i], 4));
    expect(got.first.concept).toBe(first.concept);
    expect(got.first.score).toBeCloseTo(first.score, 5);
  });

  it('(B) reads the default caption rule\'s labels: a concept outside the pool is an error, or left out and counted with --pretrain-outside-pool skip', () => {
    const mine = cliRun('mine', join(tmp, 'world', 'captions.jsonl'), '--concepts', join(tmp, 'pool.txt'),
      '--model', join(tmp, 'model'), '--out', join(tmp, 'caption-labels.jsonl'), '--proposals', '20', '--no-cache', '--quiet');
    expect(mine.status, mine.stderr).toBe(0);
    const labels = readFileSync(join(tmp, 'caption-labels.jsonl'), 'utf8').trim().split('\n').flatMap((l) => JSON.parse(l).labels as { concept: string }[]);
    expect(labels.length).toBeGreaterThan(1);
    // A pool without the first label's concept stands for a phrase outside the pool (on the full world, the
    // backdrop's "blue sky" labelled "sky"); the tiny world's captions name pool concepts only.
    const pool = new Set(readFileSync(join(tmp, 'pool.txt'), 'utf8').trim().split('\n'));
    pool.delete(labels[0].concept);
    writeFileSync(join(tmp, 'pool-less.txt'), [...pool].join('\n') + '\n');
    const inPool = labels.filter((l) => pool.has(l.concept)).length;
    expect(inPool).toBeGreaterThan(0);
    expect(labels.length - inPool).toBeGreaterThan(0);
    const read = (outside: string) => spawnSync(python, ['-c', [
      'import json, sys',
      `sys.path.insert(0, ${JSON.stringify(join(root, 'training'))})`,
      'from regionclip_train.data import World',
      'from regionclip_train.pseudo_labels import read_pool, read_pseudo_labels',
      'from regionclip_train.config import ConfigError',
      'w = World(sys.argv[1]); pool = read_pool(sys.argv[2])',
      'try:',
      '    labels, skipped, outside = read_pseudo_labels(sys.argv[3], w, pool, outside_pool=sys.argv[4])',
      '    print(json.dumps({"count": labels.count, "outside": outside}))',
      'except ConfigError as e:',
      '    print(json.dumps({"error": str(e)}))',
    ].join('\n'), join(tmp, 'world'), join(tmp, 'pool-less.txt'), join(tmp, 'caption-labels.jsonl'), outside], { encoding: 'utf8', timeout: 60_000 });
    const refused = read('error');
    expect(refused.status, refused.stderr).toBe(0);
    expect(JSON.parse(refused.stdout).error).toMatch(/a concept of the pool .*--pretrain-outside-pool skip.* but received "/);
    const skipped = read('skip');
    expect(skipped.status, skipped.stderr).toBe(0);
    expect(JSON.parse(skipped.stdout)).toEqual({ count: inPool, outside: labels.length - inPool });
  });

  it('(B) pretrain and (C) transfer train a few steps and resume exactly; a resume with other values is refused', () => {
    const works = { whole: join(tmp, 'rc', 'whole'), parts: join(tmp, 'rc', 'parts') };
    for (const w of Object.values(works)) {
      mkdirSync(w, { recursive: true });
      for (const f of ['clip.pt', 'rpn.pt', 'tokenizer.json']) copyFileSync(join(tmp, 'work', f), join(w, f));
    }
    const pretrain = ['--stage', 'pretrain', '--labels', join(tmp, 'labels.jsonl'), '--concepts', join(tmp, 'pool.txt')];
    const b = trainStage(works.whole, ...pretrain);
    expect(b.status, b.stderr).toBe(0);
    expect(b.stdout).toContain(`pseudo-labels: ${labelCount} boxes`);
    expect(b.stdout).toMatch(/pretrain step 3\/3 loss [\d.]+ \(concept [\d.]+ distill -?[\d.]+ image-text [\d.]+\) 8 labelled \+ 2 random boxes/);
    const c = trainStage(works.whole, '--stage', 'transfer');
    expect(c.status, c.stderr).toBe(0);
    // the classifier: every base concept of the world; the RoIs' GT: the world's base boxes (novel ones never enter)
    const concepts = JSON.parse(readFileSync(join(tmp, 'world', 'concepts.json'), 'utf8')).concepts as { id: number; split: string }[];
    const base = new Set(concepts.filter((x) => x.split === 'base').map((x) => x.id));
    const gt = JSON.parse(readFileSync(join(tmp, 'world', 'gt.json'), 'utf8'));
    const baseBoxes = gt.annotations.filter((a: { category_id: number; bbox: number[] }) => base.has(a.category_id) && a.bbox[2] >= 2 && a.bbox[3] >= 2).length;
    expect(c.stdout).toContain(`transfer: ${base.size} base classes, ${baseBoxes} base boxes`);
    expect(c.stdout).toMatch(/transfer step 3\/3 loss [\d.]+ \(cls [\d.]+ box [\d.]+\) 16 RoIs/);

    const stops: [string[], RegExp][] = [
      [[...pretrain, '--stop-after', '2'], /pretrain: stopped after step 2 of 3 /],
      [[...pretrain, '--resume'], /\(B\) pretrain resumes \S+ at step 2[\s\S]*pretrain step 3\/3/],
      [['--stage', 'transfer', '--stop-after', '1'], /transfer: stopped after step 1 of 3 /],
      [['--stage', 'transfer', '--resume'], /\(C\) transfer resumes \S+ at step 1[\s\S]*transfer step 3\/3/],
    ];
    for (const [i, [extra, expected]] of stops.entries()) {
      if (i === 1) {
        // A state saved before --pretrain-outside-pool existed (no such recipe key) resumes as made with its old
        // behaviour, "error": the key is taken out of the saved recipe here.
        const strip = spawnSync(python, ['-c', [
          'import sys, torch', 's = torch.load(sys.argv[1])', 'assert s["recipe"].pop("pretrain_outside_pool") == "error"', 'torch.save(s, sys.argv[1])',
        ].join('\n'), join(works.parts, 'pretrain-state.pt')], { encoding: 'utf8', timeout: 60_000 });
        expect(strip.status, strip.stderr).toBe(0);
      }
      const run = trainStage(works.parts, ...extra);
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toMatch(expected);
      if (i === 2) {
        const other = trainStage(works.parts, '--stage', 'transfer', '--resume', '--transfer-rois', '8');
        expect(other.status).not.toBe(0);
        expect(other.stderr).toMatch(/Expected the recipe that made \S+transfer-state\.pt for --resume but received other values: transfer_rois 16 -> 8\./);
      }
    }
    const checkpoints = ['pretrain.pt', 'pretrain-state.pt', 'transfer.pt', 'transfer-state.pt'];
    const compare = spawnSync(python, [join(root, 'test', 'training', 'compare_checkpoints.py'), works.whole, works.parts, ...checkpoints],
      { encoding: 'utf8', timeout: 60_000 });
    expect(compare.status, compare.stdout + compare.stderr).toBe(0);
    expect(compare.stdout.trim().split('\n').map((line) => line.replace(/ over \d+ tensors$/, ''))).toEqual(
      checkpoints.map((f) => `${f}: max abs diff 0`));
    const exported = trainStage(works.whole, '--stage', 'export', '--export-from', 'transfer', '--out', join(tmp, 'model-c'));
    expect(exported.status, exported.stderr).toBe(0);
  }, 300_000);

  it('--vision-from: a (C) detector whose whole-image vision graph is another checkpoint\'s image tower', () => {
    const work = join(tmp, 'rc', 'whole');
    expect(existsSync(join(tmp, 'model-c', 'manifest.json')), 'the (C) export of the test before').toBe(true);
    const out = (name: string) => join(tmp, name);
    for (const [name, extra] of [['model-cv', ['--export-from', 'transfer', '--vision-from', 'clip']], ['model-a', ['--export-from', 'clip']]] as const) {
      const run = trainStage(work, '--stage', 'export', ...extra, '--out', out(name));
      expect(run.status, run.stderr).toBe(0);
    }
    const sha = (dir: string, f: string) => createHash('sha256').update(readFileSync(join(out(dir), f))).digest('hex');
    // the vision graph is clip.pt's, byte for byte; the detector graphs, background and text tower are (C)'s
    expect(sha('model-cv', 'vision_model.onnx')).toBe(sha('model-a', 'vision_model.onnx'));
    expect(sha('model-cv', 'vision_model.onnx')).not.toBe(sha('model-c', 'vision_model.onnx'));
    for (const f of ['backbone.onnx', 'head.onnx', 'rpn.onnx', 'text_model.onnx', 'background.bin']) expect(sha('model-cv', f), f).toBe(sha('model-c', f));
    const manifest = JSON.parse(readFileSync(join(out('model-cv'), 'manifest.json'), 'utf8'));
    expect(manifest.files['vision_model.onnx'].sha256).toBe(sha('model-cv', 'vision_model.onnx'));
    expect(manifest.description).toContain('the whole-image vision graph (classify) is the image tower of clip.pt (--vision-from clip)');
    // recover_weights.py reads the image tower from the vision graph: from model-cv it recovers the CLIP towers, whose
    // export is model-a again, graph for graph and byte for byte, with the CLIP phases' world and steps in its
    // description; from model-c (no --vision-from) it says that the tower it recovers is (C)'s
    const recover = (model: string, into: string) => spawnSync(python, [join(root, 'training', 'recover_weights.py'), out(model), '--work', join(tmp, 'rc', into), '--preset', 'tiny'],
      { encoding: 'utf8', timeout: 60_000 });
    const fromCv = recover('model-cv', 'recovered-cv');
    expect(fromCv.status, fromCv.stderr).toBe(0);
    expect(fromCv.stdout).not.toContain('note:');
    const again = trainStage(join(tmp, 'rc', 'recovered-cv'), '--stage', 'export', '--out', out('model-a-again'));
    expect(again.status, again.stderr).toBe(0);
    for (const f of ['vision_model.onnx', 'backbone.onnx', 'head.onnx', 'text_model.onnx', 'rpn.onnx']) expect(sha('model-a-again', f), f).toBe(sha('model-a', f));
    const described = (dir: string) => JSON.parse(readFileSync(join(out(dir), 'manifest.json'), 'utf8')).description as string;
    expect(described('model-a-again')).toBe(described('model-a'));
    expect(described('model-a')).toMatch(/trained on the synthetic world \(\d+ scenes, \d+ single-object images\)/);
    const fromC = recover('model-c', 'recovered-c');
    expect(fromC.status, fromC.stderr).toBe(0);
    expect(fromC.stdout).toContain(`note: the vision graph of ${out('model-c')} holds the image tower of (C) transfer.pt, not the CLIP phases'`);
    // only export takes it, and the checkpoint must be there
    const refused = trainStage(work, '--stage', 'transfer', '--vision-from', 'clip');
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/--vision-from is used by --stage export only/);
    const bare = join(tmp, 'rc', 'vision-bare');
    mkdirSync(bare, { recursive: true });
    for (const f of ['transfer.pt', 'rpn.pt', 'tokenizer.json']) copyFileSync(join(work, f), join(bare, f));
    const missing = trainStage(bare, '--stage', 'export', '--export-from', 'transfer', '--vision-from', 'pretrain', '--out', out('model-bare'));
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/a trained pretrain\.pt to export \(--vision-from pretrain\)/);
    expect(existsSync(out('model-bare')), 'a refused export leaves no --out folder').toBe(false);
  }, 300_000);

  it('--transfer-freeze: the frozen part of the image tower leaves (C) as it came from (B), the rest trains', () => {
    // which parameter groups (C) changed against its start, pretrain.pt, per setting
    const changed = (work: string) => {
      const run = spawnSync(python, ['-c', [
        'import sys, torch',
        'a, b = torch.load(sys.argv[1]), torch.load(sys.argv[2])',
        'out = []',
        'for part in ("backbone", "head"):',
        '    groups = sorted({k.split(".")[0] for k in a[part]})',
        '    for g in groups:',
        '        keys = [k for k in a[part] if k.split(".")[0] == g and a[part][k].is_floating_point()]',
        '        out.append(f"{part}.{g}:{int(any(not torch.equal(a[part][k], b[part][k]) for k in keys))}")',
        'print(" ".join(out))',
      ].join('\n'), join(work, 'pretrain.pt'), join(work, 'transfer.pt')], { encoding: 'utf8', timeout: 60_000 });
      expect(run.status, run.stderr).toBe(0);
      return run.stdout.trim();
    };
    const expected = {
      res2: 'backbone.res2:0 backbone.res3:1 backbone.res4:1 backbone.stem:0 head.out_norm:1 head.pool:1 head.res5:1',
      res4: 'backbone.res2:0 backbone.res3:0 backbone.res4:0 backbone.stem:0 head.out_norm:1 head.pool:1 head.res5:1',
      all: 'backbone.res2:0 backbone.res3:0 backbone.res4:0 backbone.stem:0 head.out_norm:0 head.pool:0 head.res5:0',
    };
    for (const [setting, groups] of Object.entries(expected)) {
      const work = join(tmp, 'rc', `freeze-${setting}`);
      mkdirSync(work, { recursive: true });
      for (const f of ['pretrain.pt', 'rpn.pt', 'tokenizer.json']) copyFileSync(join(tmp, 'rc', 'whole', f), join(work, f));
      const run = trainStage(work, '--stage', 'transfer', '--transfer-freeze', setting);
      expect(run.status, run.stderr).toBe(0);
      expect(changed(work), setting).toBe(groups);
    }
  }, 300_000);

  it('--ignore-labels: a background RoI on a pseudo-label of a non-base concept is left out of (C)\'s sample (hand-computed), and the run logs how many such labels it read', () => {
    // ignore_background and sample_rois on hand-made RoIs: K = 3 base classes, label 3 = background
    const unit = spawnSync(python, ['-c', [
      'import json, sys, torch',
      `sys.path.insert(0, ${JSON.stringify(join(root, 'training'))})`,
      'from regionclip_train.region_phases import IGNORE, ignore_background, sample_rois',
      'cand = torch.tensor([[0, 0, 10, 10], [20, 20, 30, 30], [20, 20, 30, 36], [50, 50, 60, 60], [0, 0, 10, 10.], [20, 20, 30, 40]])',
      'lab = torch.tensor([1, 3, 3, 3, 3, 3])',
      'ignored = torch.tensor([[20, 20, 30, 30], [0, 0, 10, 10.]])',
      // RoI 0 is foreground (kept whatever it overlaps); 1: IoU 1 with an ignored box; 2: IoU 100/160 = 0.625;
      // 3: no overlap; 4: background on the second ignored box; 5: IoU 100/200 = 0.5 exactly (>=: left out at 0.5)
      'out = {str(t): ignore_background(lab, cand, ignored, 3, t).tolist() for t in (0.5, 0.7)}',
      'out["none"] = ignore_background(lab, cand, None, 3, 0.5).tolist()',
      'out["empty"] = ignore_background(lab, cand, torch.zeros((0, 4)), 3, 0.5).tolist()',
      'g = torch.Generator().manual_seed(0)',
      'lab2 = torch.tensor([IGNORE] * 50 + [3] * 5 + [0] * 5)',
      'out["drawn"] = sorted({int(lab2[i]) for _ in range(20) for i in sample_rois(lab2, 3, 8, 0.25, g)})',
      'out["count"] = len(sample_rois(lab2, 3, 100, 0.25, g))',
      'print(json.dumps(out))',
    ].join('\n')], { encoding: 'utf8', timeout: 60_000 });
    expect(unit.status, unit.stderr).toBe(0);
    expect(JSON.parse(unit.stdout)).toEqual({
      '0.5': [1, -1, -1, 3, -1, -1],
      '0.7': [1, -1, 3, 3, -1, 3],
      none: [1, 3, 3, 3, 3, 3],
      empty: [1, 3, 3, 3, 3, 3],
      drawn: [0, 3], // never an ignored RoI
      count: 10, // at most 25 foreground of 100, then every background: the 5 + 5 that are not ignored
    });

    // the run: the real mine output of the test above with a whole-scene label of a novel concept added to every
    // record (the tiny model's labels may name none; with --transfer-ignore-iou 0.01 every background proposal of
    // 1% of the scene or more is left out), and one label outside the world's pool
    const concepts = JSON.parse(readFileSync(join(tmp, 'world', 'concepts.json'), 'utf8')).concepts as { id: number; name: string; split: string }[];
    const novel = concepts.find((c) => c.split !== 'base')!.name;
    const splitOf = new Map(concepts.map((c) => [c.name, c.split]));
    const records = readFileSync(join(tmp, 'labels.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { image: string; width: number; height: number; labels: { concept: string }[] });
    for (const r of records) r.labels.push({ box: [0, 0, r.width, r.height], concept: novel, score: 0.5 } as { concept: string });
    records[1].labels.push({ box: [0, 0, 10, 10], concept: 'no such concept', score: 0.5 } as { concept: string });
    writeFileSync(join(tmp, 'ignore.jsonl'), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const mined = records.flatMap((r) => r.labels).filter((l) => splitOf.has(l.concept));
    const isOutside = (l: { concept: string }) => splitOf.get(l.concept) !== undefined && splitOf.get(l.concept) !== 'base';
    const outside = mined.filter(isOutside).length;
    // the scenes (C) samples: those with a base box of at least 2 px a side, as base_boxes keeps them
    const gt = JSON.parse(readFileSync(join(tmp, 'world', 'gt.json'), 'utf8')) as { images: { id: number; file_name: string }[]; annotations: { image_id: number; category_id: number; bbox: number[] }[] };
    const baseIds = new Set(concepts.filter((c) => c.split === 'base').map((c) => c.id));
    const gtScenes = new Set(gt.annotations.filter((a) => baseIds.has(a.category_id) && a.bbox[2] >= 2 && a.bbox[3] >= 2).map((a) => a.image_id));
    const images = new Map(gt.images.map((i) => [basename(i.file_name), i.id]));
    const scenes = records.filter((r) => r.labels.some(isOutside) && gtScenes.has(images.get(basename(r.image))!)).length;
    expect(outside).toBeGreaterThanOrEqual(records.length);
    const work = join(tmp, 'rc', 'ignore');
    mkdirSync(work, { recursive: true });
    for (const f of ['pretrain.pt', 'rpn.pt', 'tokenizer.json']) copyFileSync(join(tmp, 'rc', 'whole', f), join(work, f));
    const run = trainStage(work, '--stage', 'transfer', '--ignore-labels', join(tmp, 'ignore.jsonl'), '--transfer-ignore-iou', '0.01', '--stop-after', '1');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`--ignore-labels: \\d+ of ${mined.length} pseudo-labels name a concept outside the base classes, on ${scenes} scenes with base boxes: background RoIs with IoU >= 0.01 with them are left out of the RoI sample \\(1 outside the pool skipped\\)`));
    expect(Number(/--ignore-labels: (\d+) of/.exec(run.stdout)![1])).toBeLessThanOrEqual(outside);
    // the step: some background RoIs were left out (the labels reach the sample, flipped scenes too)
    expect(Number(/transfer step 1\/3 .* RoIs \(\d+ fg, (\d+) left out\)/.exec(run.stdout)?.[1])).toBeGreaterThan(0);
    // the labels are part of the recipe: resuming without them (or with another IoU) is refused
    const other = trainStage(work, '--stage', 'transfer', '--resume', '--ignore-labels', join(tmp, 'ignore.jsonl'));
    expect(other.status).not.toBe(0);
    expect(other.stderr).toMatch(/other values: transfer_ignore_iou 0\.01 -> 0\.5\./);
    const without = trainStage(work, '--stage', 'transfer', '--resume');
    expect(without.status).not.toBe(0);
    expect(without.stderr).toMatch(/other values: ignore_labels 'sha256:[0-9a-f]{64}' -> None; transfer_ignore_iou 0\.01 -> None\./);
    const alone = trainStage(work, '--stage', 'transfer', '--transfer-ignore-iou', '0.7');
    expect(alone.status).toBe(2);
    expect(alone.stderr).toContain('--transfer-ignore-iou is used with --ignore-labels only');
    // a file whose labels all name base classes would change nothing: refused
    const baseOnly = records.map((r) => ({ ...r, labels: r.labels.filter((l) => splitOf.get(l.concept) === 'base') }));
    writeFileSync(join(tmp, 'base-only.jsonl'), baseOnly.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const nothing = trainStage(work, '--stage', 'transfer', '--ignore-labels', join(tmp, 'base-only.jsonl'), '--stop-after', '1');
    expect(nothing.status).not.toBe(0);
    expect(nothing.stderr).toContain('Expected pseudo-labels of concepts outside the base classes on scenes with base boxes for --ignore-labels but received none');
    const missing = trainStage(work, '--stage', 'transfer', '--ignore-labels', join(tmp, 'no-such.jsonl'), '--stop-after', '1');
    expect(missing.stderr).toContain('Expected a readable `regionclip mine` JSONL for --ignore-labels');
    const refused = trainStage(work, '--stage', 'pretrain', '--labels', join(tmp, 'labels.jsonl'), '--ignore-labels', join(tmp, 'labels.jsonl'));
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('--ignore-labels is used by --stage transfer only');
  }, 300_000);

  it('--device: (C) only, cpu or cuda[:N], and a CUDA device that this PyTorch sees', () => {
    const work = join(tmp, 'rc', 'whole');
    const refused: [string[], RegExp][] = [
      [['--stage', 'pretrain', '--labels', join(tmp, 'labels.jsonl'), '--device', 'cuda'], /--device cuda is used by --stage transfer only/],
      [['--stage', 'transfer', '--device', 'tpu'], /Expected cpu, cuda or cuda:N for --device but received 'tpu'/],
      [['--stage', 'transfer', '--device', 'meta'], /Expected cpu, cuda or cuda:N for --device but received 'meta'\./],
    ];
    const cuda = spawnSync(python, ['-c', 'import torch; print(torch.cuda.is_available())'], { encoding: 'utf8' }).stdout.trim();
    if (cuda === 'False') refused.push([['--stage', 'transfer', '--device', 'cuda'], /Expected a CUDA device for --device cuda but received a PyTorch \(\S+\) that sees none\./]);
    for (const [args, message] of refused) {
      const run = trainStage(work, ...args);
      expect(run.status, run.stdout).toBe(2); // argparse's usage error
      expect(run.stderr).toMatch(message);
    }
    // Files are saved through checkpoint.on_cpu: what holds no GPU tensor comes back as the same object (a CPU run saves
    // the same bytes as before --device existed), a state_dict's _metadata included.
    const same = spawnSync(python, ['-c', [
      'import sys, torch', `sys.path.insert(0, ${JSON.stringify(join(root, 'training'))})`,
      'from regionclip_train.checkpoint import on_cpu',
      'sd = torch.nn.BatchNorm1d(3).state_dict()',
      'obj = {"a": [torch.zeros(2), (torch.ones(1), 3)], "b": sd, "c": "text"}',
      'print(on_cpu(sd) is sd, on_cpu(obj) is obj, on_cpu(obj)["b"]._metadata is sd._metadata)',
    ].join('\n')], { encoding: 'utf8', timeout: 60_000 });
    expect(same.status, same.stderr).toBe(0);
    expect(same.stdout.trim()).toBe('True True True');
  }, 120_000);

  it('(C) exports a background embedding and box deltas that the runtime loads and applies', async () => {
    const dir = join(tmp, 'model-c');
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.scoring).toEqual({ temperature: manifest.scoring.temperature, backgroundEmbed: 'background.bin', conceptPool: 'concepts.txt' });
    expect(manifest.scoring.temperature).toBeCloseTo(1 / manifest.logitScale, 3); // the towers' own (transfer_temperature null)
    expect(statSync(join(dir, 'background.bin')).size).toBe(4 * manifest.embedDim);
    expect(manifest.files['background.bin'].sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.regionEncoder.boxDeltas).toEqual({ output: 'box_deltas', weights: [10, 10, 5, 5] });
    expect(manifest.graphs.head.outputs.map((o: { name: string; dims: unknown[] }) => [o.name, o.dims])).toEqual(
      [['region_embeds', ['regions', manifest.embedDim]], ['box_deltas', ['regions', 4]]]);
    expect(manifest.description).toMatch(/region-text pretraining \(B\) .* 3 steps; then RegionCLIP's transfer \(C\) .* 3 steps\./);
    // each stage's world, as the checkpoints recorded it
    expect(manifest.description).toMatch(/pseudo-labels on a world of \d+ scenes, \d+ single-object images, .*base boxes only on a world of \d+ scenes/);

    const detector = await Detector.load(dir, { cacheDir: false, settings: { detect: { scoreThreshold: 0, distractors: 'none' } } });
    try {
      const model = detector.model;
      const background = model.backgroundEmbed!;
      expect(background).toHaveLength(manifest.embedDim);
      expect(Math.hypot(...background)).toBeCloseTo(1, 5); // the normalized trained direction
      expect(competingPool(model, 'builtin')).toEqual([]); // a trained background stands in for the built-in distractors
      const image = join(tmp, 'world', 'images', '000000.jpg');
      const result = (await detector.detect(image, { vocab: 'sandwich,frisbee' })).toJSON();
      expect(result.detections.length).toBeGreaterThan(0);
      // detect's boxes are the proposals decoded with the head's deltas, not the proposals themselves
      const decoded = await decodeImage(image);
      const { proposals, resized } = await model.propose(decoded, detector.settings.proposals);
      const regions = await model.encodeRegions(decoded, DetectorModel.toOriginal(proposals.boxes, resized), { resized });
      expect(regions.boxDeltas).toHaveLength(4 * proposals.boxes.length);
      expect(regions.boxDeltas!.some((v) => v !== 0)).toBe(true);
      const refined = regressProposals(proposals.boxes, regions.boxDeltas!, [10, 10, 5, 5], resized);
      const raw = DetectorModel.toOriginal(proposals.boxes, resized);
      const rows = (b: typeof raw) => Array.from({ length: b.length }, (_, i) => JSON.stringify(b.row(i)));
      const refinedRows = new Set(rows(refined));
      const rawRows = new Set(rows(raw));
      for (const d of result.detections) expect(refinedRows.has(JSON.stringify(d.box)), JSON.stringify(d.box)).toBe(true);
      expect(result.detections.filter((d) => !rawRows.has(JSON.stringify(d.box))).length).toBeGreaterThan(0);
    } finally {
      await detector.release();
    }
    const cli = cliRun('detect', join(tmp, 'world', 'images', '000001.jpg'), '--model', dir, '--vocab', 'sandwich,giraffe', '--no-cache', '--json', '-');
    expect(cli.status, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout).phrases).toEqual(['sandwich', 'giraffe']);
  });
});
