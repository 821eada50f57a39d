import { describe, expect, it } from 'vitest';
import { CLASSIFY_DEFAULTS, MINE_DEFAULTS, resolveDetectSettings, resolveMineOptions, resolveModel, settingsFromFlags } from '../../src/config/options.js';
import { ConfigError } from '../../src/errors.js';

describe('options', () => {
  it('has every default in one place', () => {
    expect(CLASSIFY_DEFAULTS).toEqual({ templates: 'single', ensemble: 'normalize-average-normalize', topK: 5 });
    expect(MINE_DEFAULTS).toEqual({ threshold: 0.1, proposals: 300, rpnNms: 0.5, templates: 'single', queueSize: 4 });
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
});
