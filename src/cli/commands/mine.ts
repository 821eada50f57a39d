/**
 * `regionclip mine captions.jsonl --out labels.jsonl`: region–phrase pseudo-labels from
 * image–caption pairs, streamed, resumable (`--resume`) and shardable (`--shard i/N`).
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { UsageError, expectedMessage } from '../../errors.js';
import { resolveModelPath, readPreset } from '../../config/preset.js';
import { DetectorModel } from '../../models/detector.js';
import { mine, readConcepts } from '../../pipelines/mine.js';
import { fraction, positiveInteger } from '../options.js';
import { Progress } from '../progress.js';

interface MineArgs {
  input: string;
  out: string;
  coco?: string;
  root?: string;
  thresh: number;
  floor?: number;
  concepts?: string;
  source?: string;
  proposals: number;
  rpnNms: number;
  templates: string;
  shard?: string;
  resume: boolean;
  overwrite: boolean;
  strict: boolean;
  model?: string;
  queue: number;
  cacheDir?: string;
  cache: boolean;
  threads?: number;
  maxPixels?: number;
}

export function parseShard(text: string): { index: number; count: number } {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = match ? Number(match[1]) : NaN, count = match ? Number(match[2]) : NaN;
  if (!match || count < 1 || index >= count) throw new UsageError(expectedMessage('i/N with 0 <= i < N (e.g. 0/4)', '--shard', JSON.stringify(text)));
  return { index, count };
}

export const mineCommand: CommandModule<object, MineArgs> = {
  command: 'mine <input>',
  describe: 'Mine region–phrase pseudo-labels from image–caption pairs (JSONL)',
  builder: (yargs: Argv) =>
    yargs
      .positional('input', { type: 'string', describe: 'JSONL: {"image", "caption", "id"?} (or file_name/image_id) per line' })
      .option('out', { type: 'string', demandOption: true, describe: 'Output JSONL, one record per image (errors go to <out>.errors.jsonl)' })
      .option('coco', { type: 'string', describe: 'Also write a COCO dataset (categories = concepts, annotations with score)' })
      .option('root', { type: 'string', describe: 'Folder relative image paths resolve against (default: the JSONL\'s folder)' })
      .option('thresh', { type: 'number', default: 0.1, describe: 'Region→phrase probability threshold (RegionCLIP: 0.1)' })
      .option('floor', { type: 'number', describe: 'Phrase→region probability floor (default: --thresh)' })
      .option('concepts', { type: 'string', describe: 'A concept pool, one per line (RegionCLIP\'s mode)' })
      .option('source', { type: 'string', choices: ['caption', 'concepts', 'both'], describe: 'Phrases from the caption, the pool, or both (default: the pool when given)' })
      .option('proposals', { type: 'number', default: 300, describe: 'RPN proposals per image after NMS' })
      .option('rpn-nms', { type: 'number', default: 0.5, describe: 'RPN NMS threshold for mining' })
      .option('templates', { type: 'string', default: 'single', choices: ['single', 'ensemble'], describe: 'Prompt templates for phrases' })
      .option('shard', { type: 'string', describe: 'Process lines with index % N == i (i/N)' })
      .option('resume', { type: 'boolean', default: false, describe: 'Continue an interrupted run from its checkpoint' })
      .option('overwrite', { type: 'boolean', default: false, describe: 'Replace an existing output' })
      .option('strict', { type: 'boolean', default: false, describe: 'Stop at the first bad line' })
      .option('model', { type: 'string', describe: 'Detector model folder (default: the default preset\'s model)' })
      .option('queue', { type: 'number', default: 4, describe: 'Images decoded ahead of the model' })
      .option('cache-dir', { type: 'string', describe: 'Text-embedding cache folder' })
      .option('cache', { type: 'boolean', default: true, describe: 'Cache text embeddings on disk (--no-cache to disable)' })
      .option('threads', { type: 'number', describe: 'onnxruntime intra-op threads' })
      .option('max-pixels', { type: 'number', describe: 'Refuse images with more pixels' }) as unknown as Argv<MineArgs>,
  handler: async (argv: ArgumentsCamelCase<MineArgs>) => {
    const modelPath = argv.model ?? (readPreset('default').model as string | undefined);
    if (modelPath === undefined) throw new UsageError(expectedMessage('a detector model', '--model', 'none (no built-in model is configured)'));
    const model = await DetectorModel.load(resolveModelPath(modelPath), { intraOpThreads: argv.threads === undefined ? undefined : positiveInteger('threads', argv.threads) });
    let bar: Progress | undefined;
    const started = performance.now();
    try {
      const summary = await mine(model, {
        input: argv.input, output: argv.out, coco: argv.coco, root: argv.root,
        threshold: fraction('thresh', argv.thresh), floor: argv.floor === undefined ? undefined : fraction('floor', argv.floor),
        concepts: argv.concepts === undefined ? undefined : readConcepts(argv.concepts),
        source: argv.source as 'caption' | 'concepts' | 'both' | undefined,
        proposals: positiveInteger('proposals', argv.proposals), rpnNms: fraction('rpn-nms', argv.rpnNms),
        templates: argv.templates as 'single' | 'ensemble',
        shard: argv.shard === undefined ? undefined : parseShard(argv.shard),
        resume: argv.resume, overwrite: argv.overwrite, strict: argv.strict,
        queueSize: positiveInteger('queue', argv.queue), cacheDir: argv.cache ? argv.cacheDir : false,
        maxPixels: argv.maxPixels === undefined ? undefined : positiveInteger('max-pixels', argv.maxPixels),
        onProgress: ({ done, total, errors }) => {
          bar ??= new Progress({ label: 'mine', total, mode: 'auto' });
          bar.update(done, errors);
        },
      });
      bar?.finish();
      const seconds = (performance.now() - started) / 1000;
      console.error(`regionclip: mined ${summary.images} image(s) in ${seconds.toFixed(1)} s (${(summary.images / Math.max(seconds, 1e-9)).toFixed(2)} images/s): ${summary.phrases} phrases, ${summary.labels} labels kept, ${summary.errors} error(s)${summary.errors ? ` (see ${argv.out}.errors.jsonl)` : ''}${summary.resumedFrom ? `; resumed at line ${summary.resumedFrom + 1}` : ''}`);
    } finally {
      await model.release();
    }
  },
};
