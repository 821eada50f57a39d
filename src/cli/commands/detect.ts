/**
 * `regionclip detect <images..> --vocab "person,traffic light"` (or `--vocab-file`, `--caption`):
 * open-vocabulary detection of files, folders and globs → JSON, COCO results, annotated images.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { InvalidInputError, IoError, RegionClipError, UsageError, expectedMessage } from '../../errors.js';
import { decodeImage } from '../../image/read.js';
import { saveAnnotated } from '../../io/draw.js';
import { readCocoDataset, toCocoResults, writeCocoResults, type CocoResult } from '../../io/coco.js';
import { expandImageInputs } from '../../io/inputs.js';
import { Detector, resolvePhrases, type DetectionResult } from '../../pipelines/detect.js';
import { fraction, positiveInteger } from '../options.js';
import { Progress } from '../progress.js';
import { throwIfFailures, writeOutputFile } from '../output.js';

interface DetectArgs {
  images: string[];
  vocab?: string;
  vocabFile?: string;
  caption?: string;
  model?: string;
  pipeline?: string;
  set: string[];
  conf?: number;
  iou?: number;
  maxDet?: number;
  proposals?: number;
  templates?: string;
  boxes?: string;
  json?: string;
  coco?: string;
  cocoGt?: string;
  save?: string;
  cacheDir?: string;
  cache: boolean;
  maxPixels?: number;
  threads?: number;
}

/** --boxes: a JSON array of [x1, y1, x2, y2] (every image), or an object keyed by image path or file name. */
function readBoxes(path: string): (image: string) => Float32Array | undefined {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new InvalidInputError(expectedMessage('a readable JSON file of boxes', path, (error as Error).message), { cause: error });
  }
  const toBoxes = (list: unknown, where: string): Float32Array => {
    if (!Array.isArray(list) || !list.every((b) => Array.isArray(b) && b.length === 4 && b.every((v) => typeof v === 'number' && Number.isFinite(v)))) {
      throw new InvalidInputError(expectedMessage('a list of [x1, y1, x2, y2] boxes', `${path}: ${where}`, JSON.stringify(list).slice(0, 80)));
    }
    return Float32Array.from((list as number[][]).flat());
  };
  if (Array.isArray(value)) {
    const boxes = toBoxes(value, '(root)');
    return () => boxes;
  }
  if (value === null || typeof value !== 'object') throw new InvalidInputError(expectedMessage('an array or an object of box lists', path, typeof value));
  const map = new Map(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, toBoxes(v, k)]));
  return (image) => map.get(image) ?? map.get(resolve(image)) ?? map.get(basename(image));
}

export const detectCommand: CommandModule<object, DetectArgs> = {
  command: 'detect <images..>',
  describe: 'Open-vocabulary detection: find the given phrases in images',
  builder: (yargs: Argv) =>
    yargs
      .positional('images', { type: 'string', array: true, describe: 'Image files, folders (searched recursively) or glob patterns' })
      .option('vocab', { type: 'string', describe: 'Labels to find, comma, semicolon or newline separated (taken verbatim)' })
      .option('vocab-file', { type: 'string', describe: 'A file with one label per line' })
      .option('caption', { type: 'string', describe: 'A caption whose noun phrases become the labels' })
      .option('model', { type: 'string', describe: 'Detector model folder (overrides the preset\'s model)' })
      .option('pipeline', { type: 'string', default: 'default', describe: 'Preset: a name under pipelines/ or a .json path' })
      .option('set', { type: 'string', array: true, default: [], describe: 'Override a preset setting: key=value (e.g. detect.fusion=geometric)' })
      .option('conf', { type: 'number', describe: 'Score threshold (detect.scoreThreshold)' })
      .option('iou', { type: 'number', describe: 'Per-class NMS IoU threshold (detect.iouThreshold)' })
      .option('max-det', { type: 'number', describe: 'Detections kept per image (detect.maxDetections)' })
      .option('proposals', { type: 'number', describe: 'RPN proposals kept after NMS (proposals.postNmsTopK)' })
      .option('templates', { type: 'string', choices: ['single', 'ensemble'], describe: 'Prompt templates (text.templates)' })
      .option('boxes', { type: 'string', describe: 'Score these boxes instead of RPN proposals: JSON [[x1,y1,x2,y2],…] or {"image": [[…]]}; scores are label probabilities (no objectness fusion)' })
      .option('json', { type: 'string', describe: 'Write results as JSON to this file ("-" or no value: stdout)' })
      .option('coco', { type: 'string', describe: 'Write COCO results (and <name>.categories.json with the id maps)' })
      .option('coco-gt', { type: 'string', describe: 'Take COCO image and category ids from this ground-truth file' })
      .option('save', { type: 'string', describe: 'Annotated image path (.png/.jpg); a folder when there are several images' })
      .option('cache-dir', { type: 'string', describe: 'Text-embedding cache folder' })
      .option('cache', { type: 'boolean', default: true, describe: 'Cache text embeddings on disk (--no-cache to disable)' })
      .option('max-pixels', { type: 'number', describe: 'Refuse images with more pixels' })
      .option('threads', { type: 'number', describe: 'onnxruntime intra-op threads' })
      .example('$0 detect street.jpg --vocab "person,traffic light" --save out.png', '')
      .example('$0 detect photos/ --caption "a man waits at a traffic light" --json out.json', '') as unknown as Argv<DetectArgs>,
  handler: async (argv: ArgumentsCamelCase<DetectArgs>) => {
    let fileLines: string[] = [];
    if (argv.vocabFile !== undefined) {
      let text: string;
      try {
        text = readFileSync(argv.vocabFile, 'utf8');
      } catch (error) {
        throw new IoError(expectedMessage('a readable vocabulary file', argv.vocabFile, (error as NodeJS.ErrnoException).code ?? String(error)), { cause: error });
      }
      fileLines = text.split(/\r?\n/); // one entry per line, commas included
    }
    if (argv.vocab === undefined && argv.vocabFile === undefined && argv.caption === undefined) {
      throw new UsageError(expectedMessage('--vocab, --vocab-file or --caption', 'detect', 'none of them'));
    }
    const phrases = resolvePhrases({ phrases: fileLines, vocab: argv.vocab, caption: argv.caption });
    const settings: Record<string, Record<string, unknown>> = { detect: {}, proposals: {}, text: {} };
    if (argv.conf !== undefined) settings.detect.scoreThreshold = fraction('conf', argv.conf);
    if (argv.iou !== undefined) settings.detect.iouThreshold = fraction('iou', argv.iou);
    if (argv.maxDet !== undefined) settings.detect.maxDetections = positiveInteger('max-det', argv.maxDet);
    if (argv.proposals !== undefined) settings.proposals.postNmsTopK = positiveInteger('proposals', argv.proposals);
    if (argv.templates !== undefined) settings.text.templates = argv.templates;
    if (argv.model !== undefined) (settings as Record<string, unknown>).model = resolve(argv.model);
    const threads = argv.threads === undefined ? undefined : positiveInteger('threads', argv.threads);
    const maxPixels = argv.maxPixels === undefined ? undefined : positiveInteger('max-pixels', argv.maxPixels);
    const boxesFor = argv.boxes === undefined ? undefined : readBoxes(argv.boxes);
    const images = await expandImageInputs(argv.images);

    const detector = await Detector.load(argv.pipeline ?? 'default', {
      settings, set: argv.set, cacheDir: argv.cache ? argv.cacheDir : false, intraOpThreads: threads,
    });
    const toStdout = argv.json === '-' || argv.json === '';
    const saveDir = argv.save !== undefined && (images.length > 1 || (existsSync(argv.save) && statSync(argv.save).isDirectory())) ? argv.save : undefined;
    if (saveDir !== undefined) mkdirSync(saveDir, { recursive: true });
    const progress = new Progress({ label: 'detect', total: images.length, mode: toStdout ? 'lines' : 'auto' });
    const started = performance.now();
    const results: (DetectionResult | { image: { path: string }; error: RegionClipError })[] = [];
    for (const path of images) {
      try {
        const boxes = boxesFor?.(path);
        if (boxesFor !== undefined && boxes === undefined) throw new InvalidInputError(expectedMessage(`boxes for ${path}`, argv.boxes!, 'no entry for this image'));
        // Decoded once: detection and the annotated image use the same pixels.
        const decodeStart = performance.now();
        const decoded = await decodeImage(path, { maxPixels });
        const decodeMs = Math.round((performance.now() - decodeStart) * 100) / 100;
        const result = await detector.detect(decoded, { phrases, boxes });
        result.timings.decode = decodeMs;
        results.push(result);
        if (argv.save !== undefined) {
          const target = saveDir !== undefined ? join(saveDir, `${basename(path, extname(path))}.png`) : argv.save;
          await saveAnnotated(target, decoded, result.detections);
        }
        if (argv.json === undefined && argv.coco === undefined) {
          console.log(`${path}: ${result.detections.length} detection(s)${result.detections.slice(0, 10).map((d) => `\n  ${d.label} ${d.score.toFixed(3)} [${d.box.map((v) => v.toFixed(1)).join(', ')}]`).join('')}`);
        }
        progress.tick(true);
      } catch (error) {
        if (!(error instanceof RegionClipError) || error instanceof UsageError) throw error;
        results.push({ image: { path }, error });
        if (argv.json === undefined) console.log(`${path}: failed: ${error.message}`);
        progress.tick(false);
      }
    }
    progress.finish();
    await detector.release();

    if (argv.json !== undefined) {
      const plain = results.map((r) => ('error' in r ? { image: r.image, error: { name: r.error.name, message: r.error.message } } : r.toJSON()));
      const text = JSON.stringify(images.length === 1 && !argv.images.some((i) => /[*?[{]/.test(i) || (existsSync(i) && statSync(i).isDirectory())) ? plain[0] : plain, null, toStdout ? undefined : 2);
      if (toStdout) process.stdout.write(`${text}\n`);
      else writeOutputFile(argv.json, `${text}\n`);
    }
    if (argv.coco !== undefined) {
      const gt = argv.cocoGt === undefined ? undefined : readCocoDataset(argv.cocoGt);
      const categories = gt?.categories ?? phrases.map((name, i) => ({ id: i + 1, name }));
      const categoryId = (label: string): number => {
        const found = categories.find((c) => c.name.toLowerCase() === label.toLowerCase());
        if (found === undefined) throw new InvalidInputError(expectedMessage(`a category named "${label}"`, argv.cocoGt ?? 'the vocabulary', `categories [${categories.map((c) => c.name).join(', ')}]`));
        return found.id;
      };
      const imageEntries: { id: number; file_name: string; width: number; height: number }[] = [];
      const coco: CocoResult[] = [];
      results.forEach((r, index) => {
        if ('error' in r) return;
        // file_name may be the bare name, the path as given, or a path relative to the GT file's folder.
        const gtDir = argv.cocoGt === undefined ? undefined : dirname(resolve(argv.cocoGt));
        const names = new Set([basename(r.image.path), r.image.path, ...(gtDir === undefined ? [] : [relative(gtDir, resolve(r.image.path))])]);
        const gtImage = gt?.images.find((im) => im.file_name !== undefined && names.has(im.file_name));
        if (gt !== undefined && gtImage === undefined) throw new InvalidInputError(expectedMessage(`an image with file_name ${basename(r.image.path)}`, argv.cocoGt!, 'none'));
        const id = gtImage?.id ?? index + 1;
        imageEntries.push({ id, file_name: basename(r.image.path), width: r.image.width, height: r.image.height });
        const boxes = Float32Array.from(r.detections.flatMap((d) => d.box));
        coco.push(...toCocoResults(id, boxes, r.detections.map((d) => d.score), r.detections.map((d) => categoryId(d.label))));
      });
      writeCocoResults(argv.coco, coco);
      writeOutputFile(argv.coco.replace(/(\.json)?$/, '.categories.json'), `${JSON.stringify({ images: imageEntries, categories }, null, 2)}\n`);
    }

    const failed = results.filter((r) => 'error' in r) as { image: { path: string }; error: RegionClipError }[];
    const total = results.reduce((n, r) => n + ('error' in r ? 0 : r.detections.length), 0);
    console.error(`regionclip: ${total} detection(s) in ${results.length - failed.length} of ${results.length} image(s), ${((performance.now() - started) / 1000).toFixed(2)} s${failed.length ? `, ${failed.length} failed` : ''}`);
    throwIfFailures(failed.map((f) => ({ path: f.image.path, error: f.error })), 'every image to be processed', 'detect');
  },
};
