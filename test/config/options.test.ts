import { describe, expect, it } from 'vitest';
import { CLASSIFY_DEFAULTS, MINE_DEFAULTS, resolveDetectSettings, resolveMineOptions, settingsFromFlags } from '../../src/config/options.js';
import { resolveModel } from '../../src/pipelines/model-source.js';
import { ConfigError } from '../../src/errors.js';

describe('options', () => {
  it('has every default in one place', () => {
    expect(CLASSIFY_DEFAULTS).toEqual({ templates: 'single', ensemble: 'normalize-average-normalize', topK: 5 });
    expect(MINE_DEFAULTS).toEqual({
      rule: 'caption', temperature: 0.01, threshold: 0.1, objectnessWeight: 0.9, topK: 1, nms: 0.3, vote: 0.2, minScore: 0.05, proposals: 300, rpnNms: 0.5, templates: 'single', queueSize: 4,
    });
  });

  it('maps flags onto preset keys, over the preset and under --set', () => {
    const flags = settingsFromFlags({ conf: 0.4, maxDet: 7, proposals: 50, templates: 'single' });
    expect(flags).toEqual({ detect: { scoreThreshold: 0.4, maxDetections: 7 }, proposals: { postNmsTopK: 50 }, text: { templates: 'single' } });
    const settings = resolveDetectSettings('default', { settings: flags, set: ['detect.scoreThreshold=0.6'] });
    expect(settings.detect).toEqual({ scoreThreshold: 0.6, iouThreshold: 0.5, maxDetections: 7, fusion: 'geometric' });
    expect(settings.proposals).toEqual({ postNmsTopK: 50, nmsThreshold: 0.9 });
    expect(resolveDetectSettings(settings)).toEqual(settings);
  });

  it('reads i/N shards and names the default model', async () => {
    expect(resolveMineOptions({ shard: ' 1/4 ' }).shard).toEqual({ index: 1, count: 4 });
    expect(resolveMineOptions({ shard: { index: 0, count: 1 } }).shard).toEqual({ index: 0, count: 1 });
    expect(() => resolveMineOptions({ shard: '1-4' })).toThrow(ConfigError);
    expect(await resolveModel(undefined)).toBe(await resolveModel('default'));
    expect(await resolveModel(undefined)).toMatch(/models[/\\]world-rn-small$/);
    // Hub references stay as written (not resolved as paths) until resolveModelFolder pulls them.
    expect(settingsFromFlags({ model: 'hf:org/name@v1' })).toEqual({ model: 'hf:org/name@v1' });
    expect(resolveDetectSettings('hf:org/name').model).toBe('hf:org/name');
  });

  it('rejects unknown library option names with a did-you-mean, as the CLI rejects unknown flags', async () => {
    const { classifyImages } = await import('../../src/pipelines/classify.js');
    const { mine } = await import('../../src/pipelines/mine.js');
    const { Detector } = await import('../../src/pipelines/detect.js');
    await expect(classifyImages(undefined, [], { labels: 'cat', topk: 0 } as never)).rejects.toThrow(
      'Expected known classify options for the given options but received classify.topk: unknown option (did you mean "topK"?).');
    await expect(mine(undefined, { input: 'x.jsonl', output: 'y.jsonl', thresh: 5 } as never)).rejects.toThrow(/mine\.thresh: unknown option \(did you mean "threshold"\?\)/);
    await expect(Detector.load('default', { regionBatchSze: 4 } as never)).rejects.toThrow(/regionBatchSze: unknown option \(did you mean "regionBatchSize"\?\)/);
    await expect(Detector.load('default', { regionBatchSize: -1 })).rejects.toThrow('Expected a positive integer for regionBatchSize but received -1.');
  });

  it('suggests the preset or model a mistyped name meant', async () => {
    expect(() => resolveDetectSettings('defualt')).toThrow('Expected a preset under pipelines/, a model under models/ or a model folder for defualt but received nothing by that name (did you mean "default"?).');
    await expect(resolveModel('world-rn-smal')).rejects.toThrow(/did you mean "world-rn-small"/);
  });

  it('keeps maxDetections 0 valid (no detections)', () => {
    expect(resolveDetectSettings('default', { set: ['detect.maxDetections=0'] }).detect.maxDetections).toBe(0);
  });
});
