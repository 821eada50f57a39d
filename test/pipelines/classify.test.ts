import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClipModel } from '../../src/models/clip.js';
import { classifyImages } from '../../src/pipelines/classify.js';
import { InvalidInputError } from '../../src/errors.js';
import { repoRoot } from '../helpers/golden.js';
import sharp from 'sharp';

const tiny = join(repoRoot, 'fixtures', 'models', 'tiny-clip');
let model: ClipModel;
beforeAll(async () => { model = await ClipModel.load(tiny); });
afterAll(async () => { await model.release(); });

describe('classifyImages', () => {
  it('ranks labels by softmax(logitScale × cosine), and a bad image fails alone', async () => {
    const image = await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 200, g: 30, b: 30 } } }).png().toBuffer();
    const labels = ['cat', 'dog', 'red car', 'traffic light'];
    const [ok, bad] = await classifyImages(model, [image, Buffer.from('not an image')], { labels, topK: 4, cacheDir: false });
    expect(ok.image).toEqual({ path: '<buffer>', width: 40, height: 30 });
    expect(ok.labels.map((l) => l.label).sort()).toEqual([...labels].sort());
    expect(ok.labels.reduce((s, l) => s + l.score, 0)).toBeCloseTo(1, 5);
    for (let i = 1; i < 4; i++) expect(ok.labels[i - 1].score).toBeGreaterThanOrEqual(ok.labels[i].score);
    // The same numbers computed by hand from the towers.
    const imageEmbed = await model.embedImages([image]);
    const textEmbeds = await model.embedTexts(labels.map((l) => `a photo of a ${l}.`));
    const logits = labels.map((_, p) => 100 * imageEmbed.reduce((s, v, i) => s + v * textEmbeds[p * 16 + i], 0));
    const max = Math.max(...logits);
    const exps = logits.map((l) => Math.exp(l - max));
    const total = exps.reduce((a, b) => a + b, 0);
    for (const { label, score } of ok.labels) expect(score).toBeCloseTo(exps[labels.indexOf(label)] / total, 5);
    expect(bad.labels).toEqual([]);
    expect(bad.error).toBeInstanceOf(InvalidInputError);
  });

  it('rejects an empty label list', async () => {
    await expect(classifyImages(model, [], { labels: ' , ;', cacheDir: false })).rejects.toThrow(InvalidInputError);
  });
});

describe('classifyImages text-embedding progress', () => {
  it('calls onTextProgress with (done, total) as the labels are embedded', async () => {
    const image = await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 200, g: 30, b: 30 } } }).png().toBuffer();
    const labels = Array.from({ length: 40 }, (_, i) => `thing ${i}`);
    const calls: [number, number][] = [];
    const [result] = await classifyImages(model, [image], { labels, topK: 3, cacheDir: false, phraseBatchSize: 16, onTextProgress: (done, total) => calls.push([done, total]) });
    expect(result.labels).toHaveLength(3);
    expect(calls).toEqual([[0, 40], [16, 40], [32, 40], [40, 40]]);
  });
});
