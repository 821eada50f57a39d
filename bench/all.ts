/**
 * `npm run bench`: our detection pipeline against the same pipeline in PyTorch eager, per stage and end to
 * end, for each model and thread count, in one table (issue 17).
 *
 * Ours is bench/detect.ts (onnxruntime-node sessions with --threads intra-op threads), PyTorch's is
 * bench/detect_torch.py (torch.set_num_threads; the modules rebuilt with random weights: speed does not
 * depend on the weight values). Both run in a fresh process per measurement (one warm-up pass, then one
 * timed pass) on the same image, the same regions (ours' RPN proposals topped up to --proposals; PyTorch
 * embeds the boxes ours wrote) and the same vocabulary (the built-in model's first --phrases concepts × 1
 * template). Repeats are interleaved: every repeat runs each model × threads pair, ours first in even
 * repeats and PyTorch first in odd ones, so a busy machine slows both alike. Cells are medians (min–max)
 * over the repeats; the ratio is ours / PyTorch within each repeat (< 1: ours is faster).
 *
 * Models (default): the built-in model (models/world-rn-small) and a full-size RN50-shaped detector with
 * random weights (training/export_tiny_detector.py --preset rn50-features, exported once into --cache).
 * Without Python + torch the table has our columns only, with a note (exit 1 only with --require-torch).
 *
 * Run: npm run bench -- [--repeats 3] [--threads 1,2] [--proposals 1000] [--phrases 100] [--quick]
 *        [--image FILE] [--python /usr/bin/python3] [--cache DIR] [--require-torch] [--no-int8] [model folders…]
 * Models with int8 graphs (manifest variants) also get `ours int8` and `int8/torch` columns.
 * --quick: 50 proposals, 10 phrases, 1 repeat (flags given explicitly win).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { readJsonFile, readTextFile, writeTextFile } from '../src/io/files.js';
import { lcg } from './random.js';
import { positiveInt } from './args.js';

const root = join(import.meta.dirname, '..');
const started = performance.now();
const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    repeats: { type: 'string' },
    threads: { type: 'string', default: '1,2' },
    proposals: { type: 'string' },
    phrases: { type: 'string' },
    quick: { type: 'boolean', default: false },
    image: { type: 'string' },
    python: { type: 'string', default: '/usr/bin/python3' },
    cache: { type: 'string', default: join(tmpdir(), 'regionclip-bench') },
    'require-torch': { type: 'boolean', default: false },
    'no-int8': { type: 'boolean', default: false },
  },
});
const repeats = positiveInt('repeats', flags.repeats ?? (flags.quick ? '1' : '3'));
const R = positiveInt('proposals', flags.proposals ?? (flags.quick ? '50' : '1000'));
const P = positiveInt('phrases', flags.phrases ?? (flags.quick ? '10' : '100'));
const threadCounts = flags.threads.split(',').map((t) => positiveInt('threads', t.trim()));
const python = flags.python;
const cache = resolve(flags.cache);
const log = (line: string) => process.stderr.write(`${line}\n`);

// --- PyTorch: there or not, and its versions --------------------------------------------------------------
interface TorchInfo { torch: string; torchvision: string; mkl: boolean; threads: number }
const probe = existsSync(python)
  ? spawnSync(python, ['-c', 'import json, torch, torchvision; print(json.dumps({"torch": torch.__version__, "torchvision": torchvision.__version__, "mkl": torch.backends.mkl.is_available(), "threads": torch.get_num_threads()}))'], { encoding: 'utf8' })
  : undefined;
const torchInfo: TorchInfo | undefined = probe?.status === 0 ? JSON.parse(probe.stdout.trim().split('\n').pop()!) as TorchInfo : undefined;
const noTorch = torchInfo !== undefined ? undefined
  : probe === undefined ? `${python} does not exist` : `${python} cannot import torch and torchvision (${probe.stderr.trim().split('\n').pop() ?? `exit ${probe.status}`})`;
if (noTorch !== undefined) {
  const message = `PyTorch: not timed: ${noTorch} (Debian: apt-get install -y python3-torch python3-torchvision)`;
  if (flags['require-torch']) {
    log(`bench: --require-torch: ${message}`);
    process.exit(1);
  }
  log(`bench: ${message}; our columns only`);
}

// --- models, image, vocabulary ------------------------------------------------------------------------------
mkdirSync(cache, { recursive: true });
const notes: string[] = [];
function rn50Model(): string | undefined {
  const dir = join(cache, 'rn50-features');
  if (existsSync(join(dir, 'manifest.json'))) {
    log(`bench: the RN50-shaped detector: ${dir} (exported earlier)`);
    return dir;
  }
  if (torchInfo === undefined) {
    notes.push(`rn50-features: not benchmarked: ${dir} is missing and exporting it needs PyTorch (${noTorch}).`);
    return undefined;
  }
  const partial = `${dir}.partial-${process.pid}`;
  const args = [join(root, 'training', 'export_tiny_detector.py'), '--preset', 'rn50-features', '--out', partial];
  log(`bench: exporting the RN50-shaped detector (random weights, about 30 s): ${python} ${args.join(' ')}`);
  const run = spawnSync(python, args, { encoding: 'utf8', cwd: root, maxBuffer: 1 << 24 });
  if (run.status !== 0) throw new Error(`the RN50 export exited with ${run.status}:\n${run.stderr.slice(-3000)}`);
  renameSync(partial, dir);
  log(`bench: exported to ${dir}`);
  return dir;
}
const models = positionals.length > 0
  ? positionals.map((p) => resolve(p))
  : [join(root, 'models', 'world-rn-small'), rn50Model()].filter((d): d is string => d !== undefined);
for (const dir of models) if (!existsSync(join(dir, 'manifest.json'))) throw new Error(`${dir}: not a model folder (no manifest.json)`);

/** Whether a model has int8 graphs; the cached RN50 gets them here (docs/models.md "int8", calibrated on the bench image). */
function int8Ready(dir: string, calibImage: string): boolean {
  const manifest = readJsonFile(join(dir, 'manifest.json'), 'manifest') as { graphs: Record<string, { variants?: { int8?: string } }> };
  if (Object.values(manifest.graphs).some((g) => g.variants?.int8 !== undefined)) return true;
  if (resolve(dir) !== join(cache, 'rn50-features')) {
    notes.push(`${basename(dir)}: no int8 graphs (docs/models.md "int8" makes them); int8 not timed.`);
    return false;
  }
  const probe = join(cache, 'rn50-probe');
  const calib = join(cache, 'rn50-calib');
  mkdirSync(calib, { recursive: true });
  writeFileSync(join(calib, basename(calibImage)), readFileSync(calibImage));
  const steps: [string, string[], string][] = [
    [python, ['-m', 'convert.quantize', 'probe', '--model', dir, '--out', probe], join(root, 'training')],
    [process.execPath, ['--import', 'tsx', join(root, 'tools', 'calibrate-int8.ts'), '--model', dir, '--probe', probe, '--images', calib, '--proposals', '300', '--out', join(probe, 'ranges.json')], root],
    [python, ['-m', 'convert.quantize', 'apply', '--model', dir, '--ranges', join(probe, 'ranges.json')], join(root, 'training')],
  ];
  log(`bench: making int8 graphs of ${dir} (random weights: calibrated on the bench image; speed only)`);
  for (const [command, args, cwd] of steps) {
    const run = spawnSync(command, args, { encoding: 'utf8', cwd, maxBuffer: 1 << 24 });
    if (run.status !== 0) {
      notes.push(`${basename(dir)}: int8 not timed: ${basename(args[args[0] === '--import' ? 2 : 1])} exited with ${run.status}: ${run.stderr.trim().split('\n').pop()}`);
      return false;
    }
  }
  return true;
}

/** The 640×480 benchmark image: a gradient, a square, a disc and a triangle, seeded noise (as bench/detect_torch.py draws it). */
async function benchImage(path: string): Promise<void> {
  const [w, h] = [640, 480];
  const px = Buffer.alloc(w * h * 3);
  const next = lcg(3);
  const inTriangle = (x: number, y: number) => y <= 448 && y >= 280 && Math.abs(x - 312) <= ((y - 280) / 168) * 152;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let rgb = [60 + (x >> 3), 90 + (y >> 3), 140 - (x >> 4)];
      if (x >= 56 && x <= 232 && y >= 64 && y <= 240) rgb = [220, 30, 30];
      else if ((x - 456) ** 2 + (y - 152) ** 2 <= 104 ** 2) rgb = [30, 60, 220];
      else if (inTriangle(x, y)) rgb = [30, 190, 50];
      for (let c = 0; c < 3; c++) px[3 * (y * w + x) + c] = Math.max(0, Math.min(255, rgb[c] + Math.floor(next() * 29) - 14));
    }
  }
  const partial = `${path}.partial-${process.pid}.png`;
  await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(partial);
  renameSync(partial, path);
}
const image = flags.image !== undefined ? resolve(flags.image) : join(cache, 'bench-shapes-640x480.png');
if (flags.image === undefined && !existsSync(image)) {
  log(`bench: drawing the benchmark image ${image}`);
  await benchImage(image);
}

const withInt8 = new Set(flags['no-int8'] ? [] : models.filter((dir) => int8Ready(dir, image)));
const work = mkdtempSync(join(cache, 'run-'));
const concepts = readTextFile(join(root, 'models', 'world-rn-small', 'concepts.txt'), 'concept pool').split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
if (P > concepts.length) throw new Error(`--phrases takes at most ${concepts.length} (the built-in model's concepts), got ${P}`);
const phrasesFile = join(work, 'phrases.txt');
writeTextFile(phrasesFile, `${concepts.slice(0, P).join('\n')}\n`);

const ms = (v: number) => (v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0));

// --- the runs --------------------------------------------------------------------------------------------------
type Stages = Record<string, number>;
const STAGES = ['preprocess / decode', 'rpn + proposals', 'region stage', 'text', 'scoring + NMS', 'end to end'] as const;
const ourStages = (s: Stages): number[] => {
  const v = [s.preprocess, s['rpn+proposals'], s.regions, s.text, s['scoring+nms']];
  return [...v, v.reduce((a, b) => a + b, 0)];
};
const torchStages = (s: Stages): number[] => {
  const v = [s.preprocess, s.rpn + s.proposals, s.region, s.text, s.scoring];
  return [...v, v.reduce((a, b) => a + b, 0)];
};

function lastJsonLine(command: string, args: string[], what: string): Record<string, unknown> {
  const run = spawnSync(command, args, { encoding: 'utf8', cwd: root, maxBuffer: 1 << 26 });
  if (run.status !== 0) throw new Error(`${what} exited with ${run.status ?? run.signal}: ${command} ${args.join(' ')}\n${run.stderr.slice(-3000)}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

interface Cell { ours: number[][]; int8: number[][]; torch: number[][]; afterRpn?: number; torchAfterRpn?: number }
const cells = new Map<string, Cell>();
const key = (dir: string, threads: number) => `${dir}\u0000${threads}`;
const boxesFile = (i: number) => join(work, `boxes-${i}.json`);
const common = ['--image', image, '--proposals', String(R), '--phrases', String(P), '--phrases-file', phrasesFile];

try {
  for (let r = 0; r < repeats; r++) {
    models.forEach((dir, i) => {
      for (const threads of threadCounts) {
        const cell = cells.get(key(dir, threads)) ?? { ours: [], int8: [], torch: [] };
        cells.set(key(dir, threads), cell);
        const label = `${basename(dir)}, ${threads} thread${threads === 1 ? '' : 's'}`;
        const runOurs = () => {
          const boxesOut = existsSync(boxesFile(i)) ? [] : ['--boxes-out', boxesFile(i)];
          const out = lastJsonLine(process.execPath, ['--import', 'tsx', join(root, 'bench', 'detect.ts'), '--json', '--threads', String(threads), ...common, ...boxesOut, dir], `ours (${label})`);
          cell.ours.push(ourStages(out.stages as Stages));
          cell.afterRpn = out.afterRpn as number;
          if (withInt8.has(dir)) {
            const q = lastJsonLine(process.execPath, ['--import', 'tsx', join(root, 'bench', 'detect.ts'), '--json', '--threads', String(threads), '--dtype', 'int8', ...common, dir], `ours int8 (${label})`);
            cell.int8.push(ourStages(q.stages as Stages));
          }
        };
        const runTorch = () => {
          const out = lastJsonLine(python, [join(root, 'bench', 'detect_torch.py'), '--model', dir, '--json', '--runs', '1', '--threads', String(threads),
            '--batch', '64', '--text-batch', '32', '--boxes', boxesFile(i), ...common], `PyTorch (${label})`);
          cell.torch.push(torchStages((out.runs as Stages[])[0]));
          cell.torchAfterRpn = out.afterRpn as number;
        };
        // The first repeat runs ours first everywhere: it writes the regions PyTorch embeds.
        const order = torchInfo === undefined ? [runOurs] : r % 2 === 0 ? [runOurs, runTorch] : [runTorch, runOurs];
        for (const run of order) run();
        const total = (xs: number[][]) => `${ms(xs[xs.length - 1][5])} ms`;
        log(`bench: repeat ${r + 1}/${repeats}, ${label}: ours ${total(cell.ours)}${torchInfo === undefined ? '' : `, PyTorch ${total(cell.torch)}`}`);
      }
    });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

// --- the table ----------------------------------------------------------------------------------------------------
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ratio = (v: number) => (v < 0.1 ? v.toFixed(3) : v < 10 ? v.toFixed(2) : v.toFixed(1));
const summary = (xs: number[], fmt: (v: number) => string) =>
  xs.length === 1 ? fmt(xs[0]) : `${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`;

const ortVersion = (readJsonFile(join(root, 'node_modules', 'onnxruntime-node', 'package.json'), 'package') as { version: string }).version;
const cpuModel = cpus()[0]?.model.trim() ?? 'unknown CPU';
console.log(`regionclip benchmark: ours (node ${process.version}, onnxruntime-node ${ortVersion}) against PyTorch eager (${torchInfo === undefined ? `not timed: ${noTorch}` : `torch ${torchInfo.torch}, torchvision ${torchInfo.torchvision}, MKL ${torchInfo.mkl ? 'yes' : 'no'}`})`);
console.log(`machine: ${availableParallelism()} cores (${cpuModel}), load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at the end`);
console.log(`image ${image}; ${R} regions; ${P} phrases × 1 template; ${repeats} interleaved repeat${repeats === 1 ? '' : 's'}; ms, median (min–max); ours / torch per repeat (< 1: ours faster)`);
console.log('');
const columns = models.flatMap((dir) => threadCounts.map((threads) => ({ dir, threads, cell: cells.get(key(dir, threads))! })));
const head = columns.flatMap(({ dir, threads }) => {
  const name = `${basename(dir)}, ${threads} thread${threads === 1 ? '' : 's'}`;
  return [`${name}: ours ms`, 'torch ms', 'ours/torch', ...(withInt8.has(dir) ? ['ours int8 ms', 'int8/torch'] : [])];
});
console.log(`| stage | ${head.join(' | ')} |`);
console.log(`| --- | ${head.map(() => '---:').join(' | ')} |`);
STAGES.forEach((stage, s) => {
  const row = columns.flatMap(({ dir, cell }) => {
    const ours = cell.ours.map((run) => run[s]);
    const int8 = cell.int8.map((run) => run[s]);
    const torch = cell.torch.map((run) => run[s]);
    const q = withInt8.has(dir) ? [summary(int8, ms), torch.length === 0 ? '—' : summary(int8.map((v, k) => v / torch[k]), ratio)] : [];
    if (torch.length === 0) return [summary(ours, ms), '—', '—', ...q];
    return [summary(ours, ms), summary(torch, ms), summary(ours.map((v, k) => v / torch[k]), ratio), ...q];
  });
  console.log(`| ${stage} | ${row.join(' | ')} |`);
});
console.log('');
for (const dir of models) {
  const cell = cells.get(key(dir, threadCounts[0]))!;
  const kept = cell.afterRpn === undefined ? '' : `ours' RPN kept ${cell.afterRpn} proposals (${cell.afterRpn < R ? `topped up with random boxes to ${R}` : cell.afterRpn > R ? `the first ${R} used` : 'all used'})`;
  const torch = cell.torchAfterRpn === undefined ? '' : `; PyTorch's RPN (random weights) kept ${cell.torchAfterRpn} and embeds ours' ${R} regions`;
  console.log(`${basename(dir)} (${dir}): ${kept}${torch}.`);
}
console.log('Stages: preprocess = decode + the detector\'s resize (PyTorch also normalizes both inputs there; ours normalizes in the next two stages);');
console.log('rpn + proposals = RPN graph, anchors, decoding, top-k, NMS; region stage = backbone + RoIAlign + head (crop mode: crops +');
console.log('vision tower), 64 regions a batch;');
console.log('text = tokenize + text tower, 32 prompts a batch, cut after the last EOT where the manifest allows; scoring + NMS = softmax');
console.log('with background, geometric fusion with objectness, threshold 0.05, NMS 0.5 per phrase, 100 detections; end to end = their sum.');
if (withInt8.size > 0) {
  console.log('int8 columns: ours with --dtype int8 (the int8 files the manifest lists; regions from its own int8 RPN, topped up alike) against');
  console.log("PyTorch's fp32; the RN50-shaped detector's int8 graphs were calibrated on the bench image (random weights: its speed only means anything).");
}
if (noTorch !== undefined) console.log(`PyTorch: not timed: ${noTorch}.`);
for (const note of notes) console.log(note);
console.log(`wall time ${((performance.now() - started) / 1000).toFixed(0)} s`);
