import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { parseManifest, referencedFiles, type DetectorManifest } from '../../src/models/manifest.js';
import { repoRoot } from '../helpers/golden.js';

const folder = join(repoRoot, 'fixtures', 'models', 'tiny-detector-features');
const base = () => JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8'));
const parse = (m: unknown) => parseManifest(m, 'test manifest') as DetectorManifest;

/** The tiny features detector with its own backbone and head declared again as an ensemble partner. */
function withEnsemble(): any {
  const m = base();
  m.graphs.ensembleBackbone = { ...m.graphs.backbone, file: 'ensemble_backbone.onnx' };
  m.graphs.ensembleHead = { ...m.graphs.head, file: 'ensemble_head.onnx' };
  m.regionEnsemble = { featureOutput: m.regionEncoder.featureOutput, temperature: 0.02, weights: { base: 1 / 3, novel: 2 / 3 }, baseClasses: 'base-classes.txt' };
  return m;
}

describe('manifest: regionEnsemble (ViLD\'s ensemble partner)', () => {
  it('reads the block and names the base-class file among the files a run reads', () => {
    const m = parse(withEnsemble());
    expect(m.regionEnsemble).toEqual({ featureOutput: 'res4', temperature: 0.02, weights: { base: 1 / 3, novel: 2 / 3 }, baseClasses: 'base-classes.txt' });
    expect(referencedFiles(m)).toEqual(expect.arrayContaining(['ensemble_backbone.onnx', 'ensemble_head.onnx', 'base-classes.txt']));
    expect(referencedFiles(parse(base()))).not.toContain('base-classes.txt');
  });
  it.each([
    ['the block without its graphs', (m: any) => { delete m.graphs.ensembleHead; }, /graphs\.ensembleHead: required with regionEnsemble/],
    ['graphs without the block', (m: any) => { delete m.regionEnsemble; }, /regionEnsemble: required with graphs\.ensembleBackbone and graphs\.ensembleHead/],
    ['a crop-mode detector', (m: any) => { m.regionEncoder = { mode: 'crop' }; m.graphs.vision = m.graphs.text; }, /regionEnsemble: needs regionEncoder\.mode "features"/],
    ['a weight over 1', (m: any) => { m.regionEnsemble.weights.novel = 1.5; }, /regionEnsemble\.weights\.novel/],
    ['a misspelt key', (m: any) => { m.regionEnsemble.baseClass = m.regionEnsemble.baseClasses; delete m.regionEnsemble.baseClasses; }, /regionEnsemble\.baseClass: unknown key \(did you mean "baseClasses"\?\)/],
    ['a zero temperature', (m: any) => { m.regionEnsemble.temperature = 0; }, /regionEnsemble\.temperature/],
  ])('rejects %s', (_name, edit, message) => {
    const m = withEnsemble();
    edit(m);
    expect(() => parse(m)).toThrow(ConfigError);
    expect(() => parse(m)).toThrow(message);
  });
});
