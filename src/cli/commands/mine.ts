/**
 * `regionclip mine captions.jsonl --out labels.jsonl`: region–concept pseudo-labels from image–caption
 * pairs (JSONL or a COCO-captions document), streamed, resumable (`--resume`) and shardable
 * (`--shard i/N`), written as JSONL records or as COCO, ODVG, YOLO or Label Studio (`--format`).
 */
import type { ArgumentsCamelCase, Argv, CommandModule, InferredOptionTypes } from 'yargs';
import { MINE_DEFAULTS, MINE_RULES, TEMPLATE_SET_NAMES, resolveMineOptions } from '../../config/options.js';
import { MINE_FORMATS, recordsPathFor, type MineFormat } from '../../io/mined.js';
import { mine, readConcepts, type MineSummary } from '../../pipelines/mine.js';
import { UsageError, expectedMessage } from '../../errors.js';
import { cacheDirFrom, runtimeOptions, type OptionTable } from '../options.js';
import { Progress } from '../progress.js';

const D = MINE_DEFAULTS;

export const mineOptions = {
  out: { type: 'string', demandOption: true, describe: 'Output in --format: the JSONL records (jsonl), a COCO / ODVG / Label Studio file or a YOLO folder; records other than jsonl go to <out without extension>.records.jsonl' },
  format: { type: 'string', describe: `Format of --out: ${MINE_FORMATS.join(' | ')} (default jsonl)` },
  coco: { type: 'string', describe: 'Also write a COCO dataset here (categories = concepts, annotations with score); the same as --format coco for a second file' },
  root: { type: 'string', describe: 'Folder relative image paths resolve against (default: the input\'s folder)' },
  rule: { type: 'string', describe: `${MINE_RULES.join(' | ')} (default ${D.rule}). caption: each caption phrase takes the boxes that best show it (deviates from RegionCLIP: see --objectness, --top-k, --nms, --vote, --min-score); regionclip: RegionCLIP's rule, each region labelled with its best pool concept above --thresh` },
  concepts: { type: 'string', describe: 'Concept pool, one per line (default: the model\'s own pool when it has one; --no-concepts: none). caption rule: distractors in the softmax, and its names found in captions become phrases (not RegionCLIP\'s); regionclip rule: the labels' },
  temperature: { type: 'number', describe: `Softmax temperature: logits = cosine / T (default ${D.temperature}, RegionCLIP's, not the model's own)` },
  thresh: { type: 'number', describe: `regionclip rule: a region's best concept is kept above this probability (default ${D.threshold}, RegionCLIP's CONCEPT_THRES; no fallback to every region when none passes, unlike RegionCLIP)` },
  floor: { type: 'number', describe: 'regionclip rule: also each concept\'s best region above this probability (phrase→region; off by default; not RegionCLIP\'s)' },
  objectness: { type: 'number', describe: `caption rule: weight w of RPN objectness, score = probability^(1-w) · objectness^w (default ${D.objectnessWeight}; 0: RegionCLIP's probability alone)` },
  'top-k': { type: 'number', describe: `caption rule: labels per phrase (default ${D.topK}; a count in the caption, "two dogs", raises it)` },
  nms: { type: 'number', describe: `caption rule: a box overlapping a kept box (any phrase) by more than this IoU is dropped (default ${D.nms}; RegionCLIP has no such step)` },
  vote: { type: 'number', describe: `caption rule: proposals overlapping a kept box by more than this IoU vote on its coordinates, weighted by score (default ${D.vote}; 1: off; not RegionCLIP's)` },
  'min-score': { type: 'number', describe: `caption rule: labels scoring under this are dropped (default ${D.minScore})` },
  proposals: { type: 'number', describe: `RPN proposals per image after NMS (default ${D.proposals}, RegionCLIP's)` },
  'rpn-nms': { type: 'number', describe: `RPN NMS threshold for mining (default ${D.rpnNms}, RegionCLIP's)` },
  templates: { type: 'string', describe: `Prompt templates for phrases: ${TEMPLATE_SET_NAMES.join(' | ')} (default ${D.templates})` },
  shard: { type: 'string', describe: 'Process lines with index % N == i (i/N)' },
  resume: { type: 'boolean', describe: 'Continue an interrupted run from its checkpoint' },
  overwrite: { type: 'boolean', describe: 'Replace an existing output' },
  strict: { type: 'boolean', describe: 'Stop at the first bad line' },
  model: { type: 'string', describe: 'Detector model folder, or a preset naming one (default: the default preset\'s model) (hf:org/name[@rev]: a Hub repository, pulled into the Hub cache on first use)' },
  queue: { type: 'number', describe: `Images decoded ahead of the model (default ${D.queueSize})` },
  ...runtimeOptions,
} as const satisfies OptionTable;

type MineArgs = { input: string } & InferredOptionTypes<typeof mineOptions>;

function summaryLine(summary: MineSummary, seconds: number, records: string): string {
  const rate = (summary.images / Math.max(seconds, 1e-9)).toFixed(2);
  return `regionclip: mined ${summary.images} image(s) in ${seconds.toFixed(1)} s (${rate} images/s): ${summary.phrases} phrases, ${summary.labels} labels kept, ${summary.errors} error(s)${summary.errors ? ` (see ${records}.errors.jsonl)` : ''}${summary.resumedFrom ? `; resumed at line ${summary.resumedFrom + 1}` : ''}`;
}

/** `--format` checked (a usage error, like an unknown choice). */
function formatOf(value: string | undefined): MineFormat {
  if (value === undefined) return 'jsonl';
  if (!(MINE_FORMATS as readonly string[]).includes(value)) throw new UsageError(expectedMessage(`one of ${MINE_FORMATS.join(', ')}`, '--format', JSON.stringify(value)));
  return value as MineFormat;
}

/** `--concepts FILE`, `--no-concepts` (false) or neither (the model's pool). */
function conceptsOf(value: string | boolean | undefined): string[] | false | undefined {
  if (value === undefined || value === true) return undefined;
  return value === false ? false : readConcepts(value);
}

async function mineCaptions(argv: ArgumentsCamelCase<MineArgs>): Promise<void> {
  // Validated before anything is read or loaded; mine() checks the same way.
  const settings = resolveMineOptions({
    rule: argv.rule, temperature: argv.temperature, threshold: argv.thresh, floor: argv.floor, objectnessWeight: argv.objectness, topK: argv.topK,
    nms: argv.nms, vote: argv.vote, minScore: argv.minScore, proposals: argv.proposals, rpnNms: argv.rpnNms, templates: argv.templates,
    shard: argv.shard, queueSize: argv.queue, intraOpThreads: argv.threads, maxPixels: argv.maxPixels,
  });
  const format = formatOf(argv.format);
  const output = format === 'jsonl' ? argv.out : recordsPathFor(argv.out);
  const exports = [...(format === 'jsonl' ? [] : [{ format, path: argv.out }])];
  let bar: Progress | undefined;
  const started = performance.now();
  const summary = await mine(argv.model, {
    ...settings,
    input: argv.input, output, exports, coco: argv.coco, root: argv.root,
    concepts: conceptsOf(argv.concepts as string | boolean | undefined),
    resume: argv.resume, overwrite: argv.overwrite, strict: argv.strict, cacheDir: cacheDirFrom(argv),
    onProgress: ({ done, total, errors }) => {
      bar ??= new Progress({ label: 'mine', total, mode: 'auto' });
      bar.update(done, errors);
    },
  });
  bar?.finish();
  console.error(summaryLine(summary, (performance.now() - started) / 1000, output));
}

export const mineCommand: CommandModule<object, MineArgs> = {
  command: 'mine <input>',
  describe: 'Mine region–concept pseudo-labels (an auto-labeller) from image–caption pairs: JSONL or a COCO-captions document',
  builder: (yargs: Argv) =>
    yargs
      .positional('input', { type: 'string', demandOption: true, describe: 'JSONL: {"image", "caption", "id"?} (or file_name/image_id) per line; or a COCO-captions JSON document {"images", "annotations"}' })
      .options(mineOptions),
  handler: mineCaptions,
};
