import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitCodeFor, formatError } from '../../src/cli/errors.js';
import { ConfigError, EXIT_CODES, HubError, InterruptedError, InvalidInputError, IoError, ModelLoadError, ModelRunError, QueueError, RegionClipError, UsageError } from '../../src/index.js';
import { Detector } from '../../src/pipelines/detect.js';
import { repoRoot } from '../helpers/golden.js';

const bin = join(repoRoot, 'dist', 'cli', 'main.js');
const version = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version as string;
const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

describe('regionclip binary (built dist/)', () => {
  it('is built (npm test builds before testing; run `npm run build` when calling vitest directly)', () => {
    expect(existsSync(bin)).toBe(true);
  });
  it('--help prints usage and exits 0', () => {
    const r = cli('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('regionclip <command> [options]');
    expect(r.stdout).toContain('--verbose');
  });
  it('--version prints the package version', () => {
    const r = cli('--version');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(version);
  });
  it('rejects an unknown option with a did-you-mean and the usage exit code', () => {
    const r = cli('--verbos');
    expect(r.status).toBe(EXIT_CODES.usage);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('unknown option --verbos (did you mean --verbose?)');
  });
  it('rejects an unknown command', () => {
    const r = cli('frobnicate');
    expect(r.status).toBe(EXIT_CODES.usage);
    expect(r.stderr).toContain('unknown command "frobnicate"');
  });
});

describe('error reporting', () => {
  it('maps each error kind to its own exit code', () => {
    const codes = [
      new RegionClipError('x'), new UsageError('x'), new InvalidInputError('x'), new ConfigError('x'),
      new ModelLoadError('x'), new ModelRunError('x'), new IoError('x'), new HubError('x'), new QueueError('x'), new InterruptedError('x'), new Error('x'),
    ].map(exitCodeFor);
    expect(codes).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 130, 1]);
    expect(new Set(codes.slice(1, 10)).size).toBe(9);
  });
  it('prints one line, or the stack and every cause with --verbose', () => {
    const root = new Error('ENOENT: no such file');
    const error = new ModelLoadError('Expected a readable file for models/tiny/text.onnx but received ENOENT.', { cause: root });
    expect(error.name).toBe('ModelLoadError');
    expect(error.cause).toBe(root);
    expect(formatError(error, false)).toBe('regionclip: Expected a readable file for models/tiny/text.onnx but received ENOENT.');
    const verbose = formatError(error, true);
    expect(verbose).toContain('ModelLoadError: Expected a readable file');
    expect(verbose).toContain('Caused by: Error: ENOENT: no such file');
    expect(formatError(new TypeError('boom'), false)).toMatch(/^regionclip: internal error: boom \(run again with --verbose/);
  });
});

/**
 * Mistakes a newcomer makes on the command line, each answered with the message that helps: a
 * one-dash long option, a sibling command's flag name, a preset name that does not exist, a number
 * that does not parse (quoted as typed), and a named file that does not exist (exit 7 whatever the
 * file is for).
 */
describe('command-line mistakes', () => {
  // Each case spawns the binary (seconds to start): the table rows run concurrently.
  const cliAsync = (...args: string[]) => new Promise<{ status: number | null; stdout: string; stderr: string }>((done) => {
    execFile(process.execPath, [bin, ...args], { encoding: 'utf8' }, (error, stdout, stderr) => done({ status: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr }));
  });
  const detector = join(repoRoot, 'fixtures', 'models', 'tiny-detector-features');
  const clip = join(repoRoot, 'fixtures', 'models', 'tiny-clip');
  const image = join(repoRoot, 'fixtures', 'images', 'shapes.png');
  const missing = join(repoRoot, 'fixtures', 'no-such-file');

  it.concurrent.each([
    [['detect', image, '-vocab', 'cat'], 'unknown option -vocab (one dash: did you mean --vocab?)'],
    [['classify', image, '-labels', 'cat'], 'unknown option -labels (one dash: did you mean --labels?)'],
    [['-verbose', 'detect', image, '--vocab', 'cat'], 'unknown option -verbose (one dash: did you mean --verbose?)'],
    [['detect', image, '--vocab', 'cat', '-zzz'], 'unknown option -zzz (long options take two dashes)'],
    [['detect', image, '--vocab', '-cat'], 'unknown option -cat (a value that starts with "-" is written --vocab=-cat)'],
  ])('a multi-letter option with one dash is a usage error with a suggestion: %j', async (args, message) => {
    const r = await cliAsync(...args);
    expect(r.status).toBe(EXIT_CODES.usage);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toContain('unknown option --v;');
  });

  it('-h and -V are still the short options they are', () => {
    expect(cli('-V').stdout.trim()).toBe(version);
    expect(cli('detect', '-h').stdout).toContain('--vocab');
  });

  it.concurrent.each([
    [['detect', image, '--vocab', 'cat', '--no-regin-ensemble'], 'unknown option --no-regin-ensemble (did you mean --no-region-ensemble?)'],
    [['detect', image, '--vocab', 'cat', '--no-regin-ensemble=true'], 'unknown option --no-regin-ensemble (did you mean --no-region-ensemble?)'],
    [['detect', image, '--vocab', 'cat', '--no-verbos'], 'unknown option --no-verbos (did you mean --no-verbose?)'],
    [['detect', image, '--vocab', 'cat', '--no-zzzzzz'], 'unknown option --no-zzzzzz.'],
  ])('a misspelt --no- flag is named as typed, not as an unknown command: %j', async (args, message) => {
    const r = await cliAsync(...args);
    expect(r.status).toBe(EXIT_CODES.usage);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toContain('unknown command');
  });

  it.concurrent.each([
    [['detect', image, '--labels', 'cat'], 'unknown option --labels (did you mean --vocab? --labels is classify\'s)'],
    [['classify', image, '--vocab', 'cat'], 'unknown option --vocab (did you mean --labels? --vocab is detect\'s)'],
    [['classify', image, '--vocab-file', 'labels.txt'], 'unknown option --vocab-file (did you mean --labels? --vocab-file is detect\'s)'],
    [['mine', 'captions.jsonl', '--out', 'x.jsonl', '--conf', '0.5'], 'unknown option --conf (did you mean --thresh? --conf is detect\'s)'],
    [['detect', image, '--vocab', 'cat', '--thresh', '0.5'], 'unknown option --thresh (did you mean --conf? --thresh is mine\'s)'],
    [['detect', image, '--vocab', 'cat', '--top-k', '3'], 'unknown option --top-k (did you mean --max-det? --top-k is classify\'s)'],
  ])('a sibling command\'s flag suggests this command\'s equivalent: %j', async (args, message) => {
    const r = await cliAsync(...args);
    expect(r.status).toBe(EXIT_CODES.usage);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(message);
  });

  it.concurrent.each([
    [['detect', image, '--vocab', 'cat', '--model', detector, '--conf', '0.8.5'], 'Expected a number in [0, 1] for detect.scoreThreshold (--conf) but received \'0.8.5\'.'],
    [['detect', image, '--vocab', 'cat', '--model', detector, '--max-det', '1O'], 'Expected an integer >= 0 for detect.maxDetections (--max-det) but received \'1O\'.'],
    [['detect', image, '--vocab', 'cat', '--model', detector, '--threads', 'two'], 'Expected a positive integer for intraOpThreads (--threads) but received \'two\'.'],
    [['classify', image, '--labels', 'cat', '--model', clip, '--top-k', '3x'], 'Expected a positive integer for classify.topK (--top-k) but received \'3x\'.'],
    [['classify', image, '--labels', 'cat', '--model', clip, '--max-pixels', '1e'], 'Expected a positive integer for classify.maxPixels (--max-pixels) but received \'1e\'.'],
    [['mine', 'captions.jsonl', '--out', 'x.jsonl', '--thresh', '0,5'], 'Expected a number in [0, 1] for mine.threshold (--thresh) but received \'0,5\'.'],
  ])('a number that does not parse is quoted as typed: %j', async (args, message) => {
    const r = await cliAsync(...args);
    expect(r.status).toBe(EXIT_CODES.config);
    expect(r.stderr.trim()).toBe(`regionclip: ${message}`);
  });

  it('an unknown preset name lists the presets, with a did-you-mean when one is close (CLI and library)', async () => {
    const fast = cli('detect', image, '--vocab', 'cat', '--pipeline', 'fast');
    expect(fast.status).toBe(EXIT_CODES.config);
    expect(fast.stderr.trim()).toBe('regionclip: Expected a preset (default, regionclip-finetuned, regionclip-zero-shot), a model under models/ (world-rn-small) or a model folder for "fast" but received nothing by that name.');
    const typo = cli('detect', image, '--vocab', 'cat', '--pipeline', 'defualt');
    expect(typo.status).toBe(EXIT_CODES.config);
    expect(typo.stderr).toContain('for "defualt" but received nothing by that name (did you mean "default"?).');
    await expect(Detector.load('fast')).rejects.toThrow(ConfigError);
    await expect(Detector.load('fast')).rejects.toThrow(fast.stderr.trim().replace('regionclip: ', ''));
  });

  it.concurrent.each([
    ['an image', ['detect', missing, '--vocab', 'cat', '--model', detector]],
    ['an image (classify)', ['classify', missing, '--labels', 'cat', '--model', clip]],
    ['a vocabulary file', ['detect', image, '--vocab-file', missing, '--model', detector]],
    ['a boxes file', ['detect', image, '--vocab', 'cat', '--boxes', missing, '--model', detector]],
    ['a COCO ground truth', ['detect', image, '--vocab', 'cat', '--coco', join(tmpdir(), 'regionclip-unused.json'), '--coco-gt', missing, '--model', detector]],
    ['a preset file', ['detect', image, '--vocab', 'cat', '--pipeline', `${missing}.json`]],
    ['a model folder', ['detect', image, '--vocab', 'cat', '--model', missing]],
    ['a model folder (classify)', ['classify', image, '--labels', 'cat', '--model', missing]],
    ['a captions file', ['mine', missing, '--out', join(tmpdir(), 'regionclip-unused.jsonl')]],
    ['a concept pool', ['mine', join(repoRoot, 'fixtures', 'world', 'scenes.jsonl'), '--out', join(tmpdir(), 'regionclip-unused.jsonl'), '--concepts', missing]],
    ['a ground truth (eval)', ['eval', '--gt', missing, '--results', missing]],
  ])('a named file that does not exist exits 7 (io) whatever it is for: %s', async (_what, args) => {
    const r = await cliAsync(...args);
    expect(r.stderr).toContain('no-such-file');
    expect(r.status).toBe(EXIT_CODES.io);
  });

  it('a folder without images and a pattern matching nothing are invalid input (3), not missing files', () => {
    const folder = join(repoRoot, 'fixtures', 'models');
    expect(cli('detect', folder, '--vocab', 'cat', '--model', detector).status).toBe(EXIT_CODES.invalidInput);
    expect(cli('detect', join(repoRoot, 'fixtures', '*.nothing'), '--vocab', 'cat', '--model', detector).status).toBe(EXIT_CODES.invalidInput);
  });
});
