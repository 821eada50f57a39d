import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, EXIT_CODES, RegionClipError } from '../../src/errors.js';
import { classifyImages } from '../../src/pipelines/classify.js';
import { Detector, detectImage } from '../../src/pipelines/detect.js';
import { mine } from '../../src/pipelines/mine.js';
import { repoRoot } from '../helpers/golden.js';

// A bad option value fails alike from the command line and from the library: the same class
// (so the same exit code) and the same message, naming the library path and the flag.
const bin = join(repoRoot, 'dist', 'cli', 'main.js');
const detector = join(repoRoot, 'fixtures', 'models', 'tiny-detector-features');
const clip = join(repoRoot, 'fixtures', 'models', 'tiny-clip');
const image = join(repoRoot, 'fixtures', 'images', 'shapes.png');
const scratch = mkdtempSync(join(tmpdir(), 'regionclip-options-'));
const input = join(scratch, 'captions.jsonl');
writeFileSync(input, `${JSON.stringify({ image: '../nope.png', caption: 'a dog' })}\n`);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args, '--no-cache'], { encoding: 'utf8' });

async function libraryError(call: () => Promise<unknown>): Promise<RegionClipError> {
  try {
    await call();
  } catch (error) {
    expect(error).toBeInstanceOf(RegionClipError);
    return error as RegionClipError;
  }
  throw new Error('expected the call to throw');
}

function expectSame(args: string[], error: RegionClipError, message: string): void {
  const r = cli(...args);
  expect(error).toBeInstanceOf(ConfigError);
  expect(error.message).toBe(message);
  expect(r.status).toBe(EXIT_CODES.config);
  expect(r.stderr.trim()).toBe(`regionclip: ${message}`);
}

describe('option errors: library === CLI', () => {
  const detect = ['detect', image, '--vocab', 'red square', '--model', detector];
  it.each([
    ['--conf', '2', { detect: { scoreThreshold: 2 } }, 'Expected a number in [0, 1] for detect.scoreThreshold (--conf) but received 2.'],
    ['--iou', '-0.5', { detect: { iouThreshold: -0.5 } }, 'Expected a number in [0, 1] for detect.iouThreshold (--iou) but received -0.5.'],
    ['--max-det', '2.5', { detect: { maxDetections: 2.5 } }, 'Expected an integer >= 0 for detect.maxDetections (--max-det) but received 2.5.'],
    ['--proposals', '0', { proposals: { postNmsTopK: 0 } }, 'Expected a positive integer for proposals.postNmsTopK (--proposals) but received 0.'],
    ['--templates', 'many', { text: { templates: 'many' } }, 'Expected one of single, ensemble for text.templates (--templates) but received "many".'],
  ])('detect %s %s', async (flag, value, settings, message) => {
    expectSame([...detect, flag, value], await libraryError(() => Detector.load(detector, { settings })), message);
  });

  it('detectImage and Detector.load check settings and run-time limits the same way', async () => {
    const loaded = await Detector.load(detector, { cacheDir: false });
    try {
      const error = await libraryError(() => detectImage(loaded.model, image, ['red square'], new Float32Array(loaded.model.manifest.embedDim), { settings: { detect: { scoreThreshold: 2, iouThreshold: 0.5, maxDetections: 100, fusion: 'none' } } }));
      expect(error.message).toBe('Expected a number in [0, 1] for detect.scoreThreshold (--conf) but received 2.');
      const pixels = await libraryError(() => loaded.detect(image, { phrases: ['red square'], maxPixels: 0 }));
      expectSame([...detect, '--max-pixels', '0'], pixels, 'Expected a positive integer for maxPixels (--max-pixels) but received 0.');
    } finally {
      await loaded.release();
    }
    const threads = await libraryError(() => Detector.load(detector, { intraOpThreads: 1.5 }));
    expectSame([...detect, '--threads', '1.5'], threads, 'Expected a positive integer for intraOpThreads (--threads) but received 1.5.');
  });

  const classify = ['classify', image, '--labels', 'red,blue', '--model', clip];
  it.each([
    ['--top-k', '0', { topK: 0 }, 'Expected a positive integer for classify.topK (--top-k) but received 0.'],
    ['--templates', 'many', { templates: 'many' }, 'Expected one of single, ensemble (or a list of templates) for classify.templates (--templates) but received "many".'],
    ['--ensemble', 'mean', { ensemble: 'mean' }, 'Expected one of normalize-average-normalize, average-normalize for classify.ensemble (--ensemble) but received "mean".'],
    ['--threads', '0', { intraOpThreads: 0 }, 'Expected a positive integer for classify.intraOpThreads (--threads) but received 0.'],
  ])('classify %s %s', async (flag, value, options, message) => {
    // @ts-expect-error: out-of-range and unknown enum values on purpose
    expectSame([...classify, flag, value], await libraryError(() => classifyImages(clip, [image], { labels: 'red,blue', cacheDir: false, ...options })), message);
  });

  const mineArgs = (out: string) => ['mine', input, '--out', join(scratch, out), '--model', detector];
  it.each([
    ['--thresh', '5', { threshold: 5 }, 'Expected a number in [0, 1] for mine.threshold (--thresh) but received 5.'],
    ['--floor', '-3', { floor: -3 }, 'Expected a number in [0, 1] for mine.floor (--floor) but received -3.'],
    ['--rpn-nms', '1.5', { rpnNms: 1.5 }, 'Expected a number in [0, 1] for mine.rpnNms (--rpn-nms) but received 1.5.'],
    ['--proposals', '2.5', { proposals: 2.5 }, 'Expected a positive integer for mine.proposals (--proposals) but received 2.5.'],
    ['--queue', '0', { queueSize: 0 }, 'Expected a positive integer for mine.queueSize (--queue) but received 0.'],
    ['--rule', 'web', { rule: 'web' }, 'Expected one of caption, regionclip for mine.rule (--rule) but received "web".'],
    ['--temperature', '0', { temperature: 0 }, 'Expected a positive number for mine.temperature (--temperature) but received 0.'],
    ['--objectness', '2', { objectnessWeight: 2 }, 'Expected a number in [0, 1] for mine.objectnessWeight (--objectness) but received 2.'],
    ['--top-k', '0', { topK: 0 }, 'Expected a positive integer for mine.topK (--top-k) but received 0.'],
    ['--nms', '1.5', { nms: 1.5 }, 'Expected a number in [0, 1] for mine.nms (--nms) but received 1.5.'],
    ['--vote', '-1', { vote: -1 }, 'Expected a number in [0, 1] for mine.vote (--vote) but received -1.'],
    ['--min-score', '3', { minScore: 3 }, 'Expected a number in [0, 1] for mine.minScore (--min-score) but received 3.'],
    ['--templates', 'many', { templates: 'many' }, 'Expected one of single, ensemble for mine.templates (--templates) but received "many".'],
    ['--shard', '3/3', { shard: '3/3' }, 'Expected i/N with 0 <= i < N (e.g. 0/4; i may name an environment variable holding it, e.g. JOB_COMPLETION_INDEX/4) for mine.shard (--shard) but received "3/3".'],
  ])('mine %s %s', async (flag, value, options, message) => {
    const out = `out${flag}.jsonl`;
    // @ts-expect-error: out-of-range and unknown enum values on purpose
    expectSame([...mineArgs(out), flag, value], await libraryError(() => mine(detector, { input, output: join(scratch, out), cacheDir: false, ...options })), message);
  });

  it('several bad values at once give one error listing each', async () => {
    const error = await libraryError(() => mine(detector, { input, output: join(scratch, 'x.jsonl'), threshold: 2, shard: { index: 2, count: 2 } }));
    expect(error.message).toBe('Expected valid mine options for the given options but received mine.threshold (--thresh): a number in [0, 1] expected, 2 received; mine.shard (--shard): i/N with 0 <= i < N (e.g. 0/4; i may name an environment variable holding it, e.g. JOB_COMPLETION_INDEX/4) expected, {"index":2,"count":2} received.');
  });
});
