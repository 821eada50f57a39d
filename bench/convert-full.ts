/**
 * The converted folders of bench/convert-full.sh against the PyTorch reference (training/reference_zero_shot.py), and
 * `detect` time per 800-px image; prints one table with the script's generate / convert / reference times.
 *
 *   npx tsx bench/convert-full.ts WORK_DIR IMAGE        (WORK_DIR holds times.json, settings.json, <folder>/, <folder>.ref.json)
 *
 * Per folder: pipeline parity (max |Δ| of proposals' boxes and scores, of the final scores, kept boxes identical —
 * test/helpers/convert-parity.ts) end to end (ONNX graphs in onnxruntime against torch modules) and with the graphs'
 * outputs replayed (`replayParity`: the reference's steps around the graphs on the outputs our graphs gave; writes
 * WORK_DIR/<folder>-replay/, ~1 GB for a features-mode folder), then, in one process with the RegionCLIP zero-shot settings: Detector.load, a
 * first detect (the 81-template text embedding of the vocabulary included; disk cache off), and RUNS more (default 3:
 * the text comes from memory) whose median is the image time; and one `regionclip detect --no-cache` process (load,
 * text and image: what a user waits for).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Detector } from '../src/pipelines/detect.js';
import { pipelineParity, replayParity, type ZeroShotReference } from '../test/helpers/convert-parity.js';

const [work, image] = process.argv.slice(2);
if (!work || !image) {
  console.error('usage: npx tsx bench/convert-full.ts WORK_DIR IMAGE');
  process.exit(2);
}
const RUNS = Number(process.env.RUNS ?? 3);
const root = join(import.meta.dirname, '..');
const times = JSON.parse(readFileSync(join(work, 'times.json'), 'utf8')) as Record<string, { label: string; generate: number; convert: number; reference: number; bytes: number }>;
const settings = JSON.parse(readFileSync(join(work, 'settings.json'), 'utf8'));
const seconds = (ms: number) => (ms / 1000).toFixed(1);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function detectTimes(dir: string, vocab: string[]): Promise<{ load: number; first: number; text: number; image: number }> {
  let t = performance.now();
  const detector = await Detector.load(dir, { cacheDir: false, settings });
  const load = performance.now() - t;
  t = performance.now();
  const first = await detector.detect(image, { phrases: vocab });
  const firstMs = performance.now() - t;
  const runs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    t = performance.now();
    await detector.detect(image, { phrases: vocab });
    runs.push(performance.now() - t);
  }
  await detector.release();
  return { load, first: firstMs, text: first.timings.text, image: median(runs) };
}

/** One `regionclip detect --no-cache` process: wall seconds. */
function cliSeconds(dir: string, vocab: string[]): number {
  const preset = join(work, 'preset.json');
  writeFileSync(preset, JSON.stringify(settings));
  const t = performance.now();
  const run = spawnSync('node', [join(root, 'dist', 'cli', 'main.js'), 'detect', image, '--model', dir, '--pipeline', preset, '--vocab', vocab.join(','), '--no-cache', '--json'], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`regionclip detect exited with ${run.status}: ${run.stderr.slice(-2000)}`);
  return performance.now() - t;
}

function replayCell(r: Awaited<ReturnType<typeof replayParity>>): string {
  const p = r.proposals, d = r.detections;
  const inputs = Object.entries(r.inputDiffs).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ');
  return `${p.count}/${p.expected} ${p.maxBox.toExponential(1)} ${p.maxScore.toExponential(1)} (${p.swapped} swapped, ${p.unmatched} off); ` +
    `${d.count}/${d.expected} ${d.maxScore.toExponential(1)}; ${r.keptBoxesIdentical ? 'yes' : `NO (${d.unmatched} off)`}; ${inputs}`;
}

const rows: string[][] = [];
for (const [name, time] of Object.entries(times)) {
  const dir = join(work, name);
  const reference = JSON.parse(readFileSync(join(work, `${name}.ref.json`), 'utf8')) as ZeroShotReference;
  const parity = await pipelineParity(dir, reference, image, settings);
  const replayDir = join(work, `${name}-replay`);
  mkdirSync(replayDir, { recursive: true });
  const replayed = await replayParity(dir, image, reference.phrases, settings, replayDir);
  rmSync(join(replayDir, 'record'), { recursive: true, force: true });
  const d = await detectTimes(dir, reference.phrases);
  const cli = cliSeconds(dir, reference.phrases);
  const p = parity.proposals, k = parity.detections;
  rows.push([time.label, seconds(1000 * time.generate), seconds(1000 * time.convert), `${(time.bytes / 2 ** 20).toFixed(0)} MiB`,
    `${p.count}/${p.expected} ${p.maxBox.toExponential(1)} ${p.maxScore.toExponential(1)} (${p.swapped} swapped, ${p.unmatched} off)`,
    `${k.count}/${k.expected} ${k.maxScore.toExponential(1)}`, parity.keptBoxesIdentical ? `yes (box ${k.maxBox.toExponential(1)})` : `NO (${k.unmatched} off)`,
    replayCell(replayed),
    seconds(1000 * time.reference), seconds(d.load), seconds(d.first), seconds(d.text), seconds(d.image), seconds(cli)]);
  console.error(`${name}: ${JSON.stringify(parity)}`);
  console.error(`${name} replayed: ${JSON.stringify(replayed)}`);
}
const header = ['source', 'generate s', 'convert s', 'folder', 'proposals n/ref, max|Δ| box, score', 'detections n/ref, max|Δ| score', 'kept boxes identical',
  'graphs replayed: proposals max|Δ| box, score; detections max|Δ| score; kept identical; input max|Δ|',
  'torch ref s', 'load s', '1st detect s (+text)', 'text s', `detect s (median of ${RUNS})`, 'CLI --no-cache s'];
console.log(`| ${header.join(' | ')} |\n| ${header.map(() => '---').join(' | ')} |`);
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
