/**
 * The region stage's arithmetic rate: how close `embedRegions` (backbone → RoIAlign → head, 64 regions a batch)
 * comes to onnxruntime running the same graphs alone, and how close those graphs come to what this CPU's
 * convolution kernels reach on the head's heaviest convolution alone (onnxruntime and PyTorch), in GFLOP/s
 * (2 × multiply-adds, counted by bench/graph_macs.py with onnx's shape inference). Features-mode detectors only.
 *
 * Run: npx tsx bench/region-rate.ts [model folder] [--regions 1000] [--threads 1] [--dtype fp32|int8] [--repeats 5]
 *        [--image FILE] [--python /usr/bin/python3]
 * Prints one table (medians and min–max over the repeats; each repeat times the pipeline, then the raw graphs,
 * then the heaviest conv alone, interleaved): ms and GFLOP/s of
 *   - region stage: `DetectorModel.embedRegions` on R random boxes (what `detect` runs; RoIAlign included);
 *   - raw graphs: onnxruntime on the backbone once and the head on ceil(R / 64) batches of random RoI features,
 *     same session options (intra-op threads, no spinning, all graph optimizations);
 *   - heaviest conv alone: that Conv as a one-node graph at the head's batch shape (onnxruntime), and
 *     torch.nn.functional.conv2d on the same shape (when torch is importable; its own median of 15).
 * int8 graphs are counted with their fp32 graphs' multiply-adds (the same arithmetic in int8), and the heaviest conv
 * alone stays fp32 (the kernels fp32 reaches). MatMuls of two activations that onnx's shape inference cannot follow
 * (attention's q·k and weights·v, a few thousand multiply-adds a region) are listed as not counted.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { parseRuntimeOptions } from '../src/config/options.js';
import { resizeForDetection } from '../src/image/preprocess.js';
import { decodeImage } from '../src/image/read.js';
import { DetectorModel } from '../src/models/detector.js';
import { lcg, randomBoxes } from './random.js';
import { positiveInt } from './args.js';

const root = join(import.meta.dirname, '..');
const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    regions: { type: 'string', default: '1000' },
    threads: { type: 'string', default: '1' },
    dtype: { type: 'string' },
    repeats: { type: 'string', default: '5' },
    image: { type: 'string' },
    python: { type: 'string', default: '/usr/bin/python3' },
  },
});
const R = positiveInt('regions', flags.regions);
const threads = positiveInt('threads', flags.threads);
const repeats = positiveInt('repeats', flags.repeats);
const dtype = flags.dtype === undefined ? 'fp32' : parseRuntimeOptions({ dtype: flags.dtype }).dtype!;
const dir = positionals[0] ?? join(root, 'models', 'world-rn-small');
const image = flags.image ?? join(root, 'fixtures', 'images', 'shapes.png');
const BATCH = 64; // the head batch: given to the pipeline (regionBatchSize) and used for the raw runs

const model = await DetectorModel.load(dir, { intraOpThreads: threads, dtype, regionBatchSize: BATCH });
const m = model.manifest;
if (m.regionEncoder.mode !== 'features' || m.graphs.backbone === undefined || m.graphs.head === undefined) {
  throw new Error(`${dir}: a features-mode detector (backbone and head graphs) is needed, not ${m.regionEncoder.mode} mode`);
}
const decoded = await decodeImage(image);
const resized = resizeForDetection(decoded, { shortEdge: m.image.shortEdge, maxSize: m.image.maxSize });
const divisor = m.regionEncoder.sizeDivisibility ?? m.image.sizeDivisibility ?? 1;
const [H, W] = [resized.image.height, resized.image.width].map((v) => Math.ceil(v / divisor) * divisor);
const headInput = m.graphs.head.inputs[0];
const [C, P1, P2] = (headInput.dims ?? []).slice(1).map(Number);
if (![C, P1, P2].every((v) => Number.isInteger(v) && v > 0)) throw new Error(`${dir}: graphs.head's input needs fixed [regions, C, P, P] dims, not ${JSON.stringify(headInput.dims)}`);

interface MacReport { total: number; uncounted: string[]; heaviest: { input: number[]; weight: number[]; macs: number } | null; torch: { ms: number } | null }
const scratch = mkdtempSync(join(tmpdir(), 'regionclip-rate-'));
const macsOf = (file: string, input: string, dims: number[], convOut?: string): MacReport => {
  const args = [join(root, 'bench', 'graph_macs.py'), join(model.loaded.dir, file), '--input', `${input}=${dims.join(',')}`, '--torch-threads', String(threads)];
  if (convOut !== undefined) args.push('--conv-out', convOut);
  const r = spawnSync(flags.python, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench/graph_macs.py on ${file} failed (${flags.python}; it needs onnx): ${r.stderr || r.error}`);
  return JSON.parse(r.stdout) as MacReport;
};
const convFile = join(scratch, 'heaviest-conv.onnx');
const headMacs = macsOf(m.graphs.head.file, headInput.name, [BATCH, C, P1, P2], convFile);
const backboneMacs = macsOf(m.graphs.backbone.file, m.graphs.backbone.inputs[0].name, [1, 3, H, W]);
if (headMacs.heaviest === null) throw new Error(`${dir}: the head graph has no Conv, so there is no convolution to hold it against`);
const heaviest = headMacs.heaviest;
const batches = Math.ceil(R / BATCH);
// the last batch holds R - (batches - 1) * 64 regions; multiply-adds scale with the regions
const regionMacs = headMacs.total * (R / BATCH) + backboneMacs.total;

const sessionOptions: ort.InferenceSession.SessionOptions = {
  graphOptimizationLevel: 'all', intraOpNumThreads: threads, extra: { session: { intra_op: { allow_spinning: '0' } } },
};
const open = (file: string) => ort.InferenceSession.create(file, sessionOptions);
const [backbone, head, conv] = await Promise.all([
  open(join(model.loaded.dir, model.loaded.graphFiles.backbone)), open(join(model.loaded.dir, model.loaded.graphFiles.head)), open(convFile),
]);
const rng = lcg(11);
const noise = (n: number) => Float32Array.from({ length: n }, () => rng() * 2 - 1);
const images = new ort.Tensor('float32', noise(3 * H * W), [1, 3, H, W]);
const feats = (n: number) => new ort.Tensor('float32', noise(n * C * P1 * P2).map(Math.abs), [n, C, P1, P2]);
const full = feats(BATCH);
const last = feats(R - (batches - 1) * BATCH);
const convInput = new ort.Tensor('float32', noise(heaviest.input.reduce((a, b) => a * b)), heaviest.input);
const boxes = randomBoxes(lcg(5), R, decoded.width, decoded.height, 4, Math.min(decoded.width, decoded.height) / 2);

const timeIt = async (fn: () => Promise<unknown>) => {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
};
const stage = () => model.embedRegions(decoded, boxes, { resized });
const raw = async () => {
  await backbone.run({ [backbone.inputNames[0]]: images });
  for (let b = 0; b < batches; b++) await head.run({ [head.inputNames[0]]: b === batches - 1 ? last : full });
};
const convAlone = () => conv.run({ x: convInput });
await stage();
await raw();
await convAlone();
const times = { stage: [] as number[], raw: [] as number[], conv: [] as number[] };
for (let k = 0; k < repeats; k++) {
  times.stage.push(await timeIt(stage));
  times.raw.push(await timeIt(raw));
  const c: number[] = [];
  for (let i = 0; i < 15; i++) c.push(await timeIt(convAlone));
  times.conv.push(median(c));
}
function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
const cell = (v: number[]) => `${median(v).toFixed(1)} (${Math.min(...v).toFixed(1)}–${Math.max(...v).toFixed(1)})`;
const gflops = (macs: number, ms: number) => (2 * macs / ms / 1e6).toFixed(1);

console.log(`region-stage rate: ${m.name} (${dir}), ${dtype}, ${threads} thread(s), ${R} regions (${batches} head batches of ≤ ${BATCH}), backbone input ${H}×${W}`);
console.log(`machine: ${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? 'unknown'}), load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at the end; ${repeats} interleaved repeats, ms median (min–max)`);
console.log(`multiply-adds: head ${(headMacs.total / BATCH / 1e6).toFixed(2)} M per region (${(heaviest.macs / BATCH / 1e6).toFixed(2)} M of it the heaviest conv, input ${heaviest.input.join('×')}, weight ${heaviest.weight.join('×')}), backbone ${(backboneMacs.total / 1e6).toFixed(3)} M${
  headMacs.uncounted.length + backboneMacs.uncounted.length > 0 ? `; not counted: ${[...headMacs.uncounted, ...backboneMacs.uncounted].join(', ')} (products of two activations whose shapes onnx's inference lost, e.g. attention's)` : ''}${
  dtype === 'fp32' ? '' : `; ${dtype} graphs are counted with their fp32 multiply-adds, the conv alone runs in fp32`}\n`);
console.log('| what | ms | GFLOP/s | share of the raw graphs\' rate |');
console.log('| --- | ---: | ---: | ---: |');
console.log(`| region stage (\`embedRegions\`: backbone, RoIAlign, head) | ${cell(times.stage)} | ${gflops(regionMacs, median(times.stage))} | ${(median(times.raw) / median(times.stage) * 100).toFixed(0)}% |`);
console.log(`| raw graphs (backbone once, head × ${batches}) | ${cell(times.raw)} | ${gflops(regionMacs, median(times.raw))} | 100% |`);
console.log(`| heaviest conv alone, onnxruntime (per head batch) | ${cell(times.conv)} | ${gflops(heaviest.macs, median(times.conv))} | |`);
if (headMacs.torch) console.log(`| heaviest conv alone, PyTorch conv2d (per head batch) | ${headMacs.torch.ms.toFixed(1)} | ${gflops(heaviest.macs, headMacs.torch.ms)} | |`);
else console.log('| heaviest conv alone, PyTorch | (torch not importable) | | |');
await model.release();
rmSync(scratch, { recursive: true, force: true });
