/**
 * What the command line says about the built-in model: a one-line notice on stderr whenever detect, classify
 * or mine use it (never on stdout, so JSON output stays JSON; none with --quiet, which leaves only the summary line; none for another model), and
 * the --help text of the program and of detect.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/golden.js';

const bin = join(repoRoot, 'dist', 'cli', 'main.js');
const scratch = mkdtempSync(join(tmpdir(), 'regionclip-cli-output-'));
const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: join(scratch, 'xdg') } });
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
// The label's 81 prompts are embedded once, then read from the cache (the built-in model has a trained background, so the
// default preset's distractor pool is not embedded for it).
beforeAll(() => {
  expect(cli('detect', join(repoRoot, 'fixtures', 'world', 'images', '000020.jpg'), '--vocab', 'bicycle', '--quiet').status).toBe(0);
}, 300_000);

const world = join(repoRoot, 'fixtures', 'world');
const image = join(world, 'images', '000020.jpg');
const NOTICE = /^regionclip: using the built-in model \(models\/world-rn-small\), trained only on a synthetic world of emoji scenes: .*"Real weights".*docs\/models\.md/m;
const notices = (stderr: string) => stderr.split('\n').filter((l) => l.includes('built-in model')).length;

describe('the built-in model says what it is', () => {
  it('detect prints one notice line on stderr, none on stdout (JSON stays JSON), none with --quiet', () => {
    const r = cli('detect', image, '--vocab', 'bicycle', '--json', '-');
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(NOTICE);
    expect(notices(r.stderr)).toBe(1);
    expect(JSON.parse(r.stdout).phrases).toEqual(['bicycle']);
    const quiet = cli('detect', image, '--vocab', 'bicycle', '--json', '-', '--quiet');
    expect(quiet.status).toBe(0);
    // --quiet: no notice and no progress; the summary line still ends the run.
    expect(quiet.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^regionclip: \d+ detection\(s\) in 1 of 1 image\(s\)/)]);
    expect(JSON.parse(quiet.stdout).detections).toEqual(JSON.parse(r.stdout).detections);
    // named by its folder (or its manifest), it is still the built-in model
    expect(cli('detect', image, '--vocab', 'bicycle', '--model', join(repoRoot, 'models', 'world-rn-small')).stderr).toMatch(NOTICE);
    expect(cli('classify', image, '--labels', 'bicycle', '--model', join(repoRoot, 'models', 'world-rn-small', 'manifest.json')).stderr).toMatch(NOTICE);
  }, 180_000);

  it('classify and mine print it too; another model does not', () => {
    const classify = cli('classify', join(world, 'singles', '000000.jpg'), '--labels', 'sloth', '--json', '-');
    expect(classify.status).toBe(0);
    expect(classify.stderr).toMatch(NOTICE);
    expect(JSON.parse(classify.stdout)[0].labels[0].label).toBe('sloth');
    expect(cli('classify', join(world, 'singles', '000000.jpg'), '--labels', 'sloth', '--quiet').stderr.trim().split('\n')).toEqual([expect.stringMatching(/^regionclip: classified 1 of 1 image\(s\)/)]);
    const tiny = cli('classify', join(world, 'singles', '000000.jpg'), '--labels', 'sloth', '--model', join(repoRoot, 'fixtures', 'models', 'tiny-clip'));
    expect(tiny.status).toBe(0);
    expect(notices(tiny.stderr)).toBe(0);
    const mine = cli('mine', join(world, 'captions.jsonl'), '--out', join(scratch, 'mined.jsonl'), '--root', world, '--proposals', '20');
    expect(mine.status).toBe(0);
    expect(mine.stderr).toMatch(NOTICE);
    expect(readFileSync(join(scratch, 'mined.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3);
    const quietMine = cli('mine', join(world, 'captions.jsonl'), '--out', join(scratch, 'mined-quiet.jsonl'), '--root', world, '--proposals', '20', '--quiet');
    expect(quietMine.status).toBe(0);
    expect(quietMine.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^regionclip: mined 3 image\(s\)/)]);
  }, 180_000);

  it('regionclip --help and detect --help say it was trained on a synthetic emoji world and where real weights are', () => {
    for (const args of [['--help'], ['detect', '--help']]) {
      const r = cli(...args);
      expect(r.status).toBe(0);
      const text = r.stdout.replace(/\s+/g, ' ');
      expect(text).toContain('synthetic world of emoji scenes');
      expect(text).toContain('README "Real weights"');
      expect(text).toContain('docs/models.md');
    }
  });
});
