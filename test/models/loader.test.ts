/**
 * One model-reference resolution for every loader: ClipModel.load, DetectorModel.load and
 * Detector.load take the same things — a model folder, a name under models/, a preset naming a
 * model, `hf:org/name`, or nothing (the built-in model, which the default preset names) — and
 * refuse the same things with the same typed error.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { ClipModel } from '../../src/models/clip.js';
import { DetectorModel } from '../../src/models/detector.js';
import { Detector } from '../../src/pipelines/detect.js';
import { repoRoot } from '../helpers/golden.js';

const builtIn = join(repoRoot, 'models', 'world-rn-small');

/** The folder each loader opened for `reference` (each model released). */
async function foldersFor(reference?: string): Promise<string[]> {
  const clip = await ClipModel.load(reference);
  const detectorModel = await DetectorModel.load(reference);
  const detector = await Detector.load(reference, { cacheDir: false });
  const dirs = [clip.loaded.dir, detectorModel.loaded.dir, detector.model.loaded.dir];
  await Promise.all([clip.release(), detectorModel.release(), detector.release()]);
  return dirs;
}

describe('model references, alike for ClipModel.load, DetectorModel.load and Detector.load', () => {
  it('a name under models/ (world-rn-small)', async () => {
    expect(await foldersFor('world-rn-small')).toEqual([builtIn, builtIn, builtIn]);
  });

  it('nothing: the built-in model, as the default preset names it', async () => {
    expect(await foldersFor()).toEqual([builtIn, builtIn, builtIn]);
  });

  it('a preset: the model it names', async () => {
    expect(await foldersFor('default')).toEqual([builtIn, builtIn, builtIn]);
  });

  it('a mistyped name: one ConfigError with a did-you-mean from each', async () => {
    const message = 'Expected a preset (default, regionclip-finetuned, regionclip-zero-shot), a model under models/ (world-rn-small) or a model folder for "wrld-rn-small" but received nothing by that name (did you mean "world-rn-small"?).';
    for (const load of [() => ClipModel.load('wrld-rn-small'), () => DetectorModel.load('wrld-rn-small'), () => Detector.load('wrld-rn-small')]) {
      await expect(load()).rejects.toThrow(ConfigError);
      await expect(load()).rejects.toThrow(message);
    }
  });

  it.each([null, 42, ['world-rn-small']])('not a string (%j): a ConfigError, not a TypeError', async (value) => {
    const message = /^Expected a model folder, a model or preset name, or hf:org\/name for the model but received /;
    for (const load of [() => ClipModel.load(value as never), () => DetectorModel.load(value as never)]) {
      await expect(load()).rejects.toThrow(ConfigError);
      await expect(load()).rejects.toThrow(message);
    }
    await expect(Detector.load(value as never)).rejects.toThrow(ConfigError);
    await expect(Detector.load(value as never)).rejects.toThrow(/^Expected a model folder, a model or preset name, hf:org\/name or resolved settings for Detector.load but received /);
  });
});
