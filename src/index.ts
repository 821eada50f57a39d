/** regionclip: open-vocabulary object detection for Node.js (RegionCLIP). Public API. */
export * from './geometry/index.js';
export {
  RegionClipError,
  UsageError,
  InvalidInputError,
  ConfigError,
  ModelLoadError,
  ModelRunError,
  IoError,
  HubError,
  QueueError,
  InterruptedError,
  EXIT_CODES,
  type ExitCode,
} from './errors.js';
export {
  evaluateCoco,
  resolveSplit,
  cocoEvalJson,
  summaryLines,
  splitLines,
  COCO_IOU_THRESHOLDS,
  COCO_RECALL_THRESHOLDS,
  COCO_MAX_DETS,
  COCO_AREA_RANGES,
  COCO_AREA_LABELS,
  COCO_STAT_NAMES,
  type CocoEvalOptions,
  type CocoEvalResult,
  type CocoEvalJson,
  type CocoCategoryResult,
  type CocoGroupResult,
  type CocoSplitResult,
} from './eval/cocoeval.js';
export {
  parseCocoDataset,
  parseCocoResults,
  parseCocoSplit,
  readCocoDataset,
  readCocoResults,
  readCocoSplit,
  writeCocoDataset,
  writeCocoResults,
  toCocoResults,
  toCocoAnnotations,
  cocoBboxesToXyxy,
  type CocoBbox,
  type CocoImage,
  type CocoCategory,
  type CocoAnnotation,
  type CocoDataset,
  type CocoResult,
  type CocoSplit,
} from './io/coco.js';
export * from './text/index.js';
export { decodeImage, DEFAULT_MAX_PIXELS, type DecodedImage, type DecodeOptions, type ImageInput, type NamedBuffer, type PillowMode } from './image/read.js';
export { resizePillow, type PixelImage, type ResampleFilter } from './image/resample.js';
export {
  preprocessClip,
  clipPreprocessPixels,
  clipResize,
  centerCrop,
  normalizeToChw,
  resizeForDetection,
  shortestEdgeSize,
  CLIP_MEAN,
  CLIP_STD,
  type ClipPreprocessOptions,
  type ResizedForDetection,
} from './image/preprocess.js';
export { readManifest, parseManifest, modelInfo, manifestSchema, type Manifest, type LoadedManifest, type GraphSpec, type ModelInfo } from './models/manifest.js';
export { ClipModel, type ClipLoadOptions } from './models/clip.js';
export { ClipTextEncoder, type PhraseEmbeddingOptions, type TextEncoderOptions } from './models/text-encoder.js';
export { TextEmbeddingCache, defaultCacheDir } from './models/embedding-cache.js';
export { cosineSimilarity, softmaxRows, regionPhraseProbs, scoreRegions, fuseScores, ensembleProbs, ensembleCandidates, normalizeRows, REGIONCLIP_TEMPERATURE, type RegionScoreOptions, type ScoreRegionsOptions, type ObjectnessFusion } from './matching/scores.js';
export { classifyImages, type ClassifyOptions, type ClassifyResult } from './pipelines/classify.js';
export { DetectorModel, type DetectorLoadOptions, type ProposalOverrides, type RegionEnsemble } from './models/detector.js';
export { Rpn } from './models/rpn.js';
export { FeatureRegionEncoder } from './models/features-encoder.js';
export { CropRegionEncoder } from './models/crop-encoder.js';
export type { RegionEncoder, RegionContext } from './models/region-encoder.js';
export { Detector, DetectionResult, detectImage, resolvePhrases, ensembleWeights, type Detection, type DetectionResultData, type DetectOptions, type DetectorOptions } from './pipelines/detect.js';
export { filterProposals, type Proposals, type ProposalOptions, type RpnLevelOutput } from './proposals/filter.js';
export { selectDetections, type SelectOptions, type SelectedDetections } from './matching/detections.js';
export { readPreset, parseSettings, applyOverrides, settingsSchema, type DetectSettings } from './config/preset.js';
export {
  resolveDetectSettings,
  resolveClassifyOptions,
  resolveMineOptions,
  resolvePullOptions,
  modelReference,
  settingsFromFlags,
  FlagText,
  CLASSIFY_DEFAULTS,
  MINE_DEFAULTS,
  MINE_RULES,
  DEFAULT_PRESET,
  type ClassifySettings,
  type MineSettings,
  type PullSettings,
  type HubOptions,
} from './config/options.js';
export { pull, type PullOptions, type SnapshotFile, type SnapshotResult } from './pipelines/pull.js';
export { hubSettings, type HubSettings } from './hub/env.js';
export { DTYPES, DTYPE_SUFFIXES, type Dtype } from './hub/select.js';
export { renderDetections, saveAnnotated, annotatedPaths } from './io/draw.js';
export { checkGroundTruth, cocoResultsFor, writeCocoExport, type CocoExport, type ExportableResult } from './io/coco-export.js';
export { readBoxes, type GivenBoxes } from './io/boxes.js';
export { expandImageInputs, IMAGE_EXTENSIONS, type ImageInputs } from './io/inputs.js';
export type { WarningHandler } from './util/warnings.js';
export { mine, minedToCoco, parseMineLine, readConcepts, type MineOptions, type MineSummary, type MinedRecord, type MinedLabel } from './pipelines/mine.js';
export { mineOnQueue, type QueueMineOptions } from './pipelines/mine-queue.js';
export { runMineWorker, type MineWorkerOptions } from './pipelines/mine-worker.js';
export { mineRegionPhrasePairs, groundPhrases, type MinedPair, type LabelDirection, type MatchOptions, type GroundingInput, type GroundingOptions, type GroundedLabel } from './mining/match.js';
export {
  MINE_FORMATS, readMinedImages, minedImagesToCoco, minedImagesToOdvg, minedImagesToLabelStudio, writeMinedYolo, writeMinedExport, recordsPathFor,
  type MineFormat, type MinedImage,
} from './io/mined.js';
export { captionInputKind, openCaptionSource, type CaptionInputKind, type CaptionSource, type CaptionUnit } from './io/captions.js';
export { resolveModel, resolveModelFolder } from './models/model-source.js';
