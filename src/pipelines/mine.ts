/**
 * `mine`: region–phrase pseudo-labels from image–caption pairs (RegionCLIP's pretraining data),
 * streamed line by line with exactly-once, resumable output.
 *
 * Per line `{"image", "caption", "id"?}` (or COCO-captions style `file_name` / `image_id`):
 * proposals from the RPN (300 after NMS 0.5 by default), phrases from the caption and/or a concept
 * pool, region embeddings from the frozen region encoder, phrase embeddings from the text tower,
 * then mining/match.ts keeps the confident pairs. Decoding runs ahead of the model through a
 * bounded queue. Bad lines go to `<out>.errors.jsonl` and the run continues (`strict` stops).
 * `lines` mines one contiguous range of the input (what a distributed run's workers do, see
 * mine-queue.ts); the checkpoint identifies the input by the sha256 of the lines mined, not by path.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { InvalidInputError, IoError, RegionClipError, UsageError, expectedMessage } from '../errors.js';
import { decodeImage, type DecodedImage, type DecodeOptions } from '../image/read.js';
import { distractorPool, MINE_SOURCES, resolveMineOptions, type DistractorsSetting, type HubOptions, type MineSettings } from '../config/options.js';
import type { TemplateSetName } from '../text/prompts.js';
import { CheckpointCadence, commitCheckpoint, openResumable, type ResumableRun } from '../io/checkpoint.js';
import { checkWritableFile } from '../io/files.js';
import { readLines, scanRange, type LineRange, type ScannedRange } from '../io/input-lines.js';
import { minedToCoco, readConcepts, writeMinedCoco, type MinedLabel, type MinedRecord } from '../io/mined.js';
import { mineRegionPhrasePairs } from '../mining/match.js';
import { DetectorModel, type DetectorLoadOptions } from '../models/detector.js';
import { ClipTextEncoder, type TextEncoderOptions } from '../models/text-encoder.js';
import { distractorsFor } from '../text/distractors.js';
import { extractPhrases } from '../text/phrases.js';

export interface MineOptions extends TextEncoderOptions, DetectorLoadOptions {
  input: string;
  output: string;
  /** Folder relative image paths resolve against (default: the input file's folder). */
  root?: string;
  /** Region→phrase threshold (RegionCLIP: 0.1 over a concept pool). */
  threshold?: number;
  /** Phrase→region floor (default: the threshold). */
  floor?: number;
  /** RPN proposals kept per image after NMS (RegionCLIP pretraining: 300). */
  proposals?: number;
  /** RPN NMS threshold for mining (RegionCLIP pretraining: 0.5). */
  rpnNms?: number;
  /** A concept pool, one per line. */
  concepts?: string[];
  /** Where phrases come from: the caption, the concept pool, or both. */
  source?: (typeof MINE_SOURCES)[number];
  templates?: TemplateSetName;
  /**
   * Concepts competing with each image's phrases in the softmax, never mined (open-set scoring:
   * "builtin", a file or a list). Default "none": RegionCLIP's rule, a softmax over the phrases.
   */
  distractors?: DistractorsSetting;
  /** This process's share: lines with index % count === index (`{ index, count }`, or "i/N"). */
  shard?: { index: number; count: number } | string;
  /** Only these input lines: "first:last" (1-based, inclusive; "first:" to the end) or a LineRange. */
  lines?: LineRange | string;
  /** Checkpoint after this many lines (default 1000)… */
  checkpointLines?: number;
  /** …or this many seconds (default 10), whichever comes first. */
  checkpointSeconds?: number;
  /** Stops the run between two lines (after a checkpoint); mine() then throws the signal's reason. */
  signal?: AbortSignal;
  /** A text encoder of `model` to reuse, with its in-memory phrase embeddings (a worker's ranges share one); default: a new one. */
  textEncoder?: ClipTextEncoder;
  resume?: boolean;
  overwrite?: boolean;
  strict?: boolean;
  /** Images decoded ahead of the model (default 4). */
  queueSize?: number;
  /** Also write a COCO dataset here at the end. */
  coco?: string;
  maxPixels?: number | false;
  /** onnxruntime intra-op threads, when the model is loaded here (a path or preset). */
  intraOpThreads?: number;
  /** Hub settings for an `hf:org/name` model (default: the HF_* environment variables). */
  hub?: HubOptions;
  onProgress?: (state: { done: number; total: number; errors: number }) => void;
  /** Called as the concept pool is embedded before the first line (done, total concepts), for a progress bar. */
  onTextProgress?: (done: number, total: number) => void;
}

/** Every MineOptions key (checked complete by the compiler); those outside mine's schema are checked by mine(). */
const OPTION_KEYS = {
  input: true, output: true, root: true, threshold: true, floor: true, proposals: true, rpnNms: true, concepts: true, source: true,
  templates: true, distractors: true, shard: true, resume: true, overwrite: true, strict: true, queueSize: true, coco: true, maxPixels: true,
  intraOpThreads: true, regionBatchSize: true, cacheDir: true, phraseBatchSize: true, memoryEntries: true, onWarning: true, onProgress: true, onTextProgress: true, hub: true,
  lines: true, checkpointLines: true, checkpointSeconds: true, signal: true, textEncoder: true,
} satisfies Record<keyof MineOptions, true>;
const OTHER_OPTIONS = Object.keys(OPTION_KEYS);

/** MineOptions validated, with their defaults. */
type ResolvedMineOptions = Omit<MineOptions, keyof MineSettings> & MineSettings;

export interface MineSummary {
  images: number;
  phrases: number;
  labels: number;
  errors: number;
  skipped: number;
  resumedFrom: number;
}

interface ParsedLine {
  id: string | number;
  image: string;
  caption: string;
  path: string;
}

type Prepared =
  | { line: number; parsed: ParsedLine; decoded: DecodedImage }
  | { line: number; error: RegionClipError; id?: string | number }
  /** Another shard's line, or a blank one: nothing to write. */
  | { line: number; skip: true };

/** Validates one JSONL line and confines its image path to `root`. */
export function parseMineLine(text: string, lineNumber: number, root: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(expectedMessage('a JSON object', `line ${lineNumber}`, `invalid JSON (${(error as Error).message})`));
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidInputError(expectedMessage('a JSON object', `line ${lineNumber}`, Array.isArray(value) ? 'an array' : typeof value));
  const v = value as Record<string, unknown>;
  const image = v.image ?? v.file_name;
  if (typeof image !== 'string' || image.length === 0) throw new InvalidInputError(expectedMessage('an "image" (or "file_name") path', `line ${lineNumber}`, image === undefined ? 'none' : JSON.stringify(image)));
  if (typeof v.caption !== 'string') throw new InvalidInputError(expectedMessage('a "caption" string', `line ${lineNumber}`, v.caption === undefined ? 'none' : JSON.stringify(v.caption)));
  const rawId = v.id ?? v.image_id;
  const id = typeof rawId === 'string' || typeof rawId === 'number' ? rawId : lineNumber;
  if (isAbsolute(image)) throw new InvalidInputError(expectedMessage(`a path relative to the root ${root}`, `line ${lineNumber}`, `the absolute path ${image}`));
  const path = resolve(root, image);
  const rel = relative(root, path);
  if (rel.startsWith('..') || isAbsolute(rel)) throw new InvalidInputError(expectedMessage(`a path inside the root ${root}`, `line ${lineNumber}`, `${image}, which leaves it`));
  if (existsSync(path)) {
    const real = realpathSync(path), realRoot = realpathSync(root);
    const realRel = relative(realRoot, real);
    if (realRel.startsWith('..') || isAbsolute(realRel)) throw new InvalidInputError(expectedMessage(`a path inside the root ${root}`, `line ${lineNumber}`, `${image}, a link that leaves it`));
  }
  return { id, image, caption: v.caption, path };
}

/**
 * What a checkpoint is bound to: the model's files, the rule, the shard, the lines and their content (sha256), not the
 * input's path (distractors only when there are any).
 */
function settingsHash(modelHash: string, options: ResolvedMineOptions, concepts: string[], inputSha256: string, distractors: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify({
    model: modelHash, threshold: options.threshold, floor: options.floor, proposals: options.proposals, rpnNms: options.rpnNms,
    source: options.source, templates: options.templates, concepts, shard: options.shard,
    lines: options.lines === undefined ? null : [options.lines.first, options.lines.last ?? null], input: inputSha256,
    ...(distractors.length === 0 ? {} : { distractors }),
  })).digest('hex');
}

/**
 * The settings hash mine() records for `given` over the whole of an input whose sha256 is
 * `inputSha256`, with a model whose files hash to `modelHash`: what a distributed run's merge
 * writes in its final checkpoint, so it reads as a single-process run's.
 */
export function mineSettingsHash(modelHash: string, given: MineOptions, inputSha256: string): string {
  const settings = resolveMineOptions(given, OTHER_OPTIONS);
  const options: ResolvedMineOptions = { ...given, ...settings, shard: settings.shard, lines: settings.lines };
  const rule = mineRule(options);
  return settingsHash(modelHash, { ...options, ...rule }, rule.concepts, inputSha256, rule.distractors);
}

/**
 * An input with no line at all (empty, or only blank lines) is a mistake, not a run of 0 images:
 * an InvalidInputError. Reads only up to the first character that is not whitespace.
 */
async function checkHasLines(path: string): Promise<void> {
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    const buf = chunk as Buffer;
    if (buf.some((b) => b !== 32 && b !== 9 && b !== 10 && b !== 13)) return;
    bytes += buf.length;
  }
  throw new InvalidInputError(expectedMessage('at least one {"image", "caption"} line', path, bytes === 0 ? 'an empty file' : 'only blank lines'));
}

/** A box with coordinates rounded to 0.01 px, as mined records store them. */
function roundedBox([x1, y1, x2, y2]: MinedLabel['box']): MinedLabel['box'] {
  const round = (v: number) => Math.round(v * 100) / 100;
  return [round(x1), round(y1), round(x2), round(y2)];
}

/**
 * Mines `options.input` into `options.output`. `model` is a loaded detector, or a model folder /
 * name / preset naming one (undefined: the default preset's), then loaded here and released at
 * the end. Options are validated (config/options' MINE_DEFAULTS fill the gaps) before anything loads.
 * @throws ConfigError for option values out of range; UsageError for a concept source without a
 *   pool, an existing output without resume/overwrite, or a resume with other settings; IoError for
 *   a missing input, or an output (`output`, `coco`) that cannot be written (checked before the model
 *   loads); with `strict`, the first bad line's error.
 */
export async function mine(model: DetectorModel | string | undefined, given: MineOptions): Promise<MineSummary> {
  const settings = resolveMineOptions(given, OTHER_OPTIONS);
  const options: ResolvedMineOptions = { ...given, ...settings, shard: settings.shard, lines: settings.lines };
  const rule = mineRule(options);
  if (!existsSync(options.input)) throw new IoError(expectedMessage('an existing JSONL file', options.input, 'a path that does not exist'));
  await checkHasLines(options.input);
  // Outputs are checked before the model loads, so a run never ends unable to write (--coco is written last).
  checkWritableFile(options.output, 'output (--out)');
  if (options.coco !== undefined) checkWritableFile(options.coco, 'coco (--coco)');
  if (!(model instanceof DetectorModel)) {
    const loaded = await DetectorModel.load(model, options);
    try {
      return await mine(loaded, options);
    } finally {
      await loaded.release();
    }
  }
  const root = resolve(options.root ?? dirname(resolve(options.input)));
  const range = await scanRange(options.input, options.lines, 'mine.lines (--lines)');
  const run = openResumable(options.output, settingsHash(model.loaded.modelHash, { ...options, ...rule }, rule.concepts, range.sha256, rule.distractors), options);
  const total = range.endIndex - range.firstIndex;
  const encoder = options.textEncoder ?? new ClipTextEncoder(model.clip, options);
  // The pool is embedded once, up front (with progress: 856 concepts take minutes); every line then finds it in memory.
  if (!run.state.done && rule.source !== 'caption' && rule.concepts.length > 0) await encoder.embedPhrases(rule.concepts, { templates: options.templates, onProgress: options.onTextProgress });
  const labeller = new RegionLabeller(model, encoder, options, rule);
  const cadence = new CheckpointCadence(options.checkpointLines, options.checkpointSeconds);
  try {
    if (!run.state.done) {
      await inOrder(options.input, run.state.nextLine, { ...options, range }, (text, line) => prepareLine(text, line, root, options.maxPixels), async (item) => {
        await writeItem(run, item, labeller, options, cadence);
        options.onProgress?.({ done: item.line + 1 - range.firstIndex, total, errors: run.state.counts.errors });
        if (options.signal?.aborted) {
          commitCheckpoint(options.output, run);
          options.signal.throwIfAborted();
        }
      });
      run.state.done = true;
      commitCheckpoint(options.output, run);
    }
  } finally {
    run.out.close();
    run.errors.close();
  }
  if (options.coco !== undefined) await writeMinedCoco(options.coco, options.output);
  const { images, phrases, labels, errors, skipped } = run.state.counts;
  return { images, phrases, labels, errors, skipped, resumedFrom: run.resumedFrom };
}

/** The mining rule's settings: thresholds, where the phrases come from, and the distractors competing with them. */
interface MineRule {
  threshold: number;
  floor: number;
  concepts: string[];
  source: 'caption' | 'concepts' | 'both';
  distractors: readonly string[];
}

function mineRule(options: ResolvedMineOptions): MineRule {
  const concepts = options.concepts ?? [];
  const source = options.source ?? (concepts.length > 0 ? 'concepts' : 'caption');
  if ((source === 'concepts' || source === 'both') && concepts.length === 0) throw new UsageError(expectedMessage('a concept pool (--concepts)', `phrase source "${source}"`, 'none'));
  return { threshold: options.threshold, floor: options.floor ?? options.threshold, concepts, source, distractors: distractorPool(options.distractors) };
}

/** Validates one line and decodes its image; a bad line becomes an error item naming the line. */
async function prepareLine(text: string, line: number, root: string, maxPixels: DecodeOptions['maxPixels']): Promise<Prepared> {
  let parsed: ParsedLine | undefined;
  try {
    parsed = parseMineLine(text, line + 1, root);
    return { line, parsed, decoded: await decodeImage(parsed.path, { maxPixels }) };
  } catch (error) {
    if (!(error instanceof RegionClipError)) throw error;
    const wrapped = parsed === undefined ? error : new (error.constructor as typeof InvalidInputError)(`line ${line + 1}: ${error.message}`, { cause: error });
    return { line, error: wrapped, id: parsed?.id };
  }
}

/** Writes one item (record, error or skip), counts it and moves the state past its line (checkpointed when `cadence` says so). */
async function writeItem(run: ResumableRun, item: Prepared, labeller: RegionLabeller, options: ResolvedMineOptions, cadence: CheckpointCadence): Promise<void> {
  const counts = run.state.counts;
  if ('skip' in item) {
    counts.skipped++;
  } else if ('error' in item) {
    run.errors.append(`${JSON.stringify({ line: item.line + 1, ...(item.id !== undefined ? { id: item.id } : {}), error: item.error.name, reason: item.error.message })}\n`);
    counts.errors++;
  } else {
    const record = await labeller.record(item.parsed, item.decoded);
    run.out.append(`${JSON.stringify(record)}\n`);
    counts.images++;
    counts.phrases += record.phrases.length;
    counts.labels += record.labels.length;
  }
  run.state = { ...run.state, nextLine: item.line + 1 };
  if (cadence.tick() || ('error' in item && options.strict)) {
    commitCheckpoint(options.output, run);
    cadence.reset();
  }
  if ('error' in item && options.strict) throw item.error;
}

/** One image's pseudo-labels: proposals → region embeddings → the mining rule over its phrases. */
class RegionLabeller {
  constructor(private readonly model: DetectorModel, private readonly encoder: ClipTextEncoder, private readonly options: ResolvedMineOptions, private readonly rule: MineRule) {}

  async record(parsed: ParsedLine, decoded: DecodedImage): Promise<MinedRecord> {
    const { source, concepts } = this.rule;
    const extracted = source === 'concepts' ? [] : extractPhrases(parsed.caption);
    const entries = [...extracted];
    if (source !== 'caption') for (const c of concepts) if (!entries.some((e) => e.phrase === c)) entries.push({ phrase: c, concept: c });
    const record: MinedRecord = { id: parsed.id, image: parsed.image, width: decoded.width, height: decoded.height, caption: parsed.caption, phrases: extracted.map((e) => e.phrase), labels: [] };
    if (entries.length > 0) record.labels = await this.labels(decoded, entries);
    return record;
  }

  private async labels(decoded: DecodedImage, entries: { phrase: string; concept: string }[]): Promise<MinedLabel[]> {
    const { model, options } = this;
    const { proposals, resized } = await model.propose(decoded, { postNmsTopK: options.proposals, nmsThreshold: options.rpnNms });
    const boxes = DetectorModel.toOriginal(proposals.boxes, resized);
    const regionEmbeds = await model.embedRegions(decoded, boxes, { resized });
    const phrases = entries.map((e) => e.phrase);
    const phraseEmbeds = await this.encoder.embedPhrases(phrases, { templates: options.templates });
    const distractors = distractorsFor(this.rule.distractors, phrases);
    const distractorEmbeds = distractors.length === 0 ? undefined : await this.encoder.embedPhrases(distractors, { templates: options.templates });
    const pairs = mineRegionPhrasePairs(regionEmbeds, phraseEmbeds, model.manifest.embedDim, {
      temperature: model.manifest.scoring.temperature, threshold: this.rule.threshold, floor: this.rule.floor, distractorEmbeds,
    });
    return pairs.map((pair) => ({
      box: roundedBox(boxes.row(pair.region)),
      phrase: entries[pair.phrase].phrase,
      concept: entries[pair.phrase].concept,
      score: Math.round(pair.score * 1e6) / 1e6,
      direction: pair.direction,
    }));
  }
}

/**
 * Reads `input`'s lines of `range` from `from` on, preparing up to `queueSize` ahead of `process`,
 * which sees them in input order. Another shard's line, or a blank one, is a skip: nothing to
 * write, but the checkpoint moves past it once everything before it is written (keeps the order of the files).
 */
async function inOrder(
  input: string, from: number, options: { shard?: { index: number; count: number }; queueSize: number; range: ScannedRange },
  prepare: (text: string, line: number) => Promise<Prepared>, process: (item: Prepared) => Promise<void>,
): Promise<void> {
  const queue: Promise<Prepared>[] = [];
  const { range } = options;
  for await (const { index, text } of readLines(input, range.startByte, range.firstIndex)) {
    if (index >= range.endIndex) break;
    if (index < from) continue;
    const ours = options.shard === undefined || index % options.shard.count === options.shard.index;
    queue.push(!ours || text.trim().length === 0 ? Promise.resolve({ line: index, skip: true }) : prepare(text, index));
    while (queue.length >= options.queueSize) await process(await queue.shift()!);
  }
  while (queue.length > 0) await process(await queue.shift()!);
}

export { minedToCoco, readConcepts, type MinedLabel, type MinedRecord };
