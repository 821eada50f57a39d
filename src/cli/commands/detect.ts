/**
 * `regionclip detect <images..> --vocab "person,traffic light"` (or `--vocab-file`, `--caption`):
 * open-vocabulary detection of files, folders and globs → JSON, COCO results, annotated images.
 */
import type { ArgumentsCamelCase, Argv, CommandModule, InferredOptionTypes } from 'yargs';
import { DEFAULT_PRESET, TEMPLATE_SET_NAMES, parseRuntimeOptions, resolveDetectSettings, settingsFromFlags } from '../../config/options.js';
import { RegionClipError, UsageError, expectedMessage } from '../../errors.js';
import { readBoxes } from '../../io/boxes.js';
import { cocoResultsFor, writeCocoExport } from '../../io/coco-export.js';
import { annotatedPaths, saveAnnotated } from '../../io/draw.js';
import { expandImageInputs, namesFilesOnly, readVocabFile } from '../../io/inputs.js';
import { Detector, resolvePhrases, type DetectionResult } from '../../pipelines/detect.js';
import { cacheDirFrom, jsonOption, jsonToStdout, runtimeOptions, type OptionTable } from '../options.js';
import { Progress } from '../progress.js';
import { BUILTIN_MODEL_NOTE, noticeBuiltinModel, throwIfFailures, writeJson } from '../output.js';

export const detectOptions = {
  vocab: { type: 'string', describe: 'Labels to find, comma, semicolon or newline separated (taken verbatim)' },
  'vocab-file': { type: 'string', describe: 'A file with one label per line' },
  caption: { type: 'string', describe: 'A caption whose noun phrases become the labels' },
  model: { type: 'string', describe: 'Detector model folder (overrides the preset\'s model) (hf:org/name[@rev]: a Hub repository, pulled into the Hub cache on first use)' },
  pipeline: { type: 'string', describe: `Preset: a name under pipelines/ or a .json path (default: the "${DEFAULT_PRESET}" preset)` },
  set: { type: 'string', array: true, describe: 'Override a preset setting: key=value (e.g. detect.fusion=geometric)' },
  conf: { type: 'number', describe: 'Score threshold (detect.scoreThreshold)' },
  iou: { type: 'number', describe: 'Per-class NMS IoU threshold (detect.iouThreshold)' },
  'max-det': { type: 'number', describe: 'Detections kept per image (detect.maxDetections)' },
  proposals: { type: 'number', describe: 'RPN proposals kept after NMS (proposals.postNmsTopK)' },
  templates: { type: 'string', describe: `Prompt templates: ${TEMPLATE_SET_NAMES.join(' | ')} (text.templates)` },
  distractors: { type: 'string', describe: 'Open-set scoring: concepts that compete with the labels and are never reported: builtin | none | a file, one concept per line (detect.distractors; the default preset: builtin)' },
  'agnostic-nms': { type: 'boolean', describe: 'One NMS over all labels: overlapping boxes of different labels suppress each other (detect.agnosticNms)' },
  boxes: { type: 'string', describe: 'Score these boxes instead of RPN proposals: JSON [[x1,y1,x2,y2],…] or {"image": [[…]]}; scores are label probabilities (no objectness fusion)' },
  ...jsonOption,
  coco: { type: 'string', describe: 'Write COCO results (and <name>.categories.json with the id maps)' },
  'coco-gt': { type: 'string', describe: 'Take COCO image and category ids from this ground-truth file' },
  save: { type: 'string', describe: 'Annotated image path (.png/.jpg); a folder when there are several images' },
  ...runtimeOptions,
} as const satisfies OptionTable;

type DetectArgs = { images: string[] } & InferredOptionTypes<typeof detectOptions>;
type Failure = { image: { path: string }; error: RegionClipError };
type Outcome = DetectionResult | Failure;
/** What every image of a run shares. */
interface Run {
  argv: ArgumentsCamelCase<DetectArgs>;
  phrases: string[];
  boxesFor?: (image: string) => Float32Array;
}

/** The phrases to look for: the vocabulary file's lines, then --vocab, then the caption's noun phrases. */
function phrasesFrom(argv: ArgumentsCamelCase<DetectArgs>): string[] {
  const fileLines = argv.vocabFile === undefined ? [] : readVocabFile(argv.vocabFile);
  if (argv.vocab === undefined && argv.vocabFile === undefined && argv.caption === undefined) {
    throw new UsageError(expectedMessage('--vocab, --vocab-file or --caption', 'detect', 'none of them'));
  }
  return resolvePhrases({ phrases: fileLines, vocab: argv.vocab, caption: argv.caption });
}

/** Detections listed per image in the text output (--json and --coco have all of them). */
const LISTED_DETECTIONS = 10;

function printResult(result: DetectionResult): void {
  const total = result.detections.length;
  const listed = result.detections.slice(0, LISTED_DETECTIONS);
  const count = listed.length < total ? `${total} detection(s), showing the best ${listed.length} of ${total} (--json lists all)` : `${total} detection(s)`;
  console.log(`${result.image.path}: ${count}${listed.map((d) => `\n  ${d.label} ${d.score.toFixed(3)} [${d.box.map((v) => v.toFixed(1)).join(', ')}]`).join('')}`);
}

/** Detects in every image in order; an image that fails is recorded and the others go on. */
async function detectEach(detector: Detector, images: readonly string[], { argv, phrases, boxesFor }: Run): Promise<Outcome[]> {
  const savePath = argv.save === undefined ? undefined : annotatedPaths(argv.save, images.length);
  const progress = new Progress({ label: 'detect', total: images.length, mode: argv.quiet ? 'off' : jsonToStdout(argv.json) ? 'lines' : 'auto' });
  const outcomes: Outcome[] = [];
  for (const path of images) {
    try {
      // Decoded once: detection and the annotated image use the same pixels.
      const { result, image } = await detector.detectFile(path, { phrases, boxes: boxesFor?.(path) });
      outcomes.push(result);
      if (savePath !== undefined) await saveAnnotated(savePath(path), image, result.detections);
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

/** --json (one object for one named file, else a list in input order) and --coco. */
function writeOutputs(outcomes: readonly Outcome[], images: number, { phrases, argv }: Run): void {
  if (argv.json !== undefined) {
    const plain = outcomes.map((r) => ('error' in r ? { image: r.image, error: { name: r.error.name, message: r.error.message } } : r.toJSON()));
    writeJson(argv.json, jsonToStdout(argv.json), images === 1 && namesFilesOnly(argv.images) ? plain[0] : plain);
  }
  if (argv.coco !== undefined) writeCocoExport(argv.coco, cocoResultsFor(outcomes, { phrases, gt: argv.cocoGt }));
}

async function detect(argv: ArgumentsCamelCase<DetectArgs>): Promise<void> {
  const phrases = phrasesFrom(argv);
  // Settings and limits are validated before any image is read; Detector.load checks the same way.
  const settings = resolveDetectSettings(argv.pipeline, { settings: settingsFromFlags(argv), set: argv.set });
  const runtime = parseRuntimeOptions({ intraOpThreads: argv.threads, maxPixels: argv.maxPixels });
  const run: Run = { argv, phrases, boxesFor: argv.boxes === undefined ? undefined : readBoxes(argv.boxes) };
  const images = await expandImageInputs(argv.images);
  noticeBuiltinModel(settings.model!, argv.quiet);
  const detector = await Detector.load(settings, { ...runtime, cacheDir: cacheDirFrom(argv) });
  const started = performance.now();
  let outcomes: Outcome[];
  try {
    outcomes = await detectEach(detector, images, run);
  } finally {
    await detector.release();
  }
  writeOutputs(outcomes, images.length, run);
  const failed = outcomes.filter((r): r is Failure => 'error' in r);
  const total = outcomes.reduce((n, r) => n + ('error' in r ? 0 : r.detections.length), 0);
  if (!argv.quiet) console.error(`regionclip: ${total} detection(s) in ${outcomes.length - failed.length} of ${outcomes.length} image(s), ${((performance.now() - started) / 1000).toFixed(2)} s${failed.length ? `, ${failed.length} failed` : ''}`);
  throwIfFailures(failed.map((f) => ({ path: f.image.path, error: f.error })), 'every image to be processed', 'detect');
}

export const detectCommand: CommandModule<object, DetectArgs> = {
  command: 'detect <images..>',
  describe: 'Open-vocabulary detection: find the given phrases in images',
  builder: (yargs: Argv) =>
    yargs
      .positional('images', { type: 'string', array: true, demandOption: true, describe: 'Image files, folders (searched recursively) or glob patterns' })
      .options(detectOptions)
      .example('$0 detect street.jpg --vocab "person,traffic light" --save out.png', '')
      .example('$0 detect photos/ --caption "a man waits at a traffic light" --json out.json', '')
      .epilogue(`Without --model (or a preset naming another), detect uses ${BUILTIN_MODEL_NOTE}.`),
  handler: detect,
};
