/**
 * bench/region-rate.ts and its multiply-add counter bench/graph_macs.py, on the tiny fixture detector, whose head
 * is counted by hand: a 3×3 stride-2 conv 24 → 32 channels on 14×14 (7×7 out) and CLIP's attention pool
 * (width 32, 50 tokens, one query, output 16). Skipped when Debian's /usr/bin/python3 cannot import onnx
 * (apt-get install -y python3-onnx; .ci/run does).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { python } from '../helpers/python.js';

const root = join(import.meta.dirname, '..', '..');
const tiny = join(root, 'fixtures', 'models', 'tiny-detector-features');
const hasOnnx = spawnSync(python, ['-c', 'import onnx'], { encoding: 'utf8' }).status === 0;
if (!hasOnnx) console.warn(`Skipping bench/region-rate.ts and bench/graph_macs.py: ${python} cannot import onnx (apt-get install -y python3-onnx).`);

// Per region: conv 7·7·32 outputs × 24·3·3 inputs; k and v 50·32 × 32 each, q 1·32 × 32; the output projection 32 × 16.
const CONV = 7 * 7 * 32 * 24 * 9;
const MATMUL = 2 * 50 * 32 * 32 + 32 * 32;
const GEMM = 32 * 16;

describe.skipIf(!hasOnnx)('bench/region-rate.ts', () => {
  it('graph_macs.py counts the tiny head by hand, names its heaviest conv, and refuses a fixed dimension given otherwise', () => {
    const run = (dims: string) => spawnSync(python, [join(root, 'bench', 'graph_macs.py'), join(tiny, 'head.onnx'), '--input', `roi_features=${dims}`], { encoding: 'utf8' });
    const r = run('5,24,14,14');
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.macs).toEqual({ Conv: 5 * CONV, MatMul: 5 * MATMUL, Gemm: 5 * GEMM });
    expect(out.total).toBe(5 * (CONV + MATMUL + GEMM));
    expect(out.heaviest).toMatchObject({ input: [5, 24, 14, 14], weight: [32, 24, 3, 3], strides: [2, 2], macs: 5 * CONV, count: 1 });
    const bad = run('5,16,14,14');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('--input roi_features: dimension 1 is fixed at 24 in the graph, got 16');
  });

  it('prints the region stage, the raw graphs and the heaviest conv alone, with rates from those counts', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bench', 'region-rate.ts'), tiny, '--regions', '70', '--repeats', '1'],
      { cwd: root, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('1 thread(s), 70 regions (2 head batches of ≤ 64)');
    // The tiny backbone by hand: four 3×3 stride-2 convs, 3 → 8 → 12 → 16 → 24 channels, each halving (rounding up).
    const [, h, w] = /backbone input (\d+)×(\d+)/.exec(r.stdout)!.map(Number);
    let [hh, ww, backbone] = [h, w, 0];
    for (const [cin, cout] of [[3, 8], [8, 12], [12, 16], [16, 24]]) {
      [hh, ww] = [Math.ceil(hh / 2), Math.ceil(ww / 2)];
      backbone += hh * ww * cout * cin * 9;
    }
    expect(r.stdout).toContain(`backbone ${(backbone / 1e6).toFixed(3)} M; not counted: /pool/MatMul, /pool/MatMul_1`);
    expect(r.stdout).toContain(`head ${((CONV + MATMUL + GEMM) / 1e6).toFixed(2)} M per region (${(CONV / 1e6).toFixed(2)} M of it the heaviest conv, input 64×24×14×14, weight 32×24×3×3)`);
    const rows = r.stdout.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| what') && !l.startsWith('| ---'));
    const cells = rows.map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
    expect(cells.map((c) => c[0].split(' (')[0].split(',')[0])).toEqual(['region stage', 'raw graphs', 'heaviest conv alone', 'heaviest conv alone']);
    for (const c of cells.slice(0, 3)) {
      const ms = Number(c[1].split(' ')[0]);
      expect(ms).toBeGreaterThan(0);
      // GFLOP/s is 2 × the counted multiply-adds over the median time
      expect(Number(c[2])).toBeGreaterThan(0);
    }
    const stageMs = Number(cells[0][1].split(' ')[0]);
    const macs = (CONV + MATMUL + GEMM) * 70 + backbone;
    // the printed time and counts are rounded: 3% of slack
    expect(Math.abs(Number(cells[0][2]) - 2 * macs / stageMs / 1e6)).toBeLessThanOrEqual(0.03 * (2 * macs / stageMs / 1e6) + 0.05);
    // the stage's share of the raw graphs' rate is their time over its time
    const rawMs = Number(cells[1][1].split(' ')[0]);
    expect(Number(cells[0][3].replace('%', ''))).toBeCloseTo(100 * rawMs / stageMs, -0.5);
  });
});
