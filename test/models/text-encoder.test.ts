import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ClipModel } from '../../src/models/clip.js';
import { ClipTextEncoder } from '../../src/models/text-encoder.js';
import { TextEmbeddingCache } from '../../src/models/embedding-cache.js';
import { ENSEMBLE_TEMPLATES } from '../../src/text/prompts.js';
import { repoRoot } from '../helpers/golden.js';

const tiny = join(repoRoot, 'fixtures', 'models', 'tiny-clip');
const scratch = mkdtempSync(join(tmpdir(), 'regionclip-text-'));
let model: ClipModel;
beforeAll(async () => { model = await ClipModel.load(tiny); });
afterAll(async () => { await model.release(); rmSync(scratch, { recursive: true, force: true }); });

const D = 16;
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('ClipTextEncoder', () => {
  it('single template = the normalized tower output for "a photo of a {}."', async () => {
    const encoder = new ClipTextEncoder(model, { cacheDir: false });
    const embeds = await encoder.embedPhrases(['cat', 'apple']);
    const direct = await model.embedTexts(['a photo of a cat.', 'a photo of an apple.']);
    expect(maxDiff(embeds, direct)).toBeLessThan(1e-6);
  });

  it('ensembles 81 templates by either rule, and the rules differ', async () => {
    const encoder = new ClipTextEncoder(model, { cacheDir: false, phraseBatchSize: 1 });
    const openai = await encoder.embedPhrases(['traffic light'], { templates: 'ensemble' });
    const regionclip = await encoder.embedPhrases(['traffic light'], { templates: 'ensemble', ensemble: 'average-normalize' });
    const raw = await model.embedTexts(ENSEMBLE_TEMPLATES.map((t) => t.replace('{}', 'traffic light')), { normalize: false });
    // average of normalized rows, renormalized
    const mean = new Float64Array(D);
    for (let r = 0; r < ENSEMBLE_TEMPLATES.length; r++) {
      const row = raw.subarray(r * D, r * D + D);
      const n = Math.hypot(...row);
      for (let i = 0; i < D; i++) mean[i] += row[i] / n;
    }
    const norm = Math.hypot(...mean);
    expect(maxDiff(openai, Float32Array.from(mean, (v) => v / norm))).toBeLessThan(1e-5);
    expect(maxDiff(openai, regionclip)).toBeGreaterThan(1e-6);
  });

  it('an unwritable cache location warns once and carries on: the disk cache is optional', async () => {
    const blocker = join(scratch, 'a-file');
    writeFileSync(blocker, 'where the cache folder should be');
    const uncached = await new ClipTextEncoder(model, { cacheDir: false }).embedPhrases(['cat', 'dog', 'bird']);
    for (const cacheDir of [blocker, join(blocker, 'cache')]) {
      const warnings: string[] = [];
      const encoder = new ClipTextEncoder(model, { cacheDir, onWarning: (m) => warnings.push(m) });
      const first = await encoder.embedPhrases(['cat', 'dog']);
      const second = await encoder.embedPhrases(['bird']);
      expect(Array.from(first)).toEqual(Array.from(uncached.subarray(0, 2 * D)));
      expect(Array.from(second)).toEqual(Array.from(uncached.subarray(2 * D)));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(new RegExp(`^Expected a writable cache folder for ${blocker}/.* but received ENOTDIR; text embeddings are not cached on disk in this run\\.$`));
    }
    // By default the warning is a process warning with its own code.
    const spy = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    await new ClipTextEncoder(model, { cacheDir: blocker }).embedPhrases(['cat']);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(spy.mock.calls[0][1]).toEqual({ code: 'REGIONCLIP_CACHE_UNWRITABLE' });
    spy.mockRestore();
  });

  it('caches per (model, templates, rule, phrase), atomically, and survives a corrupt entry', async () => {
    const cacheDir = join(scratch, 'cache');
    const first = await new ClipTextEncoder(model, { cacheDir }).embedPhrases(['cat', 'dog']);
    const folder = join(cacheDir, 'text-embeddings');
    const [namespace] = readdirSync(folder);
    const files = readdirSync(join(folder, namespace));
    expect(files.filter((f) => f.endsWith('.f32'))).toHaveLength(2);
    expect(files.some((f) => f.endsWith('.tmp'))).toBe(false);
    // Hits return exactly what was stored; a truncated file is a miss and is rewritten.
    writeFileSync(join(folder, namespace, files[0]), Buffer.alloc(7));
    const second = await new ClipTextEncoder(model, { cacheDir }).embedPhrases(['cat', 'dog']);
    expect(Array.from(second)).toEqual(Array.from(first));
    await new ClipTextEncoder(model, { cacheDir }).embedPhrases(['cat'], { templates: 'ensemble' });
    expect(readdirSync(folder)).toHaveLength(2); // another template set → another namespace
  });

  it('embeds each distinct phrase once, and serves repeats from memory across calls', async () => {
    const encoder = new ClipTextEncoder(model, { cacheDir: false });
    const calls: number[] = [];
    const original = model.embedTexts.bind(model);
    model.embedTexts = async (texts, opts) => { calls.push(texts.length); return original(texts, opts); };
    try {
      const embeds = await encoder.embedPhrases(['cat', 'dog', 'cat']);
      expect(calls).toEqual([2]);
      expect(Array.from(embeds.subarray(0, D))).toEqual(Array.from(embeds.subarray(2 * D, 3 * D)));
      const again = await encoder.embedPhrases(['dog', 'cat']);
      expect(calls).toEqual([2]);
      expect(Array.from(again)).toEqual([...embeds.subarray(D, 2 * D), ...embeds.subarray(0, D)]);
    } finally {
      model.embedTexts = original;
    }
  });

  it('concurrent writers of the same entries never leave a partial file', async () => {
    const cache = new TextEmbeddingCache(join(scratch, 'race'), { modelHash: 'm', templates: 't', ensemble: 'e', dim: 4 });
    const value = Float32Array.from([1, 2, 3, 4]);
    await Promise.all(Array.from({ length: 50 }, async () => cache.set('phrase', value)));
    expect(Array.from(cache.get('phrase')!)).toEqual([1, 2, 3, 4]);
    expect(cache.get('other')).toBeUndefined();
  });
});
