/**
 * The detector behind one manifest (kind "detector"), as its stages: the proposal generator
 * (rpn.ts), the region encoder (region-encoder.ts: `features` or `crop`), the CLIP towers
 * (clip.ts), the optional background embedding and the optional ensemble partner (a second region encoder,
 * ViLD's ensemble). Scoring is matching/scores.ts; orchestration
 * is pipelines/detect.ts.
 *
 * Glossary: H×W original image; h×w resized (detector) image; R regions; D embedding size.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ModelLoadError, expectedMessage } from '../errors.js';
import { categoryNameKey } from '../eval/category-names.js';
import { Boxes } from '../geometry/boxes.js';
import type { DecodedImage } from '../image/read.js';
import { resizeForDetection, type ResizedForDetection } from '../image/preprocess.js';
import type { Proposals } from '../proposals/filter.js';
import type { CheckedSession } from '../runtime/session.js';
import { ClipModel } from './clip.js';
import { CropRegionEncoder } from './crop-encoder.js';
import { FeatureRegionEncoder } from './features-encoder.js';
import { openModel, type LoadOptions, type OpenedModel } from './loader.js';
import { resolveModel, type ModelSourceOptions } from './model-source.js';
import { encoderSizeDivisibility, rpnSizeDivisibility, type DetectorManifest, type LoadedManifest } from './manifest.js';
import type { RegionContext, RegionEncoder, RegionOutputs } from './region-encoder.js';
import { Rpn, type ProposalOverrides } from './rpn.js';

export type { ProposalOverrides } from './rpn.js';

export interface DetectorLoadOptions extends LoadOptions, ModelSourceOptions {
  /** Regions per region-encoder run (default 64). */
  regionBatchSize?: number;
}

/** The manifest's background embedding: a file of D little-endian float32. */
function readBackgroundEmbed(dir: string, file: string, D: number): Float32Array {
  const bytes = readFileSync(resolve(dir, file));
  if (bytes.length !== 4 * D) {
    throw new ModelLoadError(expectedMessage(`${D} float32 values (${4 * D} bytes)`, file, `${bytes.length} bytes`));
  }
  const out = new Float32Array(D);
  for (let i = 0; i < D; i++) out[i] = bytes.readFloatLE(4 * i);
  return out;
}

/**
 * The concept pool a detector's manifest names (`scoring.conceptPool`), read without opening the model
 * (a distributed run's producer needs it); undefined for a model without one.
 * @throws ModelLoadError for an empty pool file.
 */
export function modelConceptPool(loaded: LoadedManifest): string[] | undefined {
  const manifest = loaded.manifest;
  return manifest.kind !== 'detector' || manifest.scoring.conceptPool === undefined ? undefined : readConceptPool(loaded.dir, manifest.scoring.conceptPool);
}

/** A concept pool file: one name a line, trimmed, blank lines and repeats dropped. */
function readConceptPool(dir: string, file: string): string[] {
  const names = [...new Set(readFileSync(resolve(dir, file), 'utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0))];
  if (names.length === 0) throw new ModelLoadError(expectedMessage('at least one concept name (one a line)', file, 'an empty file'));
  return names;
}

/**
 * ViLD's ensemble partner (manifest `regionEnsemble`): a second features-mode region encoder (graphs
 * `ensembleBackbone`, `ensembleHead`; `regionEncoder`'s RoIAlign settings, no box deltas), the temperature its
 * logits use, λ per split and the detector's base classes. Scoring is matching/scores.ts `ensembleProbs`.
 */
export interface RegionEnsemble {
  encoder: RegionEncoder;
  temperature: number;
  weights: { base: number; novel: number };
  /** The detector's base classes (the manifest's `baseClasses` file, one name a line). */
  baseClasses: readonly string[];
  /** Their COCO category-name keys (eval/category-names.ts), which a label's key is looked up in. */
  baseKeys: ReadonlySet<string>;
}

function regionEnsembleOf(opened: OpenedModel, manifest: DetectorManifest, options: DetectorLoadOptions): RegionEnsemble | undefined {
  const ensemble = manifest.regionEnsemble;
  const encoder = manifest.regionEncoder;
  // The manifest schema requires features mode and both graphs with regionEnsemble.
  if (ensemble === undefined || encoder.mode !== 'features') return undefined;
  const spec = { ...encoder, featureOutput: ensemble.featureOutput, boxDeltas: undefined };
  const image = { ...manifest.image, sizeDivisibility: encoderSizeDivisibility(manifest) };
  const baseClasses = readConceptPool(opened.loaded.dir, ensemble.baseClasses);
  return {
    encoder: new FeatureRegionEncoder(opened.sessions.ensembleBackbone, opened.sessions.ensembleHead, spec, image, manifest.embedDim, options.regionBatchSize ?? 64),
    temperature: ensemble.temperature,
    weights: ensemble.weights,
    baseClasses,
    baseKeys: new Set(baseClasses.map(categoryNameKey)),
  };
}

function regionEncoderOf(opened: OpenedModel, manifest: DetectorManifest, clip: ClipModel, options: DetectorLoadOptions): RegionEncoder {
  const batchSize = options.regionBatchSize ?? 64;
  const encoder = manifest.regionEncoder;
  if (encoder.mode === 'crop') return new CropRegionEncoder(clip, encoder, batchSize);
  return new FeatureRegionEncoder(opened.sessions.backbone, opened.sessions.head, encoder, { ...manifest.image, sizeDivisibility: encoderSizeDivisibility(manifest) }, manifest.embedDim, batchSize);
}

export class DetectorModel {
  private constructor(
    readonly loaded: LoadedManifest & { manifest: DetectorManifest },
    readonly clip: ClipModel,
    readonly rpn: Rpn,
    readonly regionEncoder: RegionEncoder,
    readonly backgroundEmbed: Float32Array | undefined,
    /** The concept pool the manifest names (`scoring.conceptPool`), if any. */
    readonly conceptPool: readonly string[] | undefined,
    /** ViLD's ensemble partner the manifest declares (`regionEnsemble`), if any. */
    readonly regionEnsemble: RegionEnsemble | undefined,
    private readonly sessions: Record<string, CheckedSession>,
  ) {}

  get manifest(): DetectorManifest {
    return this.loaded.manifest;
  }

  /**
   * Opens a detector: a folder, a name under models/, a preset naming one, `hf:org/name`, or
   * nothing: the built-in model (resolved as ClipModel.load and Detector.load resolve it). Files,
   * hashes and every graph are checked against the manifest.
   * @throws ModelLoadError listing every problem, or when the folder holds a CLIP model; ConfigError for an unknown name.
   */
  static async load(model?: string, options: DetectorLoadOptions = {}): Promise<DetectorModel> {
    const opened = await openModel(await resolveModel(model, options.hub), options);
    const { loaded } = opened;
    const manifest = loaded.manifest;
    if (manifest.kind !== 'detector') {
      await Promise.all(Object.values(opened.sessions).map((s) => s.release()));
      throw new ModelLoadError(expectedMessage('a detector model (manifest kind "detector")', loaded.path, `kind "${manifest.kind}" (a CLIP model: use it with classify)`));
    }
    const background = manifest.scoring.backgroundEmbed === undefined ? undefined : readBackgroundEmbed(loaded.dir, manifest.scoring.backgroundEmbed, manifest.embedDim);
    const clip = ClipModel.fromOpened(opened);
    const rpn = new Rpn(opened.sessions.rpn, manifest.rpn, rpnSizeDivisibility(manifest));
    const pool = modelConceptPool(loaded);
    let ensemble: RegionEnsemble | undefined;
    try {
      ensemble = regionEnsembleOf(opened, manifest, options);
    } catch (error) {
      await Promise.all(Object.values(opened.sessions).map((s) => s.release()));
      throw error;
    }
    return new DetectorModel({ ...loaded, manifest }, clip, rpn, regionEncoderOf(opened, manifest, clip, options), background, pool, ensemble, opened.sessions);
  }

  /** Stage 1: the detector's resize (shortest edge, PIL bilinear), then the RPN. Boxes in resized pixels. */
  async propose(image: DecodedImage, overrides: ProposalOverrides = {}): Promise<{ proposals: Proposals; resized: ResizedForDetection }> {
    const resized = resizeForDetection(image, { shortEdge: this.manifest.image.shortEdge, maxSize: this.manifest.image.maxSize });
    return { proposals: await this.rpn.propose(resized, overrides), resized };
  }

  /** Boxes in the detector's resized image → original-image pixels (divided by the resize factors). */
  static toOriginal(boxes: Boxes, resized: Pick<ResizedForDetection, 'scaleX' | 'scaleY'>): Boxes {
    return boxes.unscale(resized.scaleX, resized.scaleY);
  }

  /**
   * Stage 2: R×D L2-normalized region embeddings of boxes in original-image pixels (`resized`, from
   * `propose`, saves features mode a second resize). A Float32Array is validated as N×4 XYXY.
   * @throws InvalidInputError for invalid boxes; ModelRunError when a graph fails.
   */
  async embedRegions(image: DecodedImage, boxes: Boxes | Float32Array, context: RegionContext = {}): Promise<Float32Array> {
    return this.regionEncoder.embed(image, boxes instanceof Boxes ? boxes : Boxes.from(boxes), context);
  }

  /**
   * Stage 2 with the head's R×4 class-agnostic box deltas when the manifest declares them
   * (`regionEncoder.boxDeltas`, finetuned RegionCLIP), decoded with `regionEncoder.boxDeltaWeights`.
   * @throws as `embedRegions`.
   */
  async encodeRegions(image: DecodedImage, boxes: Boxes | Float32Array, context: RegionContext = {}): Promise<RegionOutputs> {
    return this.regionEncoder.encode(image, boxes instanceof Boxes ? boxes : Boxes.from(boxes), context);
  }

  async release(): Promise<void> {
    await Promise.all(Object.values(this.sessions).map((s) => s.release()));
  }
}
