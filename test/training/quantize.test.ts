/**
 * training/convert/quantize.py + tools/calibrate-int8.ts: the int8 recipe of docs/models.md "int8" on a copy of
 * the built-in model without its int8 files (probe, calibrate on committed world images, apply), the files and
 * manifest entries it writes, the loaded int8 model against fp32, and its refusals. Skips, saying so, when
 * Debian's /usr/bin/python3 cannot import onnx (apt-get install -y python3-onnx; .ci/run does).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/image/read.js';
import { DetectorModel } from '../../src/models/detector.js';
import { repoRoot } from '../helpers/golden.js';
import { python, trainingDir } from '../helpers/python.js';

const onnxCheck = spawnSync(python, ['-c', 'import onnx, numpy'], { encoding: 'utf8' });
const hasOnnx = onnxCheck.status === 0;
if (!hasOnnx) console.warn(`Skipping the int8 quantizer test: ${python} cannot import onnx (apt-get install -y python3-onnx).`);

const scratch = mkdtempSync(join(tmpdir(), 'regionclip-quantize-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const quantize = (...args: string[]) => spawnSync(python, ['-m', 'convert.quantize', ...args], { encoding: 'utf8', cwd: trainingDir, timeout: 120_000 });
const tsx = join(repoRoot, 'node_modules', '.bin', 'tsx');

describe.skipIf(!hasOnnx)('int8 recipe: probe, calibrate, apply', () => {
  const model = join(scratch, 'model');
  const probe = join(scratch, 'probe');
  const ranges = join(probe, 'ranges.json');

  it('writes <graph>.int8.onnx with per-channel QDQ weights, lists them with sha256, and the int8 model matches fp32', async () => {
    // The built-in model as it was before its int8 files.
    cpSync(join(repoRoot, 'models', 'world-rn-small'), model, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(model, 'manifest.json'), 'utf8'));
    for (const role of ['rpn', 'backbone', 'head']) {
      delete manifest.files[manifest.graphs[role].variants.int8];
      unlinkSync(join(model, manifest.graphs[role].variants.int8));
      delete manifest.graphs[role].variants;
    }
    writeFileSync(join(model, 'manifest.json'), JSON.stringify(manifest, null, 2));

    const p = quantize('probe', '--model', model, '--out', probe);
    expect(p.status, p.stderr).toBe(0);
    const listing = JSON.parse(readFileSync(join(probe, 'probe.json'), 'utf8'));
    // Each Conv / MatMul / Gemm with initializer weights: its input and output (shared tensors once).
    expect(Object.fromEntries(Object.entries(listing).map(([role, e]) => [role, (e as { tensors: string[] }).tensors.length]))).toEqual({ backbone: 22, rpn: 28, head: 14 });

    const images = join(repoRoot, 'fixtures', 'world', 'images');
    const c = spawnSync(tsx, [join(repoRoot, 'tools', 'calibrate-int8.ts'), '--model', model, '--probe', probe, '--images', images, '--out', ranges, '--proposals', '100'], { encoding: 'utf8', cwd: repoRoot, timeout: 180_000 });
    expect(c.status, c.stderr).toBe(0);
    const r = JSON.parse(readFileSync(ranges, 'utf8'));
    expect(r.calibration).toMatchObject({ count: 3, proposals: 100, method: 'minmax' });
    for (const [role, entry] of Object.entries(listing)) {
      const got = r.graphs[role].ranges as Record<string, [number, number]>;
      expect(Object.keys(got).sort()).toEqual([...(entry as { tensors: string[] }).tensors].sort());
      for (const [lo, hi] of Object.values(got)) expect(Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi).toBe(true);
    }

    const a = quantize('apply', '--model', model, '--ranges', ranges);
    expect(a.status, a.stderr).toBe(0);
    const after = JSON.parse(readFileSync(join(model, 'manifest.json'), 'utf8'));
    for (const role of ['rpn', 'backbone', 'head']) {
      expect(after.graphs[role].variants).toEqual({ int8: `${role}.int8.onnx` });
      // Each int8 file records the fp32 graph it was made from, so a later re-export of that graph makes it stale.
      expect(after.files[`${role}.int8.onnx`].derivedFrom).toEqual({ file: `${role}.onnx`, sha256: after.files[`${role}.onnx`].sha256 });
    }
    expect(after.graphs.text.variants).toBeUndefined();
    // The structure onnxruntime fuses into QLinearConv / QLinearMatMul: int8 weights dequantized per output channel.
    const ops = spawnSync(python, ['-c', `import onnx, onnx.numpy_helper, collections, sys
m = onnx.load(sys.argv[1]); c = collections.Counter(n.op_type for n in m.graph.node)
w = [i for i in m.graph.initializer if i.data_type == onnx.TensorProto.INT8 and len(i.dims) > 1]
qmax = max(int(abs(onnx.numpy_helper.to_array(i).astype(int)).max()) for i in w)
print(c["QuantizeLinear"], c["DequantizeLinear"], c["Conv"], c["MatMul"], c["Gemm"], len(w), qmax)`, join(model, 'head.int8.onnx')], { encoding: 'utf8' });
    expect(ops.status, ops.stderr).toBe(0);
    const [q, dq, conv, matmul, gemm, weights, qmax] = ops.stdout.trim().split(' ').map(Number);
    // 7-bit weights (onnxruntime's reduce_range): no uint8 × int8 pair sum saturates int16 on CPUs without VNNI.
    expect(qmax).toBe(63);
    console.log(`head.int8.onnx: ${q} QuantizeLinear, ${dq} DequantizeLinear, ${conv} Conv, ${matmul} MatMul, ${gemm} Gemm, ${weights} int8 weights`);
    // res5's 3 Conv, the attention pool's 4 weight MatMuls (its Gemm rewritten as one) and the box regressor's
    // (RegionCLIP's transfer (C): box_deltas from the region embedding) are quantized; the 2 activation × activation
    // MatMuls stay float. Each probed tensor is quantized once; each weight dequantized once.
    expect({ conv, matmul, gemm, weights }).toEqual({ conv: 3, matmul: 7, gemm: 0, weights: 8 });
    expect(q).toBe(listing.head.tensors.length);
    expect(dq).toBe(q + weights);

    const fp32 = await DetectorModel.load(model, { intraOpThreads: 1 });
    const int8 = await DetectorModel.load(model, { intraOpThreads: 1, dtype: 'int8' });
    try {
      const image = await decodeImage(join(images, '000020.jpg'));
      const { proposals, resized } = await fp32.propose(image);
      const boxes = DetectorModel.toOriginal(proposals.boxes, resized).gather([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const x = await fp32.embedRegions(image, boxes, { resized });
      const y = await int8.embedRegions(image, boxes, { resized });
      const D = fp32.manifest.embedDim;
      for (let i = 0; i < 10; i++) {
        let dot = 0;
        for (let k = 0; k < D; k++) dot += x[i * D + k] * y[i * D + k];
        expect(dot).toBeGreaterThan(0.9);
      }
      const p8 = await int8.propose(image);
      expect(p8.proposals.scores.length).toBe(proposals.scores.length);
    } finally {
      await fp32.release();
      await int8.release();
    }
  }, 300_000);

  it('refuses ranges calibrated on other graph files, and a range missing for a tensor', () => {
    const stale = JSON.parse(readFileSync(ranges, 'utf8'));
    stale.graphs.head.sha256 = '1'.repeat(64);
    writeFileSync(join(scratch, 'stale.json'), JSON.stringify(stale));
    const before = readFileSync(join(model, 'manifest.json'), 'utf8');
    const s = quantize('apply', '--model', model, '--ranges', join(scratch, 'stale.json'));
    expect(s.status).toBe(5);
    // Checked before anything is written: the backbone and rpn ranges were fine, but nothing was rewritten.
    expect(readFileSync(join(model, 'manifest.json'), 'utf8')).toBe(before);
    expect(s.stderr).toMatch(/^error: .*was calibrated on another head\.onnx \(sha256 1{64}, the manifest records [0-9a-f]{64}\)/);

    const partial = JSON.parse(readFileSync(ranges, 'utf8'));
    const [first] = Object.keys(partial.graphs.head.ranges);
    delete partial.graphs.head.ranges[first];
    writeFileSync(join(scratch, 'partial.json'), JSON.stringify({ graphs: { head: partial.graphs.head } }));
    const m = quantize('apply', '--model', model, '--ranges', join(scratch, 'partial.json'));
    expect(m.status).toBe(5);
    expect(m.stderr).toContain(`no calibrated range for tensor '${first}'`);

    // an fp32 graph changed on disk behind its manifest: its variant would record the wrong source
    const head = readFileSync(join(model, 'head.onnx'));
    writeFileSync(join(model, 'head.onnx'), Buffer.concat([head, Buffer.from([0])]));
    const changed = quantize('apply', '--model', model, '--ranges', ranges);
    writeFileSync(join(model, 'head.onnx'), head);
    expect(changed.status).toBe(5);
    expect(changed.stderr).toMatch(/^error: head\.onnx is not the file the manifest records \(sha256 [0-9a-f]{64}, the manifest records [0-9a-f]{64}\)/);
    expect(readFileSync(join(model, 'manifest.json'), 'utf8')).toBe(before);

    const missing = quantize('apply', '--model', model, '--ranges', join(scratch, 'nope.json'));
    expect(missing.status).toBe(7);
    expect(missing.stderr).toBe(`error: cannot read the ranges file ${join(scratch, 'nope.json')}: No such file or directory\n`);
    const crop = quantize('probe', '--model', join(repoRoot, 'fixtures', 'models', 'tiny-detector-crop'), '--out', join(scratch, 'crop-probe'));
    expect(crop.status).toBe(5);
    expect(crop.stderr).toContain("is a 'crop'-mode detector: the int8 recipe covers features mode");
    const calib = spawnSync(tsx, [join(repoRoot, 'tools', 'calibrate-int8.ts'), '--model', model, '--probe', probe, '--images', join(repoRoot, 'fixtures', 'world', 'images'), '--out', ranges, '--proposals', 'x'], { encoding: 'utf8', cwd: repoRoot });
    expect(calib.status).toBe(2);
    expect(calib.stderr).toContain('error: --proposals takes an integer >= 1, got "x"');
  });
});
