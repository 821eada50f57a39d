/**
 * Parity of converted model folders (training/export_openai_clip.py, export_regionclip.py) with PyTorch:
 * runs each graph of a folder in onnxruntime-node on the inputs of the converter's `--reference` file
 * (torch-eager outputs, training/convert/reference.py) and reports the largest absolute difference per
 * output; and the split identity of a ResNet tower, vision(x) == head(RoIAlign(backbone(x), full box)),
 * with our RoIAlign (S/16 × S/16, scale 1/16, aligned, adaptive sampling), as RegionCLIP pools res4.
 * And the whole zero-shot pipeline (`pipelineParity`): our Detector on a converted folder against
 * training/reference_zero_shot.py (PyTorch on the source checkpoints' modules).
 * Used by test/training/convert.test.ts, test/training/zero-shot-parity.test.ts (tiny fakes) and
 * bench/convert-parity.ts, bench/convert-full.ts (full size).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DetectSettingsInput } from '../../src/config/preset.js';
import { roiAlign } from '../../src/geometry/roi-align.js';
import { decodeImage } from '../../src/image/read.js';
import { Detector } from '../../src/pipelines/detect.js';
import { CheckedSession, ort } from '../../src/runtime/session.js';
import { python, trainingDir } from './python.js';

interface Named { dims: number[]; data: number[] }
type Reference = Record<string, { inputs: Record<string, Named>; outputs: Record<string, Named> }>;
interface GraphEntry { file: string }

export function readReference(path: string): Reference {
  return JSON.parse(readFileSync(path, 'utf8')) as Reference;
}

/** The graph file of `role` in the manifest, or in features.json (a CLIP folder exported with --split). */
function graphFile(dir: string, role: string): string {
  const read = (name: string) => (existsSync(join(dir, name)) ? (JSON.parse(readFileSync(join(dir, name), 'utf8')) as { graphs: Record<string, GraphEntry | undefined> }).graphs : {});
  const entry = read('manifest.json')[role] ?? read('features.json')[role];
  if (entry === undefined) throw new Error(`${dir}: manifest has no graphs.${role}`);
  return join(dir, entry.file);
}

function feed(name: string, t: Named): ort.Tensor {
  return name === 'input_ids'
    ? new ort.Tensor('int64', BigInt64Array.from(t.data, (v) => BigInt(v)), t.dims)
    : new ort.Tensor('float32', Float32Array.from(t.data), t.dims);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** `role.output` → max |onnx − torch| (Infinity when the dims differ), for every graph in the reference. */
export async function parityAgainstReference(dir: string, reference: Reference): Promise<Record<string, number>> {
  const diffs: Record<string, number> = {};
  for (const [role, { inputs, outputs }] of Object.entries(reference)) {
    const session = await ort.InferenceSession.create(graphFile(dir, role));
    const result = await session.run(Object.fromEntries(Object.entries(inputs).map(([name, t]) => [name, feed(name, t)])));
    for (const [name, expected] of Object.entries(outputs)) {
      const got = result[name];
      const sameDims = got !== undefined && got.dims.length === expected.dims.length && got.dims.every((d, i) => d === expected.dims[i]);
      diffs[`${role}.${name}`] = sameDims ? maxAbsDiff(got.data as Float32Array, expected.data) : Infinity;
    }
    await session.release();
  }
  return diffs;
}

/** max |vision(x) − head(RoIAlign(backbone(x), [0, 0, S, S]))| over the reference's vision inputs. */
export async function splitIdentity(dir: string, reference: Reference): Promise<number> {
  const pixels = reference.vision.inputs.pixel_values;
  const [n, c, S] = pixels.dims;
  const [vision, backbone, head] = await Promise.all(['vision', 'backbone', 'head'].map((r) => ort.InferenceSession.create(graphFile(dir, r))));
  let worst = 0;
  for (let i = 0; i < n; i++) {
    const size = c * S * S;
    const x = new ort.Tensor('float32', Float32Array.from(pixels.data.slice(i * size, (i + 1) * size)), [1, c, S, S]);
    const whole = (await vision.run({ pixel_values: x })).image_embeds.data as Float32Array;
    const res4 = (await backbone.run({ images: x })).res4;
    const pooled = roiAlign({ data: res4.data as Float32Array, dims: [...res4.dims] }, Float32Array.from([0, 0, 0, S, S]), {
      outputSize: [S / 16, S / 16], spatialScale: 1 / 16, samplingRatio: 0, aligned: true,
    });
    const regional = (await head.run({ roi_features: new ort.Tensor('float32', pooled.data, pooled.dims) })).region_embeds.data as Float32Array;
    worst = Math.max(worst, maxAbsDiff(whole, regional));
  }
  await Promise.all([vision, backbone, head].map((s) => s.release()));
  return worst;
}

/** The record training/reference_zero_shot.py writes (the parts compared). */
export interface ZeroShotReference {
  resize: { height: number; width: number };
  phrases: string[];
  proposals: { count: number; boxes: number[]; scores: number[] };
  detections: { label: string; score: number; box: number[] }[];
  margins: Record<string, number | null>;
}

/** Rows compared in order, near-ties allowed to swap (see `compareRanked`). */
export interface RankedComparison {
  count: number;
  expected: number;
  /** Largest |Δ| of a box coordinate (pixels) / a score between matched rows. */
  maxBox: number;
  /** Largest |Δ| / slack of a box coordinate: what the box tolerance bounds (see `boxSlack`). */
  maxBoxScaled: number;
  maxScore: number;
  /** Rows matched to another position: reference scores within the tolerance of each other (a near-tie ordered
   * differently by float noise between onnxruntime and torch). */
  swapped: number;
  /** Reference rows with no counterpart within the tolerance. */
  unmatched: number;
}

/**
 * Slack factors of box i's four coordinates (N×4 `boxes`): a coordinate x of a box with side s matches within
 * `tolerance` × max(1, (|x| + s) / 100) pixels, i.e. `tolerance` pixels near the origin, a relative 1e-6 beyond
 * 100 px. Two float noises set that floor: float32 itself (an ulp is 6e-5 at x = 1000, and decoding rounds a few
 * times), and the graphs' outputs, which differ between onnxruntime and torch by ~1e-6 and move a decoded edge by
 * (dx + exp(dw) / 2) × s (1e-3 px for a 700-px anchor).
 */
export function boxSlack(boxes: ArrayLike<number>, i: number): number[] {
  const w = boxes[4 * i + 2] - boxes[4 * i], h = boxes[4 * i + 3] - boxes[4 * i + 1];
  return [w, h, w, h].map((side, k) => Math.max(1, (Math.abs(boxes[4 * i + k]) + Math.abs(side)) / 100));
}

/**
 * Compares ranked rows (boxes N×4 and scores N, best first) with the reference's. Row i matches row i when its box
 * (scaled by `boxSlack`) and score are within `tolerance`; otherwise it may match a row j whose reference score is within `tolerance` of
 * row i's (a near-tie: which of the two comes first is decided by float noise, not by the algorithm).
 */
export function compareRanked(boxes: ArrayLike<number>, scores: ArrayLike<number>, refBoxes: ArrayLike<number>, refScores: ArrayLike<number>, tolerance: number): RankedComparison {
  const n = Math.min(scores.length, refScores.length);
  const diffs = (j: number, i: number) => [0, 1, 2, 3].map((k) => Math.abs(boxes[4 * j + k] - refBoxes[4 * i + k]));
  const box = (j: number, i: number) => Math.max(...diffs(j, i));
  const scaled = (j: number, i: number) => Math.max(...diffs(j, i).map((d, k) => d / boxSlack(refBoxes, i)[k]));
  const used = new Uint8Array(n);
  const out = { count: scores.length, expected: refScores.length, maxBox: 0, maxBoxScaled: 0, maxScore: 0, swapped: 0, unmatched: 0 };
  const near = (i: number, j: number) => scaled(j, i) <= tolerance && Math.abs(scores[j] - refScores[i]) <= tolerance;
  for (let i = 0; i < n; i++) {
    let j = !used[i] && near(i, i) ? i : -1;
    for (let k = i - 1; j < 0 && k >= 0 && Math.abs(refScores[k] - refScores[i]) <= tolerance; k--) if (!used[k] && near(i, k)) j = k;
    for (let k = i + 1; j < 0 && k < n && Math.abs(refScores[k] - refScores[i]) <= tolerance; k++) if (!used[k] && near(i, k)) j = k;
    if (j < 0) j = i;
    else if (j !== i) out.swapped++;
    if (used[j] || !near(i, j)) out.unmatched++;
    used[j] = 1;
    out.maxBox = Math.max(out.maxBox, box(j, i));
    out.maxBoxScaled = Math.max(out.maxBoxScaled, scaled(j, i));
    out.maxScore = Math.max(out.maxScore, Math.abs(scores[j] - refScores[i]));
  }
  return out;
}

/** One graph run of our pipeline: the role (rpn, backbone, head, text, vision), its feeds and outputs. */
export interface GraphRun {
  role: string;
  outputNames: string[];
  inputs: Record<string, ort.Tensor>;
  outputs: Record<string, ort.Tensor>;
}

/** Runs `fn` while every `CheckedSession.run` is recorded (test-only: the prototype is restored afterwards). */
export async function recordGraphRuns<T>(fn: () => Promise<T>): Promise<{ result: T; runs: GraphRun[] }> {
  const original = CheckedSession.prototype.run;
  const runs: GraphRun[] = [];
  CheckedSession.prototype.run = async function (this: CheckedSession, feeds: Record<string, ort.Tensor>) {
    // Feeds are copied: the pipeline reuses its buffers between runs (one pooled-features buffer per call).
    const inputs = Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, new ort.Tensor(t.type, t.data.slice(), t.dims)]));
    const outputs = await original.call(this, feeds);
    runs.push({ role: this.graphName.slice(this.graphName.lastIndexOf('/') + 1), outputNames: [...this.session.outputNames], inputs, outputs });
    return outputs;
  };
  try {
    return { result: await fn(), runs };
  } finally {
    CheckedSession.prototype.run = original;
  }
}

/** Writes `runs` in the layout training/convert/replay.py reads: index.json + one raw little-endian file per tensor. */
export function writeGraphRuns(dir: string, runs: GraphRun[]): void {
  mkdirSync(dir, { recursive: true });
  let n = 0;
  const save = (tensors: Record<string, ort.Tensor>) => Object.fromEntries(Object.entries(tensors).map(([name, t]) => {
    if (t.type !== 'float32' && t.type !== 'int64') throw new Error(`cannot record a ${t.type} tensor (${name})`);
    const data = t.data as Float32Array | BigInt64Array;
    const file = `${n++}-${name}.bin`;
    writeFileSync(join(dir, file), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return [name, { dtype: t.type, dims: [...t.dims], file }];
  }));
  const index = runs.map((r) => ({ role: r.role, outputNames: r.outputNames, inputs: save(r.inputs), outputs: save(r.outputs) }));
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ runs: index }));
}

/** Our Detector against the PyTorch reference on one image. */
export interface PipelineParity {
  proposals: RankedComparison;
  detections: RankedComparison & { sameLabels: boolean };
  /** Same count, the same labels, every box (`boxSlack`) and score within the tolerance (near-ties may swap). */
  keptBoxesIdentical: boolean;
}

/**
 * Runs our `Detector` on `dir` with `settings` (the object the reference was given) and compares it with the
 * reference: proposals (resized-image boxes, sigmoid scores) from `DetectorModel.propose`, then `detect`'s
 * detections (labels, scores, original-image boxes). A label is part of a detection's identity: a swapped pair must
 * carry the same labels.
 */
export async function pipelineParity(dir: string, reference: ZeroShotReference, image: string, settings: DetectSettingsInput, tolerance = 1e-4): Promise<PipelineParity> {
  const detector = await Detector.load(dir, { cacheDir: false, settings });
  try {
    const { proposals } = await detector.model.propose(await decodeImage(image), detector.settings.proposals);
    const got = (await detector.detect(image, { phrases: reference.phrases })).detections;
    return compareWithReference({ boxes: proposals.boxes.data, scores: proposals.scores }, got, reference, tolerance);
  } finally {
    await detector.release();
  }
}

/** Our proposals (resized-image boxes N×4, sigmoid scores) and detections against the reference's. */
function compareWithReference(proposals: { boxes: ArrayLike<number>; scores: ArrayLike<number> }, got: { label: string; score: number; box: number[] }[], reference: ZeroShotReference, tolerance: number): PipelineParity {
  const want = reference.detections;
  const labelIndex = (label: string) => reference.phrases.indexOf(label);
  // The label rides along as a fifth "coordinate" scaled far beyond the tolerance, so rows only match with equal labels.
  const rows = (ds: { label: string; box: number[] }[]) => ds.flatMap((d) => d.box.map((v) => v + 1e7 * labelIndex(d.label)));
  const detections = compareRanked(rows(got), got.map((d) => d.score), rows(want), want.map((d) => d.score), tolerance);
  const sameLabels = got.length === want.length && detections.unmatched === 0;
  const kept = { ...detections, sameLabels, maxBoxScaled: sameLabels ? detections.maxBoxScaled : Infinity };
  return {
    proposals: compareRanked(proposals.boxes, proposals.scores, reference.proposals.boxes, reference.proposals.scores, tolerance),
    detections: kept,
    keptBoxesIdentical: sameLabels && kept.maxBoxScaled <= tolerance && kept.maxScore <= tolerance,
  };
}

/** `pipelineParity` with the graphs' outputs replayed: what the reference's record holds besides. */
export interface ReplayParity extends PipelineParity {
  /** Largest |Δ| between what the reference fed each graph and what our pipeline fed it (`role.input`). */
  inputDiffs: Record<string, number>;
  /** Prompts whose text embeddings were replayed. */
  prompts: number;
  /** With the source checkpoints: `role.output` → max |torch − onnxruntime| on our recorded inputs, and max |output|. */
  graphDiffs: Record<string, { maxAbsDiff: number; maxAbs: number }>;
}

/**
 * The pipeline around the graphs, compared on identical graph outputs: our `Detector` runs `dir` on `image` while
 * every graph run is recorded (`recordGraphRuns`) into `workDir`, then training/reference_zero_shot.py --replay
 * runs RegionCLIP's steps on the recorded outputs instead of its torch modules (training/convert/replay.py), and
 * its proposals and detections are compared with ours. Float noise between onnxruntime and torch inside the graphs
 * is out of this comparison; what remains is resize and normalization (reported as input differences), anchors,
 * proposal selection, RoIAlign (`head.roi_features`), prompts and tokens (a prompt the record lacks is an error),
 * scoring, box deltas and NMS. `sourceArgs` (the reference's --checkpoint … arguments) add `graphDiffs`: each graph
 * recomputed in torch on the inputs our pipeline fed it.
 */
export async function replayParity(dir: string, image: string, phrases: string[], settings: DetectSettingsInput, workDir: string, sourceArgs: string[] = [], tolerance = 1e-4): Promise<ReplayParity> {
  const detector = await Detector.load(dir, { cacheDir: false, settings });
  let proposals: { boxes: Float32Array; scores: Float32Array };
  let got: { label: string; score: number; box: number[] }[];
  try {
    const decoded = await decodeImage(image);
    const { proposals: p } = await detector.model.propose(decoded, detector.settings.proposals);
    proposals = { boxes: p.boxes.data, scores: Float32Array.from(p.scores) };
    const { result, runs } = await recordGraphRuns(() => detector.detect(image, { phrases }));
    got = result.detections;
    writeGraphRuns(join(workDir, 'record'), runs);
  } finally {
    await detector.release();
  }
  writeFileSync(join(workDir, 'settings.json'), JSON.stringify(settings));
  const out = join(workDir, 'replayed.json');
  const run = spawnSync(python, ['reference_zero_shot.py', '--model', dir, '--replay', join(workDir, 'record'), '--image', image, '--vocab', phrases.join(','),
    '--settings', join(workDir, 'settings.json'), '--out', out, ...sourceArgs], { encoding: 'utf8', cwd: trainingDir, timeout: 600_000 });
  if (run.status !== 0) throw new Error(`reference_zero_shot.py --replay exited with ${run.status}:\n${run.stderr.slice(-3000)}`);
  const reference = JSON.parse(readFileSync(out, 'utf8')) as ZeroShotReference & { replay: Omit<ReplayParity, keyof PipelineParity> };
  return { ...compareWithReference(proposals, got, reference, tolerance), ...reference.replay };
}
