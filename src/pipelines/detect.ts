/**
 * Zero-shot detection, RegionCLIP's inference: proposals (RPN, or given boxes) → region embeddings →
 * phrase embeddings → scores (cosine / temperature, softmax over phrases and their competitors: the
 * background, or the distractor pool of open-set scoring) → a finetuned head's box regression applied
 * to the proposals, if it has one → ViLD's ensemble with a second region encoder, if the model has one → per-class
 * (or class-agnostic) NMS. Orchestration only: every step is a model method or a pure function.
 *
 * Glossary: R regions, P phrases, K distractors, D embedding size.
 */
import { InvalidInputError, ModelRunError, expectedMessage } from '../errors.js';
import { Boxes } from '../geometry/boxes.js';
import { decodeBoxes, type BoxCoderWeights } from '../geometry/box-coder.js';
import type { ResizedForDetection } from '../image/preprocess.js';
import { decodeImage, type DecodedImage, type DecodeOptions, type ImageInput } from '../image/read.js';
import { categoryNameKey } from '../eval/category-names.js';
import { selectDetections } from '../matching/detections.js';
import { ensembleCandidates, ensembleProbs, fuseScores, scoreRegions, type ObjectnessFusion } from '../matching/scores.js';
import { DetectorModel, type DetectorLoadOptions, type RegionEnsemble } from '../models/detector.js';
import { modelInfo, type ModelInfo } from '../models/manifest.js';
import { ClipTextEncoder, type PhraseEmbeddingOptions, type TextEncoderOptions } from '../models/text-encoder.js';
import { parseSettings, type DetectSettings, type DetectSettingsInput } from '../config/preset.js';
import { DEFAULT_PRESET, distractorPool, parseRuntimeOptions, resolveDetectSettings, type DistractorsSetting, type HubOptions } from '../config/options.js';
import { resolveModelFolder } from '../models/model-source.js';
import { distractorsFor } from '../text/distractors.js';
import { extractPhrases, parseVocab } from '../text/phrases.js';
import { processWarning, type WarningHandler } from '../util/warnings.js';

export interface Detection {
  label: string;
  score: number;
  /** [x1, y1, x2, y2] in original-image pixels. */
  box: [number, number, number, number];
}

export interface DetectionResultData {
  image: { path: string; width: number; height: number };
  /** The model that ran: manifest name, the digest of the files read, the precision. */
  model: ModelInfo;
  /** The phrases the image was searched for, in order (detections' labels come from here). */
  phrases: string[];
  detections: Detection[];
  /** Milliseconds per stage. */
  timings: Record<string, number>;
}

/** One image's detections, with per-stage timings; `toJSON()` gives the documented object. */
export class DetectionResult implements DetectionResultData {
  constructor(
    readonly image: DetectionResultData['image'],
    readonly phrases: string[],
    readonly detections: Detection[],
    readonly timings: Record<string, number>,
    readonly model: ModelInfo,
  ) {}

  toJSON(): DetectionResultData {
    return { image: this.image, model: this.model, phrases: this.phrases, detections: this.detections, timings: this.timings };
  }
}

export interface DetectOptions extends TextEncoderOptions, DecodeOptions {
  /** Labels taken verbatim (comma/semicolon/newline separated string, or a list). */
  vocab?: string | readonly string[];
  /** A caption: its noun phrases become the labels. */
  caption?: string;
  /** Labels taken exactly as given, not split at separators (e.g. the lines of a vocabulary file). */
  phrases?: readonly string[];
  /**
   * Settings (default: the default preset's, pipelines/default.json; a partial object is completed
   * with the settings schema's defaults, config/preset.ts).
   */
  settings?: DetectSettingsInput;
  /** Score these boxes (original pixels, N×4) instead of RPN proposals (RegionCLIP's GT-box mode); they have no
   * objectness, so their scores are the label probabilities (the preset's objectness fusion does not apply).
   * They are clipped to the image; boxes with nothing left are dropped with a warning (`onWarning`). */
  boxes?: Float32Array;
  /**
   * Called as the phrases are embedded (done, total distinct phrases; cached ones count as done
   * from the first call), for a progress bar: a vocabulary of hundreds of labels takes minutes the
   * first time. Detector.detect/detectFile only.
   */
  onTextProgress?: (done: number, total: number) => void;
}

/** The phrases to look for: a vocab verbatim, or the noun phrases of a caption (de-duplicated by the category-name rule, eval/category-names.ts). */
export function resolvePhrases(options: Pick<DetectOptions, 'vocab' | 'caption' | 'phrases'>): string[] {
  const phrases: string[] = [];
  // One label per category name key: two labels that one COCO category name matches are one label.
  const keys = new Set<string>();
  const add = (phrase: string) => {
    const clean = phrase.replace(/\s+/g, ' ').trim();
    const key = categoryNameKey(clean);
    if (clean.length > 0 && !keys.has(key)) {
      keys.add(key);
      phrases.push(clean);
    }
  };
  options.phrases?.forEach(add);
  if (options.vocab !== undefined) parseVocab(options.vocab).forEach(add);
  if (options.caption !== undefined) {
    for (const { phrase } of extractPhrases(options.caption)) add(phrase);
  }
  if (phrases.length === 0) {
    throw new InvalidInputError(expectedMessage('at least one phrase (a vocabulary, or a caption with a noun phrase)', 'detect', options.caption !== undefined ? `the caption ${JSON.stringify(options.caption)} with no noun phrase` : 'no vocabulary'));
  }
  return phrases;
}

const round = (v: number) => Math.round(v * 100) / 100;

/**
 * RegionCLIP's class-agnostic box regression at inference (`fast_rcnn.py` predict_boxes, then the clip
 * in fast_rcnn_inference_single_image): the head's R×4 deltas decoded against the proposals in resized
 * pixels with `weights` (10, 10, 5, 5), clipped to the resized image, then back to original pixels.
 * @throws ModelRunError when a decoded box is not finite (RegionCLIP would silently drop the region).
 */
export function regressProposals(proposals: Boxes, boxDeltas: Float32Array, weights: BoxCoderWeights, resized: ResizedForDetection): Boxes {
  const decoded = decodeBoxes(boxDeltas, proposals.data, weights);
  const bad = decoded.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new ModelRunError(expectedMessage('finite box deltas', 'the region head', `a non-finite box for region ${bad >> 2}`));
  return DetectorModel.toOriginal(Boxes.of(decoded).clip([resized.image.height, resized.image.width]), resized);
}

/**
 * Boxes given instead of proposals, as detectron2 treats ground-truth boxes (`Boxes.clip`, then
 * `nonempty`, in `filter_empty_instances`): malformed boxes (not finite, x2 < x1) are an
 * InvalidInputError naming the box; the others are clipped to the image, and those with no width or
 * height left (outside the image, or empty to begin with) are dropped with one warning naming them,
 * so a box far larger than the image costs no more than the image itself.
 */
function givenBoxes(data: Float32Array, image: DecodedImage, onWarning: WarningHandler = processWarning): Boxes {
  const given = Boxes.from(data, 'boxes');
  const clipped = given.clip([image.height, image.width]);
  const keep = clipped.nonempty(0, 'gt');
  if (keep.length === given.length) return clipped;
  const kept = new Set(keep);
  const dropped = Array.from({ length: given.length }, (_, i) => i).filter((i) => !kept.has(i));
  const shown = dropped.slice(0, 5).map((i) => `#${i} [${given.row(i).join(', ')}]`).join(', ') + (dropped.length > 5 ? ', …' : '');
  onWarning(`${image.source}: dropped ${dropped.length} of ${given.length} given boxes (outside the ${image.width}×${image.height} image, or empty once clipped to it): ${shown}`, 'REGIONCLIP_BOXES_DROPPED');
  return clipped.gather(keep);
}

/**
 * Detects the phrases in one image. Phrase embeddings can be passed in (`phraseEmbeds`) so a run
 * over many images embeds its vocabulary once; the settings' distractors are embedded per call
 * (through the text-embedding cache: `Detector` keeps them in memory instead).
 */
export async function detectImage(
  detector: DetectorModel,
  /** A path, encoded bytes (optionally named), or an image the caller already decoded (it is not decoded again). */
  image: ImageInput | DecodedImage,
  phrases: string[],
  phraseEmbeds: Float32Array,
  options: DetectOptions = {},
): Promise<DetectionResult> {
  defaultSettings ??= resolveDetectSettings(DEFAULT_PRESET);
  const settings = options.settings === undefined ? defaultSettings : parseSettings({ ...options.settings }, 'detect options');
  parseRuntimeOptions(options, OTHER_OPTIONS);
  const pools = queryPools(competingPool(detector, settings.detect.distractors), ensemblePool(detector, settings), phrases);
  const all = pools.union.length === 0 ? undefined : await new ClipTextEncoder(detector.clip, options).embedPhrases(pools.union, phraseOptions(settings));
  return runDetection(detector, image, phrases, { phraseEmbeds, ...poolEmbeds(pools, all, detector.manifest.embedDim) }, options, settings);
}

/**
 * The distractor pool that competes for a model (README "Open-set scoring"): the settings' pool,
 * except that the built-in pool stands in for a trained background, so a model that has one (a
 * non-zero `scoring.backgroundEmbed`) scores against its background alone. A pool the settings name
 * (a file or a list) competes beside the background. Converted RegionCLIP models carry an all-zero
 * background (a constant logit 0), which is kept in the softmax but counts as untrained.
 */
export function competingPool(detector: DetectorModel, distractors: DistractorsSetting): readonly string[] {
  const trainedBackground = detector.backgroundEmbed?.some((v) => v !== 0) ?? false;
  return distractors === 'builtin' && trainedBackground ? [] : distractorPool(distractors);
}

/**
 * The distractor pool that competes in the ensemble partner's softmax: it has no background, so it is the settings'
 * pool whatever the detector's background (open-set scoring's rule for a model without one); none without an
 * ensemble in use.
 */
export function ensemblePool(detector: DetectorModel, settings: DetectSettings): readonly string[] {
  return activeEnsemble(detector, settings) === undefined ? [] : distractorPool(settings.detect.distractors);
}

/** The model's ensemble partner when the settings use it (`detect.regionEnsemble`). */
function activeEnsemble(detector: DetectorModel, settings: DetectSettings): RegionEnsemble | undefined {
  return settings.detect.regionEnsemble ? detector.regionEnsemble : undefined;
}

/**
 * λ per phrase: the ensemble's `weights.base` for a phrase its base classes name (the COCO category-name rule,
 * eval/category-names.ts: case, spacing and Unicode form ignored), `weights.novel` for every other.
 */
export function ensembleWeights(phrases: readonly string[], ensemble: Pick<RegionEnsemble, 'weights' | 'baseKeys'>): Float32Array {
  return Float32Array.from(phrases, (p) => (ensemble.baseKeys.has(categoryNameKey(p)) ? ensemble.weights.base : ensemble.weights.novel));
}

/**
 * ViLD's ensemble on R regions whose detector probabilities `probs` (R×P, before objectness fusion) are known: the
 * partner's q on the boxes reported, for the regions `ensembleCandidates` keeps, joined as p^(1−λ) · q^λ; every other
 * region scores 0 (it could not pass the threshold). R×P scores, objectness fused. The partner has no background: with
 * one label and no distractor its softmax has one column (q = 1 everywhere, nothing said), so the detector then scores
 * alone.
 */
async function ensembleScores(
  ensemble: RegionEnsemble, decoded: DecodedImage, boxes: Boxes, resized: ResizedForDetection | undefined, phrases: readonly string[],
  probs: Float32Array, text: TextEmbeds, D: number, fuse: { fusion: ObjectnessFusion; objectness?: Float32Array; scoreThreshold: number },
): Promise<{ scores: Float32Array; ran: boolean }> {
  const P = phrases.length;
  const K = text.ensembleDistractorEmbeds === undefined ? 0 : text.ensembleDistractorEmbeds.length / D;
  if (P + K < 2) return { scores: fuseScores(probs, P, fuse.fusion, fuse.objectness), ran: false };
  const lambdas = ensembleWeights(phrases, ensemble);
  const candidates = ensembleCandidates(probs, lambdas, fuse.scoreThreshold, fuse.fusion, fuse.objectness);
  const combined = new Float32Array(probs.length);
  if (candidates.length > 0) {
    const otherEmbeds = await ensemble.encoder.embed(decoded, boxes.gather(Array.from(candidates)), { resized });
    const other = scoreRegions(otherEmbeds, text.phraseEmbeds, D, { temperature: ensemble.temperature, distractorEmbeds: text.ensembleDistractorEmbeds });
    const mine = new Float32Array(candidates.length * P);
    candidates.forEach((r, i) => mine.set(probs.subarray(r * P, (r + 1) * P), i * P));
    const joined = ensembleProbs(mine, other, lambdas);
    candidates.forEach((r, i) => combined.set(joined.subarray(i * P, (i + 1) * P), r * P));
  }
  return { scores: fuseScores(combined, P, fuse.fusion, fuse.objectness), ran: candidates.length > 0 };
}

/** One query's distractors: the detector's, the ensemble partner's, and both as one list, embedded in one call. */
interface QueryPools {
  own: readonly string[];
  partner: readonly string[];
  union: readonly string[];
}

function queryPools(ownPool: readonly string[], partnerPool: readonly string[], phrases: readonly string[]): QueryPools {
  const own = distractorsFor(ownPool, phrases);
  const partner = distractorsFor(partnerPool, phrases);
  return { own, partner, union: [...new Set([...own, ...partner])] };
}

/** Each pool's K×D rows out of the union's embeddings (`all`, one row per `pools.union` name); undefined for an empty pool. */
function poolEmbeds(pools: QueryPools, all: Float32Array | undefined, D: number): Pick<TextEmbeds, 'distractorEmbeds' | 'ensembleDistractorEmbeds'> {
  const index = new Map(pools.union.map((n, i) => [n, i]));
  const rows = (wanted: readonly string[]) => {
    if (wanted.length === 0 || all === undefined) return undefined;
    const out = new Float32Array(wanted.length * D);
    wanted.forEach((n, i) => out.set(all.subarray(index.get(n)! * D, (index.get(n)! + 1) * D), i * D));
    return out;
  };
  return { distractorEmbeds: rows(pools.own), ensembleDistractorEmbeds: rows(pools.partner) };
}

/** The text encoder's options for `settings.text` (templates, ensembling, articles). */
function phraseOptions(settings: DetectSettings, onProgress?: (done: number, total: number) => void): PhraseEmbeddingOptions {
  const { templates, ensemble, articles } = settings.text;
  return { templates, ensemble, fill: { articles }, onProgress };
}

/** The text side of one detection: P×D phrase embeddings and the K×D distractors competing with them (the detector's, and the ensemble partner's). */
interface TextEmbeds {
  phraseEmbeds: Float32Array;
  distractorEmbeds?: Float32Array;
  ensembleDistractorEmbeds?: Float32Array;
}

/** Whether an image input is already decoded pixels (a DecodedImage), not a path or encoded bytes. */
function isDecoded(image: ImageInput | DecodedImage): image is DecodedImage {
  return typeof image === 'object' && !Buffer.isBuffer(image) && 'mode' in image && 'data' in image;
}

/** The default preset's settings, read once (detectImage without `settings`). */
let defaultSettings: DetectSettings | undefined;

/** detectImage's work, on options and settings already validated (Detector validates them once, at load and per call). */
async function runDetection(
  detector: DetectorModel, image: ImageInput | DecodedImage, phrases: string[], text: TextEmbeds, options: DetectOptions, settings: DetectSettings,
): Promise<DetectionResult> {
  const { phraseEmbeds, distractorEmbeds } = text;
  const timings: Record<string, number> = {};
  let t = performance.now();
  const lap = (stage: string) => {
    const now = performance.now();
    timings[stage] = round((timings[stage] ?? 0) + now - t);
    t = now;
  };
  const decoded = isDecoded(image) ? image : await decodeImage(image, options);
  lap('decode');
  let boxes: Boxes;
  let objectness: Float32Array | undefined;
  let proposed;
  if (options.boxes !== undefined) {
    boxes = givenBoxes(options.boxes, decoded, options.onWarning);
  } else {
    proposed = await detector.propose(decoded, settings.proposals);
    objectness = proposed.proposals.scores;
    // Proposals are in resized pixels: back to the original image.
    boxes = DetectorModel.toOriginal(proposed.proposals.boxes, proposed.resized);
    lap('proposals');
  }
  const regions = await detector.encodeRegions(decoded, boxes, { resized: proposed?.resized, contextScale: settings.detect.contextScale });
  const regionEmbeds = regions.embeds;
  lap('regions');
  // Given boxes (RegionCLIP's GT-box protocol) carry no objectness: their scores are the label
  // probabilities whatever the preset's fusion (documented on DetectOptions.boxes and --boxes).
  const D = detector.manifest.embedDim;
  const P = phrases.length;
  const fusion = objectness === undefined ? 'none' : settings.detect.fusion;
  const probs = scoreRegions(regionEmbeds, phraseEmbeds, D, { temperature: detector.manifest.scoring.temperature, backgroundEmbed: detector.backgroundEmbed, distractorEmbeds });
  // A finetuned head's box regression refines RPN proposals only (RegionCLIP skips it for given boxes).
  const weights = detector.regionEncoder.boxDeltaWeights;
  if (proposed !== undefined && regions.boxDeltas !== undefined && weights !== undefined) {
    boxes = regressProposals(proposed.proposals.boxes, regions.boxDeltas, weights, proposed.resized);
  }
  let scores: Float32Array;
  const ensemble = activeEnsemble(detector, settings);
  if (ensemble === undefined) {
    scores = fuseScores(probs, P, fusion, objectness);
  } else {
    lap('scoring');
    // On the boxes reported: the proposals after the detector's box regression (given boxes as given).
    const joined = await ensembleScores(ensemble, decoded, boxes, proposed?.resized, phrases, probs, text, D, { fusion, objectness, scoreThreshold: settings.detect.scoreThreshold });
    scores = joined.scores;
    // `timings.ensemble` only when the partner ran (some region could pass, and its softmax had two columns).
    lap(joined.ran ? 'ensemble' : 'scoring');
  }
  const selected = selectDetections(scores, phrases.length, boxes, {
    scoreThreshold: settings.detect.scoreThreshold,
    iouThreshold: settings.detect.iouThreshold,
    maxDetections: settings.detect.maxDetections,
    agnostic: settings.detect.agnosticNms,
  });
  lap('scoring');
  const detections: Detection[] = Array.from(selected.scores, (score, k) => ({ label: phrases[selected.classIds[k]], score, box: selected.boxes.row(k) }));
  return new DetectionResult({ path: decoded.source, width: decoded.width, height: decoded.height }, phrases, detections, timings, modelInfo(detector.loaded));
}

export interface DetectorOptions extends DetectorLoadOptions, TextEncoderOptions, DecodeOptions {
  /** Hub settings for an `hf:org/name` model (default: the HF_* environment variables). */
  hub?: HubOptions;
  /** Settings over the preset's (e.g. `{ detect: { scoreThreshold: 0.5 } }`). */
  settings?: Record<string, unknown>;
  /** `--set key=value` style overrides, applied last. */
  set?: readonly string[];
}

/** Every key of DetectOptions and DetectorOptions (checked complete by the compiler): run-time ones are validated, the others known. */
const DETECT_OPTION_KEYS = {
  vocab: true, caption: true, phrases: true, settings: true, boxes: true, onTextProgress: true, cacheDir: true, phraseBatchSize: true, memoryEntries: true, onWarning: true, maxPixels: true,
} satisfies Record<keyof DetectOptions, true>;
const DETECTOR_OPTION_KEYS = { settings: true, set: true, hub: true, regionBatchSize: true, intraOpThreads: true, cacheDir: true, phraseBatchSize: true, memoryEntries: true, onWarning: true, maxPixels: true, dtype: true } satisfies Record<keyof DetectorOptions, true>;
const OTHER_OPTIONS = [...new Set([...Object.keys(DETECT_OPTION_KEYS), ...Object.keys(DETECTOR_OPTION_KEYS)])];

/**
 * The library's detector: `const detector = await Detector.load('models/x' | 'default' | 'preset.json')`,
 * then `await detector.detect(image, { vocab })`. Phrase embeddings are cached in memory and on disk.
 */
export class Detector {
  private readonly encoder: ClipTextEncoder;
  /** The distractors competing with every query's phrases (before the query's own labels are taken out). */
  private readonly pool: readonly string[];
  /** The distractors competing in the ensemble partner's softmax (none without one). */
  private readonly ensemblePool: readonly string[];

  private constructor(readonly model: DetectorModel, readonly settings: DetectSettings, private readonly options: DetectorOptions) {
    this.encoder = new ClipTextEncoder(model.clip, options);
    this.pool = competingPool(model, settings.detect.distractors);
    this.ensemblePool = ensemblePool(model, settings);
  }

  /**
   * A model folder, a preset (name under pipelines/ or a .json path) that names one, or settings
   * already resolved (`resolveDetectSettings`); default: the default preset. Every option is
   * validated before the model loads.
   */
  static async load(modelOrPreset: string | DetectSettings = DEFAULT_PRESET, options: DetectorOptions = {}): Promise<Detector> {
    parseRuntimeOptions(options, OTHER_OPTIONS);
    const settings = resolveDetectSettings(modelOrPreset, options);
    distractorPool(settings.detect.distractors); // a missing or empty distractor file fails before the model loads
    const model = await DetectorModel.load(await resolveModelFolder(settings.model!, options.hub), options);
    return new Detector(model, settings, options);
  }

  /** P×D embeddings of the phrases (the encoder keeps them in memory and on disk across calls); `onProgress` as DetectOptions.onTextProgress. */
  embedPhrases(phrases: readonly string[], onProgress?: (done: number, total: number) => void): Promise<Float32Array> {
    return this.encoder.embedPhrases(phrases, phraseOptions(this.settings, onProgress));
  }

  async detect(image: ImageInput | DecodedImage, options: Omit<DetectOptions, 'settings' | keyof TextEncoderOptions>): Promise<DetectionResult> {
    parseRuntimeOptions(options, OTHER_OPTIONS);
    return this.run(image, options);
  }

  /** detect() after its options were checked: the settings were validated by load(). */
  private async run(image: ImageInput | DecodedImage, options: Omit<DetectOptions, 'settings' | keyof TextEncoderOptions>): Promise<DetectionResult> {
    const phrases = resolvePhrases(options);
    const t0 = performance.now();
    // The detector's pool and the partner's embedded in one call, so the progress bar counts both.
    const pools = queryPools(this.pool, this.ensemblePool, phrases);
    const { phraseEmbeds, distractorEmbeds: all } = await this.encoder.embedWithDistractors(phrases, pools.union, phraseOptions(this.settings, options.onTextProgress));
    const textMs = round(performance.now() - t0);
    const text = { phraseEmbeds, ...poolEmbeds(pools, all, this.model.manifest.embedDim) };
    const result = await runDetection(this.model, image, phrases, text, { ...this.options, ...options }, this.settings);
    result.timings.text = textMs;
    return result;
  }

  /**
   * Decodes a file (or named bytes, e.g. stdin's) once and detects in it; the decoded pixels come
   * back with the result, for drawing (`io/draw`'s `saveAnnotated`). `timings.decode` is the decoding time.
   */
  async detectFile(path: ImageInput, options: Omit<DetectOptions, 'settings' | keyof TextEncoderOptions>): Promise<{ result: DetectionResult; image: DecodedImage }> {
    parseRuntimeOptions(options, OTHER_OPTIONS);
    const decodeStart = performance.now();
    const image = await decodeImage(path, { maxPixels: options.maxPixels ?? this.options.maxPixels });
    const decodeMs = round(performance.now() - decodeStart);
    const result = await this.run(image, options);
    result.timings.decode = decodeMs;
    return { result, image };
  }

  async release(): Promise<void> {
    await this.model.release();
  }
}
