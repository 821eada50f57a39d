import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyOverrides, parseSettings, readPreset } from '../../src/config/preset.js';
import { ConfigError, IoError } from '../../src/errors.js';

const scratch = mkdtempSync(join(tmpdir(), 'regionclip-presets-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('presets', () => {
  it('default extends RegionCLIP zero-shot and overrides what it names', () => {
    const settings = parseSettings(readPreset('default'), 'default');
    expect(settings.proposals).toEqual({ postNmsTopK: 1000, nmsThreshold: 0.9 });
    expect(settings.text).toEqual({ templates: 'ensemble', ensemble: 'normalize-average-normalize', articles: true });
    expect(settings.detect).toEqual({ scoreThreshold: 0.8, iouThreshold: 0.5, maxDetections: 100, fusion: 'geometric', distractors: 'builtin', agnosticNms: false, regionEnsemble: true });
    const zeroShot = parseSettings(readPreset('regionclip-zero-shot'), 'z');
    expect(zeroShot.text.ensemble).toBe('average-normalize');
    expect(zeroShot.detect.scoreThreshold).toBe(0.001);
    // RegionCLIP's presets score against the labels (and background) alone, as RegionCLIP does
    expect(zeroShot.detect.distractors).toBe('none');
    expect(parseSettings(readPreset('regionclip-finetuned'), 'f').detect.distractors).toBe('none');
  });

  it('resolves extends by path and model paths against the preset file; refuses cycles', () => {
    writeFileSync(join(scratch, 'a.json'), JSON.stringify({ extends: './b.json', model: './models/x', detect: { iouThreshold: 0.4 } }));
    writeFileSync(join(scratch, 'b.json'), JSON.stringify({ extends: 'default', detect: { maxDetections: 7 } }));
    const settings = parseSettings(readPreset(join(scratch, 'a.json')), 'a');
    expect(settings.model).toBe(join(scratch, 'models', 'x'));
    // a distractor file, like the model, is relative to the preset that names it; the pool names stay names
    writeFileSync(join(scratch, 'pooled.json'), JSON.stringify({ extends: 'default', detect: { distractors: 'pools/mine.txt' } }));
    expect(parseSettings(readPreset(join(scratch, 'pooled.json')), 'p').detect.distractors).toBe(join(scratch, 'pools', 'mine.txt'));
    writeFileSync(join(scratch, 'none.json'), JSON.stringify({ extends: 'default', detect: { distractors: 'none' } }));
    expect(parseSettings(readPreset(join(scratch, 'none.json')), 'n').detect.distractors).toBe('none');
    expect(settings.detect).toMatchObject({ iouThreshold: 0.4, maxDetections: 7, scoreThreshold: 0.8 });
    writeFileSync(join(scratch, 'c.json'), JSON.stringify({ extends: './d.json' }));
    writeFileSync(join(scratch, 'd.json'), JSON.stringify({ extends: './c.json' }));
    expect(() => readPreset(join(scratch, 'c.json'))).toThrow(/extends cycle/);
    // An unknown preset name is configuration (exit 4); a preset path that does not exist, a missing file (exit 7).
    expect(() => readPreset('defualt')).toThrow(ConfigError);
    expect(() => readPreset('defualt')).toThrow(/did you mean "default"/);
    expect(() => readPreset(join(scratch, 'missing.json'))).toThrow(IoError);
  });

  it('rejects unknown keys with a suggestion and out-of-range fractions', () => {
    expect(() => parseSettings({ detect: { iouThreshhold: 0.5 } }, 'x')).toThrow(ConfigError);
    expect(() => parseSettings({ detect: { iouThreshhold: 0.5 } }, 'x')).toThrow(/detect.iouThreshhold: unknown key \(did you mean "iouThreshold"\?\)/);
    expect(() => parseSettings({ detect: { scoreThreshold: 1.5 } }, 'x')).toThrow(/detect.scoreThreshold/);
    expect(() => parseSettings({ detect: { fusion: 'multiply' } }, 'x')).toThrow(/detect.fusion/);
    expect(() => parseSettings({ text: { articles: 'no' } }, 'x')).toThrow(/Expected true or false for text.articles but received "no"/);
  });

  it('text.articles defaults to true (a/an fixed) and takes false from a preset or --set', () => {
    expect(parseSettings({}, 'x').text.articles).toBe(true);
    expect(parseSettings(applyOverrides({}, ['text.articles=false']), 'x').text.articles).toBe(false);
  });

  it('--set parses JSON literals and strings, never evaluates', () => {
    const out = applyOverrides({ detect: { iouThreshold: 0.5 } }, ['detect.iouThreshold=0.45', 'detect.fusion=geometric', 'proposals.postNmsTopK=300', 'description=2+2']);
    expect(out).toEqual({ detect: { iouThreshold: 0.45, fusion: 'geometric' }, proposals: { postNmsTopK: 300 }, description: '2+2' });
    expect(() => applyOverrides({}, ['novalue'])).toThrow(/key=value for --set/);
  });
});
