import { describe, expect, it } from 'vitest';
import { CLASSIFY_DEFAULTS, MINE_DEFAULTS, QUEUE_DEFAULTS, parseRedisUrl, resolveDetectSettings, resolveMineOptions, resolveQueueOptions, settingsFromFlags } from '../../src/config/options.js';
import { resolveModel } from '../../src/models/model-source.js';
import { ConfigError } from '../../src/errors.js';

describe('options', () => {
  it('has every default in one place', () => {
    expect(CLASSIFY_DEFAULTS).toEqual({ templates: 'single', ensemble: 'normalize-average-normalize', topK: 5, distractors: 'builtin' });
    expect(MINE_DEFAULTS).toEqual({
      rule: 'caption', temperature: 0.01, threshold: 0.1, objectnessWeight: 0.9, topK: 1, nms: 0.3, vote: 0.2, minScore: 0.05, proposals: 300, rpnNms: 0.5, templates: 'single', queueSize: 4,
      distractors: 'none', checkpointLines: 1000, checkpointSeconds: 10,
    });
    expect(QUEUE_DEFAULTS).toEqual({ rangeLines: 1000, concurrency: 1, lockSeconds: 30 });
  });

  it('maps flags onto preset keys, over the preset and under --set', () => {
    const flags = settingsFromFlags({ conf: 0.4, maxDet: 7, proposals: 50, templates: 'single', distractors: 'none', agnosticNms: true, regionEnsemble: false });
    expect(flags).toEqual({ detect: { scoreThreshold: 0.4, maxDetections: 7, distractors: 'none', agnosticNms: true, regionEnsemble: false }, proposals: { postNmsTopK: 50 }, text: { templates: 'single' } });
    const settings = resolveDetectSettings('default', { settings: flags, set: ['detect.scoreThreshold=0.6'] });
    expect(settings.detect).toEqual({ scoreThreshold: 0.6, iouThreshold: 0.5, maxDetections: 7, fusion: 'geometric', distractors: 'none', agnosticNms: true, regionEnsemble: false });
    // the default: the model's ensemble partner, when it has one
    expect(resolveDetectSettings('default').detect.regionEnsemble).toBe(true);
    expect(settings.proposals).toEqual({ postNmsTopK: 50, nmsThreshold: 0.9 });
    expect(resolveDetectSettings(settings)).toEqual(settings);
  });

  it('reads i/N shards and names the default model', async () => {
    expect(resolveMineOptions({ shard: ' 1/4 ' }).shard).toEqual({ index: 1, count: 4 });
    expect(resolveMineOptions({ shard: { index: 0, count: 1 } }).shard).toEqual({ index: 0, count: 1 });
    expect(() => resolveMineOptions({ shard: '1-4' })).toThrow(ConfigError);
    // i from an environment variable (Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX).
    process.env.REGIONCLIP_TEST_SHARD_INDEX = '2';
    try {
      expect(resolveMineOptions({ shard: 'REGIONCLIP_TEST_SHARD_INDEX/4' }).shard).toEqual({ index: 2, count: 4 });
      expect(() => resolveMineOptions({ shard: 'REGIONCLIP_TEST_SHARD_INDEX/2' })).toThrow('Expected an environment variable REGIONCLIP_TEST_SHARD_INDEX holding an index 0 <= i < 2 (it is "2") for mine.shard (--shard) but received "REGIONCLIP_TEST_SHARD_INDEX/2".');
      process.env.REGIONCLIP_TEST_SHARD_INDEX = 'x';
      expect(() => resolveMineOptions({ shard: 'REGIONCLIP_TEST_SHARD_INDEX/4' })).toThrow('(it is "x")');
    } finally {
      delete process.env.REGIONCLIP_TEST_SHARD_INDEX;
    }
    expect(() => resolveMineOptions({ shard: 'REGIONCLIP_TEST_SHARD_INDEX/4' })).toThrow('(it is unset)');
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
    expect(() => resolveDetectSettings('defualt')).toThrow(ConfigError);
    expect(() => resolveDetectSettings('defualt')).toThrow('Expected a preset (default, regionclip-finetuned, regionclip-zero-shot), a model under models/ (world-rn-small) or a model folder for "defualt" but received nothing by that name (did you mean "default"?).');
    await expect(resolveModel('world-rn-smal')).rejects.toThrow(/did you mean "world-rn-small"/);
  });

  it('reads line ranges, queue options and Redis URLs', () => {
    expect(resolveMineOptions({ lines: '1001:2000' }).lines).toEqual({ first: 1001, last: 2000 });
    expect(resolveMineOptions({ lines: ' 7: ' }).lines).toEqual({ first: 7 });
    for (const bad of ['0:5', '5:4', '5', ':5', '1:2:3']) expect(() => resolveMineOptions({ lines: bad })).toThrow(`Expected first:last, 1-based line numbers with first <= last (e.g. 1001:2000; 1001: to the end) for mine.lines (--lines) but received "${bad}".`);
    expect(() => resolveMineOptions({ checkpointSeconds: 0 })).toThrow('Expected a positive number for mine.checkpointSeconds (--checkpoint-seconds) but received 0.');
    expect(() => resolveQueueOptions({ rangeLines: 0.5 })).toThrow('Expected a positive integer for queue.rangeLines (--range-lines) but received 0.5.');
    expect(parseRedisUrl('redis://127.0.0.1:6390')).toEqual({ host: '127.0.0.1', port: 6390, db: 0, tls: false });
    expect(parseRedisUrl('rediss://u:p%40ss@[::1]/2')).toEqual({ host: '::1', port: 6379, username: 'u', password: 'p@ss', db: 2, tls: true });
    for (const bad of ['localhost:6379', 'http://h:1', 'redis://h/x', 'redis://h/1?x=1']) expect(() => parseRedisUrl(bad)).toThrow(`Expected a Redis URL redis://host[:port][/db] (or rediss:// for TLS) for --redis but received "${bad}".`);
  });

  it('keeps maxDetections 0 valid (no detections)', () => {
    expect(resolveDetectSettings('default', { set: ['detect.maxDetections=0'] }).detect.maxDetections).toBe(0);
  });
});
