/**
 * Text towers fed each batch cut after its last EOT (manifest `tokenizer.padding: "longest"` on a graph whose
 * sequence axis is free): the same embeddings as at 77 positions, batches of prompts sorted by length, results in
 * input order. Old folders keep 77 positions: a fixed axis (the committed tiny fixtures predate the free axis),
 * `padding` absent or "context", a Hugging Face folder whose model_type is not "clip". The built-in model's
 * re-exported text graph (training/reexport_text_tower.py) gives the embeddings of the graph it replaced.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, ModelLoadError } from '../../src/errors.js';
import { ClipModel } from '../../src/models/clip.js';
import { buildPrompts } from '../../src/text/prompts.js';
import { repoRoot } from '../helpers/golden.js';
import { copyWithManifest, expectedCutWidths, recordIdsDims, relativeDiff } from '../helpers/text-feeds.js';

const builtin = join(repoRoot, 'models', 'world-rn-small');
const tiny = join(repoRoot, 'fixtures', 'models', 'tiny-clip');
const scratch = mkdtempSync(join(tmpdir(), 'regionclip-text-sequence-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const labels = readFileSync(join(repoRoot, 'fixtures', 'world', 'labels.txt'), 'utf8').split('\n').filter(Boolean).slice(0, 6);
/** Real prompts: 6 world concepts in the 81 templates, and one long description. */
const prompts = [...labels.flatMap((label) => buildPrompts(label, 'ensemble')), 'a bad photo of the large hot air balloon standing next to an old wooden kitchen counter.'];

/** Raw (unnormalized) embeddings and the input_ids dims fed. */
async function embed(dir: string, texts: readonly string[], batchSize: number) {
  const model = await ClipModel.load(dir, { textBatchSize: batchSize });
  try {
    const { result, dims } = await recordIdsDims(() => model.embedTexts(texts, { normalize: false }));
    return { raw: result, dims, lengths: texts.map((t) => model.tokenizer.encode(t).length) };
  } finally {
    await model.release();
  }
}

describe('text batches cut after their last EOT', () => {
  it('built-in model: the same embeddings as at 77 positions, from batches sorted by length and cut to their longest row', async () => {
    const full = await embed(copyWithManifest(builtin, (m) => { m.tokenizer.padding = 'context'; }), prompts, 64);
    const cut = await embed(builtin, prompts, 64);
    expect(prompts).toHaveLength(487);
    expect(full.dims).toHaveLength(8);
    for (const d of full.dims) expect(d[1]).toBe(77);
    expect(cut.dims.map((d) => d[0])).toEqual([64, 64, 64, 64, 64, 64, 64, 39]);
    expect(cut.dims.map((d) => d[1])).toEqual(expectedCutWidths(cut.lengths, 64));
    expect(Math.max(...cut.lengths)).toBe(26);
    expect(cut.dims.at(-1)![1]).toBe(26);
    expect(cut.dims[0][1]).toBeLessThan(10);
    // Rows come back in input order: the 77-position run does not sort, and the two agree row for row.
    expect(relativeDiff(cut.raw, full.raw)).toBeLessThan(1e-5);
  });

  it('built-in model: the re-exported text graph gives the replaced graph\'s embeddings', async () => {
    // First 6 raw values of each prompt from the graph with a fixed 77 axis (sha256 2ff433dd…), before the re-export.
    const replaced = [
      [1.3306777477264404, 0.32888883352279663, -0.17360109090805054, -0.3604081869125366, -0.2398693561553955, -0.6395710706710815],
      [1.3627164363861084, 0.32146644592285156, -0.5635058879852295, -0.6501833200454712, -0.6082708835601807, 1.1272339820861816],
      [0.24332571029663086, -1.2352083921432495, 1.1829845905303955, 1.6218185424804688, 1.0726133584976196, 0.01576411724090576],
    ];
    const texts = ['a photo of a bicycle.', 'itap of the sled.', prompts.at(-1)!];
    const { raw, dims } = await embed(builtin, texts, 64);
    expect(dims).toEqual([[3, 26]]);
    replaced.forEach((row, r) => row.forEach((v, i) => expect(Math.abs(raw[r * 128 + i] - v)).toBeLessThan(1e-5 * Math.max(1, Math.abs(v)))));
    // embedTokens cuts a 77-position batch the same way.
    const model = await ClipModel.load(builtin);
    const tokens = await recordIdsDims(() => model.embedTokens(model.tokenizer.encodeBatch(texts), { normalize: false }));
    await model.release();
    expect(tokens.dims).toEqual([[3, 26]]);
    expect(relativeDiff(tokens.result, raw)).toBeLessThan(1e-6);
  });

  it('old folders keep 77 positions: a fixed sequence axis, or no padding rule', async () => {
    const texts = ['a photo of a cat.', 'a red jacket', 'traffic light'];
    expect((await embed(tiny, texts, 2)).dims).toEqual([[2, 77], [1, 77]]);
    // "longest" only permits the cut: a graph whose axis is fixed is still fed 77 positions.
    const permitted = copyWithManifest(tiny, (m) => { m.tokenizer.padding = 'longest'; delete m.graphs.text.inputs[0].dims; });
    expect((await embed(permitted, texts, 2)).dims).toEqual([[2, 77], [1, 77]]);
    const noRule = copyWithManifest(builtin, (m) => { delete m.tokenizer.padding; });
    expect((await embed(noRule, texts, 2)).dims).toEqual([[2, 77], [1, 77]]);
  });

  it('refuses "longest" with a fixed axis declared, and a named axis the graph fixes, each with a clear error', async () => {
    const declared77 = copyWithManifest(tiny, (m) => { m.tokenizer.padding = 'longest'; });
    const error = await ClipModel.load(declared77).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('tokenizer.padding: "longest" needs a free sequence axis, but graphs.text input "input_ids" declares dims ["batch", 77] (name the axis, e.g. ["batch", "sequence"])');
    const named = copyWithManifest(tiny, (m) => { m.tokenizer.padding = 'longest'; m.graphs.text.inputs[0].dims = ['batch', 'sequence']; });
    const mismatch = await ClipModel.load(named).catch((e: unknown) => e);
    expect(mismatch).toBeInstanceOf(ModelLoadError);
    expect((mismatch as Error).message).toContain('graphs.text (text_model.onnx): input "input_ids" has dims ["batch", 77], manifest says ["batch", "sequence"] (dim 1 is fixed at 77 in the graph, free in the manifest)');
  });

  /** A Hugging Face CLIP folder (transformers.js layout) around `textGraph`, with the given config.json model_type. */
  function huggingFaceFolder(name: string, source: string, D: number, S: number, modelType: string | undefined): string {
    const dir = join(scratch, name);
    mkdirSync(join(dir, 'onnx'), { recursive: true });
    for (const f of ['text_model.onnx', 'vision_model.onnx']) cpSync(join(source, f), join(dir, 'onnx', f));
    for (const f of ['vocab.json', 'merges.txt']) cpSync(join(source, f), join(dir, f));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ _name_or_path: name, ...(modelType ? { model_type: modelType } : {}), projection_dim: D, vision_config: { image_size: S } }));
    writeFileSync(join(dir, 'preprocessor_config.json'), JSON.stringify({ crop_size: { height: S, width: S }, size: { shortest_edge: S }, do_center_crop: true, resample: 3 }));
    return dir;
  }

  it('Hugging Face CLIP folders: cut when model_type is "clip" and the axis is free; 77 otherwise', async () => {
    const texts = prompts.slice(0, 100);
    const reference = await embed(copyWithManifest(builtin, (m) => { m.tokenizer.padding = 'context'; }), texts, 32);
    const clip = await embed(huggingFaceFolder('hf-free', builtin, 128, 80, 'clip'), texts, 32);
    expect(clip.dims.map((d) => d[1])).toEqual(expectedCutWidths(clip.lengths, 32));
    expect(Math.max(...clip.dims.map((d) => d[1]))).toBeLessThan(77);
    expect(relativeDiff(clip.raw, reference.raw)).toBeLessThan(1e-5);
    // Another (or no) model_type: its pooling is not known, so every row gets 77 positions.
    const other = await embed(huggingFaceFolder('hf-other', builtin, 128, 80, 'siglip'), texts, 32);
    expect(other.dims.every((d) => d[1] === 77)).toBe(true);
    expect(relativeDiff(other.raw, reference.raw)).toBeLessThan(1e-5);
    // An older export with a fixed 77 axis keeps working, fed 77 positions.
    const fixed = await embed(huggingFaceFolder('hf-fixed', tiny, 16, 32, 'clip'), ['a photo of a cat.', 'a red jacket'], 32);
    expect(fixed.dims).toEqual([[2, 77]]);
  });
});
