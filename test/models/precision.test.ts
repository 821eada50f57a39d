/**
 * Weight precision (`--dtype`, `LoadOptions.dtype`, manifest `graphs.<role>.variants`): which file each graph
 * runs, the hashes that keep checkpoints and caches apart, the errors, and the built-in model's int8 region
 * graphs (training/convert/quantize.py, static QDQ) against its fp32 ones on committed held-out world images.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, EXIT_CODES, ModelLoadError } from '../../src/errors.js';
import { boxIou } from '../../src/geometry/iou.js';
import { decodeImage } from '../../src/image/read.js';
import { DetectorModel } from '../../src/models/detector.js';
import { modelInfo, readManifest, selectPrecision } from '../../src/models/manifest.js';
import { Detector } from '../../src/pipelines/detect.js';
import { repoRoot } from '../helpers/golden.js';
import { fixtureRepo } from '../hub/fake-hub.js';
import { ClipModel } from '../../src/models/clip.js';

const builtin = join(repoRoot, 'models', 'world-rn-small');
const tiny = join(repoRoot, 'fixtures', 'models', 'tiny-detector-features');
const worldImages = ['000003.jpg', '000020.jpg', '000027.jpg'].map((f) => join(repoRoot, 'fixtures', 'world', 'images', f));
const bin = join(repoRoot, 'dist', 'cli', 'main.js');
const scratch = mkdtempSync(join(tmpdir(), 'regionclip-precision-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('selectPrecision', () => {
  it('int8 runs each graph\'s variants.int8 file and fp32 the rest; fp32\'s hash ignores the variants, int8\'s differs, the text cache is shared', async () => {
    const loaded = await readManifest(builtin);
    expect(loaded.dtype).toBe('fp32');
    expect(loaded.graphFiles).toEqual({ text: 'text_model.onnx', vision: 'vision_model.onnx', rpn: 'rpn.onnx', backbone: 'backbone.onnx', head: 'head.onnx', ensembleBackbone: 'ensemble_backbone.onnx', ensembleHead: 'ensemble_head.onnx' });
    const int8 = selectPrecision(loaded, 'int8');
    expect(int8.graphFiles).toEqual({ text: 'text_model.onnx', vision: 'vision_model.onnx', rpn: 'rpn.int8.onnx', backbone: 'backbone.int8.onnx', head: 'head.int8.onnx', ensembleBackbone: 'ensemble_backbone.int8.onnx', ensembleHead: 'ensemble_head.int8.onnx' });
    expect(int8.modelHash).not.toBe(loaded.modelHash);
    expect(int8.textHash).toBe(loaded.textHash);
    // Without its variants (as before they were added) the fp32 hash is the same: caches and checkpoints stay valid.
    const manifest = structuredClone(loaded.manifest);
    for (const spec of Object.values(manifest.graphs)) if (spec) delete spec.variants;
    for (const file of ['rpn.int8.onnx', 'backbone.int8.onnx', 'head.int8.onnx', 'ensemble_backbone.int8.onnx', 'ensemble_head.int8.onnx']) delete manifest.files[file];
    const dir = join(scratch, 'no-variants');
    cpSync(builtin, dir, { recursive: true });
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    expect((await readManifest(dir)).modelHash).toBe(loaded.modelHash);
    expect(selectPrecision(int8, 'fp32').modelHash).toBe(loaded.modelHash);
  });

  it('a model without the variant is a ConfigError naming the manifest key and how to make one', async () => {
    const loaded = await readManifest(tiny);
    expect(() => selectPrecision(loaded, 'int8')).toThrow(ConfigError);
    expect(() => selectPrecision(loaded, 'int8')).toThrow(/graphs\.<role>\.variants\.int8.*no int8 file for its graphs; it has fp32 files only; training\/convert\/quantize\.py makes int8 files for the region graphs of features-mode detectors only/);
    expect(() => selectPrecision(loaded, 'fp16')).toThrow(/variants\.fp16.*no tool here writes fp16 variants/);
    // Names outside the list (a library call with a typo, an Object prototype key) are the option's ConfigError.
    for (const bad of ['INT8', 'toString', 'constructor']) {
      expect(() => selectPrecision(loaded, bad as 'int8')).toThrow(`Expected one of fp32, fp16, int8 for dtype (--dtype) but received "${bad}".`);
    }
    await expect(DetectorModel.load(tiny, { dtype: 'toString' as 'int8' })).rejects.toThrow(ConfigError);
  });

  it('only the chosen files are checked: a bad int8 file does not stop fp32, and int8 reports it', async () => {
    const dir = join(scratch, 'bad-variant');
    cpSync(tiny, dir, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    manifest.graphs.head.variants = { int8: 'head.int8.onnx' };
    manifest.files['head.int8.onnx'] = { sha256: '0'.repeat(64) };
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    writeFileSync(join(dir, 'head.int8.onnx'), 'not a graph');
    const fp32 = await DetectorModel.load(dir);
    await fp32.release();
    await expect(DetectorModel.load(dir, { dtype: 'int8' })).rejects.toThrow(ModelLoadError);
    await expect(DetectorModel.load(dir, { dtype: 'int8' })).rejects.toThrow(/head\.int8\.onnx: sha256 is [0-9a-f]{64}, manifest records 0{64}/);
  });

  it('an int8 file made from another fp32 graph is refused (derivedFrom), and the error names only that file', async () => {
    const dir = join(scratch, 'stale-variant');
    cpSync(builtin, dir, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    // Every shipped variant records the fp32 file it was made from, as the manifest records that file now.
    for (const role of ['rpn', 'backbone', 'head']) {
      const { file, variants } = manifest.graphs[role];
      expect(manifest.files[variants.int8].derivedFrom).toEqual({ file, sha256: manifest.files[file].sha256 });
    }
    // head.onnx "re-exported" (as a converter would: a new graph, its new hash in the manifest), head.int8.onnx kept.
    const head = readFileSync(join(dir, 'head.onnx'));
    writeFileSync(join(dir, 'head.onnx'), Buffer.concat([head, Buffer.from([0])]));
    const { createHash } = await import('node:crypto');
    const now = createHash('sha256').update(Buffer.concat([head, Buffer.from([0])])).digest('hex');
    const was = manifest.files['head.onnx'].sha256;
    manifest.files['head.onnx'].sha256 = now;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const err = await DetectorModel.load(dir, { dtype: 'int8' }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(String((err as Error).message)).toContain(`head.int8.onnx: made from head.onnx with sha256 ${was}, but the manifest records head.onnx as ${now}`);
    expect(String((err as Error).message)).not.toMatch(/rpn\.int8|backbone\.int8/);
  });
});

describe('a Hugging Face folder\'s towers', () => {
  /** The fake Hub's tiny-clip repository on disk, with only the towers named. */
  const folder = (name: string, towers: Record<string, string>) => {
    const dir = join(scratch, name);
    for (const [path, data] of fixtureRepo()) {
      if (path.startsWith('onnx/')) continue;
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), data);
    }
    mkdirSync(join(dir, 'onnx'), { recursive: true });
    for (const [to, from] of Object.entries(towers)) writeFileSync(join(dir, 'onnx', to), fixtureRepo().get(`onnx/${from}`)!);
    return dir;
  };

  it('--dtype int8 runs onnx/*_int8.onnx; fp32 runs onnx/*.onnx, and is refused where only int8 towers were fetched', async () => {
    const both = folder('hf-both', { 'text_model.onnx': 'text_model.onnx', 'vision_model.onnx': 'vision_model.onnx', 'text_model_int8.onnx': 'text_model.onnx', 'vision_model_int8.onnx': 'vision_model.onnx' });
    const int8 = await ClipModel.load(both, { dtype: 'int8' });
    expect(int8.loaded.graphFiles).toEqual({ text: 'onnx/text_model_int8.onnx', vision: 'onnx/vision_model_int8.onnx' });
    await int8.release();
    const fp32 = await ClipModel.load(both, { dtype: 'fp32' });
    expect(fp32.loaded.graphFiles).toEqual({ text: 'onnx/text_model.onnx', vision: 'onnx/vision_model.onnx' });
    await fp32.release();
    // The folder records no hashes: the text cache still tells the int8 tower from the fp32 one.
    expect(int8.loaded.textHash).not.toBe(fp32.loaded.textHash);
    const plainBoth = await ClipModel.load(both);
    expect(plainBoth.loaded.textHash).toBe(fp32.loaded.textHash);
    await plainBoth.release();

    const only = folder('hf-int8', { 'text_model_int8.onnx': 'text_model.onnx', 'vision_model_int8.onnx': 'vision_model.onnx' });
    const plain = await ClipModel.load(only); // no --dtype: the tower present (README "Real weights"), as before
    expect(plain.loaded.graphFiles).toEqual({ text: 'onnx/text_model_int8.onnx', vision: 'onnx/vision_model_int8.onnx' });
    // results name the precision that ran, not the one asked (none)
    expect(modelInfo(plain.loaded).dtype).toBe('int8');
    expect(modelInfo(plainBoth.loaded).dtype).toBe('fp32');
    expect(modelInfo(int8.loaded).dtype).toBe('int8');
    const mixed = folder('hf-mixed', { 'text_model_int8.onnx': 'text_model.onnx', 'vision_model_fp16.onnx': 'vision_model.onnx' });
    const mixedModel = await ClipModel.load(mixed);
    expect(modelInfo(mixedModel.loaded).dtype).toBe('fp16+int8');
    await mixedModel.release();
    await plain.release();
    await expect(ClipModel.load(only, { dtype: 'fp32' })).rejects.toThrow(
      `Expected fp32 towers (onnx/text_model.onnx, onnx/vision_model.onnx) for --dtype fp32 (${only}) but received onnx/text_model_int8.onnx, onnx/vision_model_int8.onnx instead`);
    await expect(ClipModel.load(only, { dtype: 'fp16' })).rejects.toThrow(/no fp16 file for the graphs this command runs \(text, vision\); it has int8 files for text, vision; a Hugging Face folder's towers come in the precisions fetched: regionclip pull --dtype/);
  });
});

describe('the built-in model\'s int8 region graphs', () => {
  it('embed the same regions as fp32 (cosine ≥ 0.99 on average, ≥ 0.98 each; measured 0.9991 and 0.9963 with 7-bit weights on an AVX2-only CPU) on held-out world images', async () => {
    const fp32 = await DetectorModel.load(builtin, { intraOpThreads: 1 });
    const int8 = await DetectorModel.load(builtin, { intraOpThreads: 1, dtype: 'int8' });
    try {
      const cosines: number[] = [];
      const partner: number[] = [];
      for (const path of worldImages) {
        const image = await decodeImage(path);
        const { proposals, resized } = await fp32.propose(image);
        const boxes = DetectorModel.toOriginal(proposals.boxes, resized).gather(Array.from({ length: Math.min(100, proposals.scores.length) }, (_, i) => i));
        const D = fp32.manifest.embedDim;
        const compare = (a: Float32Array, b: Float32Array, into: number[]) => {
          for (let r = 0; r < boxes.length; r++) {
            let dot = 0;
            for (let i = 0; i < D; i++) dot += a[r * D + i] * b[r * D + i];
            into.push(dot); // both L2-normalized
          }
        };
        compare(await fp32.embedRegions(image, boxes, { resized }), await int8.embedRegions(image, boxes, { resized }), cosines);
        // the ensemble partner's int8 graphs too
        compare(await fp32.regionEnsemble!.encoder.embed(image, boxes, { resized }), await int8.regionEnsemble!.encoder.embed(image, boxes, { resized }), partner);
      }
      const mean = cosines.reduce((s, c) => s + c, 0) / cosines.length;
      console.log(`int8 vs fp32 region embeddings: mean cosine ${mean.toFixed(4)}, min ${Math.min(...cosines).toFixed(4)} over ${cosines.length} regions`);
      expect(cosines.length).toBe(300);
      expect(mean).toBeGreaterThanOrEqual(0.99);
      expect(Math.min(...cosines)).toBeGreaterThanOrEqual(0.98);
      const partnerMean = partner.reduce((s, c) => s + c, 0) / partner.length;
      console.log(`int8 vs fp32 ensemble-partner region embeddings: mean cosine ${partnerMean.toFixed(4)}, min ${Math.min(...partner).toFixed(4)}`);
      expect(partner.length).toBe(300);
      expect(partnerMean).toBeGreaterThanOrEqual(0.99);
      expect(Math.min(...partner)).toBeGreaterThanOrEqual(0.98);
    } finally {
      await fp32.release();
      await int8.release();
    }
  });

  it('README\'s main command finds the same objects in int8 (same labels, boxes IoU ≥ 0.8, scores within 0.05)', async () => {
    const run = async (dtype: 'fp32' | 'int8') => {
      const detector = await Detector.load('default', { dtype, cacheDir: false, intraOpThreads: 1 });
      try {
        return (await detector.detect(worldImages[1], { vocab: ['bicycle', 'sled'] })).detections;
      } finally {
        await detector.release();
      }
    };
    const a = await run('fp32');
    const b = await run('int8');
    expect(a.length).toBeGreaterThan(0);
    expect(b.map((d) => d.label)).toEqual(a.map((d) => d.label));
    a.forEach((d, i) => {
      expect(boxIou(Float32Array.from(d.box), Float32Array.from(b[i].box))[0]).toBeGreaterThanOrEqual(0.8);
      expect(Math.abs(d.score - b[i].score)).toBeLessThanOrEqual(0.05);
    });
  });
});

describe('--dtype on the command line', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  it('an unknown precision, or one the model lacks, is exit 4 before any image is read', () => {
    const bad = cli('detect', worldImages[0], '--vocab', 'cat', '--dtype', 'int4', '--quiet');
    expect(bad.status).toBe(EXIT_CODES.config);
    expect(bad.stderr).toContain('Expected one of fp32, fp16, int8 for dtype (--dtype) but received "int4"');
    const lacking = cli('detect', worldImages[0], '--vocab', 'cat', '--model', tiny, '--dtype', 'int8', '--quiet');
    expect(lacking.status).toBe(EXIT_CODES.config);
    expect(lacking.stderr).toMatch(/graphs\.<role>\.variants\.int8/);
    // classify runs the text and vision towers: the built-in model's int8 region graphs do not make it int8.
    const clip = cli('classify', worldImages[0], '--labels', 'cat,dog', '--dtype', 'int8', '--quiet');
    expect(clip.status).toBe(EXIT_CODES.config);
    expect(clip.stderr).toContain('no int8 file for the graphs this command runs (text, vision); it has int8 files for rpn, backbone, head');
  });

  it('detect --dtype int8 writes the same labels as fp32 on the built-in model, and each result names the precision and hash it ran', async () => {
    const loaded = await readManifest(builtin);
    const run = (dtype: string) => {
      const r = cli('detect', worldImages[1], '--vocab', 'bicycle,sled', '--dtype', dtype, '--json', '-', '--quiet', '--no-cache');
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { model: { name: string; hash: string; dtype: string }; detections: { label: string }[] };
    };
    const fp32 = run('fp32');
    const int8 = run('int8');
    expect(fp32.detections.length).toBeGreaterThan(0);
    expect(int8.detections.map((d) => d.label)).toEqual(fp32.detections.map((d) => d.label));
    expect(fp32.model).toEqual({ name: loaded.manifest.name, hash: loaded.modelHash, dtype: 'fp32' });
    expect(int8.model).toEqual({ name: loaded.manifest.name, hash: selectPrecision(loaded, 'int8').modelHash, dtype: 'int8' });
  });

  it('a mine checkpoint names its precision: resuming with another --dtype is refused', () => {
    const dir = join(scratch, 'mine');
    cpSync(join(repoRoot, 'fixtures', 'world'), dir, { recursive: true });
    const input = join(dir, 'one.jsonl');
    writeFileSync(input, `${readFileSync(join(dir, 'captions.jsonl'), 'utf8').split('\n')[0]}\n`);
    const out = join(dir, 'labels.jsonl');
    const first = cli('mine', input, '--out', out, '--dtype', 'int8', '--quiet', '--no-cache');
    expect(first.status, first.stderr).toBe(0);
    const again = cli('mine', input, '--out', out, '--dtype', 'int8', '--quiet', '--no-cache', '--resume');
    expect(again.status, again.stderr).toBe(0);
    const other = cli('mine', input, '--out', out, '--quiet', '--no-cache', '--resume');
    expect(other.status).toBe(EXIT_CODES.usage);
    expect(other.stderr).toContain('the settings the interrupted run used (model and its --dtype,');
    // Label Studio's model_version names the precision the labels came from.
    const studio = join(dir, 'tasks.json');
    const exported = cli('mine', input, '--out', studio, '--format', 'labelstudio', '--dtype', 'int8', '--quiet', '--no-cache');
    expect(exported.status, exported.stderr).toBe(0);
    expect((JSON.parse(readFileSync(studio, 'utf8')) as { predictions: { model_version: string }[] }[])[0].predictions[0].model_version).toBe('regionclip mine world-rn-small int8 (caption)');
  });
});
