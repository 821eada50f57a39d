/**
 * `npm run bench` (bench/all.ts) in --quick mode on the tiny fixture model: one table with every stage row,
 * positive times for ours and, where /usr/bin/python3 has torch, for PyTorch; our columns only (with the
 * reason) when Python is missing; --require-torch turns that into exit 1.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTorch, NO_TORCH } from '../helpers/python.js';

const root = join(import.meta.dirname, '..', '..');
const model = join(root, 'fixtures', 'models', 'tiny-detector-features');
const cache = mkdtempSync(join(tmpdir(), 'regionclip-bench-test-'));
afterAll(() => rmSync(cache, { recursive: true, force: true }));
if (!hasTorch) console.warn(`bench/all.ts: the PyTorch columns are checked empty only: ${NO_TORCH}.`);

const STAGES = ['preprocess / decode', 'rpn + proposals', 'region stage', 'text', 'scoring + NMS', 'end to end'];

function bench(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bench', 'all.ts'), '--cache', cache, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
}

/** The table's rows by stage: the cells after the stage name. */
function tableRows(stdout: string): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('| ') || line.startsWith('| stage') || line.startsWith('| ---')) continue;
    const cells = line.slice(2, -2).split(' | ');
    rows.set(cells[0], cells.slice(1));
  }
  return rows;
}

/** A cell's median: "12.3" or "12.3 (11.0–13.1)". */
const median = (cell: string) => Number(cell.split(' ')[0]);

describe('npm run bench (bench/all.ts)', () => {
  it('prints one table: every stage, ours and PyTorch per thread count, with their ratio', () => {
    const run = bench('--quick', '--threads', '1,2', model);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^machine: \d+ cores/m);
    const header = run.stdout.split('\n').filter((l) => l.startsWith('| stage'));
    expect(header).toEqual(['| stage | tiny-detector-features, 1 thread: ours ms | torch ms | ours/torch | tiny-detector-features, 2 threads: ours ms | torch ms | ours/torch |']);
    const rows = tableRows(run.stdout);
    expect([...rows.keys()]).toEqual(STAGES);
    for (const stage of STAGES) {
      const cells = rows.get(stage)!;
      expect(cells).toHaveLength(6);
      for (const group of [0, 3]) {
        expect(median(cells[group]), `${stage}: ours`).toBeGreaterThan(0);
        if (hasTorch) {
          expect(median(cells[group + 1]), `${stage}: torch`).toBeGreaterThan(0);
          const ratio = median(cells[group]) / median(cells[group + 1]);
          // printed medians carry 3 significant digits, the ratio 2-3
          expect(Math.abs(median(cells[group + 2]) - ratio), `${stage}: ratio ${cells[group + 2]} against ${ratio}`).toBeLessThan(0.05 * ratio + 0.0011);
        } else {
          expect(cells.slice(group + 1, group + 3)).toEqual(['—', '—']);
        }
      }
    }
    // end to end is the sum of the stages; each printed value is rounded to its last digit, so they may differ by
    // up to half a unit of each (111.52 against a printed 111, for example)
    const halfUnit = (cell: string) => 0.5 * 10 ** -(cell.split(' ')[0].split('.')[1]?.length ?? 0);
    const stageCells = STAGES.slice(0, 5).map((s) => rows.get(s)![0]);
    const sum = stageCells.reduce((a, cell) => a + median(cell), 0);
    const endCell = rows.get('end to end')![0];
    const slack = halfUnit(endCell) + stageCells.reduce((a, cell) => a + halfUnit(cell), 0);
    expect(Math.abs(median(endCell) - sum), `end to end ${endCell} against the stages' sum ${sum}`).toBeLessThanOrEqual(slack + 1e-9);
    expect(run.stdout).toContain('1 interleaved repeat;');
    expect(run.stdout).toContain("ours' RPN kept 40 proposals (topped up with random boxes to 50)");
    if (hasTorch) expect(run.stdout).toMatch(new RegExp(`PyTorch eager \\(torch \\S+, torchvision \\S+, MKL (yes|no)\\)`));
  });

  it('without Python prints our columns only and says why; --require-torch exits 1', () => {
    const run = bench('--quick', '--threads', '1', '--python', '/nonexistent/python3', model);
    expect(run.status, run.stderr).toBe(0);
    const rows = tableRows(run.stdout);
    expect([...rows.keys()]).toEqual(STAGES);
    for (const stage of STAGES) {
      const cells = rows.get(stage)!;
      expect(median(cells[0])).toBeGreaterThan(0);
      expect(cells.slice(1)).toEqual(['—', '—']);
    }
    expect(run.stdout).toContain('PyTorch: not timed: /nonexistent/python3 does not exist.');
    expect(run.stderr).toContain('our columns only');

    const strict = bench('--quick', '--python', '/nonexistent/python3', '--require-torch', model);
    expect(strict.status).toBe(1);
    expect(strict.stderr).toContain('bench: --require-torch: PyTorch: not timed: /nonexistent/python3 does not exist');
    expect(strict.stdout).toBe('');
  });

  it('rejects an unknown flag and a bad count before running anything', () => {
    const unknown = bench('--repats', '3', model);
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toContain("Unknown option '--repats'");
    const bad = bench('--repeats', '0', model);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('--repeats takes an integer >= 1, got "0"');
  });
});
