/**
 * `regionclip mine captions.jsonl --out labels.jsonl`: region–phrase pseudo-labels from
 * image–caption pairs, streamed, resumable (`--resume`) and shardable (`--shard i/N`, `--lines`);
 * with `--redis`, enqueued as line ranges for `regionclip worker` processes on many machines.
 */
import type { ArgumentsCamelCase, Argv, CommandModule, InferredOptionTypes } from 'yargs';
import { MINE_DEFAULTS, MINE_SOURCES, QUEUE_DEFAULTS, TEMPLATE_SET_NAMES, modelReference, resolveMineOptions, resolveQueueOptions } from '../../config/options.js';
import { UsageError, expectedMessage } from '../../errors.js';
import { STDIN_INPUT } from '../../io/inputs.js';
import { mine, readConcepts, type MineSummary } from '../../pipelines/mine.js';
import { mineOnQueue } from '../../pipelines/mine-queue.js';
import { cacheDirFrom, numberOption, quietOption, runtimeOptions, type OptionTable } from '../options.js';
import { Progress, progressMode, textProgress } from '../progress.js';
import { BUILTIN_MODEL_NOTE, noticeBuiltinModel, warn } from '../output.js';

export const mineOptions = {
  out: { type: 'string', demandOption: true, describe: 'Output JSONL, one record per image (errors go to <out>.errors.jsonl)' },
  coco: { type: 'string', describe: 'Also write a COCO dataset (categories = concepts, annotations with score)' },
  root: { type: 'string', describe: 'Folder relative image paths resolve against (default: the JSONL\'s folder)' },
  thresh: numberOption(`Region→phrase probability threshold (default ${MINE_DEFAULTS.threshold}, as RegionCLIP)`),
  floor: numberOption('Phrase→region probability floor (default: --thresh)'),
  concepts: { type: 'string', describe: 'A concept pool, one per line (RegionCLIP\'s mode)' },
  source: { type: 'string', describe: `Phrases from ${MINE_SOURCES.join(' | ')}: the caption, the pool, or both (default: the pool when given)` },
  proposals: numberOption(`RPN proposals per image after NMS (default ${MINE_DEFAULTS.proposals})`),
  'rpn-nms': numberOption(`RPN NMS threshold for mining (default ${MINE_DEFAULTS.rpnNms})`),
  templates: { type: 'string', describe: `Prompt templates for phrases: ${TEMPLATE_SET_NAMES.join(' | ')} (default ${MINE_DEFAULTS.templates})` },
  distractors: { type: 'string', describe: `Concepts that compete with the phrases and are never mined: builtin | none | a file, one concept per line (default ${MINE_DEFAULTS.distractors}: RegionCLIP's rule)` },
  shard: { type: 'string', describe: 'Process lines with index % N == i (i/N; i may name an environment variable holding it, e.g. JOB_COMPLETION_INDEX/N)' },
  lines: { type: 'string', describe: 'Only these input lines: first:last, 1-based and inclusive (first: to the end)' },
  'checkpoint-lines': { type: 'number', describe: `Checkpoint (fsync, then <out>.checkpoint.json) every this many lines (default ${MINE_DEFAULTS.checkpointLines})…` },
  'checkpoint-seconds': { type: 'number', describe: `…or this many seconds, whichever comes first (default ${MINE_DEFAULTS.checkpointSeconds})` },
  resume: { type: 'boolean', describe: 'Continue an interrupted run from its checkpoint' },
  overwrite: { type: 'boolean', describe: 'Replace an existing output' },
  strict: { type: 'boolean', describe: 'Stop at the first bad line' },
  model: { type: 'string', describe: 'Detector model folder, or a preset naming one (default: the default preset\'s model) (hf:org/name[@rev]: a Hub repository, pulled into the Hub cache on first use)' },
  queue: numberOption(`Images decoded ahead of the model (default ${MINE_DEFAULTS.queueSize})`),
  redis: { type: 'string', describe: 'Mine on many machines: enqueue line ranges on this Redis (redis://host:port) for `regionclip worker` processes, follow the run, and merge' },
  'range-lines': { type: 'number', describe: `With --redis: input lines per job (default ${QUEUE_DEFAULTS.rangeLines})` },
  'work-dir': { type: 'string', describe: 'With --redis: a folder every worker reaches, for the ranges\' outputs and checkpoints (default <out>.parts)' },
  ...runtimeOptions,
  ...quietOption,
} as const satisfies OptionTable;

type MineArgs = { input: string } & InferredOptionTypes<typeof mineOptions>;

function summaryLine(summary: MineSummary, seconds: number, out: string): string {
  const rate = (summary.images / Math.max(seconds, 1e-9)).toFixed(2);
  return `regionclip: mined ${summary.images} image(s) in ${seconds.toFixed(1)} s (${rate} images/s): ${summary.phrases} phrases, ${summary.labels} labels kept, ${summary.errors} error(s)${summary.errors ? ` (see ${out}.errors.jsonl)` : ''}${summary.resumedFrom ? `; resumed at line ${summary.resumedFrom + 1}` : ''}`;
}

async function mineCaptions(argv: ArgumentsCamelCase<MineArgs>): Promise<void> {
  if (argv.input === STDIN_INPUT) {
    throw new UsageError(expectedMessage('a JSONL file (a run resumes from its input, which stdin cannot be read twice for)', 'mine <input>', '- (stdin)'));
  }
  if (argv.redis !== undefined) return mineOnRedis(argv, argv.redis);
  for (const flag of ['rangeLines', 'workDir'] as const) {
    if (argv[flag] !== undefined) throw new UsageError(expectedMessage('--redis', flag === 'rangeLines' ? '--range-lines' : '--work-dir', 'none'));
  }
  // Validated before anything is read or loaded; mine() checks the same way.
  const settings = resolveMineOptions({
    threshold: argv.thresh, floor: argv.floor, source: argv.source, proposals: argv.proposals, rpnNms: argv.rpnNms, templates: argv.templates,
    shard: argv.shard, lines: argv.lines, queueSize: argv.queue, distractors: argv.distractors, intraOpThreads: argv.threads, maxPixels: argv.maxPixels,
    checkpointLines: argv.checkpointLines, checkpointSeconds: argv.checkpointSeconds,
  });
  noticeBuiltinModel(modelReference(argv.model), argv.quiet);
  let bar: Progress | undefined;
  const started = performance.now();
  const summary = await mine(argv.model, {
    ...settings,
    input: argv.input, output: argv.out, coco: argv.coco, root: argv.root,
    concepts: argv.concepts === undefined ? undefined : readConcepts(argv.concepts),
    resume: argv.resume, overwrite: argv.overwrite, strict: argv.strict, cacheDir: cacheDirFrom(argv), onWarning: warn,
    onTextProgress: textProgress(progressMode(argv)),
    onProgress: ({ done, total, errors }) => {
      bar ??= new Progress({ label: 'mine', total, mode: progressMode(argv) });
      bar.update(done, errors);
    },
  });
  bar?.finish();
  console.error(summaryLine(summary, (performance.now() - started) / 1000, argv.out));
}

/** Flags of a single-process run that a distributed run's producer refuses, and why. */
const NOT_WITH_REDIS = [
  ['shard', 'shard', 'the producer splits the input into ranges'],
  ['lines', 'lines', 'the producer splits the input into ranges'],
  ['threads', 'threads', 'each worker takes its own: regionclip worker --threads'],
  ['cacheDir', 'cache-dir', 'each worker takes its own: regionclip worker --cache-dir'],
  ['cache', 'cache', 'each worker takes its own: regionclip worker --no-cache'],
  ['distractors', 'distractors', 'distributed runs use the default rule (none)'],
] as const;

/** `--redis`: the producer of a distributed run; progress and notices on stderr. */
async function mineOnRedis(argv: ArgumentsCamelCase<MineArgs>, redis: string): Promise<void> {
  const settings = resolveMineOptions({
    threshold: argv.thresh, floor: argv.floor, source: argv.source, proposals: argv.proposals, rpnNms: argv.rpnNms, templates: argv.templates,
    queueSize: argv.queue, maxPixels: argv.maxPixels, checkpointLines: argv.checkpointLines, checkpointSeconds: argv.checkpointSeconds,
  });
  resolveQueueOptions({ rangeLines: argv.rangeLines });
  for (const [flag, name, why] of NOT_WITH_REDIS) {
    if (argv[flag] !== undefined) throw new UsageError(expectedMessage(`no --${name} with --redis (${why})`, 'mine', `--${name}`));
  }
  let bar: Progress | undefined;
  const started = performance.now();
  const summary = await mineOnQueue(argv.model, {
    threshold: settings.threshold, floor: settings.floor, source: settings.source, proposals: settings.proposals, rpnNms: settings.rpnNms, templates: settings.templates,
    queueSize: settings.queueSize, maxPixels: settings.maxPixels, checkpointLines: settings.checkpointLines, checkpointSeconds: settings.checkpointSeconds,
    input: argv.input, output: argv.out, coco: argv.coco, root: argv.root, concepts: argv.concepts === undefined ? undefined : readConcepts(argv.concepts),
    resume: argv.resume, overwrite: argv.overwrite, strict: argv.strict, redis, rangeLines: argv.rangeLines, workDir: argv.workDir,
    onProgress: ({ done, total, errors }) => {
      bar ??= new Progress({ label: 'mine', total, mode: progressMode(argv) });
      bar.update(done, errors);
    },
    onNotice: (message) => console.error(`${process.stderr.isTTY ? '\r\x1b[K' : ''}regionclip: ${message}`),
  });
  bar?.finish();
  console.error(`${summaryLine(summary, (performance.now() - started) / 1000, argv.out)} (distributed run ${summary.runId})`);
}

export const mineCommand: CommandModule<object, MineArgs> = {
  command: 'mine <input>',
  describe: 'Mine region–phrase pseudo-labels from image–caption pairs (JSONL)',
  builder: (yargs: Argv) =>
    yargs
      .positional('input', { type: 'string', demandOption: true, describe: 'JSONL: {"image", "caption", "id"?} (or file_name/image_id) per line' })
      .options(mineOptions)
      .epilogue(`Without --model, mine uses ${BUILTIN_MODEL_NOTE}.`),
  handler: mineCaptions,
};
