/**
 * `regionclip classify <images..> --labels "cat,dog,car" --model <folder>`: zero-shot CLIP
 * classification of files, folders and globs, with a progress bar and a summary.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { UsageError, expectedMessage } from '../../errors.js';
import { expandImageInputs } from '../../io/inputs.js';
import { ClipModel } from '../../models/clip.js';
import { readPreset, resolveModelPath } from '../../config/preset.js';
import { classifyImages, type ClassifyResult } from '../../pipelines/classify.js';
import { TEMPLATE_SETS, type EnsembleRule, type TemplateSetName } from '../../text/prompts.js';
import { positiveInteger } from '../options.js';
import { Progress } from '../progress.js';
import { throwIfFailures, writeOutputFile } from '../output.js';

interface ClassifyArgs {
  images: string[];
  labels: string;
  model?: string;
  templates: string;
  ensemble: string;
  topK: number;
  json?: string;
  cacheDir?: string;
  cache: boolean;
  maxPixels?: number;
  threads?: number;
}

function toJson(result: ClassifyResult) {
  return result.error === undefined
    ? { image: result.image, labels: result.labels }
    : { image: result.image, labels: [], error: { name: result.error.name, message: result.error.message } };
}

export const classifyCommand: CommandModule<object, ClassifyArgs> = {
  command: 'classify <images..>',
  describe: 'Zero-shot classification: rank labels for whole images (CLIP)',
  builder: (yargs: Argv) =>
    yargs
      .positional('images', { type: 'string', array: true, describe: 'Image files, folders (searched recursively) or glob patterns' })
      .option('labels', { type: 'string', demandOption: true, describe: 'Labels, comma, semicolon or newline separated (taken verbatim)' })
      .option('model', { type: 'string', describe: 'Model folder (manifest.json, or a Hugging Face CLIP ONNX folder); default: the built-in model' })
      .option('templates', { type: 'string', default: 'single', choices: Object.keys(TEMPLATE_SETS), describe: 'Prompt templates: "a photo of a {}." or the 81-template ensemble' })
      .option('ensemble', { type: 'string', default: 'normalize-average-normalize', choices: ['normalize-average-normalize', 'average-normalize'], describe: 'How template embeddings are combined (OpenAI, or RegionCLIP)' })
      .option('top-k', { type: 'number', default: 5, describe: 'Labels to show per image' })
      .option('json', { type: 'string', describe: 'Write results as JSON to this file ("-" or no value: stdout)' })
      .option('cache-dir', { type: 'string', describe: 'Text-embedding cache folder (default $XDG_CACHE_HOME/regionclip)' })
      .option('cache', { type: 'boolean', default: true, describe: 'Cache text embeddings on disk (--no-cache to disable)' })
      .option('max-pixels', { type: 'number', describe: 'Refuse images with more pixels (default 268402689)' })
      .option('threads', { type: 'number', describe: 'onnxruntime intra-op threads' })
      .example('$0 classify photos/ --labels "cat,dog,car" --model models/clip', '') as unknown as Argv<ClassifyArgs>,
  handler: async (argv: ArgumentsCamelCase<ClassifyArgs>) => {
    const modelPath = argv.model ?? (readPreset('default').model as string | undefined);
    if (modelPath === undefined) throw new UsageError(expectedMessage('a model folder', '--model', 'none (the default preset names no model)'));
    const topK = positiveInteger('top-k', argv.topK);
    const threads = argv.threads === undefined ? undefined : positiveInteger('threads', argv.threads);
    const maxPixels = argv.maxPixels === undefined ? undefined : positiveInteger('max-pixels', argv.maxPixels);
    const images = await expandImageInputs(argv.images);
    const model = await ClipModel.load(resolveModelPath(modelPath), { intraOpThreads: threads });
    const started = performance.now();
    // `--json` alone or `--json -` (which yargs hands over as "") prints to stdout.
    const toStdout = argv.json === '-' || argv.json === '';
    const progress = new Progress({ label: 'classify', total: images.length, mode: toStdout ? 'lines' : 'auto' });
    const results = await classifyImages(model, images, {
      labels: argv.labels,
      templates: argv.templates as TemplateSetName,
      ensemble: argv.ensemble as EnsembleRule,
      topK,
      cacheDir: argv.cache ? argv.cacheDir : false,
      maxPixels,
      onImage: (result) => {
        progress.tick(result.error === undefined);
        if (argv.json === undefined) {
          if (result.error) console.log(`${result.image.path}: failed: ${result.error.message}`);
          else console.log(`${result.image.path}: ${result.labels.map((l) => `${l.label} ${(100 * l.score).toFixed(1)}%`).join(', ')}`);
        }
      },
    });
    progress.finish();
    await model.release();
    if (argv.json !== undefined) {
      const text = `${JSON.stringify(results.map(toJson), null, toStdout ? undefined : 2)}\n`;
      if (toStdout) process.stdout.write(text);
      else {
        writeOutputFile(argv.json, text);
      }
    }
    const failed = results.filter((r) => r.error !== undefined);
    const seconds = (performance.now() - started) / 1000;
    console.error(`regionclip: classified ${results.length - failed.length} of ${results.length} image(s) in ${seconds.toFixed(2)} s${failed.length ? `, ${failed.length} failed` : ''}`);
    throwIfFailures(failed.map((r) => ({ path: r.image.path, error: r.error! })), 'every image to be classified', 'classify');
  },
};
