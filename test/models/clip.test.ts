import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ClipModel } from '../../src/models/clip.js';
import { l2NormalizeRows } from '../../src/text/prompts.js';
import { ConfigError, ModelLoadError } from '../../src/errors.js';
import { readManifest } from '../../src/models/manifest.js';
import { repoRoot } from '../helpers/golden.js';

const tiny = join(repoRoot, 'fixtures', 'models', 'tiny-clip');
const reference = JSON.parse(readFileSync(join(tiny, 'reference.json'), 'utf8'));
const scratch = mkdtempSync(join(tmpdir(), 'regionclip-models-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function expectRowsClose(got: Float32Array, torchRaw: number[], dim: number, tolerance = 1e-4) {
  const expected = l2NormalizeRows(Float32Array.from(torchRaw), dim);
  expect(got.length).toBe(expected.length);
  let maxErr = 0;
  for (let i = 0; i < expected.length; i++) maxErr = Math.max(maxErr, Math.abs(got[i] - expected[i]));
  expect(maxErr).toBeLessThanOrEqual(tolerance);
}

describe('tiny CLIP towers against torch', () => {
  it('image and text embeddings equal the torch references within 1e-4', async () => {
    const model = await ClipModel.load(tiny);
    expect(model.embedDim).toBe(16);
    const pixels = { data: Float32Array.from(reference.pixel_values), dims: reference.pixel_values_dims };
    expectRowsClose(await model.embedPixels(pixels), reference.image_embeds, 16);
    const [rows, length] = reference.input_ids_dims;
    const ids: number[] = reference.input_ids;
    const lengths = Int32Array.from({ length: rows }, (_, r) => ids.slice(r * length, (r + 1) * length).indexOf(model.tokenizer.eot) + 1);
    const tokens = { data: BigInt64Array.from(ids, (v) => BigInt(v)), dims: [rows, length] as [number, number], dtype: 'int64' as const, lengths };
    expectRowsClose(await model.embedTokens(tokens), reference.text_embeds, 16);
    // Batching does not change results.
    const texts = ['a photo of a cat.', 'a red jacket', 'traffic light'];
    const one = await model.embedTexts(texts);
    const again = await (await ClipModel.load(tiny, { textBatchSize: 1 })).embedTexts(texts);
    for (let i = 0; i < one.length; i++) expect(Math.abs(one[i] - again[i])).toBeLessThan(1e-6);
    // Rows are unit length.
    for (let r = 0; r < 3; r++) expect(Math.hypot(...one.subarray(16 * r, 16 * r + 16))).toBeCloseTo(1, 5);
    await model.release();
  });
});

describe('manifest checks', () => {
  function copyTiny(name: string): string {
    const dir = join(scratch, name);
    cpSync(tiny, dir, { recursive: true });
    return dir;
  }

  it('reports a renamed input, a missing file and a wrong sha256 together in one error', async () => {
    const dir = copyTiny('broken');
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    manifest.graphs.text.inputs[0].name = 'token_ids';
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    rmSync(join(dir, 'merges.txt'));
    const vision = readFileSync(join(dir, 'vision_model.onnx'));
    vision[vision.length - 1] ^= 1; // flips one weight bit: sha256 no longer matches
    writeFileSync(join(dir, 'vision_model.onnx'), vision);
    const error = await ClipModel.load(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelLoadError);
    const message = (error as Error).message;
    expect(message).toMatch(/^Expected a model matching its manifest for .*manifest.json but received 4 problem\(s\)/);
    expect(message).toContain('merges.txt: file is missing');
    expect(message).toMatch(/vision_model.onnx: sha256 is [0-9a-f]{64}, manifest records [0-9a-f]{64}/);
    expect(message).toContain('input "token_ids" is declared but the graph has inputs [input_ids]');
    expect(message).toContain('the graph needs input "input_ids", which the manifest does not declare');
  });

  it('rejects a wrong dtype or fixed dim', async () => {
    const dir = copyTiny('dims');
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    manifest.graphs.vision.inputs[0].dims = ['batch', 3, 64, 64];
    manifest.graphs.text.outputs[0].dtype = 'float16';
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    await expect(ClipModel.load(dir)).rejects.toThrow(/dims \["batch", 3, 32, 32\], manifest says \["batch", 3, 64, 64\].*|.*has dtype float32, manifest says float16/);
  });

  it('rejects unknown keys with a suggestion, and bad values with their path', async () => {
    const dir = copyTiny('keys');
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    manifest.embedDimm = 16;
    manifest.preprocess.meen = manifest.preprocess.mean;
    manifest.logitScale = -1;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const error = await readManifest(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('embedDimm: unknown key (did you mean "embedDim"?)');
    expect((error as Error).message).toContain('preprocess.meen: unknown key (did you mean "mean"?)');
    expect((error as Error).message).toContain('logitScale:');
  });

  it('loads a Hugging Face CLIP ONNX folder (transformers.js layout) with a derived manifest', async () => {
    const dir = join(scratch, 'hf');
    mkdirSync(join(dir, 'onnx'), { recursive: true });
    cpSync(join(tiny, 'text_model.onnx'), join(dir, 'onnx', 'text_model.onnx'));
    cpSync(join(tiny, 'vision_model.onnx'), join(dir, 'onnx', 'vision_model.onnx'));
    cpSync(join(tiny, 'vocab.json'), join(dir, 'vocab.json'));
    cpSync(join(tiny, 'merges.txt'), join(dir, 'merges.txt'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ _name_or_path: 'tiny/clip', projection_dim: 16, vision_config: { image_size: 32 } }));
    writeFileSync(join(dir, 'preprocessor_config.json'), JSON.stringify({
      crop_size: { height: 32, width: 32 }, size: { shortest_edge: 32 }, do_center_crop: true, resample: 3,
      image_mean: [0.48145466, 0.4578275, 0.40821073], image_std: [0.26862954, 0.26130258, 0.27577711],
    }));
    const model = await ClipModel.load(dir);
    expect(model.manifest.preprocess.size).toBe(32);
    expect(model.logitScale).toBe(100);
    const pixels = { data: Float32Array.from(reference.pixel_values), dims: reference.pixel_values_dims };
    expectRowsClose(await model.embedPixels(pixels), reference.image_embeds, 16);
    await model.release();
  });
});
