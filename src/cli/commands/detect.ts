/**
 * `regionclip detect <images..> --vocab "person,traffic light"` (or `--vocab-file`, `--caption`):
 * open-vocabulary detection of files, folders and globs → JSON, COCO results, annotated images.
 */
import type { ArgumentsCamelCase, Argv, CommandModule, InferredOptionTypes } from 'yargs';
import { DEFAULT_PRESET, TEMPLATE_SET_NAMES, parseRuntimeOptions, resolveDetectSettings, settingsFromFlags } from '../../config/options.js';
import { RegionClipError, UsageError, expectedMessage } from '../../errors.js';
import { readBoxes } from '../../io/boxes.js';
import { checkGroundTruth, cocoCategoriesPath, cocoResultsFor, writeCocoExport } from '../../io/coco-export.js';
import { annotatedPaths, saveAnnotated } from '../../io/draw.js';
import { checkWritableFile } from '../../io/files.js';
import { expandImageInputs, fewNames, readVocabFile, withStdinImage, type ImageInputs, type NamedBuffer } from '../../io/inputs.js';
import { Detector, resolvePhrases, type DetectionResult } from '../../pipelines/detect.js';
import { cacheDirFrom, jsonOption, jsonToStdout, numberOption, quietOption, runtimeOptions, type OptionTable } from '../options.js';
import { Progress, progressMode, textProgress } from '../progress.js';
import { BUILTIN_MODEL_NOTE, noticeBuiltinModel, reportSkipped, throwIfFailures, warn, writeJson } from '../output.js';

export const detectOptions = {
  vocab: { type: 'string', describe: 'Labels to find, comma, semicolon or newline separated (taken verbatim)' },
  'vocab-file': { type: 'string', describe: 'A file with one label per line' },
  caption: { type: 'string', describe: 'A caption whose noun phrases become the labels' },
  model: { type: 'string', describe: 'Detector model folder (overrides the preset\'s model) (hf:org/name[@rev]: a Hub repository, pulled into the Hub cache on first use)' },
  pipeline: { type: 'string', describe: `Preset: a name under pipelines/ or a .json path (default: the "${DEFAULT_PRESET}" preset)` },
  set: { type: 'string', array: true, describe: 'Override a preset setting: key=value (e.g. detect.fusion=geometric)' },
  conf: numberOption('Score threshold (detect.scoreThreshold)'),
  iou: numberOption('Per-class NMS IoU threshold (detect.iouThreshold)'),
  'max-det': numberOption('Detections kept per image (detect.maxDetections)'),
  proposals: numberOption('RPN proposals kept after NMS (proposals.postNmsTopK)'),
  templates: { type: 'string', describe: `Prompt templates: ${TEMPLATE_SET_NAMES.join(' | ')} (text.templates)` },
  distractors: { type: 'string', describe: 'Open-set scoring: concepts that compete with the labels and are never reported: builtin | none | a file, one concept per line (detect.distractors; the default preset: builtin, which a model with a trained background, like the built-in one, replaces with its background; a file competes beside it)' },
  'agnostic-nms': { type: 'boolean', describe: 'One NMS over all labels: overlapping boxes of different labels suppress each other (detect.agnosticNms)' },
  'region-ensemble': { type: 'boolean', describe: 'ViLD\'s ensemble, when the model has one (the built-in model does): a second region encoder\'s label probability joins the detector\'s (default on; --no-region-ensemble: the detector alone) (detect.regionEnsemble)' },
  boxes: { type: 'string', describe: 'Score these boxes instead of RPN proposals: JSON [[x1,y1,x2,y2],…] for every image, or {"photos/a/1.jpg": [[…]]} keyed by image path (from here, absolute, or its end: a/1.jpg, 1.jpg); clipped to the image (boxes left empty are dropped, with a warning); scores are label probabilities (no objectness fusion)' },
  ...jsonOption,
  coco: { type: 'string', describe: 'Write COCO results (and <name>.categories.json with the id maps)' },
  'coco-gt': { type: 'string', describe: 'Take COCO image and category ids from this ground-truth file (labels match category names ignoring case, spacing and Unicode form)' },
  save: { type: 'string', describe: 'Annotated image path (.png/.jpg); or a folder (several images, an existing folder, or a path ending in /), each image as <folder>/<its path inside the images\' common folder>.png' },
  ...runtimeOptions,
  ...quietOption,
} as const satisfies OptionTable;

type DetectArgs = { images: string[] } & InferredOptionTypes<typeof detectOptions>;
type Failure = { image: { path: string }; error: RegionClipError };
type Outcome = DetectionResult | Failure;
/** What every image of a run shares, all checked before the first image is read. */
interface Run {
  argv: ArgumentsCamelCase<DetectArgs>;
  phrases: string[];
  images: ImageInputs;
  boxesFor?: (image: string) => Float32Array;
  /** Each image's annotated copy (`--save`). */
  savePath?: (image: string) => string;
}

/** The phrases to look for: the vocabulary file's lines, then --vocab, then the caption's noun phrases. */
function phrasesFrom(argv: ArgumentsCamelCase<DetectArgs>): string[] {
  const fileLines = argv.vocabFile === undefined ? [] : readVocabFile(argv.vocabFile);
  if (argv.vocab === undefined && argv.vocabFile === undefined && argv.caption === undefined) {
    throw new UsageError(expectedMessage('--vocab, --vocab-file or --caption', 'detect', 'none of them'));
  }
  return resolvePhrases({ phrases: fileLines, vocab: argv.vocab, caption: argv.caption });
}

/**
 * Everything a run reads or writes besides the images, checked before the model loads: the inputs,
 * the given boxes (every image has an entry, every box is well formed), the ground truth (every
 * image and label is in it), and each output path (--json, --coco and its .categories.json, --save).
 */
async function prepareRun(argv: ArgumentsCamelCase<DetectArgs>, phrases: string[]): Promise<Run> {
  const images = await expandImageInputs(argv.images);
  reportSkipped(images.skipped);
  let boxesFor: Run['boxesFor'];
  if (argv.boxes !== undefined) {
    const given = readBoxes(argv.boxes, images.paths);
    if (given.unmatched.length > 0) warn(`${given.unmatched.length} key(s) of ${argv.boxes} name no input image: ${fewNames(given.unmatched)}`);
    boxesFor = given.boxesFor;
  }
  if (argv.cocoGt !== undefined) checkGroundTruth(argv.cocoGt, images.paths, phrases);
  if (argv.json !== undefined && !jsonToStdout(argv.json)) checkWritableFile(argv.json, '--json');
  if (argv.coco !== undefined) {
    checkWritableFile(argv.coco, '--coco');
    checkWritableFile(cocoCategoriesPath(argv.coco), '--coco');
  }
  const savePath = argv.save === undefined ? undefined : annotatedPaths(argv.save, images.paths);
  return { argv, phrases, images, boxesFor, savePath };
}

/** Detections listed per image in the text output (--json and --coco have all of them). */
const LISTED_DETECTIONS = 10;

function printResult(result: DetectionResult): void {
  const total = result.detections.length;
  const listed = result.detections.slice(0, LISTED_DETECTIONS);
  const count = listed.length < total ? `${total} detection(s), showing the best ${listed.length} of ${total} (--json lists all)` : `${total} detection(s)`;
  console.log(`${result.image.path}: ${count}${listed.map((d) => `\n  ${d.label} ${d.score.toFixed(3)} [${d.box.map((v) => v.toFixed(1)).join(', ')}]`).join('')}`);
}

/** Detects in every image in order; an image that fails (detection or its annotated copy) is recorded once and the others go on. */
async function detectEach(detector: Detector, images: readonly (string | NamedBuffer)[], { argv, phrases, boxesFor, savePath }: Run): Promise<Outcome[]> {
  const mode = progressMode(argv, jsonToStdout(argv.json));
  const progress = new Progress({ label: 'detect', total: images.length, mode });
  const onTextProgress = textProgress(mode);
  const outcomes: Outcome[] = [];
  for (const input of images) {
    const path = typeof input === 'string' ? input : input.name;
    try {
      // Decoded once: detection and the annotated image use the same pixels.
      const { result, image } = await detector.detectFile(input, { phrases, boxes: boxesFor?.(path), onTextProgress });
      if (savePath !== undefined) await saveAnnotated(savePath(path), image, result.detections);
      outcomes.push(result);
      if (argv.json === undefined && argv.coco === undefined) printResult(result);
      progress.tick(true);
    } catch (error) {
      if (!(error instanceof RegionClipError) || error instanceof UsageError) throw error;
      outcomes.push({ image: { path }, error });
      if (argv.json === undefined) console.log(`${path}: failed: ${error.message}`);
      progress.tick(false);
    }
  }
  progress.finish();
  return outcomes;
}

/**
 * --json (one object for one named file, else a list in input order) and --coco; an image that
 * cannot be exported is returned as a failure and the others are written.
 */
function writeOutputs(outcomes: readonly Outcome[], { phrases, argv, images }: Run): Failure[] {
  if (argv.json !== undefined) {
    const plain = outcomes.map((r) => ('error' in r ? { image: r.image, error: { name: r.error.name, message: r.error.message } } : r.toJSON()));
    writeJson(argv.json, jsonToStdout(argv.json), images.paths.length === 1 && images.namedFiles ? plain[0] : plain);
  }
  if (argv.coco === undefined) return [];
  const exported = cocoResultsFor(outcomes, { phrases, gt: argv.cocoGt });
  writeCocoExport(argv.coco, exported);
  return exported.failures.map((f) => ({ image: { path: f.path }, error: f.error }));
}

async function detect(argv: ArgumentsCamelCase<DetectArgs>): Promise<void> {
  const phrases = phrasesFrom(argv);
  // Settings and limits are validated before any image is read; Detector.load checks the same way.
  const settings = resolveDetectSettings(argv.pipeline, { settings: settingsFromFlags(argv), set: argv.set });
  const runtime = parseRuntimeOptions({ intraOpThreads: argv.threads, maxPixels: argv.maxPixels, dtype: argv.dtype });
  const run = await prepareRun(argv, phrases);
  const images = await withStdinImage(run.images.paths);
  noticeBuiltinModel(settings.model!, argv.quiet);
  const detector = await Detector.load(settings, { ...runtime, cacheDir: cacheDirFrom(argv), onWarning: warn });
  const started = performance.now();
  let outcomes: Outcome[];
  try {
    outcomes = await detectEach(detector, images, run);
  } finally {
    await detector.release();
  }
  const notExported = writeOutputs(outcomes, run);
  const failed = outcomes.filter((r): r is Failure => 'error' in r);
  const total = outcomes.reduce((n, r) => n + ('error' in r ? 0 : r.detections.length), 0);
  console.error(`regionclip: ${total} detection(s) in ${outcomes.length - failed.length} of ${outcomes.length} image(s), ${((performance.now() - started) / 1000).toFixed(2)} s${failed.length ? `, ${failed.length} failed` : ''}${notExported.length ? `, ${notExported.length} not exported` : ''}`);
  throwIfFailures([...failed, ...notExported].map((f) => ({ path: f.image.path, error: f.error })), 'every image to be processed', 'detect');
}

export const detectCommand: CommandModule<object, DetectArgs> = {
  command: 'detect <images..>',
  describe: 'Open-vocabulary detection: find the given phrases in images',
  builder: (yargs: Argv) =>
    yargs
      .positional('images', { type: 'string', array: true, demandOption: true, describe: 'Image files, folders (searched recursively), glob patterns, or - (an image piped to stdin)' })
      .options(detectOptions)
      .example('$0 detect street.jpg --vocab "person,traffic light" --save out.png', '')
      .example('$0 detect photos/ --caption "a man waits at a traffic light" --json out.json', '')
      .epilogue(`Without --model (or a preset naming another), detect uses ${BUILTIN_MODEL_NOTE}.`),
  handler: detect,
};
