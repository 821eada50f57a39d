import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/index.js';
import { fixtureGolden, repoRoot } from '../helpers/golden.js';

const bin = join(repoRoot, 'dist', 'cli', 'main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
const dir = mkdtempSync(join(tmpdir(), 'regionclip-eval-'));
const file = (name: string, value: unknown) => { const p = join(dir, name); writeFileSync(p, typeof value === 'string' ? value : JSON.stringify(value)); return p; };

// The crowd case: categories 1 and 2 (cat1, cat2), pycocotools' numbers alongside.
const golden = fixtureGolden<any>('cocoeval/case02_crowd.json');
const gt = file('gt.json', golden.gt);
const results = file('results.json', golden.detections);

describe('regionclip eval (built binary)', () => {
  it('prints pycocotools summarize() lines', () => {
    const r = cli('eval', '--gt', gt, '--results', results);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toEqual(golden.summary_lines);
  });

  it('--json prints exactly the documented object', () => {
    const split = file('split.json', { novel: ['cat2'], base: [1] });
    const r = cli('eval', '--gt', gt, '--results', results, '--split', split, '--json');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(['stats', 'perCategory', 'split']);
    expect(out.stats).toHaveLength(12);
    out.stats.forEach((v: number, i: number) => expect(Math.abs(v - golden.stats[i])).toBeLessThanOrEqual(1e-6));
    expect(out.perCategory.map((c: any) => Object.keys(c))).toEqual([['id', 'name', 'ap', 'ap50', 'ap75', 'recall'], ['id', 'name', 'ap', 'ap50', 'ap75', 'recall']]);
    golden.per_category.forEach((c: any, k: number) => {
      expect(out.perCategory[k].id).toBe(c.category_id);
      expect(out.perCategory[k].name).toBe(`cat${c.category_id}`);
      for (const key of ['ap', 'ap50', 'ap75', 'recall']) expect(Math.abs(out.perCategory[k][key] - c[key])).toBeLessThanOrEqual(1e-6);
    });
    const [c1, c2] = golden.per_category;
    expect(Math.abs(out.split.novel.ap50 - c2.ap50)).toBeLessThanOrEqual(1e-12);
    expect(Math.abs(out.split.base.ap - c1.ap)).toBeLessThanOrEqual(1e-12);
    expect(Math.abs(out.split.all.ap50 - golden.stats[1])).toBeLessThanOrEqual(1e-12);
    expect(Object.keys(out.split)).toEqual(['novel', 'base', 'all']);
    expect(Object.keys(out.split.all)).toEqual(['ap', 'ap50']);
  });

  it('adds split lines and a per-category table to the text output', () => {
    const split = file('split2.json', { novel: [2], base: ['cat1'] });
    const r = cli('eval', '--gt', gt, '--results', results, '--split', split, '--per-category');
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.slice(0, 12)).toEqual(golden.summary_lines);
    expect(lines[12]).toMatch(/^ Open-vocabulary novel \(\s+1 categories\): AP50 = \d\.\d{3} \| AP@\[0\.50:0\.95\] = \d\.\d{3}$/);
    expect(lines[14]).toContain(`AP50 = ${golden.summary_lines[1].slice(-5)}`);
    expect(lines.some((l) => /^\s+1\s+cat1\s+20\.2\s+/.test(l))).toBe(true);
  });

  it('warns on an empty results list and prints zeros', () => {
    const r = cli('eval', '--gt', gt, '--results', file('empty.json', '[]'), '--json');
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^regionclip: warning: The results list is empty/);
    expect(JSON.parse(r.stdout).stats).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('fails with one clear line and the right exit code on bad input', () => {
    const missing = cli('eval', '--gt', join(dir, 'missing.json'), '--results', results);
    expect(missing.status).toBe(EXIT_CODES.io);
    expect(missing.stderr.trim()).toBe(`regionclip: Expected a readable COCO dataset file for ${join(dir, 'missing.json')} but received ENOENT.`);

    const malformed = cli('eval', '--gt', gt, '--results', file('bad.json', '[{"image_id": 1,'));
    expect(malformed.status).toBe(EXIT_CODES.invalidInput);
    expect(malformed.stderr).toContain(`Expected valid JSON (COCO results) for ${join(dir, 'bad.json')}`);
    expect(malformed.stderr.trim().split('\n')).toHaveLength(1);

    const unknown = cli('eval', '--gt', gt, '--results', file('unknown.json', [...golden.detections, { image_id: 999, category_id: 1, bbox: [0, 0, 1, 1], score: 0.1 }]));
    expect(unknown.status).toBe(EXIT_CODES.invalidInput);
    expect(unknown.stderr.trim()).toBe(`regionclip: Expected the id of an image in the ground truth for results[${golden.detections.length}].image_id but received 999.`);

    const badBox = cli('eval', '--gt', file('gt-bad.json', { ...golden.gt, annotations: golden.gt.annotations.map((a: any, i: number) => (i === 3 ? { ...a, bbox: [1, 2, 3] } : a)) }), '--results', results);
    expect(badBox.status).toBe(EXIT_CODES.invalidInput);
    expect(badBox.stderr).toContain('for annotations[3].bbox in');
    expect(badBox.stderr).toContain('but received [1, 2, 3].');

    const badSplit = cli('eval', '--gt', gt, '--results', results, '--split', file('s.json', { novel: ['cat3'], base: [] }));
    expect(badSplit.status).toBe(EXIT_CODES.invalidInput);
    expect(badSplit.stderr).toContain('split novel[0] but received "cat3" (did you mean "cat1"?)');

    const dupGt = file('gt-dup.json', { ...golden.gt, categories: [...golden.gt.categories, { id: 77, name: 'CAT1' }] });
    const ambiguous = cli('eval', '--gt', dupGt, '--results', results, '--split', file('s2.json', { novel: ['Cat1'], base: [] }));
    expect(ambiguous.status).toBe(EXIT_CODES.invalidInput);
    expect(ambiguous.stderr).toContain('for split novel[0] but received "Cat1", which matches ids 1 ("cat1") and 77 ("CAT1") (give the id instead).');

    const usage = cli('eval', '--results', results);
    expect(usage.status).toBe(EXIT_CODES.usage);
    expect(usage.stderr).toContain('gt');
  });
});
