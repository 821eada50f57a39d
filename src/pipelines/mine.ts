/**
 * `mine`: region–phrase pseudo-labels from image–caption pairs (RegionCLIP's pretraining data),
 * streamed line by line with exactly-once, resumable output.
 *
 * Per line `{"image", "caption", "id"?}` (or COCO-captions style `file_name` / `image_id`):
 * proposals from the RPN (300 after NMS 0.5 by default), phrases from the caption and/or a concept
 * pool, region embeddings from the frozen region encoder, phrase embeddings from the text tower,
 * then mining/match.ts keeps the confident pairs. Decoding runs ahead of the model through a
 * bounded queue. Bad lines go to `<out>.errors.jsonl` and the run continues (`strict` stops).
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { InvalidInputError, IoError, RegionClipError, UsageError, expectedMessage } from '../errors.js';
import { decodeImage, type DecodedImage } from '../image/read.js';
import { AppendFile, checkpointPath, readCheckpoint, writeCheckpoint, type CheckpointState } from '../mining/checkpoint.js';
import { mineRegionPhrasePairs, type LabelDirection } from '../mining/match.js';
import { DetectorModel } from '../models/detector.js';
import { ClipTextEncoder, type TextEncoderOptions } from '../models/text-encoder.js';
import { extractPhrases } from '../text/phrases.js';
import { writeCocoDataset, type CocoDataset } from '../io/coco.js';

export interface MineOptions extends TextEncoderOptions {
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
  source?: 'caption' | 'concepts' | 'both';
  templates?: 'single' | 'ensemble';
  /** This process's share: lines with index % count === index. */
  shard?: { index: number; count: number };
  resume?: boolean;
  overwrite?: boolean;
  strict?: boolean;
  /** Images decoded ahead of the model (default 4). */
  queueSize?: number;
  /** Also write a COCO dataset here at the end. */
  coco?: string;
  maxPixels?: number;
  onProgress?: (state: { done: number; total: number; errors: number }) => void;
}

export interface MinedLabel {
  box: [number, number, number, number];
  phrase: string;
  concept: string;
  score: number;
  direction: LabelDirection;
}

export interface MinedRecord {
  id: string | number;
  image: string;
  width: number;
  height: number;
  caption: string;
  phrases: string[];
  labels: MinedLabel[];
}

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

function settingsHash(model: DetectorModel, options: MineOptions, concepts: string[]): string {
  return createHash('sha256').update(JSON.stringify({
    model: model.loaded.modelHash, threshold: options.threshold, floor: options.floor, proposals: options.proposals, rpnNms: options.rpnNms,
    source: options.source, templates: options.templates, concepts, shard: options.shard, input: resolve(options.input),
  })).digest('hex');
}

async function countLines(path: string): Promise<number> {
  let count = 0, last = 10;
  for await (const chunk of createReadStream(path)) {
    const buf = chunk as Buffer;
    for (let i = 0; i < buf.length; i++) if (buf[i] === 10) count++;
    if (buf.length > 0) last = buf[buf.length - 1];
  }
  return last === 10 ? count : count + 1;
}

/** A box with coordinates rounded to 0.01 px, as mined records store them. */
function roundedBox([x1, y1, x2, y2]: MinedLabel['box']): MinedLabel['box'] {
  const round = (v: number) => Math.round(v * 100) / 100;
  return [round(x1), round(y1), round(x2), round(y2)];
}

export async function mine(model: DetectorModel, options: MineOptions): Promise<MineSummary> {
  const threshold = options.threshold ?? 0.1;
  const floor = options.floor ?? threshold;
  const concepts = options.concepts ?? [];
  const source = options.source ?? (concepts.length > 0 ? 'concepts' : 'caption');
  if ((source === 'concepts' || source === 'both') && concepts.length === 0) throw new UsageError(expectedMessage('a concept pool (--concepts)', `phrase source "${source}"`, 'none'));
  if (!existsSync(options.input)) throw new IoError(expectedMessage('an existing JSONL file', options.input, 'a path that does not exist'));
  const root = resolve(options.root ?? dirname(resolve(options.input)));
  const hash = settingsHash(model, { ...options, threshold, floor, source }, concepts);
  const errorsPath = `${options.output}.errors.jsonl`;

  let state: CheckpointState = { version: 1, settingsHash: hash, nextLine: 0, outputBytes: 0, errorBytes: 0, counts: { images: 0, phrases: 0, labels: 0, errors: 0, skipped: 0 }, done: false };
  const previous = readCheckpoint(options.output);
  if (options.resume && previous !== undefined) {
    if (previous.settingsHash !== hash) {
      throw new UsageError(expectedMessage('the settings the interrupted run used (model, thresholds, proposals, concepts, shard, input)', '--resume', 'different settings; rerun with the original ones or start over with --overwrite'));
    }
    state = previous;
  } else if (!options.overwrite && !options.resume && (existsSync(options.output) || previous !== undefined)) {
    throw new UsageError(expectedMessage('a new output path, --resume or --overwrite', options.output, 'an existing output'));
  } else {
    rmSync(options.output, { force: true });
    rmSync(errorsPath, { force: true });
  }
  const resumedFrom = state.nextLine;
  const out = new AppendFile(options.output, state.outputBytes);
  const errors = new AppendFile(errorsPath, state.errorBytes);
  const total = state.done ? 0 : await countLines(options.input);

  const encoder = new ClipTextEncoder(model.clip, options);
  const D = model.manifest.embedDim;
  const embed = (phrases: string[]) => encoder.embedPhrases(phrases, { templates: options.templates ?? 'single' });

  const checkpoint = (nextLine: number) => {
    state = { ...state, nextLine, outputBytes: out.bytes, errorBytes: errors.bytes };
    writeCheckpoint(options.output, state);
  };

  const process1 = async (item: Prepared): Promise<void> => {
    if ('skip' in item) {
      state.counts.skipped++;
      checkpoint(item.line + 1);
      return;
    }
    if ('error' in item) {
      errors.append(`${JSON.stringify({ line: item.line + 1, ...(item.id !== undefined ? { id: item.id } : {}), error: item.error.name, reason: item.error.message })}\n`);
      state.counts.errors++;
      checkpoint(item.line + 1);
      if (options.strict) throw item.error;
      return;
    }
    const { parsed, decoded } = item;
    const extracted = source === 'concepts' ? [] : extractPhrases(parsed.caption);
    const entries = [...extracted];
    if (source !== 'caption') for (const c of concepts) if (!entries.some((e) => e.phrase === c)) entries.push({ phrase: c, concept: c });
    const phrases = entries.map((e) => e.phrase);
    const record: MinedRecord = { id: parsed.id, image: parsed.image, width: decoded.width, height: decoded.height, caption: parsed.caption, phrases: extracted.map((e) => e.phrase), labels: [] };
    if (phrases.length > 0) {
      const { proposals, resized } = await model.propose(decoded, { postNmsTopK: options.proposals ?? 300, nmsThreshold: options.rpnNms ?? 0.5 });
      const boxes = DetectorModel.toOriginal(proposals.boxes, resized);
      const regionEmbeds = await model.embedRegions(decoded, boxes, { resized });
      const pairs = mineRegionPhrasePairs(regionEmbeds, await embed(phrases), D, { temperature: model.manifest.scoring.temperature, threshold, floor });
      record.labels = pairs.map((pair) => ({
        box: roundedBox(boxes.row(pair.region)),
        phrase: entries[pair.phrase].phrase,
        concept: entries[pair.phrase].concept,
        score: Math.round(pair.score * 1e6) / 1e6,
        direction: pair.direction,
      }));
    }
    out.append(`${JSON.stringify(record)}\n`);
    state.counts.images++;
    state.counts.phrases += record.phrases.length;
    state.counts.labels += record.labels.length;
    checkpoint(item.line + 1);
  };

  const prepare = async (text: string, line: number): Promise<Prepared> => {
    let parsed: ParsedLine | undefined;
    try {
      parsed = parseMineLine(text, line + 1, root);
      return { line, parsed, decoded: await decodeImage(parsed.path, { maxPixels: options.maxPixels }) };
    } catch (error) {
      if (!(error instanceof RegionClipError)) throw error;
      const wrapped = parsed === undefined ? error : new (error.constructor as typeof InvalidInputError)(`line ${line + 1}: ${error.message}`, { cause: error });
      return { line, error: wrapped, id: parsed?.id };
    }
  };

  const queueSize = Math.max(1, options.queueSize ?? 4);
  const queue: Promise<Prepared>[] = [];
  let done = resumedFrom;
  const report = () => options.onProgress?.({ done, total, errors: state.counts.errors });
  try {
    if (!state.done) {
      const lines = createInterface({ input: createReadStream(options.input, 'utf8'), crlfDelay: Infinity });
      let index = -1;
      for await (const text of lines) {
        index++;
        if (index < state.nextLine) continue;
        const mine = options.shard === undefined || index % options.shard.count === options.shard.index;
        if (!mine || text.trim().length === 0) {
          // Not this shard's line, or blank: nothing to write, but the checkpoint moves past it once
          // everything before it is written (keeps the order of the files).
          queue.push(Promise.resolve({ line: index, skip: true }));
        } else {
          queue.push(prepare(text, index));
        }
        while (queue.length >= queueSize) {
          const item = await queue.shift()!;
          await process1(item);
          done = item.line + 1;
          report();
        }
      }
      while (queue.length > 0) {
        const item = await queue.shift()!;
        await process1(item);
        done = item.line + 1;
        report();
      }
      state.done = true;
      writeCheckpoint(options.output, state);
    }
  } finally {
    out.close();
    errors.close();
  }
  if (options.coco !== undefined) writeCocoDataset(options.coco, await minedToCoco(options.output));
  return { images: state.counts.images, phrases: state.counts.phrases, labels: state.counts.labels, errors: state.counts.errors, skipped: state.counts.skipped, resumedFrom };
}

/** A COCO dataset from a mined JSONL: categories are the concepts (ids by sorted name), annotations carry the score. */
export async function minedToCoco(path: string): Promise<CocoDataset> {
  const images: CocoDataset['images'] = [];
  const raw: { imageId: number; label: MinedLabel }[] = [];
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  for await (const text of lines) {
    if (text.trim().length === 0) continue;
    const record = JSON.parse(text) as MinedRecord;
    const imageId = images.length + 1;
    images.push({ id: imageId, file_name: record.image, width: record.width, height: record.height });
    for (const label of record.labels) raw.push({ imageId, label });
  }
  const names = [...new Set(raw.map((r) => r.label.concept))].sort();
  const ids = new Map(names.map((n, i) => [n, i + 1]));
  const annotations = raw.map(({ imageId, label }, i) => {
    const [x1, y1, x2, y2] = label.box;
    const w = Math.max(0, x2 - x1), h = Math.max(0, y2 - y1);
    return { id: i + 1, image_id: imageId, category_id: ids.get(label.concept)!, bbox: [x1, y1, w, h] as [number, number, number, number], area: w * h, iscrowd: 0 as const, score: label.score };
  });
  return { images, categories: names.map((name) => ({ id: ids.get(name)!, name })), annotations } as CocoDataset;
}

export { checkpointPath };
export function readConcepts(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new IoError(expectedMessage('a readable concepts file', path, (error as NodeJS.ErrnoException).code ?? String(error)), { cause: error });
  }
  const concepts = [...new Set(text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0))];
  if (concepts.length === 0) throw new InvalidInputError(expectedMessage('at least one concept (one per line)', path, 'an empty file'));
  return concepts;
}
