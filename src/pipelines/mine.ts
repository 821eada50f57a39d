/**
 * `mine`: region–concept pseudo-labels from image–caption pairs (an auto-labeller, and RegionCLIP's
 * pretraining data), streamed unit by unit with exactly-once, resumable output.
 *
 * Per unit (a JSONL line `{"image", "caption" | "captions", "id"?}`, COCO-captions style `file_name` /
 * `image_id` too, or an image of a COCO-captions document: io/captions.ts): proposals and their
 * objectness from the RPN (300 after NMS 0.5 by default), region embeddings from the frozen region
 * encoder, then one of two rules (mining/match.ts): `caption` — the caption's phrases (with the
 * concept pool's names it writes) take the boxes that best show them, the pool (and any distractors)
 * competing — or `regionclip` — RegionCLIP's region→concept rule over the pool. Decoding runs ahead
 * of the model through a bounded queue. Bad units go to `<out>.errors.jsonl` and the run continues
 * (`strict` stops); a run that mined nothing because every unit failed throws the first failure.
 * `lines` mines one contiguous range of the input (what a distributed run's workers do, see
 * mine-queue.ts); the checkpoint identifies the input by the sha256 of the units mined, not by path.
 * At the end the records are exported (COCO, ODVG, YOLO, Label Studio: io/mined.ts).
 */
import type { ModelDtype } from '../runtime/dtypes.js';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import {
  ConfigError, HubError, InvalidInputError, IoError, ModelLoadError, ModelRunError, QueueError, RegionClipError, UsageError, expectedMessage,
} from '../errors.js';
import { decodeImage, type DecodedImage, type DecodeOptions } from '../image/read.js';
import { distractorPool, resolveMineOptions, type DistractorsSetting, type HubOptions, type MineSettings } from '../config/options.js';
import type { TemplateSetName } from '../text/prompts.js';
import { openCaptionSource, type CaptionSource } from '../io/captions.js';
import { CheckpointCadence, commitCheckpoint, openResumable, type ResumableRun } from '../io/checkpoint.js';
import { checkWritableFile } from '../io/files.js';
import type { LineRange } from '../io/input-lines.js';
import { MINE_FORMATS, minedToCoco, readConcepts, writeMinedExport, type MineFormat, type MinedLabel, type MinedRecord } from '../io/mined.js';
import { groundPhrases, mineRegionPhrasePairs } from '../mining/match.js';
import { scoreRegions } from '../matching/scores.js';
import { DetectorModel, type DetectorLoadOptions } from '../models/detector.js';
import { ClipTextEncoder, type TextEncoderOptions } from '../models/text-encoder.js';
import { captionPhrases, ConceptIndex } from '../text/caption-concepts.js';
import { distractorsFor } from '../text/distractors.js';
import type { ExtractedPhrase } from '../text/phrases.js';

export interface MineOptions extends TextEncoderOptions, DetectorLoadOptions {
  /** JSONL (one image–caption pair a line) or a COCO-captions JSON document. */
  input: string;
  /** The records (JSONL, one per input unit); the checkpoint and errors file sit beside it. */
  output: string;
  /** Folder relative image paths resolve against (default: the input file's folder). */
  root?: string;
  /** `caption` (default) or `regionclip`: see config/options' mine schema for every setting below. */
  rule?: MineSettings['rule'];
  /** logits = cosine / temperature (default 0.01, RegionCLIP's). */
  temperature?: number;
  /** regionclip rule: a region's best concept is kept above this probability (RegionCLIP: 0.1). */
  threshold?: number;
  /** regionclip rule: also each concept's best region above this (phrase→region; off by default). */
  floor?: number;
  /** caption rule: w in probability^(1−w) · objectness^w (default 0.9). */
  objectnessWeight?: number;
  /** caption rule: labels per phrase (default 1; the caption's count raises it). */
  topK?: number;
  /** caption rule: IoU above which a box overlapping a kept one is dropped (default 0.3). */
  nms?: number;
  /** caption rule: IoU above which proposals vote on a kept box (default 0.2; 1: off). */
  vote?: number;
  /** caption rule: labels scoring under this are dropped (default 0.05). */
  minScore?: number;
  /** RPN proposals kept per image after NMS (RegionCLIP pretraining: 300). */
  proposals?: number;
  /** RPN NMS threshold for mining (RegionCLIP pretraining: 0.5). */
  rpnNms?: number;
  /** The concept pool (default: the model's, `scoring.conceptPool`; false: none). */
  concepts?: readonly string[] | false;
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
  /** Exports written from the records at the end. */
  exports?: readonly { format: MineFormat; path: string }[];
  /** Also write a COCO dataset here at the end (the same as an export `{ format: 'coco', path }`). */
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
  input: true, output: true, root: true, rule: true, temperature: true, threshold: true, floor: true, objectnessWeight: true, topK: true, nms: true,
  vote: true, minScore: true, proposals: true, rpnNms: true, concepts: true, templates: true, distractors: true, shard: true, lines: true,
  resume: true, overwrite: true, strict: true, queueSize: true, exports: true, coco: true, maxPixels: true, intraOpThreads: true, dtype: true, regionBatchSize: true,
  cacheDir: true, phraseBatchSize: true, memoryEntries: true, onWarning: true, onProgress: true, onTextProgress: true, hub: true,
  checkpointLines: true, checkpointSeconds: true, signal: true, textEncoder: true,
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
  id?: string | number;
  image: string;
  captions: string[];
  path: string;
}

type Prepared =
  | { line: number; parsed: ParsedLine; decoded: DecodedImage }
  | { line: number; error: RegionClipError; id?: string | number }
  /** Another shard's line, or a blank one: nothing to write. */
  | { line: number; skip: true };

/** Validates one input unit (a JSONL line, or an image of a COCO-captions document) and confines its image path to `root`. */
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
  const captions = typeof v.caption === 'string' ? [v.caption] : Array.isArray(v.captions) && v.captions.every((c) => typeof c === 'string') ? (v.captions as string[]) : undefined;
  if (captions === undefined) throw new InvalidInputError(expectedMessage('a "caption" string (or a "captions" list of strings)', `line ${lineNumber}`, v.caption === undefined ? 'none' : JSON.stringify(v.caption)));
  const rawId = v.id ?? v.image_id;
  if (rawId !== undefined && typeof rawId !== 'string' && !(typeof rawId === 'number' && Number.isFinite(rawId))) throw new InvalidInputError(expectedMessage('an "id" (or "image_id") number or string', `line ${lineNumber}`, JSON.stringify(rawId)));
  const id = rawId as string | number | undefined;
  if (isAbsolute(image)) throw new InvalidInputError(expectedMessage(`a path relative to the root ${root}`, `line ${lineNumber}`, `the absolute path ${image}`));
  const path = resolve(root, image);
  const rel = relative(root, path);
  if (rel.startsWith('..') || isAbsolute(rel)) throw new InvalidInputError(expectedMessage(`a path inside the root ${root}`, `line ${lineNumber}`, `${image}, which leaves it`));
  if (existsSync(path)) {
    const real = realpathSync(path), realRoot = realpathSync(root);
    const realRel = relative(realRoot, real);
    if (realRel.startsWith('..') || isAbsolute(realRel)) throw new InvalidInputError(expectedMessage(`a path inside the root ${root}`, `line ${lineNumber}`, `${image}, a link that leaves it`));
  }
  return { ...(id !== undefined ? { id } : {}), image, captions, path };
}

/**
 * What a checkpoint is bound to: the model's files, the rule and its settings, the pool, the shard, the
 * lines and their content (sha256), not the input's path (distractors only when there are any).
 */
function settingsHash(modelHash: string, options: ResolvedMineOptions, pool: readonly string[], inputSha256: string): string {
  const distractors = distractorPool(options.distractors);
  return createHash('sha256').update(JSON.stringify({
    model: modelHash, rule: options.rule, temperature: options.temperature, threshold: options.threshold, floor: options.floor,
    objectnessWeight: options.objectnessWeight, topK: options.topK, nms: options.nms, vote: options.vote, minScore: options.minScore,
    proposals: options.proposals, rpnNms: options.rpnNms, templates: options.templates, concepts: pool, shard: options.shard,
    lines: options.lines === undefined ? null : [options.lines.first, options.lines.last ?? null], input: inputSha256,
    ...(distractors.length === 0 ? {} : { distractors }),
  })).digest('hex');
}

/**
 * The settings hash mine() records for `given` over the whole of an input whose sha256 is
 * `inputSha256`, with a model whose files hash to `modelHash` and whose concept pool is `modelPool`:
 * what a distributed run's merge writes in its final checkpoint, so it reads as a single-process run's.
 * @throws ConfigError as mine() does for bad options.
 */
export function mineSettingsHash(modelHash: string, modelPool: readonly string[] | undefined, given: MineOptions, inputSha256: string): string {
  const settings = resolveMineOptions(given, OTHER_OPTIONS);
  const options: ResolvedMineOptions = { ...given, ...settings, shard: settings.shard, lines: settings.lines };
  exportsOf(options);
  const pool = options.concepts === false ? [] : [...(options.concepts ?? modelPool ?? [])];
  return settingsHash(modelHash, options, pool, inputSha256);
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
  throw new InvalidInputError(expectedMessage('at least one {"image", "caption"} line (or a COCO-captions document)', path, bytes === 0 ? 'an empty file' : 'only blank lines'));
}

/** Checks before any work that an export can be written: a file (a YOLO export: a folder, created if absent, in an existing folder). */
function checkWritableExport(e: { format: Exclude<MineFormat, 'jsonl'>; path: string }, what: string): void {
  if (e.format !== 'yolo') {
    checkWritableFile(e.path, what);
    return;
  }
  const existing = existsSync(e.path) ? statSync(e.path) : undefined;
  if (existing !== undefined && !existing.isDirectory()) throw new IoError(expectedMessage('a folder for the YOLO dataset', what, `${e.path} (a file)`));
  checkWritableFile(existing === undefined ? e.path : join(e.path, 'data.yaml'), what);
}

/** `--resume` with `--overwrite` is a usage error (single and distributed runs); `resumeMeans`: what --resume does there. */
export function checkResumeOrOverwrite(options: { resume?: boolean; overwrite?: boolean }, resumeMeans: string): void {
  if (options.resume === true && options.overwrite === true) {
    throw new UsageError(expectedMessage(`either --resume (${resumeMeans}) or --overwrite (start it over)`, 'mine', 'both'));
  }
}

/** A run's `--root` is an existing folder, checked before the model loads (exit 7); `shown` names it in the error. */
export function checkRootFolder(root: string, shown: string = root): void {
  if (!(existsSync(root) && statSync(root).isDirectory())) {
    throw new IoError(expectedMessage('an existing folder (the images\' paths are relative to it)', 'mine.root (--root)', `${shown}, ${existsSync(root) ? 'a file' : 'a path that does not exist'}`));
  }
}

/** How exports name the labeller (Label Studio's model_version): the model folder's name and the rule. */
export function minedModelVersion(modelDir: string, rule: MineSettings['rule'], dtype: ModelDtype = 'fp32'): string {
  return `regionclip mine ${basename(modelDir)}${dtype === 'fp32' ? '' : ` ${dtype}`} (${rule})`;
}

/** A box with coordinates rounded to 0.01 px, as mined records store them. */
function roundedBox([x1, y1, x2, y2]: MinedLabel['box']): MinedLabel['box'] {
  const round = (v: number) => Math.round(v * 100) / 100;
  return [round(x1), round(y1), round(x2), round(y2)];
}

/**
/**
 * Mines `options.input` into `options.output`, then writes the exports. `model` is a loaded detector,
 * or a model folder / name / preset naming one (undefined: the default preset's), then loaded here and
 * released at the end. Options are validated (config/options' MINE_DEFAULTS fill the gaps) before
 * anything loads.
 * @throws ConfigError for option values out of range, an unknown export format or a `lines` range
 *   outside the input; UsageError for the regionclip rule without a pool, an existing output or
 *   export without resume/overwrite, or a resume with other settings; IoError for a missing input, or
 *   an output or export that cannot be written (checked before the model loads); InvalidInputError
 *   for an input with no line; with `strict`, the first bad unit's error; when every unit failed
 *   (nothing mined), the first one's error, naming the errors file.
 */
export async function mine(model: DetectorModel | string | undefined, given: MineOptions): Promise<MineSummary> {
  const settings = resolveMineOptions(given, OTHER_OPTIONS);
  const options: ResolvedMineOptions = { ...given, ...settings, shard: settings.shard, lines: settings.lines };
  const exports = exportsOf(options);
  checkResumeOrOverwrite(options, 'continue the run');
  if (!existsSync(options.input)) throw new IoError(expectedMessage('an existing JSONL or COCO-captions file', options.input, 'a path that does not exist'));
  if (options.root !== undefined) checkRootFolder(options.root);
  await checkHasLines(options.input);
  // Outputs are checked before the model loads, so a run never ends unable to write (exports are written last).
  checkWritableFile(options.output, 'output (--out)');
  for (const e of exports) checkWritableExport(e, e.format === 'coco' && e.path === options.coco ? 'coco (--coco)' : `exports (--out with --format ${e.format})`);
  if (!(model instanceof DetectorModel)) {
    const loaded = await DetectorModel.load(model, options);
    try {
      return await mine(loaded, options);
    } finally {
      await loaded.release();
    }
  }
  if (!options.resume && !options.overwrite) {
    const existing = exports.find((e) => existsSync(e.path));
    if (existing !== undefined) throw new UsageError(expectedMessage('a new output path, --resume or --overwrite', existing.path, 'an existing output'));
  }
  const root = resolve(options.root ?? dirname(resolve(options.input)));
  const pool = options.concepts === false ? [] : [...(options.concepts ?? model.conceptPool ?? [])];
  if (options.rule === 'regionclip' && pool.length === 0) throw new UsageError(expectedMessage('a concept pool (--concepts, or a model with one)', 'the regionclip rule', 'none'));
  const source = await openCaptionSource(options.input, options.lines, 'mine.lines (--lines)');
  const run = openResumable(options.output, settingsHash(model.loaded.modelHash, options, pool, source.range.sha256), options);
  const { range } = source;
  const total = range.endIndex - range.firstIndex;
  const encoder = options.textEncoder ?? new ClipTextEncoder(model.clip, options);
  // The pool is embedded once, up front (with progress: hundreds of concepts take a while); every unit then finds it in memory.
  if (!run.state.done && pool.length > 0) await encoder.embedPhrases(pool, { templates: options.templates, onProgress: options.onTextProgress });
  const labeller = new RegionLabeller(model, encoder, options, pool);
  const cadence = new CheckpointCadence(options.checkpointLines, options.checkpointSeconds);
  try {
    if (!run.state.done) {
      await inOrder(source, run.state.nextLine, options, (text, line) => prepareLine(text, line, root, options.maxPixels), async (item) => {
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
  const { images, phrases, labels, errors, skipped } = run.state.counts;
  // Only a run over the whole input: a range or a shard of bad lines is part of a run that may mine (the
  // distributed producer and the merge check the whole, mine-queue.ts).
  if (images === 0 && errors > 0 && options.lines === undefined && options.shard === undefined) throw nothingMined(options.output, errors);
  for (const e of exports) await writeMinedExport(e.format, e.path, options.output, { root, modelVersion: minedModelVersion(model.loaded.dir, options.rule, model.loaded.dtype) });
  return { images, phrases, labels, errors, skipped, resumedFrom: run.resumedFrom };
}

/**
 * The exports asked for (`exports`, and `coco` as a COCO export), checked.
 * @throws ConfigError for an unknown format or a path that is not a non-empty string.
 */
export function exportsOf(options: Pick<MineOptions, 'exports' | 'coco'>): { format: Exclude<MineFormat, 'jsonl'>; path: string }[] {
  const list = [...(options.exports ?? []), ...(options.coco !== undefined ? [{ format: 'coco' as const, path: options.coco }] : [])];
  const formats = MINE_FORMATS.filter((f) => f !== 'jsonl');
  return list.map((e, i) => {
    if (!formats.includes(e.format as Exclude<MineFormat, 'jsonl'>)) throw new ConfigError(expectedMessage(`one of ${formats.join(', ')}`, `mine.exports[${i}].format (--format)`, JSON.stringify(e.format)));
    if (typeof e.path !== 'string' || e.path.length === 0) throw new ConfigError(expectedMessage('a path', `mine.exports[${i}].path`, JSON.stringify(e.path)));
    return e as { format: Exclude<MineFormat, 'jsonl'>; path: string };
  });
}

const ERROR_CLASSES: Record<string, typeof RegionClipError> = { InvalidInputError, IoError, ConfigError, UsageError, ModelLoadError, ModelRunError, HubError, QueueError };

/** The error of a run that mined nothing: the first unit's failure (its class, so its exit code), naming the errors file. */
export function nothingMined(output: string, errors: number): RegionClipError {
  const errorsPath = `${output}.errors.jsonl`;
  const first = JSON.parse(readFileSync(errorsPath, 'utf8').split('\n')[0]) as { line: number; error: string; reason: string };
  const Kind = ERROR_CLASSES[first.error] ?? InvalidInputError;
  const reason = first.reason.startsWith(`line ${first.line}: `) ? first.reason : `line ${first.line}: ${first.reason}`;
  return new Kind(`nothing was mined: all ${errors} line(s) failed (see ${errorsPath}); the first, ${reason}`);
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
    const record = await labeller.record(item.parsed, item.line + 1, item.decoded);
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

/** A phrase to label, with how many labels it may take. */
type Phrase = ExtractedPhrase;

/** One image's pseudo-labels: proposals → region embeddings → the mining rule. */
class RegionLabeller {
  private readonly index: ConceptIndex | undefined;
  private poolEmbeds: Promise<Float32Array> | undefined;
  /** The extra distractors (`distractors`), before a query's own names are taken out. */
  private readonly distractors: readonly string[];
  /** The pool's names, lower-cased (an extra distractor already in the pool competes once). */
  private readonly poolNames: ReadonlySet<string>;

  constructor(private readonly model: DetectorModel, private readonly encoder: ClipTextEncoder, private readonly options: ResolvedMineOptions, private readonly pool: readonly string[]) {
    this.index = pool.length > 0 ? new ConceptIndex(pool) : undefined;
    this.distractors = distractorPool(options.distractors);
    this.poolNames = new Set(pool.map((name) => name.toLowerCase()));
  }

  async record(parsed: ParsedLine, line: number, decoded: DecodedImage): Promise<MinedRecord> {
    const phrases = this.options.rule === 'caption' ? this.phrasesOf(parsed.captions) : [];
    const record: MinedRecord = {
      ...(parsed.id !== undefined ? { id: parsed.id } : {}), line, image: parsed.image, width: decoded.width, height: decoded.height,
      captions: parsed.captions, phrases: phrases.map((p) => p.phrase), labels: [],
    };
    if (this.options.rule === 'regionclip' || phrases.length > 0) record.labels = await this.labels(decoded, phrases);
    return record;
  }

  /** The captions' phrases (with the pool's names they write), once each; a count said in any caption is kept (the largest). */
  private phrasesOf(captions: readonly string[]): Phrase[] {
    const out: Phrase[] = [];
    for (const caption of captions) {
      for (const p of captionPhrases(caption, this.index)) {
        const earlier = out.find((q) => q.phrase === p.phrase);
        if (earlier === undefined) out.push({ ...p });
        else if (p.count !== undefined && (earlier.count ?? 0) < p.count) earlier.count = p.count;
      }
    }
    return out;
  }

  private embedPool(): Promise<Float32Array> {
    this.poolEmbeds ??= this.encoder.embedPhrases(this.pool, { templates: this.options.templates });
    return this.poolEmbeds;
  }

  private async labels(decoded: DecodedImage, phrases: Phrase[]): Promise<MinedLabel[]> {
    const { model, options } = this;
    const D = model.manifest.embedDim;
    const { proposals, resized } = await model.propose(decoded, { postNmsTopK: options.proposals, nmsThreshold: options.rpnNms });
    const boxes = DetectorModel.toOriginal(proposals.boxes, resized);
    const regionEmbeds = await model.embedRegions(decoded, boxes, { resized });
    const poolEmbeds = this.pool.length > 0 ? await this.embedPool() : new Float32Array(0);
    const label = (box: MinedLabel['box'], phrase: string, concept: string, score: number, direction: MinedLabel['direction']): MinedLabel =>
      ({ box: roundedBox(box), phrase, concept, score: Math.round(score * 1e6) / 1e6, direction });
    if (options.rule === 'regionclip') {
      const extra = distractorsFor(this.distractors, this.pool);
      const distractorEmbeds = extra.length === 0 ? undefined : await this.encoder.embedPhrases(extra, { templates: options.templates });
      const pairs = mineRegionPhrasePairs(regionEmbeds, poolEmbeds, D, { temperature: options.temperature, threshold: options.threshold, floor: options.floor, distractorEmbeds });
      return pairs.map((p) => label(boxes.row(p.region), this.pool[p.phrase], this.pool[p.phrase], p.score, p.direction));
    }
    // Caption rule: the phrases, then the pool's other concepts and the extra distractors, in one softmax.
    const named = new Set(phrases.flatMap((p) => [p.phrase.toLowerCase(), p.concept.toLowerCase()]));
    const fromPool = this.pool.flatMap((name, i) => (named.has(name.toLowerCase()) ? [] : [i]));
    const extra = distractorsFor(this.distractors, phrases.map((p) => p.phrase)).filter((name) => !this.poolNames.has(name.toLowerCase()));
    const candidates = new Float32Array((phrases.length + fromPool.length + extra.length) * D);
    candidates.set(await this.encoder.embedPhrases(phrases.map((p) => p.phrase), { templates: options.templates }));
    fromPool.forEach((i, k) => candidates.set(poolEmbeds.subarray(i * D, (i + 1) * D), (phrases.length + k) * D));
    if (extra.length > 0) candidates.set(await this.encoder.embedPhrases(extra, { templates: options.templates }), (phrases.length + fromPool.length) * D);
    const probs = scoreRegions(regionEmbeds, candidates, D, { temperature: options.temperature });
    const grounded = groundPhrases(
      { probs, candidates: phrases.length + fromPool.length + extra.length, phrases: phrases.length, objectness: proposals.scores, boxes: boxes.data, quotas: phrases.map((p) => Math.max(options.topK, p.count ?? 0)) },
      { objectnessWeight: options.objectnessWeight, nmsThreshold: options.nms, voteThreshold: options.vote, minScore: options.minScore },
    );
    return grounded.map((g) => label(g.box, phrases[g.phrase].phrase, phrases[g.phrase].concept, g.score, 'phrase→region'));
  }
}

/**
 * Reads `source`'s units (io/captions.ts: JSONL lines, or a document's images) of its range from `from`
 * on, preparing up to `queueSize` ahead of `process`, which sees them in input order. Another shard's
 * unit, or a blank line, is a skip: nothing to write, but the checkpoint moves past it once everything
 * before it is written (keeps the order of the files).
 */
async function inOrder(
  source: CaptionSource, from: number, options: { shard?: { index: number; count: number }; queueSize: number },
  prepare: (text: string, line: number) => Promise<Prepared>, process: (item: Prepared) => Promise<void>,
): Promise<void> {
  const queue: Promise<Prepared>[] = [];
  for await (const { index, text } of source.units(from)) {
    const ours = options.shard === undefined || index % options.shard.count === options.shard.index;
    queue.push(!ours || text.trim().length === 0 ? Promise.resolve({ line: index, skip: true }) : prepare(text, index));
    while (queue.length >= options.queueSize) await process(await queue.shift()!);
  }
  while (queue.length > 0) await process(await queue.shift()!);
}

export { minedToCoco, readConcepts, type MinedLabel, type MinedRecord };
