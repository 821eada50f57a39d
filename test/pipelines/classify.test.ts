import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_DISTRACTORS, distractorsFor } from '../../src/text/distractors.js';
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
    // distractors none: the softmax over the labels alone (CLIP's zero-shot classification)
    const [ok, bad] = await classifyImages(model, [image, Buffer.from('not an image')], { labels, topK: 4, cacheDir: false, distractors: 'none' });
    expect(ok.image).toEqual({ path: '<buffer>', width: 40, height: 30 });
    // the model that ran: its manifest name, the digest of its files, fp32
    expect(ok.model).toEqual({ name: model.loaded.manifest.name, hash: model.loaded.modelHash, dtype: 'fp32' });
    expect(ok.model.hash).toMatch(/^[0-9a-f]{64}$/);
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

  it('open-set: distractors compete in the softmax with the labels, through the same templates, and are never returned', async () => {
    const image = await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 200, g: 30, b: 30 } } }).png().toBuffer();
    const distractors = ['banana', 'Red Cars', 'bus'];
    const [open] = await classifyImages(model, [image], { labels: 'cat,dog,red car', topK: 10, cacheDir: false, distractors });
    expect(open.labels.map((l) => l.label).sort()).toEqual(['cat', 'dog', 'red car']);
    // by hand: "Red Cars" is the label "red car" and is taken out; banana and bus compete
    const imageEmbed = await model.embedImages([image]);
    const prompts = ['cat', 'dog', 'red car', 'banana', 'bus'].map((l) => `a photo of a ${l}.`);
    const textEmbeds = await model.embedTexts(prompts);
    const logits = prompts.map((_, p) => model.logitScale * imageEmbed.reduce((s, v, i) => s + v * textEmbeds[p * 16 + i], 0));
    const max = Math.max(...logits);
    const exps = logits.map((l) => Math.exp(l - max));
    const total = exps.reduce((a, b) => a + b, 0);
    for (const { label, score } of open.labels) expect(score).toBeCloseTo(exps[['cat', 'dog', 'red car'].indexOf(label)] / total, 5);
    expect(open.labels.reduce((s, l) => s + l.score, 0)).toBeCloseTo(1 - (exps[3] + exps[4]) / total, 5);
    // the built-in pool is the default; a bad setting is a ConfigError naming the option
    const [builtin] = await classifyImages(model, [image], { labels: 'cat', cacheDir: false });
    expect(builtin.labels[0].score).toBeLessThan(1);
    await expect(classifyImages(model, [image], { labels: 'cat', cacheDir: false, distractors: [] })).rejects.toThrow(
      'Expected "builtin", "none", a file of concepts (one per line) or a list of concepts for classify.distractors (--distractors) but received [].');
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
    // The labels and the built-in distractor pool go through the text tower together: one count, batches of 16.
    const total = 40 + distractorsFor(BUILTIN_DISTRACTORS, labels).length;
    const batches = Array.from({ length: Math.ceil(total / 16) }, (_, i) => Math.min(total, 16 * (i + 1)));
    expect(calls).toEqual([[0, total], ...batches.map((done) => [done, total])]);
  });
});
