/**
 * Zero-shot classification (CLIP's core trick): each image against "a photo of a {label}" for
 * every label, ranked by softmax(logitScale × cosine) over the labels and the distractor pool of
 * open-set scoring (never reported: a single absent label scores low). Orchestration only.
 */
import { distractorPool, resolveClassifyOptions, type DistractorsSetting, type HubOptions } from '../config/options.js';
import { RegionClipError } from '../errors.js';
import { decodeImage, sourceName, type DecodeOptions, type ImageInput } from '../image/read.js';
import { scoreRegions } from '../matching/scores.js';
import { ClipModel, type ClipLoadOptions } from '../models/clip.js';
import { modelInfo, type ModelInfo } from '../models/manifest.js';
import { ClipTextEncoder, type PhraseEmbeddingOptions, type TextEncoderOptions } from '../models/text-encoder.js';
import { distractorsFor } from '../text/distractors.js';
import { parseVocab } from '../text/phrases.js';

export interface ClassifyOptions extends Omit<PhraseEmbeddingOptions, 'onProgress'>, TextEncoderOptions, DecodeOptions, Omit<ClipLoadOptions, 'intraOpThreads'> {
  /** Labels, as a list or a comma/semicolon/newline separated string (taken verbatim). */
  labels: string | readonly string[];
  /** How many labels to return per image (default: config/options' CLASSIFY_DEFAULTS, 5). */
  topK?: number;
  /**
   * Open-set scoring: concepts competing with the labels in the softmax, never returned — "builtin"
   * (the default), "none" (probabilities over the labels alone, summing to 1), a file or a list.
   */
  distractors?: DistractorsSetting;
  /** onnxruntime intra-op threads, when the model is loaded here (a path or preset). */
  intraOpThreads?: number;
  /** Hub settings for an `hf:org/name` model (default: the HF_* environment variables). */
  hub?: HubOptions;
  /** Called after each image (ok or failed). */
  onImage?: (result: ClassifyResult) => void;
  /** Called as the labels are embedded (done, total distinct labels; cached ones count as done), for a progress bar. */
  onTextProgress?: (done: number, total: number) => void;
}

export interface ClassifyResult {
  image: { path: string; width?: number; height?: number };
  /** The model that ran: manifest name, the digest of the files read, the precision. */
  model: ModelInfo;
  /** Top-k labels, best first; empty when the image failed. */
  labels: { label: string; score: number }[];
  /** Set when the image could not be classified. */
  error?: RegionClipError;
}

/** Every ClassifyOptions key (checked complete by the compiler); those outside classify's schema are checked here. */
const OPTION_KEYS = {
  labels: true, topK: true, distractors: true, templates: true, ensemble: true, fill: true, cacheDir: true, phraseBatchSize: true, memoryEntries: true, onWarning: true,
  maxPixels: true, intraOpThreads: true, dtype: true, imageBatchSize: true, textBatchSize: true, onImage: true, onTextProgress: true, hub: true,
} satisfies Record<keyof ClassifyOptions, true>;
const OTHER_OPTIONS = Object.keys(OPTION_KEYS);

/**
 * Classifies images one by one; a failing image gives a result with `error` and the rest go on.
 * `model` is a loaded model, or a model folder / name / preset naming one (undefined: the default
 * preset's), then loaded here and released at the end. Options are validated first.
 */
export async function classifyImages(model: ClipModel | string | undefined, images: readonly ImageInput[], given: ClassifyOptions): Promise<ClassifyResult[]> {
  const options = { ...given, ...resolveClassifyOptions(given, OTHER_OPTIONS) };
  const pool = distractorPool(options.distractors);
  if (!(model instanceof ClipModel)) {
    const loaded = await ClipModel.load(model, options);
    try {
      return await classifyImages(loaded, images, options);
    } finally {
      await loaded.release();
    }
  }
  const labels = parseVocab(options.labels);
  const encoder = new ClipTextEncoder(model, options);
  const textOptions = { templates: options.templates, ensemble: options.ensemble, fill: options.fill, onProgress: options.onTextProgress };
  const { phraseEmbeds, distractorEmbeds } = await encoder.embedWithDistractors(labels, distractorsFor(pool, labels), textOptions);
  const topK = Math.max(1, Math.min(options.topK, labels.length));
  const results: ClassifyResult[] = [];
  const info = modelInfo(model.loaded);
  for (const input of images) {
    const path = sourceName(input);
    let result: ClassifyResult;
    try {
      const decoded = await decodeImage(input, options);
      const imageEmbeds = await model.embedPixels(model.preprocess(decoded));
      const probs = scoreRegions(imageEmbeds, phraseEmbeds, model.embedDim, { temperature: 1 / model.logitScale, distractorEmbeds });
      const ranked = labels.map((label, i) => ({ label, score: probs[i] })).sort((a, b) => b.score - a.score).slice(0, topK);
      result = { image: { path, width: decoded.width, height: decoded.height }, model: info, labels: ranked };
    } catch (error) {
      if (!(error instanceof RegionClipError)) throw error;
      result = { image: { path }, model: info, labels: [], error };
    }
    results.push(result);
    options.onImage?.(result);
  }
  return results;
}
