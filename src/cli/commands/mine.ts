/**
 * `regionclip mine captions.jsonl --out labels.jsonl`: region–concept pseudo-labels from image–caption
 * pairs (JSONL or a COCO-captions document), streamed, resumable (`--resume`) and shardable
 * (`--shard i/N`, `--lines`), written as JSONL records or as COCO, ODVG, YOLO or Label Studio
 * (`--format`); with `--redis`, enqueued as line ranges for `regionclip worker` processes on many machines.
 */
import type { ArgumentsCamelCase, Argv, CommandModule, InferredOptionTypes } from 'yargs';
import { MINE_DEFAULTS, MINE_RULES, QUEUE_DEFAULTS, TEMPLATE_SET_NAMES, modelReference, resolveMineOptions, resolveQueueOptions } from '../../config/options.js';
import { ConfigError, InterruptedError, UsageError, expectedMessage } from '../../errors.js';
import { checkpointPath } from '../../io/checkpoint.js';
import { STDIN_INPUT } from '../../io/inputs.js';
import { MINE_FORMATS, recordsPathFor, type MineFormat } from '../../io/mined.js';
import { mine, readConcepts, type MineSummary } from '../../pipelines/mine.js';
import { mineOnQueue } from '../../pipelines/mine-queue.js';
import { cacheDirFrom, numberOption, quietOption, runtimeOptions, type OptionTable } from '../options.js';
import { Progress, progressMode, textProgress } from '../progress.js';
import { stopOnSignals } from '../signals.js';
import { BUILTIN_MODEL_NOTE, noticeBuiltinModel, warn } from '../output.js';

const D = MINE_DEFAULTS;

export const mineOptions = {
  out: { type: 'string', demandOption: true, describe: 'Output in --format: the JSONL records (jsonl), a COCO / ODVG / Label Studio file or a YOLO folder; records other than jsonl go to <out without extension>.records.jsonl (errors: <records>.errors.jsonl)' },
  format: { type: 'string', describe: `Format of --out: ${MINE_FORMATS.join(' | ')} (default jsonl)` },
  coco: { type: 'string', describe: 'Also write a COCO dataset here (categories = concepts, annotations with score); the same as --format coco for a second file' },
  root: { type: 'string', describe: 'Folder relative image paths resolve against (default: the input\'s folder)' },
  rule: { type: 'string', describe: `${MINE_RULES.join(' | ')} (default ${D.rule}). caption: each caption phrase takes the boxes that best show it (deviates from RegionCLIP: see --objectness, --top-k, --nms, --vote, --min-score); regionclip: RegionCLIP's rule, each region labelled with its best pool concept above --thresh` },
  concepts: { type: 'string', describe: 'Concept pool, one per line (default: the model\'s own pool when it has one; --no-concepts: none). caption rule: distractors in the softmax, and its names found in captions become phrases (not RegionCLIP\'s); regionclip rule: the labels' },
  temperature: numberOption(`Softmax temperature: logits = cosine / T (default ${D.temperature}, RegionCLIP's, not the model's own)`),
  thresh: numberOption(`regionclip rule: a region's best concept is kept above this probability (default ${D.threshold}, RegionCLIP's CONCEPT_THRES; no fallback to every region when none passes, unlike RegionCLIP)`),
  floor: numberOption('regionclip rule: also each concept\'s best region above this probability (phrase→region; off by default; not RegionCLIP\'s)'),
  objectness: numberOption(`caption rule: weight w of RPN objectness, score = probability^(1-w) · objectness^w (default ${D.objectnessWeight}; 0: RegionCLIP's probability alone)`),
  'top-k': numberOption(`caption rule: labels per phrase (default ${D.topK}; a count in the caption, "two dogs", raises it)`),
  nms: numberOption(`caption rule: a box overlapping a kept box (any phrase) by more than this IoU is dropped (default ${D.nms}; RegionCLIP has no such step)`),
  vote: numberOption(`caption rule: proposals overlapping a kept box by more than this IoU vote on its coordinates, weighted by score (default ${D.vote}; 1: off; not RegionCLIP's)`),
  'min-score': numberOption(`caption rule: labels scoring under this are dropped (default ${D.minScore})`),
  proposals: numberOption(`RPN proposals per image after NMS (default ${D.proposals}, RegionCLIP's)`),
  'rpn-nms': numberOption(`RPN NMS threshold for mining (default ${D.rpnNms}, RegionCLIP's)`),
  templates: { type: 'string', describe: `Prompt templates for phrases: ${TEMPLATE_SET_NAMES.join(' | ')} (default ${D.templates})` },
  distractors: { type: 'string', describe: `Extra concepts that compete with the phrases (beside the pool) and are never mined: builtin | none | a file, one concept per line (default ${D.distractors})` },
  shard: { type: 'string', describe: 'Process lines with index % N == i (i/N; i may name an environment variable holding it, e.g. JOB_COMPLETION_INDEX/N)' },
  lines: { type: 'string', describe: 'Only these input lines (a COCO-captions document: images): first:last, 1-based and inclusive (first: to the end)' },
  'checkpoint-lines': numberOption(`Checkpoint (fsync, then <records>.checkpoint.json: beside --out, or beside the records for another --format) every this many lines (default ${D.checkpointLines})…`),
  'checkpoint-seconds': numberOption(`…or this many seconds, whichever comes first (default ${D.checkpointSeconds})`),
  resume: { type: 'boolean', describe: 'Continue an interrupted run from its checkpoint' },
  overwrite: { type: 'boolean', describe: 'Replace an existing output' },
  strict: { type: 'boolean', describe: 'Stop at the first bad line' },
  model: { type: 'string', describe: 'Detector model folder, or a preset naming one (default: the default preset\'s model) (hf:org/name[@rev]: a Hub repository, pulled into the Hub cache on first use)' },
  queue: numberOption(`Images decoded ahead of the model (default ${D.queueSize})`),
  redis: { type: 'string', describe: 'Mine on many machines: enqueue line ranges on this Redis (redis://host:port) for `regionclip worker` processes, follow the run, and merge' },
  'range-lines': { type: 'number', describe: `With --redis: input lines per job (default ${QUEUE_DEFAULTS.rangeLines})` },
  'work-dir': { type: 'string', describe: 'With --redis: a folder every worker reaches, for the ranges\' outputs and checkpoints (default <out>.parts)' },
  ...runtimeOptions,
  ...quietOption,
} as const satisfies OptionTable;

type MineArgs = { input: string } & InferredOptionTypes<typeof mineOptions>;

function summaryLine(summary: MineSummary, seconds: number, records: string): string {
  const rate = (summary.images / Math.max(seconds, 1e-9)).toFixed(2);
  return `regionclip: mined ${summary.images} image(s) in ${seconds.toFixed(1)} s (${rate} images/s): ${summary.phrases} phrases, ${summary.labels} labels kept, ${summary.errors} error(s)${summary.errors ? ` (see ${records}.errors.jsonl)` : ''}${summary.resumedFrom ? `; resumed at line ${summary.resumedFrom + 1}` : ''}`;
}

/** `--format` checked (a usage error, like an unknown choice). */
function formatOf(value: string | undefined): MineFormat {
  if (value === undefined) return 'jsonl';
  if (!(MINE_FORMATS as readonly string[]).includes(value)) throw new ConfigError(expectedMessage(`one of ${MINE_FORMATS.join(', ')}`, 'mine.format (--format)', JSON.stringify(value)));
  return value as MineFormat;
}

/** Where the records go and which exports `--out` / `--format` ask for. */
function outputsOf(argv: ArgumentsCamelCase<MineArgs>): { output: string; exports: { format: Exclude<MineFormat, 'jsonl'>; path: string }[] } {
  const format = formatOf(argv.format);
  return format === 'jsonl' ? { output: argv.out, exports: [] } : { output: recordsPathFor(argv.out), exports: [{ format, path: argv.out }] };
}

/** `--concepts FILE`, `--no-concepts` (false) or neither (the model's pool). */
function conceptsOf(value: string | boolean | (string | boolean)[] | undefined): string[] | false | undefined {
  if (Array.isArray(value)) throw new UsageError(expectedMessage('either --concepts FILE or --no-concepts, once', '--concepts', value.map((v) => (v === false ? '--no-concepts' : `--concepts ${String(v)}`)).join(' and ')));
  if (value === undefined || value === true) return undefined;
  return value === false ? false : readConcepts(value, 'concepts (--concepts)');
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
    rule: argv.rule, temperature: argv.temperature, threshold: argv.thresh, floor: argv.floor, objectnessWeight: argv.objectness, topK: argv.topK,
    nms: argv.nms, vote: argv.vote, minScore: argv.minScore, proposals: argv.proposals, rpnNms: argv.rpnNms, templates: argv.templates,
    shard: argv.shard, lines: argv.lines, queueSize: argv.queue, distractors: argv.distractors, intraOpThreads: argv.threads, maxPixels: argv.maxPixels, dtype: argv.dtype,
    checkpointLines: argv.checkpointLines, checkpointSeconds: argv.checkpointSeconds,
  });
  const { output, exports } = outputsOf(argv);
  noticeBuiltinModel(modelReference(argv.model), argv.quiet);
  let bar: Progress | undefined;
  const started = performance.now();
  // Ctrl-C / SIGTERM: finish the line in hand, write the checkpoint, exit 130; a second signal quits at once.
  const stop = stopOnSignals(
    (name) => `\nregionclip mine: stopping after the line in hand; its checkpoint is written, and the same command with --resume continues (${name} again to quit at once)`,
    (name) => new InterruptedError(expectedMessage('the run to finish', 'mine', `${name}; the checkpoint ${checkpointPath(output)} records the lines done: rerun with --resume to continue`)),
  );
  const summary = await mine(argv.model, {
    ...settings, signal: stop.signal,
    input: argv.input, output, exports, coco: argv.coco, root: argv.root,
    concepts: conceptsOf(argv.concepts as string | boolean | (string | boolean)[] | undefined),
    resume: argv.resume, overwrite: argv.overwrite, strict: argv.strict, cacheDir: cacheDirFrom(argv), onWarning: warn,
    onTextProgress: textProgress(progressMode(argv)),
    onProgress: ({ done, total, errors }) => {
      bar ??= new Progress({ label: 'mine', total, mode: progressMode(argv) });
      bar.update(done, errors);
    },
  }).finally(stop.dispose);
  bar?.finish();
  console.error(summaryLine(summary, (performance.now() - started) / 1000, output));
}

/** Flags of a single-process run that a distributed run's producer refuses, and why. */
const NOT_WITH_REDIS = [
  ['shard', 'shard', 'the producer splits the input into ranges'],
  ['lines', 'lines', 'the producer splits the input into ranges'],
  ['threads', 'threads', 'each worker takes its own: regionclip worker --threads'],
  ['cacheDir', 'cache-dir', 'each worker takes its own: regionclip worker --cache-dir'],
  ['cache', 'cache', 'each worker takes its own: regionclip worker --no-cache'],
  ['distractors', 'distractors', 'distributed runs compete with the concept pool only'],
] as const;

/** `--redis`: the producer of a distributed run; progress and notices on stderr. */
async function mineOnRedis(argv: ArgumentsCamelCase<MineArgs>, redis: string): Promise<void> {
  const settings = resolveMineOptions({
    rule: argv.rule, temperature: argv.temperature, threshold: argv.thresh, floor: argv.floor, objectnessWeight: argv.objectness, topK: argv.topK,
    nms: argv.nms, vote: argv.vote, minScore: argv.minScore, proposals: argv.proposals, rpnNms: argv.rpnNms, templates: argv.templates,
    queueSize: argv.queue, maxPixels: argv.maxPixels, checkpointLines: argv.checkpointLines, checkpointSeconds: argv.checkpointSeconds, dtype: argv.dtype,
  });
  const { output, exports } = outputsOf(argv);
  resolveQueueOptions({ rangeLines: argv.rangeLines });
  for (const [flag, name, why] of NOT_WITH_REDIS) {
    if (argv[flag] !== undefined) throw new UsageError(expectedMessage(`no --${name} with --redis (${why})`, 'mine', `--${name}`));
  }
  let bar: Progress | undefined;
  const started = performance.now();
  const summary = await mineOnQueue(argv.model, {
    rule: settings.rule, temperature: settings.temperature, threshold: settings.threshold, floor: settings.floor, objectnessWeight: settings.objectnessWeight,
    topK: settings.topK, nms: settings.nms, vote: settings.vote, minScore: settings.minScore, proposals: settings.proposals, rpnNms: settings.rpnNms,
    templates: settings.templates, queueSize: settings.queueSize, maxPixels: settings.maxPixels, checkpointLines: settings.checkpointLines,
    checkpointSeconds: settings.checkpointSeconds, dtype: settings.dtype,
    input: argv.input, output, exports, coco: argv.coco, root: argv.root, concepts: conceptsOf(argv.concepts as string | boolean | (string | boolean)[] | undefined),
    resume: argv.resume, overwrite: argv.overwrite, strict: argv.strict, redis, rangeLines: argv.rangeLines, workDir: argv.workDir,
    onProgress: ({ done, total, errors }) => {
      bar ??= new Progress({ label: 'mine', total, mode: progressMode(argv) });
      bar.update(done, errors);
    },
    onNotice: (message) => console.error(`${process.stderr.isTTY ? '\r\x1b[K' : ''}regionclip: ${message}`),
  });
  bar?.finish();
  console.error(`${summaryLine(summary, (performance.now() - started) / 1000, output)} (distributed run ${summary.runId})`);
}

export const mineCommand: CommandModule<object, MineArgs> = {
  command: 'mine <input>',
  describe: 'Mine region–concept pseudo-labels (an auto-labeller) from image–caption pairs: JSONL or a COCO-captions document',
  builder: (yargs: Argv) =>
    yargs
      .positional('input', { type: 'string', demandOption: true, describe: 'JSONL: {"image", "caption", "id"?} (or file_name/image_id) per line; or a COCO-captions JSON document {"images", "annotations"}' })
      .options(mineOptions)
      .epilogue(`Without --model, mine uses ${BUILTIN_MODEL_NOTE}.`),
  handler: mineCaptions,
};
