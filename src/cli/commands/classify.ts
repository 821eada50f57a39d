/**
 * `regionclip classify <images..> --labels "cat,dog,car" --model <folder>`: zero-shot CLIP
 * classification of files, folders and globs, with a progress bar and a summary.
 */
import type { ArgumentsCamelCase, Argv, CommandModule, InferredOptionTypes } from 'yargs';
import { CLASSIFY_DEFAULTS, ENSEMBLE_RULES, TEMPLATE_SET_NAMES, modelReference, resolveClassifyOptions } from '../../config/options.js';
import { checkWritableFile } from '../../io/files.js';
import { expandImageInputs, withStdinImage } from '../../io/inputs.js';
import { classifyImages, type ClassifyResult } from '../../pipelines/classify.js';
import { cacheDirFrom, jsonOption, jsonToStdout, numberOption, quietOption, runtimeOptions, type OptionTable } from '../options.js';
import { Progress, progressMode, textProgress } from '../progress.js';
import { BUILTIN_MODEL_NOTE, noticeBuiltinModel, reportSkipped, throwIfFailures, warn, writeJson } from '../output.js';

export const classifyOptions = {
  labels: { type: 'string', demandOption: true, describe: 'Labels, comma, semicolon or newline separated (taken verbatim)' },
  model: { type: 'string', describe: 'Model folder (manifest.json, or a Hugging Face CLIP ONNX folder), or a preset naming one; default: the built-in model (hf:org/name[@rev]: a Hub repository, pulled into the Hub cache on first use)' },
  templates: { type: 'string', describe: `Prompt templates: ${TEMPLATE_SET_NAMES.join(' | ')} ("a photo of a {}." or the 81-template ensemble; default ${CLASSIFY_DEFAULTS.templates})` },
  ensemble: { type: 'string', describe: `How template embeddings are combined: ${ENSEMBLE_RULES.join(' | ')} (OpenAI, or RegionCLIP; default ${CLASSIFY_DEFAULTS.ensemble})` },
  'top-k': numberOption(`Labels to show per image (default ${CLASSIFY_DEFAULTS.topK})`),
  distractors: { type: 'string', describe: `Open-set scoring: concepts that compete with the labels and are never shown: builtin | none | a file, one concept per line (default ${CLASSIFY_DEFAULTS.distractors}; none: the labels' probabilities sum to 1)` },
  ...jsonOption,
  ...runtimeOptions,
  ...quietOption,
} as const satisfies OptionTable;

type ClassifyArgs = { images: string[] } & InferredOptionTypes<typeof classifyOptions>;

function toJson(result: ClassifyResult) {
  return result.error === undefined
    ? { image: result.image, model: result.model, labels: result.labels }
    : { image: result.image, labels: [], error: { name: result.error.name, message: result.error.message } };
}

function printResult(result: ClassifyResult): void {
  if (result.error) console.log(`${result.image.path}: failed: ${result.error.message}`);
  else console.log(`${result.image.path}: ${result.labels.map((l) => `${l.label} ${(100 * l.score).toFixed(1)}%`).join(', ')}`);
}

async function classify(argv: ArgumentsCamelCase<ClassifyArgs>): Promise<void> {
  // Validated before anything is read or loaded (classifyImages checks the same way), and the output path before any image.
  const settings = resolveClassifyOptions({
    templates: argv.templates, ensemble: argv.ensemble, topK: argv.topK, distractors: argv.distractors, intraOpThreads: argv.threads, maxPixels: argv.maxPixels, dtype: argv.dtype,
  });
  const { paths, skipped } = await expandImageInputs(argv.images);
  reportSkipped(skipped);
  const toStdout = jsonToStdout(argv.json);
  if (argv.json !== undefined && !toStdout) checkWritableFile(argv.json, '--json');
  const images = await withStdinImage(paths);
  noticeBuiltinModel(modelReference(argv.model), argv.quiet);
  const started = performance.now();
  const mode = progressMode(argv, toStdout);
  const progress = new Progress({ label: 'classify', total: images.length, mode });
  const results = await classifyImages(argv.model, images, {
    ...settings,
    labels: argv.labels,
    cacheDir: cacheDirFrom(argv),
    onWarning: warn,
    onTextProgress: textProgress(mode),
    onImage: (result) => {
      progress.tick(result.error === undefined);
      if (argv.json === undefined) printResult(result);
    },
  });
  progress.finish();
  if (argv.json !== undefined) writeJson(argv.json, toStdout, results.map(toJson));
  const failed = results.filter((r) => r.error !== undefined);
  const seconds = (performance.now() - started) / 1000;
  console.error(`regionclip: classified ${results.length - failed.length} of ${results.length} image(s) in ${seconds.toFixed(2)} s${failed.length ? `, ${failed.length} failed` : ''}`);
  throwIfFailures(failed.map((r) => ({ path: r.image.path, error: r.error! })), 'every image to be classified', 'classify');
}

export const classifyCommand: CommandModule<object, ClassifyArgs> = {
  command: 'classify <images..>',
  describe: 'Zero-shot classification: rank labels for whole images (CLIP)',
  builder: (yargs: Argv) =>
    yargs
      .positional('images', { type: 'string', array: true, demandOption: true, describe: 'Image files, folders (searched recursively), glob patterns, or - (an image piped to stdin)' })
      .options(classifyOptions)
      .example('$0 classify photos/ --labels "cat,dog,car" --model models/clip', '')
      .epilogue(`Without --model, classify uses ${BUILTIN_MODEL_NOTE}.`),
  handler: classify,
};
